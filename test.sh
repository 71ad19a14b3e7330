#!/usr/bin/env bash
# Set up a fresh Debian machine and pass the tests: installs what is missing,
# builds the release and the sanitizer (ASan + UBSan) builds from scratch and
# runs the whole Criterion suite in both, then again under valgrind memcheck
# (no leaks), then every libFuzzer harness for a few seconds (fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")"
./deps.sh
jobs=$(nproc)

rm -rf build/release build/sanitize
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs"
echo "== release build: tests"
ctest --test-dir build/release --output-on-failure -j"$jobs"

cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DUF_SANITIZE=ON >/dev/null
cmake --build build/sanitize -j"$jobs"
echo "== sanitizer build (AddressSanitizer + UndefinedBehaviorSanitizer): tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/sanitize --output-on-failure -j"$jobs"

echo "== valgrind memcheck (release build; UF_TEST_SMALL=1: smaller generated fixtures)"
scripts/valgrind-tests.sh build/release

echo "== fuzzing: every harness for ${UF_FUZZ_SECONDS:-8} s (clang, libFuzzer + ASan + UBSan)"
rm -rf build/fuzz
fuzz/run.sh "${UF_FUZZ_SECONDS:-8}"
