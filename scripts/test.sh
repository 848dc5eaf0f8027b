#!/usr/bin/env bash
# Installs everything, then runs every test: the C++ units (GoogleTest via ctest) and the Python
# end-to-end suite (pytest) against real servers on 127.0.0.1, on SQLite and on a throwaway
# PostgreSQL cluster that this script starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test

echo "== C++ unit tests (GoogleTest)"
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSCIMITAR_BUILD_TESTS=ON \
  -DSCIMITAR_BUILD_PYTHON=OFF -DSCIMITAR_WARNINGS_AS_ERRORS=ON >/dev/null

cmake --build build/dev -j2

# A throwaway PostgreSQL cluster on loopback, removed on exit.
source scripts/postgres.sh
start_postgres

ctest --test-dir build/dev --output-on-failure -j2

echo "== fuzzing (libFuzzer, 20 s per target)"
scripts/fuzz.sh 20

echo "== Python end-to-end tests (pytest)"
.venv/bin/python -m pytest -q "$@"
