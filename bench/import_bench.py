"""Bulk import speed: N users from a JSONL file through `Org.import_users` (transform and decide
rules of the shipped rules/, decisions and outbox events) against raw SQLite inserting the same rows
(prepared statement, batched transactions of 10,000) in the same run. Prints both, the ratio, and
the importer's peak memory.

Run: .venv/bin/python bench/import_bench.py   (BENCH_IMPORT_USERS, default 1000000; BENCH_IMPORT_DB to
import into another database, e.g. bench/import_postgres.sh)
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N = int(os.environ.get("BENCH_IMPORT_USERS", "1000000"))
REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="scimitar-import-bench-"))
    data = work / "users.jsonl"
    with open(data, "w") as f:
        for i in range(N):
            f.write(json.dumps({"externalId": f"e{i}", "userName": f"user{i}@bench.test", "name.givenName": f"G{i}",
                                "name.familyName": "Bench", "emails[work].value": f"user{i}@bench.test",
                                "active": "true"}) + "\n")

    raw = sqlite3.connect(str(work / "raw.db"), isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, external_id TEXT, user_name TEXT UNIQUE, doc TEXT)")
    t0 = time.perf_counter()
    with open(data) as f:
        batch = []
        for i, line in enumerate(f):
            row = json.loads(line)
            batch.append((row["externalId"], row["userName"], line))
            if len(batch) == 10000:
                raw.execute("BEGIN")
                raw.executemany("INSERT INTO users (external_id, user_name, doc) VALUES (?, ?, ?)", batch)
                raw.execute("COMMIT")
                batch.clear()
        if batch:
            raw.execute("BEGIN")
            raw.executemany("INSERT INTO users (external_id, user_name, doc) VALUES (?, ?, ?)", batch)
            raw.execute("COMMIT")
    raw_s = time.perf_counter() - t0
    print(f"raw SQLite: {N} rows in {raw_s:.1f}s ({N / raw_s:,.0f} rows/s)", flush=True)

    db = os.environ.get("BENCH_IMPORT_DB") or f"sqlite:///{work}/scimitar.db"
    scimitar = [sys.executable, "-m", "scimitar", "--db", db]
    subprocess.run([*scimitar, "org", "create", "bench"], check=True, capture_output=True)
    t0 = time.perf_counter()
    out = subprocess.run([*scimitar, "import", "--org", "bench", str(data), "--rules", str(REPO / "rules"),
                          "--batch-size", "1000"], capture_output=True, text=True)
    import_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(out.stdout.strip().splitlines()[-1])
    print(f"scimitar import: {N} rows in {import_s:.1f}s ({N / import_s:,.0f} rows/s), "
          f"{import_s / raw_s:.1f}x raw SQLite; importer peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
