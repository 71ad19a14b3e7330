#!/usr/bin/env bash
# Benchmark the nightly run end to end on generated fixtures:
# wall time and records/s per stage and in total, peak RSS, store size,
# pairwise precision/recall/F1 against the truth, and in-process lookup
# latency (p50/p99). One line per size, as a Markdown table.
#
# usage: bench/run.sh [--sizes "100000 1000000"] [--full] [--work DIR] [--build DIR]
#   --full   also run 10 000 000 customers (about 27 M records, ~5 GB of exports)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes="100000 1000000"
work=${TMPDIR:-/tmp}/unify-bench
build=$root/build/release
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --full) sizes="$sizes 10000000"; shift ;;
    --work) work=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--sizes \"N ...\"] [--full] [--work DIR] [--build DIR]" >&2; exit 2 ;;
  esac
done

if [ ! -x "$build/unify" ] || [ ! -x "$build/bench_lookup" ]; then
  "$root/deps.sh"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target unify unify-fixtures bench_lookup >/dev/null
fi

field() { grep -o "\"$1\":[0-9.]*" "$2" | tail -1 | cut -d: -f2; }  # last: the run-wide figure
stage() { grep -o "\"name\":\"$1\",\"seconds\":[0-9.]*" "$2" | cut -d: -f3; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| customers | records | ingest s | link s | ids s | write s | total s | records/s | peak RSS MiB | store MiB | precision | recall | F1 | lookup p50 µs | lookup p99 µs |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $sizes; do
  dir=$work/c$n
  if [ ! -f "$dir/.generated" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    "$build/unify-fixtures" --customers "$n" --seed 7 --out "$dir" 2>/dev/null
    touch "$dir/.generated"
  fi
  sed -e "s#../../var/small-store#$dir/store#" -e "s#../../var/small-rejects.txt#$dir/rejects.txt#" \
    "$root/fixtures/small/unify.yaml" > "$dir/unify.yaml"
  rm -rf "$dir/store"
  sync
  "$build/unify" run -c "$dir/unify.yaml" --quiet --report "$dir/report.json"
  "$build/unify" eval -c "$dir/unify.yaml" --truth "$dir/truth.csv" --json > "$dir/eval.json"
  lookup=$("$build/bench_lookup" "$dir/unify.yaml" "$dir/web_accounts.jsonl" email 1000000)
  r=$dir/report.json
  records=$(grep -o '"clusters":{"records":[0-9]*' "$r" | grep -o '[0-9]*$')
  total=$(field total_seconds "$r")
  printf "| %s | %s | %s | %s | %s | %s | %s | %.0f | %s | %.0f | %.4f | %.4f | %.4f | %s | %s |\n" \
    "$n" "$records" "$(stage ingest "$r")" "$(stage link "$r")" "$(stage ids "$r")" "$(stage write "$r")" \
    "$total" "$(echo "$records / $total" | bc -l)" "$(field peak_rss_mb "$r")" \
    "$(du -sm "$dir/store" | cut -f1)" "$(field precision "$dir/eval.json")" "$(field recall "$dir/eval.json")" \
    "$(field f1 "$dir/eval.json")" "$(echo "$lookup" | grep -o 'p50 [0-9.]*' | cut -d' ' -f2)" \
    "$(echo "$lookup" | grep -o 'p99 [0-9.]*' | cut -d' ' -f2)"
done
