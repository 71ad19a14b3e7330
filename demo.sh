#!/usr/bin/env bash
# Set up a fresh Debian machine and run the main job on the bundled fixture
# (2 000 customers, five channels): build, check the exports, run the nightly
# job (identifiers and scored matching), score it against the fixture's truth,
# look a customer up by a phone number typed the way an agent would type it, and
# explain why that customer's records are one profile.
set -euo pipefail
cd "$(dirname "$0")"
./deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target unify >/dev/null
unify=build/release/unify
config=fixtures/small/unify.yaml

echo "== unify check -c $config"
$unify check -c "$config"
echo
echo "== unify run -c $config"
$unify run -c "$config" --report var/small-report.json
echo
echo "== unify eval -c $config --truth fixtures/small/truth.csv"
$unify eval -c "$config" --truth fixtures/small/truth.csv
echo
echo "== unify lookup -c $config --phone '(333) 714-2481'"
$unify lookup -c "$config" --phone "(333) 714-2481" | tee var/small-lookup.json
echo
golden=$(grep -o '"golden_id":"G[0-9]*"' var/small-lookup.json | head -1 | cut -d'"' -f4)
echo "== unify explain -c $config --golden $golden"
$unify explain -c "$config" --golden "$golden"
