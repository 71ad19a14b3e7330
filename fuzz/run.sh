#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, ASan + UBSan) into build/fuzz and run
# each for a bounded time, one after another (one core each, at most one
# fuzzer at a time).
#
#   fuzz/run.sh [SECONDS_PER_HARNESS] [HARNESS...]     default 8 s, all harnesses
#
# The seed corpus fuzz/corpus/<harness>/ is read, never written: new inputs go
# to build/fuzz/corpus/<harness>/, crashes to build/fuzz/artifacts/<harness>/.
# Prints one line per harness: seconds, executions, exec/s, coverage (cov: =
# edges, ft: = features, from libFuzzer's final stats), corpus size, result.
# Exits 1 when a harness crashed, leaked, hung or broke a property.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
shift || true
all=(fuzz_csv fuzz_jsonl fuzz_gzip fuzz_normalize fuzz_config fuzz_http)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")

build=build/fuzz
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DUF_FUZZ=ON -DUF_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
printf '%-15s %7s %11s %8s %6s %7s %6s  %s\n' harness seconds execs exec/s cov ft corpus result
for h in "${harnesses[@]}"; do
  mkdir -p "$build/corpus/$h" "$build/artifacts/$h"
  log="$build/$h.log"
  set +e
  "$build/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$h/" "$build/corpus/$h" "fuzz/corpus/$h" >"$log" 2>&1
  rc=$?
  set -e
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  [ -z "$done_line" ] && done_line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1 || true)
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  [ -z "$execs" ] && execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$done_line")
  cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || echo "?")
  ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || echo "?")
  corp=$(grep -oE 'corp: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || echo "?")
  speed=$(grep -oE 'exec/s: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || echo "?")
  result=ok
  if [ $rc -ne 0 ]; then
    result="FAILED (exit $rc, log $log, inputs in $build/artifacts/$h/)"
    failed=1
  fi
  printf '%-15s %7s %11s %8s %6s %7s %6s  %s\n' "$h" "$seconds" "${execs:-?}" "$speed" "$cov" "$ft" "$corp" "$result"
  if [ $rc -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|property violated|Test unit written' "$log" | head -8 | sed 's/^/    /' || true
  fi
done
exit $failed
