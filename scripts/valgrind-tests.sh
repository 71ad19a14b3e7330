#!/usr/bin/env bash
# Run every Criterion test program of a build under valgrind memcheck, two at
# a time: any memory error or definite/indirect leak fails the run, in the
# test process, in Criterion's forked test workers and in every `unify` child
# they start (--trace-children=yes).
#
#   scripts/valgrind-tests.sh [BUILD_DIR] [TEST...]   default build/release, every test_* program
#
# UF_TEST_SMALL=1 is set: tests that generate fixtures use smaller ones and
# fewer repetitions (see tests/test_faults.c, tests/test_run_crash.c), since
# every program runs 20-50 times slower under valgrind.
# Logs: BUILD_DIR/valgrind/<test>.log. Prints one line per test with its time.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
shift || true
logs="$build/valgrind"
mkdir -p "$logs"
export UF_TEST_SMALL=1
export UF_UNDER_VALGRIND=1
supp="$PWD/scripts/valgrind.supp"

run_one() {
  local t=$1 name
  name=$(basename "$t")
  local start=$SECONDS rc=0
  rm -f "$logs/$name".*
  valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --error-exitcode=99 --trace-children=yes --child-silent-after-fork=no --suppressions="$supp" \
    --log-file="$logs/$name.%p.log" "$t" --jobs=1 --short-filename >"$logs/$name.out" 2>&1 || rc=$?
  # valgrind's reports of every process of this test, in one file
  cat "$logs/$name".*.log >"$logs/$name.log" 2>/dev/null || true
  rm -f "$logs/$name".*.log
  local took=$((SECONDS - start))
  # With --quiet a clean process logs nothing: anything but valgrind's warnings is an error
  # report (a leak, an invalid access, an uninitialised value...). Criterion's runner does not
  # pass on a worker's --error-exitcode, so the log decides.
  local errors
  errors=$(grep -Ev '^==[0-9]+== +(Warning: |This could cause spurious|See README_MISSING_SYSCALL)' "$logs/$name.log" | head -5)
  if [ $rc -ne 0 ] || [ -n "$errors" ]; then
    echo "FAIL  $name (${took}s, exit $rc): see $logs/$name.log and $logs/$name.out"
    [ -z "$errors" ] || printf '%s\n' "$errors" | sed 's/^/      /'
    return 1
  fi
  echo "ok    $name (${took}s)"
}
export -f run_one
export logs supp

if [ $# -gt 0 ]; then
  tests=$(for t in "$@"; do echo "$build/$t"; done)
else
  tests=$(find "$build" -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort)
fi
[ -n "$tests" ] || { echo "no test programs in $build" >&2; exit 1; }
echo "== valgrind memcheck ($build, UF_TEST_SMALL=1)"
status=0
printf '%s\n' $tests | xargs -P 2 -I{} bash -c 'run_one {}' || status=1
exit $status
