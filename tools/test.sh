#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every CPU test: the unit, golden and end-to-end
# tests; the decoder tests again under AddressSanitizer + UBSan; the push-source fuzzer for a
# bounded time. GPU tests (ctest label "gpu") run through tools/gpu_check.sh instead.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
fuzz_seconds=${VIGIL_FUZZ_SECONDS:-60}
tools/install_deps.sh
tools/js/install.sh  # transformers.js, the tokenizer tests' reference

echo "== build and test (RelWithDebInfo, warnings as errors)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs" -LE gpu

echo "== decoder tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_WERROR=ON \
  -DVIGIL_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$jobs" --target decoder_tests
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j "$jobs" -L decoder -LE gpu

echo "== push-source fuzzer, ${fuzz_seconds} s"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVIGIL_BUILD_FUZZERS=ON -DVIGIL_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_push_source
mkdir -p build-fuzz/corpus
build-fuzz/tests/fuzz/fuzz_push_source -max_total_time="$fuzz_seconds" -rss_limit_mb=4096 \
  -timeout=20 build-fuzz/corpus tests/fuzz/seeds
echo "== all tests passed"
