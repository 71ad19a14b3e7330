#!/usr/bin/env bash
# Set up a fresh Debian machine and run the main job on the bundled fixture
# (2 000 customers, five channels): build, check the exports, run the nightly
# job, score it against the fixture's truth, and look a customer up by a phone
# number typed the way an agent would type it.
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
$unify lookup -c "$config" --phone "(333) 714-2481"
