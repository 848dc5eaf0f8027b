#!/bin/bash
# CPU instructions per imported user, counted by callgrind: unlike times on a shared two-core
# machine, the count barely moves between runs (about 0.5%), so it shows changes of a few percent.
# It counts work, not waiting: I/O, lock waits and the parallelism of the import's threads are
# not in it (bench/import_bench.py measures the wall time).
#
# The CLI import of N users (JSONL as bench/import_bench.py writes it, the shipped rules, a fresh
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

"$PY" - "$work" "$N" <<'EOF'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
for name, count in (("users.jsonl", n), ("one.jsonl", 1)):
    with open(f"{work}/{name}", "w") as f:
        for i in range(count):
            f.write(json.dumps({"externalId": f"e{i}", "userName": f"user{i}@bench.test", "name.givenName": f"G{i}",
                                "name.familyName": "Bench", "emails[work].value": f"user{i}@bench.test",
                                "active": "true"}) + "\n")
EOF

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
