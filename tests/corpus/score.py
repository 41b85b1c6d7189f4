#!/usr/bin/env python3
"""Score a `stowaway` binary against a corpus manifest:  python3 tests/corpus/score.py BIN DIR

Runs `BIN scan --format json DIR` and compares each file's primary finding with DIR/manifest.json
(the layout build.py writes): precision, recall (overall and for payloads hidden inside the
picture's structure), F1, false-positive rate on clean files, exact begin and type among hits, and
right/total per manifest class. Any build can be scored, so a change is compared with the build
before it on the same files; `crates/detect/tests/corpus.rs` holds the bars for the current one.
"""
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, root = sys.argv[1], Path(sys.argv[2]).resolve()
    manifest = {e["file"]: e for e in json.loads((root / "manifest.json").read_text())}
    out = subprocess.run([binary, "scan", "--format", "json", "--no-progress", str(root)],
                         capture_output=True, text=True).stdout
    got = {}
    for line in out.splitlines():
        r = json.loads(line)
        got[Path(r["path"]).resolve().relative_to(root).as_posix()] = r
    n = Counter()
    classes = Counter()
    right = Counter()
    for f, e in manifest.items():
        r = got.get(f, {})
        found, want = bool(r.get("suspicious")), e["suspicious"]
        n["tp" if found and want else "fp" if found else "fn" if want else "tn"] += 1
        ok = found == want
        if found and want:
            exact = r.get("suspiciousBeginByte") == e["begin"]
            typed = r.get("suspiciousType") == e["type"]
            n["exact"] += exact
            n["typed"] += typed
            ok = exact and typed
        if want and e.get("location") == "inside":
            n["inside"] += 1
            n["inside_found"] += found
        cls = e.get("class", "-")
        classes[cls] += 1
        right[cls] += ok
    tp, fp, fn, tn = n["tp"], n["fp"], n["fn"], n["tn"]
    print(f"{binary} on {root}: {len(manifest)} files, tp {tp} fp {fp} fn {fn} tn {tn}")
    print(f"  precision {tp / max(tp + fp, 1):.4f}, recall {tp / max(tp + fn, 1):.4f}, "
          f"recall inside {n['inside_found'] / max(n['inside'], 1):.4f} of {n['inside']}, "
          f"F1 {2 * tp / max(2 * tp + fp + fn, 1):.4f}, false-positive rate {100 * fp / max(fp + tn, 1):.2f}%, "
          f"begin exact {100 * n['exact'] / max(tp, 1):.1f}%, type exact {100 * n['typed'] / max(tp, 1):.1f}%")
    for cls in sorted(classes):
        print(f"  class {cls}: {right[cls]} of {classes[cls]} right")


if __name__ == "__main__":
    main()
