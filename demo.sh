#!/usr/bin/env bash
# Set up a fresh Debian machine and run the main job on the bundled fixture:
# build, validate and dry-read the five channel exports.
set -euo pipefail
cd "$(dirname "$0")"
./deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target unify
config=fixtures/small/unify.yaml
echo "== unify check -c $config"
build/release/unify check -c "$config"
