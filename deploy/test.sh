#!/usr/bin/env bash
# Installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test: unit, conversation,
# integration and browser; then runs the store and server tests again under
# ThreadSanitizer, checks that the Release build of deploy/run.sh compiles,
# and runs the fuzz targets. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh test

if [[ -f tests/browser/package-lock.json ]]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

build_dir=${BACKTALK_TEST_BUILD_DIR:-build/test}
# Line tables (-g1) are all the sanitizers' reports need; full debug info
# made this tree 3.4 GB, more than a CI machine's free disk.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DBACKTALK_SANITIZE=ON -DBACKTALK_TESTS=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 300

# ThreadSanitizer cannot share a tree with ASan: a tree of its own with only
# the threaded parts' tests (the store's writer and readers, the server's
# strands and the real `backtalk serve` the integration tests drive). -O1
# keeps the instrumented server fast enough for the tests' timeouts.
tsan_dir=${BACKTALK_TSAN_BUILD_DIR:-build/tsan}
tsan_targets=(backtalk backtalk_store_tests backtalk_pg_tests backtalk_pg_conversation_tests
  backtalk_conversation_tests backtalk_server_tests backtalk_integration_tests)
cmake -S . -B "$tsan_dir" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g1 -O1" \
  -DBACKTALK_TSAN=ON -DBACKTALK_TESTS=ON -DBACKTALK_BENCH=OFF >/dev/null
cmake --build "$tsan_dir" -j "$(nproc)" --target "${tsan_targets[@]}"
# The kill -9 tests bound what a crash loses by the turns of the last 250 ms:
# a timing bound, which the ASan run above checks; TSan slows the writer
# several times over, so it falls further behind than that bound allows.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir "$tsan_dir" --output-on-failure -j "$(nproc)" --timeout 300 \
  -R '^(store|store postgresql|store postgresql conversations|conversations|server|integration): ?' \
  -E 'kill -9 under load'

# The Release build deploy/run.sh makes: GCC's -O3 warns where -O0 does not,
# and warnings are errors.
release_dir=${BACKTALK_BUILD_DIR:-build/release}  # where deploy/run.sh builds
cmake -S . -B "$release_dir" -DCMAKE_BUILD_TYPE=Release -DBACKTALK_TESTS=OFF >/dev/null
cmake --build "$release_dir" -j "$(nproc)" --target backtalk

# The fuzz targets need clang: a tree of their own, each target run briefly.
fuzz_dir=${BACKTALK_FUZZ_BUILD_DIR:-build/fuzz}
CXX=clang++-14 cmake -S . -B "$fuzz_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBACKTALK_FUZZ=ON >/dev/null
cmake --build "$fuzz_dir" -j "$(nproc)"
ctest --test-dir "$fuzz_dir" --output-on-failure
