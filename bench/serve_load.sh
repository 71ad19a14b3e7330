#!/usr/bin/env bash
# Load benchmark of `unify serve` (issue 5 bar: >= 50 000 lookups/s on 2 cores,
# p99 <= 2 ms, zero errors, also while `unify run` commits new generations).
#
# Builds the 100 k-customer fixture (seed 7) and its store, takes real
# identifiers from the store (`unify export --profiles`: e-mails, phones,
# loyalty cards, CRM ids), starts `unify serve` on a free loopback port and
# drives it with wrk (keep-alive, --latency) through a Lua script that cycles
# through those identifiers (phone / e-mail / id=KIND:VALUE lookups mixed).
#   phase 1: the store is quiet;
#   phase 2: the same while `unify run` rewrites and commits the store again
#            and again (a new generation every ~second).
# Every request asks for an identifier the store holds, so every answer must
# be 200: wrk's "Non-2xx" and socket error counts must both be zero.
#
# Connections: wrk is a closed loop, so the mean latency is connections /
# throughput (Little's law): 64 connections at 65 000/s wait ~1 ms on average
# whatever the server does, and a p99 of 2 ms would need a tail barely twice
# the mean on 2 shared cores. The default, 16 keep-alive connections, is an
# agent application's connection pool; --connections 64 gives the old figure.
#
# usage: bench/serve_load.sh [--customers N] [--seconds S] [--connections C]
#                            [--threads T] [--server-threads T] [--run-nice N] [--run-background]
#                            [--work DIR] [--build DIR]
#   --run-nice N        run phase 2's `unify run` loop under `nice -n N` (default 0)
#   --run-background    run phase 2's `unify run` loop with --background (SCHED_IDLE)
#   --server-cpus L, --wrk-cpus L, --run-cpus L
#                       pin the server, wrk or the runs to CPUs (a taskset list: 0, 1, 0-1;
#                       the server and the runs through their own --cpus, wrk through taskset)
# Loopback only; everything it starts it stops.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
customers=100000
seconds=20
connections=16
threads=2
server_threads=2
run_nice=0
run_flags=""
server_pin=() wrk_pin=() run_pin=()   # unify's own --cpus for the server and runs, taskset for wrk
work=${TMPDIR:-/tmp}/unify-serve-bench
build=$root/build/release
while [ $# -gt 0 ]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --run-nice) run_nice=$2; shift 2 ;;
    --run-background) run_flags="--background"; shift ;;
    --server-cpus) server_pin=(--cpus "$2"); shift 2 ;;
    --wrk-cpus) wrk_pin=(taskset -c "$2"); shift 2 ;;
    --run-cpus) run_pin=(--cpus "$2"); shift 2 ;;
    --work) work=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--customers N] [--seconds S] [--connections C] [--threads T] [--server-threads T] [--run-nice N] [--run-background] [--server-cpus L] [--wrk-cpus L] [--run-cpus L] [--work DIR] [--build DIR]" >&2; exit 2 ;;
  esac
done

if ! command -v wrk >/dev/null; then
  echo "serve_load.sh: installing wrk" >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
    { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
fi
if [ ! -x "$build/unify" ] || [ ! -x "$build/unify-fixtures" ]; then
  "$root/deps.sh"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target unify unify-fixtures >/dev/null
fi
unify=$build/unify

dir=$work/c$customers
if [ ! -f "$dir/.generated" ]; then
  rm -rf "$dir"; mkdir -p "$dir"
  "$build/unify-fixtures" --customers "$customers" --seed 7 --out "$dir" 2>/dev/null
  touch "$dir/.generated"
fi
sed -e "s#../../var/small-store#$dir/store#" -e "s#../../var/small-rejects.txt#$dir/rejects.txt#" \
  "$root/fixtures/small/unify.yaml" > "$dir/unify.yaml"
rm -rf "$dir/store"
"$unify" run -c "$dir/unify.yaml" --quiet

# Request targets: the first e-mail, phone, loyalty card and CRM id of every
# profile, percent-encoded where needed ('+' would be a space in a query).
# Values held by more than 50 profiles (max_records_per_identifier: shop phones)
# are junk by frequency, never indexed, so a lookup of them is rightly a 404:
# they are left out.
"$unify" export -c "$dir/unify.yaml" --profiles "$dir/profiles.jsonl"
paths=$dir/paths.txt
{
  grep -o '"identifiers":{"email":\[{"value":"[^"]*"' "$dir/profiles.jsonl" | sed 's/.*"value":"//; s/"$//' |
    sed 's/%/%25/g; s/+/%2B/g; s/^/\/v1\/lookup?email=/'
  grep -o '"phone":\[{"value":"[^"]*"' "$dir/profiles.jsonl" | sed 's/.*"value":"//; s/"$//' |
    sed 's/+/%2B/g; s/^/\/v1\/lookup?phone=/'
  grep -o '"loyalty_card":\[{"value":"[^"]*"' "$dir/profiles.jsonl" | sed 's/.*"value":"//; s/"$//' |
    sed 's/^/\/v1\/lookup?id=loyalty_card:/'
  grep -o '"crm_id":\[{"value":"[^"]*"' "$dir/profiles.jsonl" | sed 's/.*"value":"//; s/"$//' |
    sed 's/^/\/v1\/lookup?id=crm_id:/'
} | awk '{ n[$0]++; line[NR] = $0 } END { for (i = 1; i <= NR; i++) if (n[line[i]] <= 50) print line[i] }' |
  awk 'BEGIN { srand(7) } { print rand() "\t" $0 }' | sort -k1,1 | cut -f2 > "$paths"
echo "identifiers: $(wc -l < "$paths") request targets (e-mail, phone, loyalty card, CRM id; shuffled)"

cat > "$dir/lookups.lua" <<LUA
-- Cycle through real identifiers; each wrk thread starts at another offset.
-- Every request is formatted once, in init (wrk's documented place for it):
-- formatting in request() made wrk spend ~40 % of its core in LuaJIT, CPU
-- that then is not the server's when both share a core.
local paths = {}
for line in io.lines("$paths") do paths[#paths + 1] = line end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end
local requests = {}
function init(args)
  for k = 1, #paths do requests[k] = wrk.format("GET", paths[k]) end
end
local i = 0
function request()
  i = i + 1
  return requests[((offset or 0) + i) % #requests + 1]
end
LUA

server_pid=""
runner_pid=""
cleanup() {
  [ -n "$runner_pid" ] && kill "$runner_pid" 2>/dev/null && wait "$runner_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  true
}
trap cleanup EXIT

"$unify" serve -c "$dir/unify.yaml" --listen 127.0.0.1:0 --threads "$server_threads" "${server_pin[@]}" 2> "$dir/serve.log" &
server_pid=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/serve.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "serve did not start:" >&2; cat "$dir/serve.log" >&2; exit 1; }
url=http://127.0.0.1:$port
# Warm up (page cache, connections).
"${wrk_pin[@]}" wrk -t"$threads" -c"$connections" -d2s -s "$dir/lookups.lua" "$url" >/dev/null

summary() { # wrk output -> one line
  local out=$1
  local rps p50 p99 non2xx sock
  rps=$(grep 'Requests/sec' "$out" | awk '{print $2}')
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  non2xx=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$out" | grep -o '[0-9]*$' || echo 0)
  sock=$(grep -o 'Socket errors: .*' "$out" || echo "Socket errors: none")
  echo "requests/s $rps, p50 $p50, p99 $p99, non-2xx ${non2xx:-0}, $sock"
}

echo "machine: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$threads -c$connections -d${seconds}s --latency, unify serve --threads $server_threads" \
  "${server_pin[*]:+(server: ${server_pin[*]}) }${wrk_pin[*]:+(wrk: ${wrk_pin[*]}) }${run_pin[*]:+(runs: ${run_pin[*]})}"
echo
echo "== phase 1: quiet store"
"${wrk_pin[@]}" wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$dir/lookups.lua" "$url" > "$dir/wrk1.txt"
cat "$dir/wrk1.txt"
echo "phase 1: $(summary "$dir/wrk1.txt")"

echo
echo "== phase 2: while unify run commits new generations (nice $run_nice${run_flags:+, $run_flags})"
runs_file=$dir/runs.txt
: > "$runs_file"
( while true; do nice -n "$run_nice" "$unify" run -c "$dir/unify.yaml" --quiet $run_flags "${run_pin[@]}" && echo ok >> "$runs_file"; done ) &
runner_pid=$!
sleep 0.5
"${wrk_pin[@]}" wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$dir/lookups.lua" "$url" > "$dir/wrk2.txt"
kill "$runner_pid" 2>/dev/null; wait "$runner_pid" 2>/dev/null || true
runner_pid=""
cat "$dir/wrk2.txt"
echo "phase 2: $(summary "$dir/wrk2.txt"), runs committed during it: $(wc -l < "$runs_file")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
curl -s "$url/metrics" 2>/dev/null | grep -E '^unify_(http_requests_total|store_last_run_id)' || true
