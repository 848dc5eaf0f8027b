#!/usr/bin/env bash
# Builds bench/bare_poco and runs bench/http_bench.py (needs wrk; installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
command -v wrk >/dev/null || { sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCIMITAR_BUILD_TESTS=OFF -DSCIMITAR_BUILD_PYTHON=OFF \
  -DSCIMITAR_BUILD_BENCH=ON >/dev/null
cmake --build build/bench -j2 --target bare_poco
exec .venv/bin/python bench/http_bench.py build/bench/bench/bare_poco
