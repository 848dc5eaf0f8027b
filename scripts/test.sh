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

# A throwaway PostgreSQL cluster on loopback, owned by the postgres user, removed on exit.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_dir=$(mktemp -d /tmp/scimitar-pg.XXXXXX)
chmod 755 "$pg_dir"
pg_port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap cleanup EXIT
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pg_dir -c fsync=off -c max_connections=200" start >/dev/null
export SCIMITAR_TEST_PG_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"

ctest --test-dir build/dev --output-on-failure -j2

echo "== Python end-to-end tests (pytest)"
.venv/bin/python -m pytest -q "$@"
