#!/usr/bin/env bash
# The import benchmark into a throwaway PostgreSQL cluster (fsync off, as in the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh
start_postgres
BENCH_IMPORT_DB="$SCIMITAR_TEST_PG_URL" .venv/bin/python bench/import_bench.py
