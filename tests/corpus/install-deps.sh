#!/usr/bin/env bash
# Install everything tests/corpus/build.py needs. Idempotent; run as root on Debian 12.
#   bash tests/corpus/install-deps.sh
# Debian packages come from apt, Python packages from PyPI (requirements.txt), and these
# inputs are fetched into tests/corpus/.cache (git-ignored):
#   - Pillow's sdist, for its Tests/images/ (real-world clean images) and an ICC profile
#   - a macOS arm64 MarkupSafe wheel, for a real Mach-O binary (_speedups.so)
#   - pip's own wheel, for distlib's t64.exe launcher (a real PE; Debian's pip strips it)
#   - real-world pictures from PyPI sdists/wheels, npm tarballs and Debian .debs (pinned
#     versions where the registry keeps them), unpacked into .cache/realworld/<source>/;
#     only picture files are kept (see realworld.py for the list)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$HERE/.cache"
PY="${PYTHON:-python3}"
PILLOW_SDIST_VERSION=12.0.0
MARKUPSAFE_VERSION=3.0.2
PIP_WHEEL_VERSION=24.0

APT_PKGS=(
  ffmpeg                 # MPEG-TS/M2TS/MP4/MOV/FLV/MKV/WebM/AVI/MP3/AAC/OGG/FLAC/WAV payloads
  p7zip-full zip bzip2 gzip xz-utils zstd tar   # archive payloads
  gcc libc6-dev          # a real ELF payload
  libjpeg-turbo-progs    # cjpeg -restart (JPEG with restart markers); jpegtran rewrite (clean2/)
  libtiff-tools          # tiffcp: big-endian, tiled, BigTIFF TIFFs
  optipng                # interlaced (Adam7) PNG
  libimage-exiftool-perl # EXIF thumbnail in a JPEG
  icc-profiles-free      # ICC profiles (one big enough to span several APP2 segments)
  desktop-base           # a few real-world Debian PNG/JPEG images
  # hidden.py (issue 16): payload types and tool outputs
  gcab                   # CAB payload (gcab -c -z)
  arj                    # ARJ payload
  wabt                   # WebAssembly payload (wat2wasm)
  genisoimage            # ISO 9660 payload (51 KB image)
  cpio                   # CPIO payloads (newc, odc; --reproducible)
  binutils               # ar rcD (AR payload); as/ld: 32-bit ELF and PE32 payloads
  lz4                    # LZ4 frame payload
  openjdk-17-jdk-headless # javac: Java class payload
  groff-base             # groff -Tps: PostScript payload
  openssl                # openssl enc -aes-128-cbc: HLS AES-128 encrypted segments
  webp                   # cwebp/webpmux outputs with ICCP/EXIF/XMP (clean2/)
  libheif-examples       # heif-enc HEIC/AVIF outputs with EXIF/XMP (clean2/)
  libavif-bin            # avifenc --exif --xmp output (clean2/)
  imagemagick            # /usr/bin/convert rewrites (clean2/)
  jpegoptim              # jpegoptim rewrite (clean2/)
  pngcrush               # pngcrush rewrite (clean2/)
  ca-certificates
)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ! command -v "$PY" >/dev/null 2>&1; then missing+=(python3); fi
if ! "$PY" -m pip --version >/dev/null 2>&1; then missing+=(python3-pip); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi   # `npm pack` for npm fixtures
if ((${#missing[@]})); then
  echo "apt: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "apt: all packages already installed"
fi

# PyPI packages. Debian's own python3 is "externally managed" (PEP 668).
PIP_FLAGS=(--disable-pip-version-check)
INSTALL_FLAGS=(--root-user-action=ignore)
if "$PY" -c 'import sys,sysconfig,os; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"),"EXTERNALLY-MANAGED")) else 1)'; then
  INSTALL_FLAGS+=(--break-system-packages)
fi
if "$PY" - "$HERE/requirements.txt" <<'PYEOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split('#')[0].strip()
    if not line: continue
    name, want = line.split('==')
    try:
        if version(name) != want: sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PYEOF
then
  echo "pip: requirements already satisfied"
else
  echo "pip: installing requirements.txt"
  "$PY" -m pip install "${PIP_FLAGS[@]}" "${INSTALL_FLAGS[@]}" -q -r "$HERE/requirements.txt"
fi

mkdir -p "$CACHE/dl"
# Pillow's test images (real-world clean images) and test ICC profiles.
if [ ! -f "$CACHE/pillow-tests/.done-$PILLOW_SDIST_VERSION" ]; then
  "$PY" -m pip download "${PIP_FLAGS[@]}" -q --no-deps --no-binary=pillow \
    -d "$CACHE/dl" "pillow==$PILLOW_SDIST_VERSION"
  rm -rf "$CACHE/pillow-tests"; mkdir -p "$CACHE/pillow-tests"
  tar -xzf "$CACHE/dl/pillow-$PILLOW_SDIST_VERSION.tar.gz" -C "$CACHE/pillow-tests" \
    --strip-components=2 --wildcards "pillow-$PILLOW_SDIST_VERSION/Tests/images" "pillow-$PILLOW_SDIST_VERSION/Tests/icc"
  touch "$CACHE/pillow-tests/.done-$PILLOW_SDIST_VERSION"
fi

# A real Mach-O (arm64) shared library from a macOS wheel.
if [ ! -f "$CACHE/macho/_speedups.so" ]; then
  "$PY" -m pip download "${PIP_FLAGS[@]}" -q --no-deps --only-binary=:all: \
    --platform macosx_11_0_arm64 --python-version 311 -d "$CACHE/dl" "markupsafe==$MARKUPSAFE_VERSION"
  mkdir -p "$CACHE/macho"
  "$PY" - "$CACHE" <<'PYEOF'
import sys, zipfile, glob, os
cache = sys.argv[1]
whl = sorted(glob.glob(os.path.join(cache, 'dl', 'MarkupSafe-*macosx*arm64.whl')) +
             glob.glob(os.path.join(cache, 'dl', 'markupsafe-*macosx*arm64.whl')))[0]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith('.so'))
    data = z.read(name)
assert data[:4] in (b'\xcf\xfa\xed\xfe', b'\xca\xfe\xba\xbe'), 'not a Mach-O'
open(os.path.join(cache, 'macho', '_speedups.so'), 'wb').write(data)
PYEOF
fi
# A real PE (Windows x64 console launcher) vendored in pip's wheel (pinned for determinism).
if [ ! -f "$CACHE/pe/t64.exe" ]; then
  "$PY" -m pip download "${PIP_FLAGS[@]}" -q --no-deps --only-binary=:all: -d "$CACHE/dl" "pip==$PIP_WHEEL_VERSION"
  mkdir -p "$CACHE/pe"
  "$PY" - "$CACHE" <<'PYEOF'
import sys, zipfile, glob, os
cache = sys.argv[1]
with zipfile.ZipFile(glob.glob(os.path.join(cache, 'dl', 'pip-*.whl'))[0]) as z:
    data = z.read('pip/_vendor/distlib/t64.exe')
assert data[:2] == b'MZ', 'not a PE'
open(os.path.join(cache, 'pe', 't64.exe'), 'wb').write(data)
PYEOF
fi

# Real-world pictures shipped inside registry packages: dir, client, what, folder inside the
# package ("-": every picture in it) and, optionally, the most pictures to keep: packages with
# thousands of near-identical icons give an evenly spaced sample of their pictures sorted by path.
# Clients: sdist, wheel (manylinux_2_28), wheel2014 (manylinux2014/_2_17 wheels), npm, deb.
PILLOW_HEIF_VERSION="$(sed -n 's/^pillow-heif==//p' "$HERE/requirements.txt")"
REALWORLD=(
  "pillow-heif  sdist pillow-heif==$PILLOW_HEIF_VERSION tests/images/"
  "skimage      wheel scikit-image==0.26.0       skimage/data/"
  "piexif       sdist piexif==1.1.3              tests/images/"
  "imagesize    sdist imagesize==2.0.1           test/images/"
  "xmp-toolkit  sdist python-xmp-toolkit==2.1.0  test/"
  "wand         sdist wand==0.7.2                -"
  "pypi-exif    sdist exif==1.0.0                exif/tests/"
  "npm-exif        npm exif@0.6.0         test/"
  "npm-exif-js     npm exif-js@2.3.0      example/"
  "npm-exif-parser npm exif-parser@0.1.12 test/"
  "goexif     deb golang-github-rwcarlsen-goexif-dev       usr/share/gocode/src/github.com/rwcarlsen/goexif/"
  "go-x-image deb golang-golang-x-image-dev                usr/share/gocode/src/golang.org/x/image/"
  "go-imaging deb golang-github-disintegration-imaging-dev usr/share/gocode/src/github.com/disintegration/imaging/"
  "go-webp    deb golang-github-bep-gowebp-dev             usr/share/gocode/src/github.com/bep/gowebp/"
  "go-src     deb golang-1.19-src                          usr/share/go-1.19/src/image/"
  "gnome-bg   deb gnome-backgrounds                        usr/share/backgrounds/gnome/"
  # editors' outputs, camera and phone photos in wallpapers and docs, icon themes, codec tests
  "pygame     wheel2014 pygame==2.6.1       pygame/"
  "mpl        wheel2014 matplotlib==3.10.0  matplotlib/mpl-data/"
  "im6-doc    deb imagemagick-6-doc     usr/share/doc/imagemagick-6-common/html/"
  "pil-doc    deb python-pil-doc        usr/share/doc/python-pil-doc/html/"
  "opencv     deb opencv-doc            usr/share/doc/opencv-doc/examples/data/"
  "gimp-data  deb gimp-data             usr/share/gimp/2.0/              150"
  "adwaita    deb adwaita-icon-theme    usr/share/icons/Adwaita/         200"
  "tango      deb tango-icon-theme      usr/share/icons/Tango/           150"
  "oxygen     deb oxygen-icon-theme     usr/share/icons/oxygen/          200"
  "mate-bg    deb mate-backgrounds      usr/share/backgrounds/mate/"
  "ukui-bg    deb ukui-wallpapers       usr/share/backgrounds/"
  "sway-bg    deb sway-backgrounds      usr/share/backgrounds/sway/"
  "lomiri-bg  deb lomiri-wallpapers     usr/share/backgrounds/"
  "rust-tiff  deb librust-tiff-dev          usr/share/cargo/registry/"
  "rust-jpeg  deb librust-jpeg-decoder-dev  usr/share/cargo/registry/"
  "go-gift    deb golang-github-disintegration-gift-dev      usr/share/gocode/src/github.com/disintegration/gift/"
  "go-gofpdf  deb golang-github-jung-kurt-gofpdf-dev         usr/share/gocode/src/github.com/jung-kurt/gofpdf/"
  "go-colorx  deb golang-github-marekm4-color-extractor-dev  usr/share/gocode/src/github.com/marekm4/"
  "wordpress  deb wordpress             usr/share/wordpress/"
  "phpmyadmin deb phpmyadmin            usr/share/phpmyadmin/            250"
  "awstats    deb awstats               usr/share/awstats/               200"
  "nagios     deb nagios4-cgi           usr/share/nagios4/htdocs/"
  "hugin      deb hugin-data            usr/share/                       100"
  "digikam    deb digikam-data          usr/share/                       200"
  "gthumb     deb gthumb-data           usr/share/"
)
for line in "${REALWORLD[@]}"; do
  read -r dir client what inner cap <<<"$line"
  cap="${cap:-0}"
  want="$what $inner"; [ "$cap" = 0 ] || want="$want $cap"
  done_mark="$CACHE/realworld/.done-$dir"
  if [ -f "$done_mark" ] && [ "$(cat "$done_mark")" = "$want" ]; then continue; fi
  dl="$CACHE/dl/$dir"
  rm -rf "$dl"; mkdir -p "$dl"
  echo "realworld: fetching $what ($client)"
  case "$client" in
    sdist) "$PY" -m pip download "${PIP_FLAGS[@]}" -q --no-deps --no-binary=:all: -d "$dl" "$what" ;;
    wheel) "$PY" -m pip download "${PIP_FLAGS[@]}" -q --no-deps --only-binary=:all: \
             --platform manylinux_2_28_x86_64 --python-version 311 -d "$dl" "$what" ;;
    wheel2014) "$PY" -m pip download "${PIP_FLAGS[@]}" -q --no-deps --only-binary=:all: \
             --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --python-version 311 \
             -d "$dl" "$what" ;;
    npm) (cd "$dl" && npm pack --silent "$what" >/dev/null) ;;
    deb) chmod 777 "$dl"   # apt's _apt user writes there
         (cd "$dl" && { apt-get download -qq "$what" 2>/dev/null ||
                        { apt-get update -qq && apt-get download -qq "$what"; }; }) ;;
  esac
  rm -rf "$CACHE/realworld/$dir"
  "$PY" - "$dl" "$CACHE/realworld/$dir" "$inner" "$cap" <<'PYEOF'
import os, subprocess, sys, tarfile, zipfile
from pathlib import Path
dl, dest, inner = Path(sys.argv[1]), Path(sys.argv[2]), "" if sys.argv[3] == "-" else sys.argv[3]
cap = int(sys.argv[4])
EXTS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico", ".cur", ".heic",
        ".heif", ".hif", ".avif"}
(archive,) = [p for p in dl.iterdir() if p.is_file()]
def members():
    """(path inside the package, bytes) of its regular files; sdists/npm lose their top folder."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for i in z.infolist():
                if not i.is_dir():
                    name = i.filename if archive.suffix == ".whl" else i.filename.split("/", 1)[-1]
                    yield name, lambda i=i: z.read(i)
        return
    if archive.suffix == ".deb":
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(archive)], stdout=subprocess.PIPE)
        tar, strip = tarfile.open(fileobj=proc.stdout, mode="r|"), False
    else:
        tar, strip = tarfile.open(archive, mode="r|gz"), True
    for m in tar:
        if m.isfile():
            name = m.name.removeprefix("./") if not strip else m.name.split("/", 1)[-1]
            yield name, lambda m=m: tar.extractfile(m).read()
    if archive.suffix == ".deb":
        proc.wait()
pics = {name: read() for name, read in members()
        if name.startswith(inner) and os.path.splitext(name)[1].lower() in EXTS}
names = sorted(pics)
total = len(names)
if cap and total > cap:  # an evenly spaced, deterministic sample of the sorted paths
    names = [names[i * total // cap] for i in range(cap)]
for name in names:
    out = dest / name[len(inner):]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pics[name])
assert names, f"no pictures under {inner} in {archive.name}"
print(f"realworld: {len(names)} of {total} files from {archive.name}")
PYEOF
  echo "$want" >"$done_mark"
  rm -rf "$dl"
done
rm -rf "$CACHE/dl"
echo "install-deps: done"
