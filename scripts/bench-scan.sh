#!/usr/bin/env bash
# `stowaway scan` over a directory against `cat` reading the same files (goal: within 1.5x), plus
# peak memory on a 1 GiB file. Needs the corpus (scripts/test.sh builds it) and hyperfine.
# Usage: scripts/bench-scan.sh [DIR]   (default: target/corpus, warm page cache)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/corpus}
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
cargo build --release -q -p stowaway
bin=target/release/stowaway
files=$(find "$dir" -type f | wc -l); bytes=$(du -sb "$dir" | cut -f1)
echo "dataset: $dir, $files files, $bytes bytes"
hyperfine -N -i --warmup 3 --runs 20 --export-json target/bench-scan.json \
  "find $dir -type f -exec cat {} +" \
  "$bin scan --format json --no-progress $dir" >/dev/null  # -i: scan exits 1 when it finds something
python3 - <<'PY'
import json
r = json.load(open("target/bench-scan.json"))["results"]
cat, scan = (x["median"] for x in r)
print(f"cat median {cat*1e3:.1f} ms, scan median {scan*1e3:.1f} ms, ratio scan/cat {scan/cat:.2f}x")
PY
big=target/bench-big.jpg
if [ ! -f $big ]; then
  # A 1 GiB JPEG-structured file: a small real JPEG's header, then byte-stuffed noise, then EOI.
  python3 - "$big" <<'PY'
import sys, os
hdr = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300" + "01"*64 +
    "ffc0000b080010001001011100ffc4001400" + "00"*16 + "00" + "ffda0008010100003f00")
with open(sys.argv[1], "wb") as f:
    f.write(hdr)
    block = os.urandom(1 << 20).replace(b"\xff", b"\xff\x00")
    for _ in range(1024):
        f.write(block)
    f.write(b"\xff\xd9")
PY
fi
/usr/bin/time -f "1 GiB JPEG: %e s wall, max RSS %M KiB (file-backed pages of the map included)" \
  $bin scan --no-progress $big >/dev/null
# Heap only (the map's pages are page cache, reclaimable): valgrind's massif peak.
valgrind --tool=massif --massif-out-file=target/massif.out $bin scan --no-progress $big >/dev/null 2>&1
echo "1 GiB JPEG: peak heap $(grep mem_heap_B target/massif.out | cut -d= -f2 | sort -n | tail -1) bytes"
