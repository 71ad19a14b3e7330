#!/usr/bin/env bash
# Benchmark the nightly run end to end on generated fixtures:
# wall time and records/s per stage and in total (the run's own clock, from
# its report, and the process from exec to exit, which adds loading the
# program and giving its memory back), peak RSS, store size,
# pairwise precision/recall/F1 against the truth, and in-process lookup
# latency (p50/p99). Two lines per size, as a Markdown table: identifiers
# only (the fixture's unify.yaml) and with scored matching (the same plus a
# `matching:` section); then FEBRL-style person data (100 000 people with
# typo'd duplicates, fixtures/febrl/unify.yaml), scored.
#
# usage: bench/run.sh [--sizes "100000 1000000"] [--full] [--no-febrl] [--repeat N] [--work DIR] [--build DIR]
#   --full   also run 10 000 000 customers (about 27 M records, ~5 GB of exports)
#   --repeat N  run each size's identifiers-only line N times more and print the spread of its
#            total and process seconds (min / median / max) under the table: on a shared
#            machine one run says little
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes="100000 1000000"
work=${TMPDIR:-/tmp}/unify-bench
build=$root/build/release
febrl=1
repeat=0
spreads=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --full) sizes="$sizes 10000000"; shift ;;
    --no-febrl) febrl=0; shift ;;
    --work) work=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--sizes \"N ...\"] [--full] [--no-febrl] [--repeat N] [--work DIR] [--build DIR]" >&2; exit 2 ;;
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
echo "| data | matching | records | ingest s | link s | ids s | write s | total s | process s | records/s | peak RSS MiB | store MiB | precision | recall | F1 | lookup p50 µs | lookup p99 µs |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"

# One run of config $1 (store in $2) scored against truth $3: one table row labelled $4 $5.
# $6: exports file and kind for the lookup benchmark ("-" skips it).
measure() {
  local yaml=$1 store=$2 truth=$3 label=$4 mode=$5 lookup_src=$6
  local r=${yaml%.yaml}.report.json e=${yaml%.yaml}.eval.json
  rm -rf "$store"
  sync
  local started ended
  started=$(date +%s.%N)
  "$build/unify" run -c "$yaml" --quiet --report "$r"
  ended=$(date +%s.%N)
  "$build/unify" eval -c "$yaml" --truth "$truth" --json > "$e"
  local lookup="p50 - p99 -"
  [ "$lookup_src" != "-" ] && lookup=$("$build/bench_lookup" "$yaml" "$lookup_src" email 1000000)
  local records total
  records=$(grep -o '"clusters":{"records":[0-9]*' "$r" | grep -o '[0-9]*$')
  total=$(field total_seconds "$r")
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %.0f | %s | %.0f | %.4f | %.4f | %.4f | %s | %s |\n" \
    "$label" "$mode" "$records" "$(stage ingest "$r")" "$(stage link "$r")" "$(stage ids "$r")" "$(stage write "$r")" \
    "$total" "$(echo "$ended - $started" | bc -l)" "$(echo "$records / $total" | bc -l)" "$(field peak_rss_mb "$r")" \
    "$(du -sm "$store" | cut -f1)" "$(field precision "$e")" "$(field recall "$e")" \
    "$(field f1 "$e")" "$(echo "$lookup" | grep -o 'p50 [0-9.-]*' | cut -d' ' -f2)" \
    "$(echo "$lookup" | grep -o 'p99 [0-9.-]*' | cut -d' ' -f2)"
}

# $repeat more runs of config $1 (store in $2), labelled $3: the spread of their total and process seconds.
spread() {
  local yaml=$1 store=$2 label=$3 r=${1%.yaml}.spread.json totals=() walls=() started ended
  for _ in $(seq "$repeat"); do
    rm -rf "$store"
    sync
    started=$(date +%s.%N)
    "$build/unify" run -c "$yaml" --quiet --report "$r"
    ended=$(date +%s.%N)
    totals+=("$(field total_seconds "$r")")
    walls+=("$(echo "$ended - $started" | bc -l)")
  done
  local t w
  t=$(printf '%s\n' "${totals[@]}" | sort -g | awk '{v[NR]=$1} END {printf "%.2f / %.2f / %.2f", v[1], v[int((NR+1)/2)], v[NR]}')
  w=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{v[NR]=$1} END {printf "%.2f / %.2f / %.2f", v[1], v[int((NR+1)/2)], v[NR]}')
  echo "$label: $repeat more runs, total s min / median / max $t; process s $w"
}

for n in $sizes; do
  dir=$work/c$n
  if [ ! -f "$dir/.generated" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    "$build/unify-fixtures" --customers "$n" --seed 7 --out "$dir" 2>/dev/null
    touch "$dir/.generated"
  fi
  # the fixture's config without its matching section, and with it (u from the default number of pairs)
  sed -e "s#../../var/small-store#$dir/store#" -e "s#../../var/small-rejects.txt#$dir/rejects.txt#" \
    -e '/^matching:/,$d' "$root/fixtures/small/unify.yaml" > "$dir/unify.yaml"
  sed -e "s#../../var/small-store#$dir/scored-store#" -e "s#../../var/small-rejects.txt#$dir/rejects.txt#" \
    -e '/u_sample_pairs:/d' "$root/fixtures/small/unify.yaml" > "$dir/scored.yaml"
  measure "$dir/unify.yaml" "$dir/store" "$dir/truth.csv" "$n customers" identifiers "$dir/web_accounts.jsonl"
  [ "$repeat" -gt 0 ] && spreads+=("$(spread "$dir/unify.yaml" "$dir/store" "$n customers, identifiers")")
  measure "$dir/scored.yaml" "$dir/scored-store" "$dir/truth.csv" "$n customers" scored "$dir/web_accounts.jsonl"
done

if [ "$febrl" = 1 ]; then
  dir=$work/febrl100000
  if [ ! -f "$dir/.generated" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    "$build/unify-fixtures" --customers 100000 --seed 7 --profile febrl --out "$dir" 2>/dev/null
    touch "$dir/.generated"
  fi
  cp "$root/fixtures/febrl/unify.yaml" "$dir/unify.yaml"
  measure "$dir/unify.yaml" "$dir/store" "$dir/febrl_truth.csv" "FEBRL 100000 people" scored -
fi

if [ ${#spreads[@]} -gt 0 ]; then
  echo
  printf '%s\n' "${spreads[@]}"
fi
