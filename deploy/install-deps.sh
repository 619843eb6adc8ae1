#!/usr/bin/env bash
# Installs what backtalk needs from Debian 12's archive, only what is missing.
# usage: deploy/install-deps.sh [build|test]   (test adds the browser, nginx,
# PostgreSQL 15, whose throwaway servers the store tests start, and podman
# and debootstrap, with which a test builds deploy/Dockerfile)
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config
  libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev
  libsqlitecpp-dev libsqlite3-dev sqlite3 doctest-dev
  libcli11-dev libssl-dev libjemalloc-dev libpq-dev
)
test_packages=(
  chromium nodejs npm nginx openssl python3 clang-14 libclang-rt-14-dev systemd
  postgresql-15 podman debootstrap
)

wanted=("${build_packages[@]}")
if [[ "${1:-build}" == "test" ]]; then
  wanted+=("${test_packages[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# node and npm may come from outside Debian (nodesource, nvm); keep what works.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for pkg in "${missing[@]}"; do
    [[ "$pkg" == nodejs || "$pkg" == npm ]] || filtered+=("$pkg")
  done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing packages and not root: run as root or install them: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
