"""Cost of rules: one invocation of a trivial rule, the shipped rules for one user, and recomputing
the decisions of 100,000 stored users through the native core (the same path as a rule-set change).

Run: .venv/bin/python bench/rules_bench.py   (BENCH_USERS to change the population)
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import shutil
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import scimitar
from scimitar import rule_sets
from scimitar.engine import Engine
from scimitar.rules import Context, User, load_rules, load_sources

USERS = int(os.environ.get("BENCH_USERS", "100000"))
REPO = Path(__file__).resolve().parents[1]


def per_call_us(fn, number: int) -> float:
    runs = timeit.repeat(fn, number=number, repeat=5)
    return statistics.median(runs) / number * 1e6


def main() -> None:
    trivial = load_sources([("t.py", "from scimitar import rules\n\n@rules.decide\n"
                                     "def r(user, ctx):\n    return rules.Decision(role='member')\n")], "bench")
    rule = trivial.decide_rules[0].fn
    user = User({"userName": "a@b.c", "active": True}, [{"id": "g", "display": "Staff"}], "u")
    ctx = Context("bench", {}, dt.datetime.now(dt.timezone.utc))
    print(f"trivial rule function call:           {per_call_us(lambda: rule(user, ctx), 200000):7.2f} us")
    print(f"trivial rule set, rules' answers:     {per_call_us(lambda: trivial.evaluate(user, ctx), 50000):7.2f} us")
    print(f"trivial rule set, full decision:      {per_call_us(lambda: trivial.decide(user, ctx), 50000):7.2f} us"
          "  (answers, then the core's combination through JSON)")
    shipped = load_rules(REPO / "rules")
    print(f"shipped rules/, rules' answers:       {per_call_us(lambda: shipped.evaluate(user, ctx), 20000):7.2f} us")
    print(f"shipped rules/, full decision:        {per_call_us(lambda: shipped.decide(user, ctx), 20000):7.2f} us")

    work = Path(tempfile.mkdtemp(prefix="scimitar-rules-bench-"))
    atexit.register(shutil.rmtree, work, True)  # its database
    store = scimitar.open_store(f"sqlite:///{work}/r.db")
    store.create_org("bench", "Bench")
    store.create_member("bench", "o@b.c", "owner")
    _, token = store.create_token("bench", "o@b.c", "")
    with scimitar.serve(db=store, port=0) as server:  # seed without rules: recompute measures itself
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        h = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        t0 = time.time()
        for start in range(0, USERS, 1000):
            ops = [{"method": "POST", "path": "/Users", "bulkId": str(i),
                    "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"u{i}@b.c",
                             "active": True}} for i in range(start, min(USERS, start + 1000))]
            conn.request("POST", "/scim/v2/Bulk", json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                                                              "Operations": ops}), h)
            conn.getresponse().read()
        print(f"seeded {USERS} users in {time.time() - t0:.1f}s")
    rule_sets.apply(store, shipped, "bench", "rules_bench")
    engine = Engine()
    engine.sync(store)
    payload = json.dumps({"org": "bench", "settings": {}, "now": "2026-01-01T00:00:00Z",
                          "users": [{"id": "u", "doc": {"userName": "a@b.c", "active": True},
                                     "groups": [{"id": "g", "display": "Staff"}]}]})
    print(f"engine.decide_many_json, one user (JSON in/out, watchdog): "
          f"{per_call_us(lambda: engine.decide_many_json(payload), 20000):7.2f} us")
    store.set_rules(engine)
    times = []
    for _ in range(3):
        store.set_setting("bench", "default_role", f"role-{len(times)}")  # every decision changes each run
        t0 = time.perf_counter()
        changed = store.recompute_all("bench")
        times.append(time.perf_counter() - t0)
    print(f"recompute {USERS} users with the shipped rules: median {statistics.median(times):.2f}s "
          f"({statistics.median(times) / USERS * 1e6:.1f} us/user; {changed} decisions changed in the last run)")
    store.clear_rules()


if __name__ == "__main__":
    main()
