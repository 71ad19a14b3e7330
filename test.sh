#!/usr/bin/env bash
# Set up a fresh Debian machine and pass the tests: installs what is missing,
# builds the release and the sanitizer (ASan + UBSan) builds from scratch and
# runs the whole Criterion suite in both, then again under valgrind memcheck
# (every test program, no leaks), then every libFuzzer harness for a few
# seconds (fuzz/run.sh). Prints the wall time of each phase at the end.
#
#   UF_VALGRIND_TESTS="test_run test_store" ./test.sh   valgrind over these programs only (default: all)
#   UF_FUZZ_SECONDS=30 ./test.sh                        seconds per fuzz harness (default 8)
set -euo pipefail
cd "$(dirname "$0")"

# Phase timer: "phase NAME" ends the previous phase and starts the next; the summary
# is printed on exit, also after a failure (the failing phase last).
phase_names=() phase_secs=() phase_name="" phase_start=$SECONDS
phase() {
  if [ -n "$phase_name" ]; then
    phase_names+=("$phase_name")
    phase_secs+=($((SECONDS - phase_start)))
  fi
  phase_name=$1 phase_start=$SECONDS
}
phase_summary() {
  local status=$?
  phase ""
  echo "== wall time per phase$([ $status -eq 0 ] || echo " (failed in the last one)")"
  local i
  for i in "${!phase_names[@]}"; do
    printf '   %-44s %4d s  (%d:%02d)\n' "${phase_names[$i]}" "${phase_secs[$i]}" \
      $((phase_secs[i] / 60)) $((phase_secs[i] % 60))
  done
  printf '   %-44s %4d s  (%d:%02d)\n' "total" "$SECONDS" $((SECONDS / 60)) $((SECONDS % 60))
}
trap phase_summary EXIT

phase "setup (deps.sh, npm ci)"
./deps.sh
jobs=$(nproc)
# The browser test's playwright-core (pinned in tests/browser/package-lock.json).
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

phase "release: build"
rm -rf build/release build/sanitize
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs"
phase "release: tests"
echo "== release build: tests"
ctest --test-dir build/release --output-on-failure -j"$jobs"

phase "sanitizer: build"
cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DUF_SANITIZE=ON >/dev/null
cmake --build build/sanitize -j"$jobs"
phase "sanitizer: tests"
echo "== sanitizer build (AddressSanitizer + UndefinedBehaviorSanitizer): tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/sanitize --output-on-failure -j"$jobs"

# Every test program under valgrind memcheck, on the release build, longest first, one per
# core (scripts/valgrind-tests.sh; UF_TEST_SMALL=1 shrinks the heavy tests there).
phase "valgrind memcheck (every test program)"
# shellcheck disable=SC2086 # a list of program names
scripts/valgrind-tests.sh build/release ${UF_VALGRIND_TESTS:-}

phase "fuzzing (build + ${UF_FUZZ_SECONDS:-8} s per harness)"
echo "== fuzzing: every harness for ${UF_FUZZ_SECONDS:-8} s (clang, libFuzzer + ASan + UBSan)"
rm -rf build/fuzz
fuzz/run.sh "${UF_FUZZ_SECONDS:-8}"
