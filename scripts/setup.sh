#!/usr/bin/env bash
# Install everything signward needs on Debian (apt packages, a virtualenv, the package),
# then run the main job. Usage: bash scripts/setup.sh [--no-run]
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(softhsm2 p11-kit p11-kit-modules gcc libc6-dev libssl-dev libsodium-dev libnghttp2-dev gdb openssl gnupg zstd xz-utils lz4 aeskeyfind rsakeyfind graphviz chromium openjdk-17-jdk-headless putty-tools postgresql nginx wrk python3 python3-venv python3-dev)
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
echo "signward installed in $(pwd)/.venv"

if [ "${1:-}" != "--no-run" ]; then
  bash scripts/main-job.sh
fi
