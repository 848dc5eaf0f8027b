"""Bulk import speed: N users from a JSONL file through `Org.import_users` (transform and decide
rules of the shipped rules/, decisions and outbox events) against raw SQLite inserting the same rows
(prepared statement, batched transactions of 10,000) in the same run. Prints both, the ratio, and
the importer's peak memory.

On SQLite it also prints a floor: raw SQLite writing everything the import writes for each user (its
resource row, email row, decision with provenance and outbox event, with the texts the import
stored) into a database with scimitar's schema and indexes, in transactions of 1,000 (the CLI's
batches). The import cannot be faster than that floor; the difference is validation, the rules and
the JSON between them.

With BENCH_IMPORT_CHANGED=1 it then imports the file again with every row changed (a title added),
so every user is updated and decided again, and prints that time too.

Run: .venv/bin/python bench/import_bench.py   (BENCH_IMPORT_USERS, default 1000000; BENCH_IMPORT_DB to
import into another database, e.g. bench/import_postgres.sh; BENCH_IMPORT_CHANGED=1)
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N = int(os.environ.get("BENCH_IMPORT_USERS", "1000000"))
REPO = Path(__file__).resolve().parents[1]


def write_users(path: Path, n: int) -> None:
    """The benchmark's import file: `n` users as flat JSONL rows (also bench/import_instructions.sh's)."""
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"externalId": f"e{i}", "userName": f"user{i}@bench.test", "name.givenName": f"G{i}",
                                "name.familyName": "Bench", "emails[work].value": f"user{i}@bench.test",
                                "active": "true"}) + "\n")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="scimitar-import-bench-"))
    atexit.register(shutil.rmtree, work, True)  # gigabytes at 1,000,000 users
    data = work / "users.jsonl"
    write_users(data, N)

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
    if not os.environ.get("BENCH_IMPORT_DB"):
        floor_s = write_floor(work / "scimitar.db", work / "floor.db", scimitar)
        print(f"raw SQLite writing what the import writes: {N} users in {floor_s:.1f}s; "
              f"the import takes {import_s / floor_s:.1f}x that")
    if os.environ.get("BENCH_IMPORT_CHANGED"):
        changed = work / "changed.jsonl"
        with open(data) as src, open(changed, "w") as dst:
            for line in src:
                dst.write(json.dumps({**json.loads(line), "title": "Engineer"}) + "\n")
        t0 = time.perf_counter()
        out = subprocess.run([*scimitar, "import", "--org", "bench", str(changed), "--rules", str(REPO / "rules"),
                              "--batch-size", "1000"], capture_output=True, text=True)
        changed_s = time.perf_counter() - t0
        print(out.stdout.strip().splitlines()[-1])
        print(f"scimitar import, every row changed: {N} rows in {changed_s:.1f}s ({N / changed_s:,.0f} rows/s)")


def write_floor(imported: Path, floor: Path, scimitar: list[str]) -> float:
    """Seconds raw SQLite takes to write N users' resource, email, decision and event rows, with the
    texts the import stored for its first user, into a fresh database with scimitar's schema."""
    src = sqlite3.connect(str(imported))
    doc, detail, payload = src.execute(
        "SELECT r.doc, d.detail, o.payload FROM resources r JOIN decisions d ON d.user_id = r.id "
        "JOIN outbox o ON o.id = (SELECT min(id) FROM outbox) ORDER BY r.pk LIMIT 1").fetchone()
    src.close()
    subprocess.run([*scimitar[:4], f"sqlite:///{floor}", "org", "create", "floor"], check=True, capture_output=True)
    db = sqlite3.connect(str(floor), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    org = db.execute("SELECT id FROM orgs WHERE slug = 'floor'").fetchone()[0]
    now = "2026-01-01T00:00:00.000Z"
    t0 = time.perf_counter()
    for start in range(0, N, 1000):
        users = []
        for i in range(start, min(N, start + 1000)):
            uid, name = f"00000000-0000-7000-8000-{i:012x}", f"user{i}@bench.test"
            users.append((uid, name, f"e{i}", doc))
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO resources (id, org_id, kind, managed, name, name_folded, display, external_id, "
                       "active, doc, version, created, modified) VALUES (?, ?, 'User', 1, ?, ?, ?, ?, 1, ?, 1, ?, ?)",
                       [(u, org, n, n, n, e, d, now, now) for u, n, e, d in users])
        db.executemany("INSERT INTO user_emails (user_id, org_id, value_folded) VALUES (?, ?, ?)",
                       [(u, org, n) for u, n, _, _ in users])
        db.executemany("INSERT INTO decisions (user_id, org_id, provisioned, detail, error, updated) "
                       "VALUES (?, ?, 1, ?, NULL, ?)", [(u, org, detail, now) for u, _, _, _ in users])
        db.executemany("INSERT INTO outbox (org_id, type, payload, created, next_attempt) "
                       "VALUES (?, 'member.provisioned', ?, ?, ?)", [(org, payload, now, now) for _ in users])
        db.execute("COMMIT")
    seconds = time.perf_counter() - t0
    db.close()
    return seconds


if __name__ == "__main__":
    main()
