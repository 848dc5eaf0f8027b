#!/bin/bash
# CPU instructions per imported user, counted by callgrind: unlike times on a shared two-core
# machine, the count barely moves between runs (about 0.5%), so it shows changes of a few percent.
# It counts work, not waiting: I/O, lock waits and the parallelism of the import's threads are
# not in it (bench/import_bench.py measures the wall time).
#
# The CLI import of N users (the JSONL file of bench/import_bench.py, the shipped rules, a fresh
# SQLite file, batches of 1,000) minus the import of one user (interpreter start-up, schema
# creation), divided by N - 1.
#
# Run: bench/import_instructions.sh   (BENCH_IMPORT_USERS, default 10000; PYTHON, default .venv/bin/python;
# needs valgrind: apt-get install -y valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_IMPORT_USERS:-10000}
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "bench/import_instructions.sh needs valgrind: apt-get install -y valgrind" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" -c 'import sys; sys.path.insert(0, "bench"); from pathlib import Path; from import_bench import write_users
write_users(Path(sys.argv[1]) / "users.jsonl", int(sys.argv[2])); write_users(Path(sys.argv[1]) / "one.jsonl", 1)' "$work" "$N"

# Instructions of one CLI import of $2 into a fresh database named $1.
count() {
  local db="sqlite:///$work/$1.db"
  "$PY" -m scimitar --db "$db" org create bench >/dev/null
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" -m scimitar --db "$db" import --org bench "$2" \
    --rules rules --batch-size 1000 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

base=$(count one "$work/one.jsonl")
total=$(count users "$work/users.jsonl")
echo "import of $N users under callgrind: $total instructions; of one user: $base"
echo "instructions per imported user: $(( (total - base) / (N - 1) ))"
