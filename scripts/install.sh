#!/usr/bin/env bash
# Installs everything scimitar needs on Debian 12: system packages, then a virtualenv in .venv with
# scimitar (built from this checkout) and, with --test, the test tools. Idempotent and quick when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
[[ "${1:-}" == "--test" ]] && with_test=1

packages=(build-essential cmake ninja-build pkg-config python3 python3-dev python3-venv
          libpoco-dev libsoci-dev libboost-dev nlohmann-json3-dev libsqlite3-dev libpq-dev)
(( with_test )) && packages+=(libgtest-dev postgresql clang libfuzzer-14-dev libclang-rt-14-dev nginx openssl)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
extra=""
(( with_test )) && extra="[test]"
.venv/bin/python -m pip install -q ".${extra}"
