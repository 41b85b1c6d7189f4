#!/usr/bin/env bash
# Install everything tests/corpus/build.py needs. Idempotent; run as root on Debian 12.
#   bash tests/corpus/install-deps.sh
# Debian packages come from apt, Python packages from PyPI (requirements.txt), and two
# inputs are fetched from PyPI into tests/corpus/.cache (git-ignored):
#   - Pillow's sdist, for its Tests/images/ (real-world clean images) and an ICC profile
#   - a macOS arm64 MarkupSafe wheel, for a real Mach-O binary (_speedups.so)
#   - pip's own wheel, for distlib's t64.exe launcher (a real PE; Debian's pip strips it)
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
  libjpeg-turbo-progs    # cjpeg -restart (JPEG with restart markers)
  libtiff-tools          # tiffcp: big-endian, tiled, BigTIFF TIFFs
  optipng                # interlaced (Adam7) PNG
  libimage-exiftool-perl # EXIF thumbnail in a JPEG
  icc-profiles-free      # ICC profiles (one big enough to span several APP2 segments)
  desktop-base           # a few real-world Debian PNG/JPEG images
  ca-certificates
)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ! command -v "$PY" >/dev/null 2>&1; then missing+=(python3); fi
if ! "$PY" -m pip --version >/dev/null 2>&1; then missing+=(python3-pip); fi
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
rm -rf "$CACHE/dl"
echo "install-deps: done"
