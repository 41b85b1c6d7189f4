#!/usr/bin/env bash
# The one command that passes every test on a fresh Debian 12 machine: installs what the tests
# need (sample-making tools), builds the test corpus, then runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/corpus/install-deps.sh
python3 tests/corpus/build.py target/corpus

if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
cargo nextest run --workspace --no-fail-fast "$@"
