#!/usr/bin/env bash
# Run every Criterion test program of a build under valgrind memcheck, as many
# at a time as there are cores: any memory error or definite/indirect leak
# fails the run, in the test process, in Criterion's test workers and in every
# `unify` child they start (--trace-children=yes).
#
#   scripts/valgrind-tests.sh [BUILD_DIR] [TEST...]   default build/release, every test_* program
#
# UF_TEST_SMALL=1 is set: tests that generate fixtures, kill writers or crunch
# big inputs use smaller ones and fewer repetitions there (each test says so),
# since every program runs 20-50 times slower under valgrind; the release and
# sanitizer passes run the full versions. UF_UNDER_VALGRIND=1 is set too
# (test_faults skips its random kill -9 test there).
#
# Cost: valgrind's start-up is paid by every process (the Criterion runner,
# one exec'd worker per test, every `unify` child): ~0.7 CPU-s for a test
# process, ~0.45 for a `unify` child, ~750 processes. The flags keep it low:
# --read-inline-info=no (stack traces show no inlined frames; the checks are
# the same) and scripts/valgrind-libgit2-stub.c in place of the libgit2 that
# libcriterion loads (read why there).
#
# Scheduling: longest program first (the expected seconds below, measured under
# valgrind; a program not listed is taken as long), so that the cores finish
# together. UF_VALGRIND_JOBS overrides the number of programs at a time.
#
# Logs: BUILD_DIR/valgrind/<test>.log (valgrind), <test>.out (Criterion) and <test>.xml (JUnit
# report with each test's seconds, to find the slow ones).
# Prints one line per program with its wall and CPU seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
shift || true
mkdir -p "$build/valgrind"
logs=$(cd "$build/valgrind" && pwd)
export UF_TEST_SMALL=1
export UF_UNDER_VALGRIND=1
supp="$PWD/scripts/valgrind.supp"

# Expected CPU seconds under valgrind (measured on the 2-core machine, 2026-12-06): the order
# of the queue. Only the order matters; a program not listed goes first.
expected() {
  case $1 in
    test_run) echo 92 ;; test_faults) echo 66 ;; test_lookup_cli) echo 49 ;; test_store) echo 44 ;;
    test_serve) echo 39 ;; test_match) echo 35 ;; test_run_crash) echo 27 ;; test_survive) echo 26 ;;
    test_link) echo 24 ;; test_unionfind) echo 21 ;; test_csv) echo 20 ;; test_config) echo 16 ;;
    test_jsonl) echo 15 ;; test_fs_model) echo 15 ;; test_stream) echo 12 ;; test_normalize_name) echo 10 ;;
    test_normalize_address) echo 10 ;; test_compare) echo 9 ;; test_fuzz_replay) echo 9 ;;
    test_blocklist_keys) echo 8 ;; test_ingest_parts) echo 8 ;; test_ingest) echo 7 ;; test_profile_codec) echo 6 ;;
    test_normalize_email) echo 4 ;; test_normalize_date) echo 4 ;; test_normalize_phone) echo 4 ;;
    test_normalize_identifier) echo 4 ;; test_parallel) echo 5 ;;
    *) echo 1000 ;;
  esac
}

run_one() {
  local t=$1 name rc=0 times
  name=$(basename "$t")
  rm -f "$logs/$name".*
  local TIMEFORMAT='%R %U %S'
  { time valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --show-leak-kinds=definite,indirect --error-exitcode=99 --trace-children=yes --child-silent-after-fork=no \
      --read-inline-info=no --suppressions="$supp" --log-file="$logs/$name.%p.log" \
      "$t" --jobs=1 --short-filename --xml="$logs/$name.xml" >"$logs/$name.out" 2>&1; } 2>"$logs/$name.time" || rc=$?
  # valgrind's reports of every process of this test, in one file
  cat "$logs/$name".*.log >"$logs/$name.log" 2>/dev/null || true
  rm -f "$logs/$name".*.log
  times=$(awk '{printf "%.0fs wall, %.0fs CPU", $1, $2 + $3}' "$logs/$name.time")
  # With --quiet a clean process logs nothing: anything but valgrind's warnings is an error
  # report (a leak, an invalid access, an uninitialised value...). Criterion's runner does not
  # pass on a worker's --error-exitcode, so the log decides.
  local errors
  errors=$(grep -Ev '^==[0-9]+== +(Warning: |This could cause spurious|See README_MISSING_SYSCALL)' "$logs/$name.log" | head -5)
  if [ $rc -ne 0 ] || [ -n "$errors" ]; then
    echo "FAIL  $name ($times, exit $rc): see $logs/$name.log and $logs/$name.out"
    [ -z "$errors" ] || printf '%s\n' "$errors" | sed 's/^/      /'
    return 1
  fi
  echo "ok    $name ($times)"
}
export -f run_one
export logs supp

if [ $# -gt 0 ]; then
  tests=$(for t in "$@"; do echo "$build/$t"; done)
else
  tests=$(find "$build" -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort)
fi
[ -n "$tests" ] || { echo "no test programs in $build" >&2; exit 1; }

# The libgit2 stub, under the soname the test programs' libcriterion asks for.
first=$(echo "$tests" | head -1)
soname=$(ldd "$first" | awk '$1 ~ /^libgit2\.so/ {print $1; exit}')
if [ -n "$soname" ]; then
  mkdir -p "$logs/lib"
  ${CC:-cc} -O2 -shared -fPIC -Wl,-soname,"$soname" -o "$logs/lib/$soname" scripts/valgrind-libgit2-stub.c
  export LD_LIBRARY_PATH="$logs/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
queue=$(for t in $tests; do echo "$(expected "$(basename "$t")") $t"; done | sort -k1,1nr -k2 | cut -d' ' -f2)
jobs=${UF_VALGRIND_JOBS:-$(nproc)}
echo "== valgrind memcheck ($build, UF_TEST_SMALL=1, $(echo "$queue" | wc -l) programs, $jobs at a time, longest first)"
start=$SECONDS
status=0
printf '%s\n' $queue | xargs -P "$jobs" -I{} bash -c 'run_one {}' || status=1
cpu=$(for t in $queue; do cat "$logs/$(basename "$t").time" 2>/dev/null; done | awk '{s += $2 + $3} END {printf "%.0f", s}')
echo "== valgrind memcheck: $((SECONDS - start)) s wall, $cpu s CPU"
exit $status
