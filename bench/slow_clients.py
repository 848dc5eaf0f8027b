"""Slow and idle clients against one `scimitar serve` on SQLite, no proxy in front (issue: no tenant can
knock the server over). A normal client looks users up with `GET /Users?filter=userName eq "..."`
one request at a time (a lookup failing or taking over 2 s counts as failed), and its latency is
measured:

  quiet        nothing else connected
  idle 1000    while 1,000 connections are held open without sending a byte
  dribble 200  while 200 clients send request bodies one byte every 100 ms

Then 1,000 concurrent keep-alive clients each send REQUESTS lookups (asyncio, one event loop):
answers, connection resets, and p50/p99 latency. Prints a table; nothing is asserted.

Run: .venv/bin/python bench/slow_clients.py [path/to/scimitar]   (the executable to measure, default the
venv's; give an older build's to compare). BENCH_USERS (default 10000), BENCH_LOOKUPS (200).
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bench_support import seed_org, stop

USERS = int(os.environ.get("BENCH_USERS", "10000"))
LOOKUPS = int(os.environ.get("BENCH_LOOKUPS", "200"))
CLIENTS = 1000
REQUESTS = 5
TIMEOUT = 2.0  # seconds a lookup may take before it counts as failed


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def start_server(exe: str, db_url: str) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([exe, "--db", db_url, "serve", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    first = proc.stdout.readline().strip()
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    host_port = first.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    return proc, host, int(port)


def lookup_request(token: str, user: str) -> bytes:
    q = urllib.parse.quote(f'userName eq "{user}"')
    return f"GET /scim/v2/Users?filter={q} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def read_answer(f) -> int:
    """The status of one answer; a 200 that did not find the user counts as 0."""
    status = int(f.readline().split(b" ", 2)[1])
    length = 0
    while (line := f.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = f.read(length)
    return status if status != 200 or b'"totalResults":1' in body else 0


def lookups(host: str, port: int, token: str) -> tuple[list[float], int]:
    """LOOKUPS sequential lookups on one keep-alive connection (reconnecting if the server closes)."""
    times, failures = [], 0
    s = f = None
    for i in range(LOOKUPS):
        req = lookup_request(token, f"user{i % USERS}@bench.test")
        t0 = time.perf_counter()
        try:
            if s is None:
                s = socket.create_connection((host, port), timeout=TIMEOUT)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                f = s.makefile("rb")
            s.sendall(req)
            if read_answer(f) != 200:
                failures += 1
        except (OSError, ValueError, IndexError):  # reset, timed out, or closed without an answer
            failures += 1
            if s:
                s.close()
            s = None
            continue
        times.append(time.perf_counter() - t0)
    if s:
        s.close()
    return times, failures


def hold_idle(host: str, port: int, n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        try:
            out.append(socket.create_connection((host, port), timeout=10))
        except OSError:
            break
    return out


class Dribblers:
    def __init__(self, host: str, port: int, n: int) -> None:
        self.socks = []
        for _ in range(n):
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"POST /scim/v2/Users HTTP/1.1\r\nHost: b\r\nContent-Type: application/scim+json\r\n"
                      b"Content-Length: 100000\r\n\r\n")
            self.socks.append(s)
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop:
            for s in self.socks:
                try:
                    s.send(b"x")
                except OSError:
                    pass
            time.sleep(0.1)

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        for s in self.socks:
            s.close()


def many_clients(host: str, port: int, token: str) -> dict:
    async def client(i: int) -> list[float]:
        reader, writer = await asyncio.open_connection(host, port)
        out = []
        try:
            for r in range(REQUESTS):
                t0 = time.perf_counter()
                writer.write(lookup_request(token, f"user{(i * REQUESTS + r) % USERS}@bench.test"))
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                if int(head.split(b" ", 2)[1]) != 200:
                    raise RuntimeError(head[:40])
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                out.append(time.perf_counter() - t0)
        finally:
            writer.close()
        return out

    async def main():
        return await asyncio.gather(*(asyncio.wait_for(client(i), 60) for i in range(CLIENTS)),
                                    return_exceptions=True)

    t0 = time.perf_counter()
    results = asyncio.run(main())
    wall = time.perf_counter() - t0
    lat = [x for r in results if isinstance(r, list) for x in r]
    errors = [r for r in results if not isinstance(r, list)]
    resets = sum(1 for e in errors if isinstance(e, (ConnectionResetError, asyncio.IncompleteReadError, BrokenPipeError)))
    return {"answered": len(lat), "expected": CLIENTS * REQUESTS, "failed_clients": len(errors), "resets": resets,
            "p50": pct(lat, 0.5) if lat else float("nan"), "p99": pct(lat, 0.99) if lat else float("nan"),
            "wall": wall}


def main() -> None:
    exe = sys.argv[1] if len(sys.argv) > 1 else shutil.which("scimitar", path=os.path.dirname(sys.executable))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 8192), hard), hard))
    work = tempfile.mkdtemp(prefix="scimitar-slow-")
    try:
        db_url = f"sqlite:///{work}/bench.db"
        token = seed_org(db_url, "bench", USERS)
        proc, host, port = start_server(exe, db_url)
        print(f"{exe}: {USERS} users on SQLite, {LOOKUPS} sequential lookups per scenario")
        print(f"{'scenario':<14}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'failed':>8}")
        try:
            def report(name: str) -> None:
                times, failures = lookups(host, port, token)
                ms = [t * 1000 for t in times] or [float("nan")]
                print(f"{name:<14}{statistics.median(ms):9.2f}{pct(ms, 0.99):9.2f}{max(ms):9.2f}{failures:8d}",
                      flush=True)

            report("quiet")
            idle = hold_idle(host, port, 1000)
            time.sleep(0.5)
            report(f"idle {len(idle)}")
            for s in idle:
                s.close()
            drib = Dribblers(host, port, 200)
            time.sleep(0.5)
            report("dribble 200")
            drib.close()
            m = many_clients(host, port, token)
            print(f"\n{CLIENTS} concurrent keep-alive clients x {REQUESTS} lookups: {m['answered']}/{m['expected']} "
                  f"answered, {m['failed_clients']} clients failed ({m['resets']} resets), "
                  f"p50 {m['p50'] * 1000:.1f} ms, p99 {m['p99'] * 1000:.1f} ms, {m['wall']:.1f} s in all")
        finally:
            stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
