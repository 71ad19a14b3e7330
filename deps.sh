#!/usr/bin/env bash
# Install the Debian packages unify needs to build and test (idempotent; needs root or sudo).
set -euo pipefail
packages=(build-essential cmake pkg-config liblmdb-dev libxxhash-dev zlib1g-dev libisal-dev libutf8proc-dev
          libyaml-dev libmicrohttpd-dev libcriterion-dev lmdb-utils
          chromium                              # the browser test of the agent page (tests/browser)
          clang libclang-rt-14-dev valgrind)   # fuzzing (libFuzzer) and the memcheck pass of test.sh
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
