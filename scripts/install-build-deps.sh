#!/usr/bin/env bash
# What building the workspace needs beyond Rust and gcc: the notifier's Kafka client builds
# librdkafka from source with cmake, and librdkafka 2.12 includes curl's headers (header only;
# nothing links libcurl). Idempotent; run as root on Debian 12:
#   bash scripts/install-build-deps.sh
set -euo pipefail
PKGS=(cmake libcurl4-openssl-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "apt: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "apt: build dependencies already installed"
fi
