"""Recompute cost per user: seeds BENCH_USERS users (default 20,000) over SCIM without rules, applies
a rules folder to the organization, then recomputes every decision five times (a setting change
makes each run change every decision) and prints the median per user. Runs with whichever scimitar
the interpreter imports, so two builds can be compared in one session (A/B):

    for venv in /tmp/base/.venv .venv; do $venv/bin/python bench/recompute_bench.py rules; done
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import scimitar
from scimitar import rule_sets
from scimitar.engine import Engine
from scimitar.rules import load_rules

USERS = int(os.environ.get("BENCH_USERS", "20000"))


def main(folder: str) -> None:
    work = tempfile.mkdtemp(prefix="scimitar-recompute-bench-")
    try:
        store = scimitar.open_store(f"sqlite:///{work}/r.db")
        store.create_org("bench", "Bench")
        store.create_member("bench", "o@b.c", "owner")
        _, token = store.create_token("bench", "o@b.c", "")
        with scimitar.serve(db=store, port=0) as server:
            conn = http.client.HTTPConnection("127.0.0.1", server.port)
            h = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
            for start in range(0, USERS, 1000):
                ops = [{"method": "POST", "path": "/Users", "bulkId": str(i),
                        "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"u{i}@b.c",
                                 "active": True}} for i in range(start, min(USERS, start + 1000))]
                conn.request("POST", "/scim/v2/Bulk", json.dumps(
                    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}), h)
                conn.getresponse().read()
        rule_sets.apply(store, load_rules(folder), "bench", "recompute_bench")
        engine = Engine()
        engine.sync(store)
        store.set_rules(engine)
        times = []
        for i in range(5):
            store.set_setting("bench", "default_role", f"role-{i}")
            t0 = time.perf_counter()
            store.recompute_all("bench")
            times.append(time.perf_counter() - t0)
        store.clear_rules()
        print(f"{scimitar.__file__}: recompute {USERS} users: median {statistics.median(times) / USERS * 1e6:.1f} us/user "
              f"(runs: {', '.join(f'{t:.2f}s' for t in times)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "rules")
