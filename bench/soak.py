"""Soak: mixed SCIM traffic at half of the measured peak for a long time, watching the server's RSS,
open file descriptors and threads (issue: no tenant can knock the server over).

One `scimitar serve` with the shipped rules/ on SQLite, 10,000 users and one group of 1,000 seeded.
The mix: 70% user lookups by userName filter, 10% user creates (the rules decide each), 15% group
member add or remove (PATCH), 5% user PATCHes that change what the rules read (title and an Okta
role), so the rules run again. First the peak is measured closed-loop for PEAK_SECONDS; then each
client thread paces itself to half of it for SOAK_SECONDS. Every SAMPLE_SECONDS the server's VmRSS,
descriptors and threads are sampled. Prints the samples and a summary; nothing is asserted.

Run: bench/soak.sh  (SOAK_SECONDS=1800 by default; SOAK_SECONDS=120 for a short look)
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bench_support import USER_URN, seed_org
from bench_support import stop as stop_process

USERS = 10_000
GROUP_MEMBERS = 1_000
PROCESSES = 2
THREADS = 8  # per process: 16 connections in all
PEAK_SECONDS = float(os.environ.get("PEAK_SECONDS", "20"))
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "1800"))
SAMPLE_SECONDS = float(os.environ.get("SAMPLE_SECONDS", "30"))
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ROOT = Path(__file__).resolve().parents[1]


def proc_status(pid: int) -> tuple[int, int, int]:
    """(RSS in KiB, open descriptors, threads) of a process."""
    rss = threads = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads


def client_process(host: str, port: int, token: str, ids: list[str], group: str, seconds: float, rate: float,
                   seed: str, out: mp.Queue) -> None:
    """THREADS client threads; rate is this process's requests/s in all (0: as fast as possible)."""
    counts = {"requests": 0, "errors": 0}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def thread(n: int) -> None:
        rnd = random.Random(f"{seed}-{n}")
        conn = http.client.HTTPConnection(host, port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        interval = THREADS / rate if rate else 0.0
        next_at = time.monotonic()
        created = 0
        done = failed = 0
        while time.monotonic() < deadline:
            if interval:
                now = time.monotonic()
                if next_at > now:
                    time.sleep(next_at - now)
                next_at += interval
            x = rnd.random()
            uid = rnd.choice(ids)
            if x < 0.70:
                q = urllib.parse.quote(f'userName eq "user{rnd.randrange(USERS)}@soak.test"')
                method, path, body, ok = "GET", f"/scim/v2/Users?filter={q}", None, (200,)
            elif x < 0.80:
                created += 1
                body = {"schemas": [USER_URN], "userName": f"new-{seed}-{n}-{created}@soak.test",
                        "emails": [{"value": f"new-{seed}-{n}-{created}@soak.test", "type": "work"}]}
                method, path, ok = "POST", "/scim/v2/Users", (201,)
            elif x < 0.95:
                op = "add" if rnd.random() < 0.5 else "remove"
                value = [{"value": uid}]
                operation = {"op": op, "path": "members", "value": value} if op == "add" else \
                    {"op": "remove", "path": f'members[value eq "{uid}"]'}
                method, path, body, ok = "PATCH", f"/scim/v2/Groups/{group}", \
                    {"schemas": [PATCH_URN], "Operations": [operation]}, (200, 204)
            else:
                body = {"schemas": [PATCH_URN], "Operations": [
                    {"op": "replace", "path": "title", "value": rnd.choice(["Engineer", "Manager", "Analyst"])}]}
                method, path, ok = "PATCH", f"/scim/v2/Users/{uid}", (200,)
            try:
                conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
                r = conn.getresponse()
                data = r.read()
                if r.status not in ok:
                    failed += 1
                    if len(errors) < 5:
                        errors.append(f"{method} {path[:60]}: {r.status} {data[:160]!r}")
            except Exception as e:  # noqa: BLE001 - counted and reported
                failed += 1
                if len(errors) < 5:
                    errors.append(f"{method} {path[:60]}: {e!r}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
            done += 1
        with lock:
            counts["requests"] += done
            counts["errors"] += failed
        conn.close()

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((counts["requests"], counts["errors"], errors))


def run_load(host, port, token, ids, group, seconds, rate, phase) -> tuple[int, int, list[str], float]:
    out: mp.Queue = mp.Queue()
    procs = [mp.Process(target=client_process, args=(host, port, token, ids, group, seconds,
                                                      rate / PROCESSES if rate else 0.0, f"{phase}{i}", out))
             for i in range(PROCESSES)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.monotonic() - t0
    return sum(r[0] for r in results), sum(r[1] for r in results), [e for r in results for e in r[2]], wall


def main() -> None:
    exe = shutil.which("scimitar", path=os.path.dirname(sys.executable))
    work = tempfile.mkdtemp(prefix="scimitar-soak-")
    try:
        db_url = f"sqlite:///{work}/soak.db"
        token = seed_org(db_url, "soak", USERS)
        server = subprocess.Popen([exe, "--db", db_url, "serve", "--port", "0", "--rules", str(ROOT / "rules"),
                                   "--log-file", os.devnull],  # logged as in production, not kept
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=work)
        first = server.stdout.readline().strip()
        threading.Thread(target=server.stdout.read, daemon=True).start()
        stderr_tail: list[str] = []
        threading.Thread(target=lambda: [stderr_tail.append(line) for line in server.stderr], daemon=True).start()
        host, port = first.split("//", 1)[1].split("/", 1)[0].split(":")
        port = int(port)
        try:
            conn = http.client.HTTPConnection(host, port, timeout=30)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
            ids = []
            for start in range(1, USERS + 1, 1000):
                conn.request("GET", f"/scim/v2/Users?attributes=id&count=1000&startIndex={start}", headers=headers)
                ids += [u["id"] for u in json.loads(conn.getresponse().read())["Resources"]]
            conn.request("POST", "/scim/v2/Groups", body=json.dumps({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Soak group",
                "members": [{"value": i} for i in ids[:GROUP_MEMBERS]]}), headers=headers)
            group = json.loads(conn.getresponse().read())["id"]
            conn.close()

            requests, errors, samples, wall = run_load(host, port, token, ids, group, PEAK_SECONDS, 0, "peak")
            peak = requests / wall
            rate = peak / 2
            print(f"peak (closed loop, {PROCESSES * THREADS} connections, {PEAK_SECONDS:.0f} s): {peak:,.0f} req/s, "
                  f"{errors} errors; soaking at {rate:,.0f} req/s for {SOAK_SECONDS:.0f} s", flush=True)

            stats: list[tuple[float, int, int, int]] = []
            stop = threading.Event()

            def sample() -> None:
                t0 = time.monotonic()
                while not stop.wait(SAMPLE_SECONDS):
                    rss, fds, threads = proc_status(server.pid)
                    stats.append((time.monotonic() - t0, rss, fds, threads))
                    print(f"  t={stats[-1][0]:6.0f}s  rss={rss / 1024:7.1f} MiB  fds={fds:4d}  threads={threads:3d}",
                          flush=True)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start_state = proc_status(server.pid)
            requests, errors, samples, wall = run_load(host, port, token, ids, group, SOAK_SECONDS, rate, "soak")
            stop.set()
            sampler.join()
            end_state = proc_status(server.pid)
            warm = [s for s in stats if s[0] >= min(300.0, SOAK_SECONDS / 5)] or stats
            rss = [s[1] for s in warm]
            med = statistics.median(rss)
            print(f"\nsoak: {requests:,} requests in {wall:.0f} s ({requests / wall:,.0f} req/s), {errors} errors")
            for e in samples:
                print("  error:", e)
            print(f"RSS after warm-up ({len(warm)} samples from t={warm[0][0]:.0f}s): median {med / 1024:.1f} MiB, "
                  f"min {min(rss) / 1024:.1f} ({(min(rss) - med) / med * 100:+.1f}%), "
                  f"max {max(rss) / 1024:.1f} ({(max(rss) - med) / med * 100:+.1f}%), "
                  f"first {rss[0] / 1024:.1f}, last {rss[-1] / 1024:.1f} MiB")
            print(f"descriptors {start_state[1]} -> {end_state[1]}, threads {start_state[2]} -> {end_state[2]} "
                  f"(start of soak -> end)")
            if stderr_tail:
                print(f"server stderr: {len(stderr_tail)} lines, last: {stderr_tail[-1].rstrip()}")
        finally:
            stop_process(server)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
