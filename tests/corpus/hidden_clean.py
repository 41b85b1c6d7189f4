"""hidden.py's class fp: clean pictures under clean2/ that must NOT be flagged.

Editors' and devices' outputs that look odd: AFCP trailers, an AVIF sequence ending in a `free`
box, multi-entry cursors, zeros then a stray JPEG-table fragment after EOI, MPO files whose MPF
offsets are wrong, truncated PNGs, a broken GIF followed by the same GIF, Fireworks-style private
zlib chunks, compressed iTXt/zTXt/iCCP, big maker notes, Photoshop APP13 thumbnails, C2PA/JUMBF in
APP11, libheif/libavif/libwebp tool outputs with metadata, exiftool/ImageMagick/jpegtran/jpegoptim/
optipng/pngcrush rewrites.
"""
import random
import struct
import zlib
from pathlib import Path

from PIL import Image, PngImagePlugin

import build as B
from build import IPTC, afcp, box, cur_from_ico, ico_mixed, jpeg_segments, png_chunk
from hidden import in_jpeg


def fp(name, data, pic, note):
    B.add("clean2/" + name, data, pic, note=note)
    B.ENTRIES[-1]["class"] = "fp"


def tool(cmd, data, name, out_ext=None):
    """Run cmd (a list with {in} and {out} placeholders) on data; return the output bytes."""
    src = B.tmpfile("fp_in_" + name, data)
    dst = B.TMP / ("fp_out_" + name + (out_ext or ""))
    B.run([a.replace("{in}", str(src)).replace("{out}", str(dst)) for a in cmd])
    return dst.read_bytes()


def mpf_entries(d):
    """(endianness, file offset of each MP entry) of Pillow's MPO."""
    m = d.find(b"MPF\0")
    t = m + 4
    e = "<" if d[t:t + 2] == b"II" else ">"
    ifd = t + struct.unpack(e + "I", d[t + 4:t + 8])[0]
    n = struct.unpack(e + "H", d[ifd:ifd + 2])[0]
    for i in range(n):
        tag, typ, cnt, val = struct.unpack(e + "HHII", d[ifd + 2 + 12 * i:ifd + 14 + 12 * i])
        if tag == 0xB002:
            return e, t, [t + val + 16 * k for k in range(cnt // 16)]
    raise AssertionError("no MP entry tag")


def bmff_fix_times(d):
    """Zero the creation/modification times Pillow's AVIF writer takes from the clock (mvhd, tkhd,
    mdhd; version 0 holds 32-bit, version 1 64-bit times)."""
    d = bytearray(d)
    for name in (b"mvhd", b"tkhd", b"mdhd"):
        i = d.find(name)
        while i >= 0:
            n = 4 if d[i + 4] == 0 else 8
            d[i + 8:i + 8 + 2 * n] = bytes(2 * n)
            i = d.find(name, i + 4)
    return bytes(d)


def photoshop_app13(thumb, w, h):
    def res(rid, data):
        return b"8BIM" + struct.pack(">H", rid) + b"\0\0" + struct.pack(">I", len(data)) + data + b"\0" * (len(data) & 1)
    th = struct.pack(">IIIIIIHH", 1, w, h, (w * 24 + 31) // 32 * 4, (w * 24 + 31) // 32 * 4 * h, len(thumb), 24, 1)
    return b"Photoshop 3.0\0" + res(0x0404, IPTC) + res(0x03ED, struct.pack(">IHHIHH", 72 << 16, 1, 1, 72 << 16, 1, 1)) + res(0x040C, th + thumb)


def cbor(v):
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    if isinstance(v, int):
        return head(0, v)
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())


def jumbf(label, uuid, children):
    jumd = box(b"jumd", bytes.fromhex(uuid) + b"\x03" + label.encode() + b"\0")
    return box(b"jumb", jumd + b"".join(children))


def c2pa_app11(sig_seed):
    C2 = "0011" + "0010" + "8000" + "00aa00389b71"  # the C2PA UUID suffix
    claim = cbor({"dc:format": "image/jpeg", "claim_generator": "stowaway-corpus/1.0",
                  "instanceID": "xmp:iid:00000000-0000-0000-0000-000000000016",
                  "signature": "self#jumbf=c2pa.signature",
                  "assertions": [{"url": "self#jumbf=c2pa.assertions/c2pa.actions", "hash": bytes(32)}],
                  "alg": "sha256"})
    actions = cbor({"actions": [{"action": "c2pa.created", "softwareAgent": "stowaway-corpus"}]})
    sig = cbor([bytes.fromhex("a10126"), {}, b"", random.Random(sig_seed).randbytes(256)])  # COSE_Sign1
    manifest = jumbf("urn:uuid:00000000-0000-0000-0000-000000000016", "63326d61" + C2, [
        jumbf("c2pa.assertions", "63326173" + C2, [jumbf("c2pa.actions", "63626f72" + C2,
                                                         [box(b"cbor", actions)])]),
        jumbf("c2pa.claim", "6332636c" + C2, [box(b"cbor", claim)]),
        jumbf("c2pa.signature", "63326373" + C2, [box(b"cbor", sig)])])
    store = jumbf("c2pa", "63327061" + C2, [manifest])
    return b"JP" + struct.pack(">HI", 1, 1) + store


def build_fp(C, K):
    p, small = B.photo(320, 240, 1), B.photo(160, 120, 2)
    icc = Path("/usr/share/color/icc/sRGB.icc").read_bytes()
    j = K["jpg_exif"][0]
    # AFCP trailers as metadata editors write them
    for i, (recs, big) in enumerate((([(b"IPTC", IPTC)], True), ([(b"IPTC", IPTC), (b"Nail", K["jpg"][0][:2048])], True),
                                     ([(b"IPTC", IPTC)], False))):
        base = [j, K["jpg"][0], K["jpg_prog"][0]][i]
        fp(f"afcp_{i}.jpg", base + afcp(len(base), recs, big), "jpg", "AFCP trailer (AXS!/AXS*) with an IPTC directory")
    # AVIF image sequence that ends with a top-level free box
    frames = [B.photo(96, 64, 60 + i) for i in range(3)]
    avis = bmff_fix_times(B.save(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100,
                                 quality=50, speed=8))
    assert b"avis" in avis[:32]
    for n in (0, 64, 1024):
        fp(f"avis_free{n}.avif", avis + box(b"free", b"\0" * n), "avif", f"AVIF sequence (avis) + top-level free box of {n} bytes")
    # cursors with several entries, PNG and DIB
    fp("cursor_mixed.cur", cur_from_ico(ico_mixed(B.photo(256, 256, 61)), [(1, 1), (3, 2), (5, 4), (31, 30)]), "ico",
       "CUR (type 2) with DIB 16/32/48 + PNG 256 entries")
    fp("cursor_png.cur", cur_from_ico(B.save(B.photo(64, 64, 62), "ICO", sizes=[(16, 16), (32, 32), (64, 64)]),
                                      [(0, 0), (2, 2), (4, 4)]), "ico", "CUR with 3 PNG entries")
    # zeros after EOI then a stray fragment of JPEG tables
    for i, base in enumerate(("jpg", "jpg_prog")):
        jp = K[base][0]
        segs = {m: jp[o:o + n] for o, m, n in jpeg_segments(jp) if m in (0xDB, 0xC4)}
        frag = segs[0xDB] + segs[0xC4] if i == 0 else segs[0xC4][:40]
        fp(f"zeros_then_tables_{base}.jpg", jp + b"\0" * 22528 + frag, "jpg",
           "22 KiB zeros after EOI then a leftover DQT/DHT fragment (editor slack)")
    # MPO whose MPF offsets are wrong
    mpo = B.save(p, "MPO", save_all=True, append_images=[B.photo(320, 240, 9)], quality=85)
    e, t, ents = mpf_entries(mpo)
    for name, fix in (("zero", lambda v: 0), ("plus7", lambda v: v + 7), ("minus13", lambda v: v - 13)):
        d = bytearray(mpo)
        v = struct.unpack(e + "I", d[ents[1] + 8:ents[1] + 12])[0]
        struct.pack_into(e + "I", d, ents[1] + 8, fix(v))
        fp(f"mpo_offset_{name}.jpg", bytes(d), "jpg", f"MPO whose second MP entry offset is wrong ({name})")
    d = bytearray(mpo)
    d[t + 4:t + 8] = b"\0" * 4
    fp("mpo_ifd_zeroed.jpg", bytes(d), "jpg", "MPO whose MPF IFD offset is zeroed")
    d = bytearray(mpo)
    d[t - 4:t] = b"\0" * 4
    fp("mpo_header_zeroed.jpg", bytes(d), "jpg", "MPO whose 'MPF\\0' identifier is zeroed")
    # truncated PNGs
    png = K["png"][0]
    idat = png.find(b"IDAT")
    fp("trunc_in_idat.png", png[:idat + 5000], "png", "PNG cut inside IDAT")
    fp("trunc_in_iend_header.png", png[:-7], "png", "PNG cut inside the IEND chunk header")
    fp("trunc_in_chunk_header.png", png[:33 + 6], "png", "PNG cut inside the chunk header after IHDR")
    # a GIF whose first image is cut, then the same GIF again
    for g in ("gif", "gif_anim"):
        gif = K[g][0]
        fp(f"gif_broken_then_same_{g}.gif", gif[:len(gif) // 2] + gif, "gif",
           "first copy cut inside its image data (no trailer), followed by the same complete GIF")
    # Fireworks-like private zlib chunks; compressed iTXt/zTXt/iCCP
    layer = zlib.compress(small.convert("RGBA").tobytes(), 6)
    fw = png[:33] + png_chunk(b"prVW", zlib.compress(b"\0" * 200)) + png[33:-12]
    fw += png_chunk(b"mkBF", zlib.compress(b"FWDOC" + b"\0\1" * 300)) + png_chunk(b"mkTS", layer)
    fw += png_chunk(b"mkBS", zlib.compress(b"<brush/>" * 50)) + png_chunk(b"mkBT", layer[:20000]) + png[-12:]
    fp("fireworks_like.png", fw, "png", "Fireworks-style private mkBF/mkTS/mkBS/mkBT chunks holding zlib data")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", B.xmp(pad=4000).decode(), zip=True)
    info.add_text("Comment", "compressed " * 300, zip=True)
    fp("compressed_text_icc.png", B.save(small, "PNG", pnginfo=info, icc_profile=icc), "png",
       "compressed iTXt XMP + zTXt + iCCP")
    # maker notes, Photoshop APP13, C2PA
    for i, head in enumerate((b"Nikon\0\x02\x10\0\0", b"")):
        mn = Image.Exif()
        mn[0x0001], mn[0x0004] = b"0210", "FINE   "
        mn[0x0097] = bytes(struct.pack("<9000H", *[(k * 37) % 4096 for k in range(9000)]))
        ex = Image.Exif()
        ex[0x010F], ex[0x0110] = ("NIKON CORPORATION", "NIKON D90") if i == 0 else ("Canon", "Canon EOS 5D")
        ex.get_ifd(0x8769)[0x927C] = head + mn.tobytes()
        fp(f"makernote_{i}.jpg", B.save(p, "JPEG", quality=85, exif=ex.tobytes()), "jpg",
           f"Exif with an 18 KB IFD-structured maker note{' (Nikon header)' if head else ''}")
    th = B.save(B.photo(160, 120, 63), "JPEG", quality=70)
    for i, base in enumerate(("jpg", "jpg_exif")):
        out, _ = in_jpeg(K[base][0], 0xED, photoshop_app13(th, 160, 120))
        fp(f"photoshop_thumb_{i}.jpg", out, "jpg", "Photoshop APP13: IPTC, resolution and a JFIF thumbnail resource")
    out, _ = in_jpeg(K["jpg_exif"][0], 0xEB, c2pa_app11(5))
    fp("c2pa_app11.jpg", out, "jpg", "C2PA manifest store (JUMBF: jumb/jumd/cbor) in APP11 'JP'")
    build_tool_outputs(C, K)


def build_tool_outputs(C, K):
    ej = B.tmpfile("fp_exif.jpg", B.save(B.photo(320, 240, 7), "JPEG", quality=85, exif=B.exif_bytes(),
                                         xmp=B.xmp(pad=300), icc_profile=Path("/usr/share/color/icc/sRGB.icc").read_bytes()))
    epng = B.save(B.photo(320, 240, 7), "PNG")
    fp("heif_enc.heic", tool(["heif-enc", "-q", "50", "-o", "{out}", str(ej)], b"", "h", ".heic"), "heic",
       "heif-enc (libheif, x265) from a JPEG with EXIF/XMP")
    fp("heif_enc_av1.avif", tool(["heif-enc", "-A", "-q", "50", "-o", "{out}", str(ej)], b"", "ha", ".avif"), "avif",
       "heif-enc -A (libheif, AV1) from a JPEG with EXIF/XMP")
    exf, xmpf = B.tmpfile("fp.exif", B.exif_bytes()), B.tmpfile("fp.xmp", B.xmp(pad=300))
    fp("avifenc_meta.avif", tool(["avifenc", "-j", "1", "-s", "8", "--exif", str(exf), "--xmp", str(xmpf), "{in}", "{out}"],
                                 epng, "a.png", ".avif"), "avif", "avifenc with --exif and --xmp")
    fp("cwebp_meta.webp", tool(["cwebp", "-quiet", "-metadata", "all", "{in}", "-o", "{out}"], ej.read_bytes(), "c.jpg",
                               ".webp"), "webp", "cwebp -metadata all from a JPEG with EXIF/XMP/ICC")
    w = tool(["cwebp", "-quiet", "-lossless", "{in}", "-o", "{out}"], epng, "cl.png", ".webp")
    for what, f in (("icc", "/usr/share/color/icc/sRGB.icc"), ("exif", str(exf)), ("xmp", str(xmpf))):
        w = tool(["webpmux", "-set", what, f, "{in}", "-o", "{out}"], w, "m" + what + ".webp", ".webp")
    fp("webpmux_meta.webp", w, "webp", "cwebp -lossless then webpmux -set icc/exif/xmp")
    g = K["gif_anim"][0]
    fp("exiftool_xmp.gif", tool(["exiftool", "-q", "-XMP-dc:Title=stowaway", "-o", "{out}", "{in}"], g, "x.gif", ".gif"),
       "gif", "animated GIF (NETSCAPE2.0) with XMP DataXMP written by exiftool")
    fp("exiftool.jpg", tool(["exiftool", "-q", "-Comment=edited", "-XMP-dc:Creator=stowaway", "-IPTC:Keywords=corpus",
                             "-o", "{out}", "{in}"], ej.read_bytes(), "e.jpg", ".jpg"), "jpg",
       "JPEG rewritten by exiftool (COM, XMP, IPTC/APP13)")
    fp("exiftool.png", tool(["exiftool", "-q", "-XMP-dc:Creator=stowaway", "-PNG:Comment=edited", "-o", "{out}", "{in}"],
                            epng, "e.png", ".png"), "png", "PNG rewritten by exiftool (iTXt XMP, tEXt)")
    im = ["/usr/bin/convert"]
    fp("imagemagick.png", tool(im + ["{in}", "-define", "png:exclude-chunks=date,time", "{out}"], ej.read_bytes(),
                               "i.jpg", ".png"), "png", "ImageMagick convert JPEG -> PNG (date chunks excluded)")
    fp("imagemagick.jpg", tool(im + ["{in}", "-quality", "80", "{out}"], ej.read_bytes(), "i2.jpg", ".jpg"), "jpg",
       "ImageMagick convert JPEG -> JPEG keeping profiles")
    fp("jpegtran_prog.jpg", tool(["jpegtran", "-copy", "all", "-progressive", "-optimize", "-outfile", "{out}", "{in}"],
                                 ej.read_bytes(), "t.jpg", ".jpg"), "jpg", "jpegtran -copy all -progressive -optimize")
    fp("jpegoptim.jpg", tool(["sh", "-c", "cp {in} {out} && jpegoptim -q --all-progressive {out}"], ej.read_bytes(), "o.jpg",
                             ".jpg"), "jpg", "jpegoptim --all-progressive (metadata kept)")
    fp("optipng.png", tool(["optipng", "-quiet", "-o2", "-out", "{out}", "{in}"], epng, "op.png", ".png"), "png", "optipng -o2")
    fp("pngcrush.png", tool(["pngcrush", "-q", "-rem", "tIME", "{in}", "{out}"], epng, "pc.png", ".png"), "png", "pngcrush")
