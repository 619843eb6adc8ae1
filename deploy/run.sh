#!/usr/bin/env bash
# Installs what is missing, builds, and starts backtalk with its embedded
# SQLite database on http://127.0.0.1:8080 (override with BACKTALK_* or flags:
# deploy/run.sh --listen 127.0.0.1:9000).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh build

build_dir=${BACKTALK_BUILD_DIR:-build/release}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DBACKTALK_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target backtalk
mkdir -p data
exec "$build_dir/adapters/backtalk" serve "$@"
