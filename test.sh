#!/usr/bin/env bash
# Set up a fresh Debian machine and pass the tests: installs what is missing,
# builds the release and the sanitizer (ASan + UBSan) builds from scratch and
# runs the whole Criterion suite in both, then again under valgrind memcheck
# (no leaks), then every libFuzzer harness for a few seconds (fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")"
./deps.sh
jobs=$(nproc)
# The browser test's playwright-core (pinned in tests/browser/package-lock.json).
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

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

# Under valgrind every Criterion test is a fresh process (~1 CPU-second of valgrind start-up
# each, ~280 tests): the default set is the end-to-end programs, which run every stage, the
# CLI and the HTTP handler, plus the replay of every fuzz seed and regression (all readers,
# normalizers, the config loader). UF_VALGRIND_ALL=1 runs every test program (~6 more
# minutes on 2 quiet cores).
echo "== valgrind memcheck (release build; UF_TEST_SMALL=1: smaller generated fixtures)"
if [ "${UF_VALGRIND_ALL:-0}" = 1 ]; then
  scripts/valgrind-tests.sh build/release
else
  scripts/valgrind-tests.sh build/release test_fuzz_replay test_faults test_run test_match test_serve test_ingest test_stream
fi

echo "== fuzzing: every harness for ${UF_FUZZ_SECONDS:-8} s (clang, libFuzzer + ASan + UBSan)"
rm -rf build/fuzz
fuzz/run.sh "${UF_FUZZ_SECONDS:-8}"
