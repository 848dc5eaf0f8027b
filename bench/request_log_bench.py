"""What the request log costs a lookup: GET /Users/{id} at concurrency 16 on SQLite (BENCH_USERS users,
default 20,000), against a server with the log off and one writing JSON lines to a file, in
alternating rounds (BENCH_REPEATS, default 3) in the same run. Prints each round, then the medians of
requests/s and of the server's CPU time per request, and their ratios (logged / off).

Run: .venv/bin/python bench/request_log_bench.py   (needs wrk; BENCH_DURATION as in http_bench.py)
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench as hb  # noqa: E402 - the same wrk driver and Lua helpers
from bench_support import seed_org  # noqa: E402

import scimitar  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", "20000"))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="scimitar-log-bench-"))
    atexit.register(shutil.rmtree, work, True)
    db = f"sqlite:///{work}/bench.db"
    token = seed_org(db, "bench", USERS)
    ids = [u["id"] for u in scimitar.open(db).org("bench").users(attributes="id", page_size=1000)]
    serve = [sys.executable, "-m", "scimitar", "--db", db, "serve", "--port", "0", "--threads", str(hb.THREADS)]
    (work / "ids.txt").write_text("\n".join(ids[:5000]) + "\n")
    script = hb.lua(f"""
ids = {{}}
for line in io.lines("{work}/ids.txt") do ids[#ids + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", "/scim/v2/Users/" .. ids[math.random(#ids)]) end
""", token)
    results: dict[str, list[dict]] = {"off": [], "json": []}
    for round_ in range(int(os.environ.get("BENCH_REPEATS", "3"))):
        for mode in ("off", "json"):
            extra = ["--log-format", "off"] if mode == "off" else ["--log-format", "json", "--log-file", str(work / "requests.log")]
            server, url = hb.start(serve + extra)
            time.sleep(0.5)
            r = hb.run_wrk(url.rsplit("/scim/v2", 1)[0], script, server.pid)
            server.terminate()
            server.wait()
            results[mode].append(r)
            print(f"round {round_ + 1} log {mode:4}: {r['rps']:8.0f} req/s  server {r['cpu_us']:6.1f} us/req  "
                  f"p50 {r['p50_us']} us  errors {r['errors']}", flush=True)
    med = {m: (statistics.median(x["rps"] for x in rs), statistics.median(x["cpu_us"] for x in rs))
           for m, rs in results.items()}
    print(f"median: off {med['off'][0]:.0f} req/s, {med['off'][1]:.1f} us/req; json {med['json'][0]:.0f} req/s, "
          f"{med['json'][1]:.1f} us/req; logged/off: req/s {med['json'][0] / med['off'][0]:.3f}, "
          f"server CPU {med['json'][1] / med['off'][1]:.3f}")
    lines = sum(1 for _ in open(work / "requests.log"))
    print(f"{lines} log lines written")


if __name__ == "__main__":
    main()
