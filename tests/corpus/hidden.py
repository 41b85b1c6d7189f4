"""Payloads hidden INSIDE picture structures, and clean pictures that look odd (issue 16).

build_hidden(C, P) is called once from build.py's main(). It writes hidden/ (suspicious) and
clean2/ (clean) files, and every manifest entry it adds carries "class", the cause it tests:
  metadata-claim   content inside an element whose name claims metadata (fake Exif, XMP, ICC,
                   GIF XMP/NETSCAPE extensions, extra IDAT, PNG iCCP/zTXt/iTXt/eXIf) (hidden_meta.py)
  private-content  encrypted HLS segments, random or raw-deflate data, a TS cut mid-stream, an ISO
                   in COM segments, chunks before IHDR: in private chunks/segments/boxes and gaps
  tiff-trailer     data after a TIFF's last referenced byte (LE, BE, BigTIFF, tiled, LZW, JPEG)
  size-field       size fields overwritten by polyglot techniques (GIF89a/BM `/*`, RIFF size,
                   APP0 length, PNG chunk length) (hidden_meta.py)
  short-script     PHP short tags, 20-30 byte HTML/JS snippets, <script> in a DQT (hidden_meta.py)
  offset           zero runs and 1-63 byte separators before a recognised payload
  new-type         payload types without a signature before (CAB, ARJ, ..., DEX, ELF/PE/Mach-O
                   variants), appended and inside structures
  fp               clean but unusual pictures and tool outputs (hidden_clean.py)
Offsets ("begin") follow the rules in the issue: the first foreign byte; a separator or a cut TS
packet before a recognised payload is recorded in build.LEAD so verify() checks the magic after it.
"""
import random
import struct

import build as B  # the running build.py (aliased there)
from build import box, gif_subblocks, jpeg_segment, jpeg_segments, png_chunk, riff_add_chunk
from realworld import gif_header_end

from hidden_payloads import make_hidden_payloads

NEW_TYPES = ["cab", "arj", "javaclass", "wasm", "svg", "ps", "rtf", "lz4", "iso", "lnk", "cpio_newc",
             "cpio_odc", "ar", "dicom", "pcap", "pcapng", "swf", "swfz", "ole", "sqlite", "dex", "elf32",
             "elfbe", "pe32", "macho32", "machofat"]
ENC = ["enc10k", "enc25k", "enc60k", "enc200k"]


def sus(rel, data, pic, ptype, begin, loc, cls, note, lead=0, more=None):
    B.add("hidden/" + rel, data, pic, ptype, begin, loc, note=note, more=more)
    B.ENTRIES[-1]["class"] = cls
    if lead:
        B.LEAD["hidden/" + rel] = lead


# ----------------------------------------------------------------------------- placements
# Each takes the carrier and the payload bytes and returns (file bytes, begin of the payload).
def jpeg_insert(jpg, segs):
    """Insert segments after the last APPn/COM segment that follows SOI."""
    pos = 2
    for off, m, n in jpeg_segments(jpg):
        if not (0xE0 <= m <= 0xEF or m == 0xFE):
            break
        pos = off + n
    return jpg[:pos] + b"".join(segs) + jpg[pos:], pos


def jpeg_split(marker, head, data, room=65533):
    """Segments each holding head + the next piece of data (a segment holds <= 65533 bytes)."""
    n = min(room, 65533) - len(head)
    return [jpeg_segment(marker, head + data[i:i + n]) for i in range(0, len(data), n)]


def in_jpeg(jpg, marker, data, head=b"", room=65533):
    out, pos = jpeg_insert(jpg, jpeg_split(marker, head, data, room))
    return out, pos + 4 + len(head)


def in_png(png, data, ctype=b"prVt", where="end"):
    """where: end (before IEND), ihdr (after IHDR), first (before IHDR)."""
    pos = {"end": len(png) - 12, "ihdr": 33, "first": 8}[where]
    return png[:pos] + png_chunk(ctype, data) + png[pos:], pos + 8


def in_gif(gif, data, label=b"\xfe", ident=b"", at_end=False):
    """Comment (label FE) or application extension (FF + 11-byte identifier) in sub-blocks."""
    pos = len(gif) - 1 if at_end else gif_header_end(gif)
    head = b"\x21" + label + (bytes([len(ident)]) + ident if ident else b"")
    return gif[:pos] + head + gif_subblocks(data) + gif[pos:], pos + len(head) + 1


def in_bmp(bmp, data):
    off = struct.unpack("<I", bmp[10:14])[0]
    gap = data + b"\0" * (-len(data) % 4)
    d = bytearray(bmp[:off] + gap + bmp[off:])
    struct.pack_into("<I", d, 2, len(d))
    struct.pack_into("<I", d, 10, off + len(gap))
    return bytes(d), off


def in_ico(ico, data):
    """Gap between the icon directory and the first image (every image offset moved)."""
    n = struct.unpack("<H", ico[4:6])[0]
    d = bytearray(ico)
    for i in range(n):
        o = 6 + 16 * i + 12
        struct.pack_into("<I", d, o, struct.unpack("<I", d[o:o + 4])[0] + len(data))
    at = 6 + 16 * n
    assert min(struct.unpack("<I", ico[6 + 16 * i + 12:6 + 16 * i + 16])[0] for i in range(n)) == at
    return bytes(d[:at]) + data + bytes(d[at:]), at


def in_riff(webpx, data, fourcc=b"STWY"):
    return riff_add_chunk(webpx, fourcc, data)


def in_bmff(heif, data, btype=b"prvt"):
    if btype == b"uuid":
        return heif + box(b"uuid", bytes(range(0x40, 0x50)) + data), len(heif) + 24
    return heif + box(btype, data), len(heif) + 8


# ----------------------------------------------------------------------------- TIFF
TSIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}


def tiff_fields(d):
    """Every offset field of a TIFF/BigTIFF: [(position, struct format, role, entry)], where role is
    'ifd' (an IFD pointer), 'value' (out-of-line value) or 'data' (strip/tile offsets element)."""
    e = "<" if d[:2] == b"II" else ">"
    big = struct.unpack(e + "H", d[2:4])[0] == 43
    P, cnt = (e + "Q", e + "Q") if big else (e + "I", e + "H")
    psz, esz = (8, 20) if big else (4, 12)
    out, ptr = [], 8 if big else 4
    while True:
        ifd = struct.unpack(P, d[ptr:ptr + psz])[0]
        if not ifd:
            return out, e, big
        out.append((ptr, P, "ifd", None))
        n = struct.unpack(cnt, d[ifd:ifd + struct.calcsize(cnt)])[0]
        base = ifd + struct.calcsize(cnt)
        for i in range(n):
            p = base + esz * i
            tag, typ = struct.unpack(e + "HH", d[p:p + 4])
            count = struct.unpack(P, d[p + 4:p + 4 + psz])[0]
            size, vp = TSIZE[typ] * count, p + 4 + psz
            ent = (tag, typ, count, vp, size)
            if size > psz:
                out.append((vp, P, "value", ent))
                vp = struct.unpack(P, d[vp:vp + psz])[0]
            if tag in (273, 324, 279, 325):
                f = {3: e + "H", 4: e + "I", 16: e + "Q"}[typ]
                for k in range(count):
                    out.append((vp + k * TSIZE[typ], f, "data" if tag in (273, 324) else "count", ent))
        ptr = base + esz * n


def tiff_end(d):
    """Last referenced byte + 1: IFDs, out-of-line values, strips/tiles."""
    fields, e, big = tiff_fields(d)
    ends = []
    for pos, f, role, ent in fields:
        v = struct.unpack(f, d[pos:pos + struct.calcsize(f)])[0]
        if role == "ifd":
            n = struct.unpack(e + ("Q" if big else "H"), d[v:v + (8 if big else 2)])[0]
            ends.append(v + (8 + 20 * n + 8 if big else 2 + 12 * n + 4))
        elif role == "value":
            ends.append(v + ent[4])
    offs = [struct.unpack(f, d[p:p + struct.calcsize(f)])[0] for p, f, r, _ in fields if r == "data"]
    cnts = [struct.unpack(f, d[p:p + struct.calcsize(f)])[0] for p, f, r, _ in fields if r == "count"]
    ends += [o + c for o, c in zip(offs, cnts)]
    return max(ends)


def tiff_insert(d, blob):
    """Put blob in an unreferenced region between the IFD and the image data (whichever comes
    first), moving every offset behind it; returns (new tiff, begin)."""
    fields, e, big = tiff_fields(d)
    ifd = min(struct.unpack(f, d[p:p + struct.calcsize(f)])[0] for p, f, r, _ in fields if r == "ifd")
    data = min(struct.unpack(f, d[p:p + struct.calcsize(f)])[0] for p, f, r, _ in fields if r == "data")
    at = max(ifd, data)
    out = bytearray(d)
    for p, f, role, _ in fields:
        if role != "count":
            v = struct.unpack(f, d[p:p + struct.calcsize(f)])[0]
            if v >= at:
                struct.pack_into(f, out, p, v + len(blob))
    return bytes(out[:at]) + blob + bytes(out[at:]), at


# ----------------------------------------------------------------------------- carriers
def carriers(C):
    """Carrier pictures by name: (bytes, pic_type, extension)."""
    p, small = B.photo(320, 240, 1), B.photo(160, 120, 2)
    K = {k: (C[k], pic, ext) for k, pic, ext in (
        ("jpg", "jpg", "jpg"), ("jpg_prog", "jpg", "jpg"), ("png", "png", "png"), ("webp", "webp", "webp"),
        ("webpx", "webp", "webp"), ("bmp", "bmp", "bmp"), ("tiff", "tiff", "tif"), ("heic", "heic", "heic"),
        ("avif", "avif", "avif"), ("ico", "ico", "ico"), ("cur", "ico", "cur"), ("bigtiff", "tiff", "tif"))}
    K["gif"] = (b"GIF89a" + C["gif"][6:], "gif", "gif")
    K["jpg_exif"] = (B.save(B.photo(480, 320, 21), "JPEG", quality=88, exif=B.exif_bytes()), "jpg", "jpg")
    K["png_pal"] = (B.save(small.quantize(128), "PNG"), "png", "png")
    q = [B.photo(96, 72, 30 + i).quantize(32) for i in range(3)]
    K["gif_anim"] = (B.save(q[0], "GIF", save_all=True, append_images=q[1:], duration=80, loop=0), "gif", "gif")
    K["tiff_be"] = (B.tool(["tiffcp"], lambda s, d: ["-B", s, d], C["tiff"], "hmm.tif"), "tiff", "tif")
    K["tiff_lzw"] = (B.tiff_zero_pad(B.save(small, "TIFF", compression="tiff_lzw")), "tiff", "tif")
    K["tiff_tiled"] = (B.tool(["tiffcp"], lambda s, d: ["-t", "-w", "32", "-l", "32", s, d], C["tiff"], "ht.tif"),
                       "tiff", "tif")
    K["tiff_be_big"] = (B.tool(["tiffcp"], lambda s, d: ["-8", "-B", s, d], C["tiff"], "hb.tif"), "tiff", "tif")
    K["tiff_jpeg"] = (B.save(small, "TIFF", compression="jpeg"), "tiff", "tif")
    K["avif_q"] = (B.save(small, "AVIF", quality=50, speed=8), "avif", "avif")
    K["heic_q"] = (B.save(small, "HEIF", quality=50), "heic", "heic")
    return K


AFTER = ["jpg", "png", "gif", "webp", "bmp", "tiff", "heic", "avif", "ico", "jpg_exif", "png_pal",
         "gif_anim", "webpx", "cur", "tiff_be", "avif_q", "heic_q"]


def inside(K, where, data, seed=0):
    """(file bytes, begin, pic, ext, label) of data placed at the named inside placement."""
    jpg_keys = ["jpg", "jpg_prog", "jpg_exif"]
    j = K[jpg_keys[seed % 3]][0]
    pick = {
        "png_prvt": lambda: (*in_png(K["png"][0], data, b"prVt"), "png"),
        "png_ihdr": lambda: (*in_png(K["png_pal"][0], data, b"stEg", "ihdr"), "png"),
        "jpg_app12": lambda: (*in_jpeg(j, 0xEC, data, b"Ducky\0" if seed % 2 else b""), "jpg"),
        "jpg_app15": lambda: (*in_jpeg(j, 0xEF, data), "jpg"),
        "jpg_app3": lambda: (*in_jpeg(j, 0xE3, data), "jpg"),
        "jpg_com": lambda: (*in_jpeg(j, 0xFE, data), "jpg"),
        "gif_comment": lambda: (*in_gif(K["gif"][0], data, at_end=seed % 2 == 1), "gif"),
        "gif_appext": lambda: (*in_gif(K["gif_anim"][0], data, b"\xff", b"STOWAWAY1.0", seed % 2 == 0), "gif"),
        "bmp_gap": lambda: (*in_bmp(K["bmp"][0], data), "bmp"),
        "ico_gap": lambda: (*in_ico(K["ico"][0], data), "ico"),
        "riff_chunk": lambda: (*in_riff(K["webpx"][0], data, [b"STWY", b"ZZZZ", b"priv"][seed % 3]), "webp"),
        "heic_box": lambda: (*in_bmff(K[["heic", "heic_q"][seed % 2]][0], data, [b"prvt", b"uuid"][seed % 2]), "heic"),
        "avif_box": lambda: (*in_bmff(K[["avif", "avif_q"][seed % 2]][0], data, [b"xtra", b"uuid"][seed % 2]), "avif"),
        "tiff_gap": lambda: (*tiff_insert(K[["tiff", "tiff_be", "tiff_lzw"][seed % 3]][0], data), "tiff"),
    }
    out, begin, pic = pick[where]()
    ext = {"jpg": "jpg", "png": "png", "gif": "gif", "bmp": "bmp", "ico": "ico", "webp": "webp",
           "heic": "heic", "avif": "avif", "tiff": "tif"}[pic]
    return out, begin, pic, ext


INSIDE = ["png_prvt", "png_ihdr", "jpg_app12", "jpg_app15", "jpg_app3", "jpg_com", "gif_comment",
          "gif_appext", "bmp_gap", "ico_gap", "riff_chunk", "heic_box", "avif_box", "tiff_gap"]


# ----------------------------------------------------------------------------- classes
def build_new_type(K, H):
    for i, key in enumerate(NEW_TYPES):
        data, typ, desc = H[key]
        for k in range(3):
            base = AFTER[(3 * i + k) % len(AFTER)]
            c, pic, ext = K[base]
            sus(f"newtype_{key}_after_{base}.{ext}", c + data, pic, typ, len(c), "after", "new-type",
                f"{desc} after {base}")
        for k in range(3):
            where = INSIDE[(3 * i + k) % len(INSIDE)]
            if where.startswith("jpg") and len(data) > 65000:
                where = "png_prvt"
            out, begin, pic, ext = inside(K, where, data, i + k)
            sus(f"newtype_{key}_in_{where}.{ext}", out, pic, typ, begin, "inside", "new-type",
                f"{desc} in {where}")


def build_private(K, H, P):
    for i, key in enumerate(ENC):
        data, typ, desc = H[key]
        for k, where in enumerate(INSIDE):
            out, begin, pic, ext = inside(K, where, data, i + k)
            sus(f"private_{key}_in_{where}.{ext}", out, pic, typ, begin, "inside", "private-content",
                f"{desc} in {where}")
    mid, _, desc = H["ts_mid"]
    lead = 188 - (188 * 7 + 101) % 188
    for k, where in enumerate(["png_prvt", "jpg_app15", "riff_chunk", "jpg_com", "bmp_gap", "avif_box", "tiff_gap"]):
        out, begin, pic, ext = inside(K, where, mid, k)
        sus(f"private_tsmid_in_{where}.{ext}", out, pic, "MPEG-TS", begin, "inside", "private-content",
            f"{desc} in {where}; begin = the cut packet's first byte", lead=lead)
    iso = H["iso"][0]
    for room, label in ((65533, "one"), (40000, "several")):  # the PVD stays in the first
        for j in ("jpg", "jpg_exif"):
            out, begin = in_jpeg(K[j][0], 0xFE, iso, room=room)
            sus(f"private_iso_{label}_com_{j}.jpg", out, "jpg", "ISO", begin, "inside", "private-content",
                f"51 KB ISO 9660 image in {label} COM segment(s); begin = the ISO's first (zero) byte")
    for key in ("ts", "zip", "enc25k", "rand4k", "mp4"):
        data, typ = (P[key][0], P[key][1]) if key in P else H[key][:2]
        for base, ctype in (("png", b"tsDa"), ("png_pal", b"prVt")):
            out, begin = in_png(K[base][0], data, ctype, "first")
            sus(f"private_before_ihdr_{key}_{base}.png", out, "png", typ, begin, "inside", "private-content",
                f"{typ} in a {ctype.decode()} chunk placed before IHDR")
    for i, key in enumerate(["rand1k", "rand4k", "rand16k", "rand64k", "rand200k", "deflate"]):
        data, typ, desc = H[key]
        for k in range(5):
            where = INSIDE[(5 * i + k) % len(INSIDE)]
            out, begin, pic, ext = inside(K, where, data, i + k)
            sus(f"private_{key}_in_{where}.{ext}", out, pic, typ, begin, "inside", "private-content",
                f"{desc} in {where}")


def build_tiff_trailer(K, H, P):
    tiffs = ["tiff", "tiff_be", "tiff_lzw", "tiff_tiled", "bigtiff", "tiff_be_big", "tiff_jpeg"]
    pays = [("enc25k", H), ("ts", P), ("zip", P), ("rand16k", H), ("7z", P), ("enc10k", H), ("pdf", P)]
    for t in tiffs:
        c = K[t][0]
        assert tiff_end(c) == len(c), (t, tiff_end(c), len(c))
    for i, t in enumerate(tiffs):
        c = K[t][0]
        kind = ("big-endian" if c[:2] == b"MM" else "little-endian") + (" BigTIFF" if 43 in c[2:4] else "")
        for key, src in pays:
            data, typ, desc = src[key]
            sus(f"tifftrail_{t}_{key}.tif", c + data, "tiff", typ, len(c), "after", "tiff-trailer",
                f"{desc} after a {kind} TIFF ({t}) whose last referenced byte is the end of its structure")


def build_offset(K, H, P):
    iso = H["iso"][0]
    for base in AFTER[:10]:
        c, pic, ext = K[base]
        sus(f"offset_iso_after_{base}.{ext}", c + iso, pic, "ISO", len(c), "after", "offset",
            "ISO 9660 after the picture: begin = its 32 KiB zero system area")
    for k, where in enumerate(["png_prvt", "jpg_com", "bmp_gap", "riff_chunk", "avif_box"]):
        out, begin, pic, ext = inside(K, where, iso, k)
        sus(f"offset_iso_in_{where}.{ext}", out, pic, "ISO", begin, "inside", "offset",
            "ISO 9660 in a chunk: begin = its zero system area")
    ts = P["ts"][0]
    sep = random.Random(37).randbytes(37)
    for base in AFTER[:12]:
        c, pic, ext = K[base]
        sus(f"offset_sep37_ts_after_{base}.{ext}", c + sep + ts, pic, "MPEG-TS", len(c), "after", "offset",
            "37 random separator bytes then a TS", lead=37)
    for k, where in enumerate(["png_prvt", "jpg_app15", "riff_chunk", "gif_appext", "heic_box"]):
        out, begin, pic, ext = inside(K, where, sep + ts, k)
        sus(f"offset_sep37_ts_in_{where}.{ext}", out, pic, "MPEG-TS", begin, "inside", "offset",
            "37 random separator bytes then a TS, in a chunk", lead=37)
    n = 0
    for key in ("zip", "mp4", "pdf", "7z"):
        for ln in (1, 7, 19, 42, 63):
            junk = bytes(b | 0x80 for b in random.Random(ln * 7 + len(key)).randbytes(ln))
            base = AFTER[n % len(AFTER)]
            c, pic, ext = K[base]
            sus(f"offset_sep{ln}_{key}_after_{base}.{ext}", c + junk + P[key][0], pic, P[key][1], len(c),
                "after", "offset", f"{ln} random bytes then {P[key][2]}", lead=ln)
            where = INSIDE[n % len(INSIDE)]
            n += 1
            if len(P[key][0]) > 65000 and where.startswith("jpg"):
                where = "png_prvt"
            out, begin, pic, ext = inside(K, where, junk + P[key][0], n)
            sus(f"offset_sep{ln}_{key}_in_{where}.{ext}", out, pic, P[key][1], begin, "inside", "offset",
                f"{ln} random bytes then {P[key][2]}, in {where}", lead=ln)


def build_hidden(C, P):
    H = make_hidden_payloads(P)
    K = carriers(C)
    build_new_type(K, H)
    build_private(K, H, P)
    build_tiff_trailer(K, H, P)
    build_offset(K, H, P)
    from hidden_meta import build_meta
    build_meta(K, H, P, sus)
    from hidden_clean import build_fp
    build_fp(C, K)
