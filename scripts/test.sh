#!/usr/bin/env bash
# The one command that passes every test on a fresh Debian 12 machine: installs what the tests
# need (sample-making tools), makes sure PostgreSQL is up, builds the test corpus, then runs the
# whole workspace's tests. Tests that touch PostgreSQL create their own databases on the server
# that DATABASE_URL names (default: the local server, trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-build-deps.sh
bash tests/corpus/install-deps.sh
bash scripts/install-services.sh
bash scripts/start-services.sh
source target/services/env
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
python3 tests/corpus/build.py target/corpus

if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
cargo nextest run --workspace --no-fail-fast "$@"
