"""HTTP benchmark (issue: the whole SCIM protocol): requests/s and p50/p99 latency for POST /Users,
GET /Users/{id}, GET /Users?filter=userName eq "...", and PATCH group add one member, on SQLite with
100,000 users stored, at concurrency 16; each figure also as a fraction of a bare Poco handler (same
server settings) measured in the same run. Every scenario runs REPEATS times; medians are printed.

wrk shares the machine's two cores with the server, and its own CPU time per request is not the same
for every request stream: a Lua request() function that builds each request (a random id or filter)
costs it about a third more than the fixed request it repeats when there is none. So each scenario's
stream is also sent to the bare handler (which ignores path and body), and "of bare" compares the
two servers under the same client work. "of fixed" is the fraction of the bare handler fed one
fixed request, as earlier runs reported it. "server us/req" is each server's own CPU time.

Run: bench/run_http.sh   (builds bench/bare_poco, needs wrk; BENCH_LAYERS=1 adds two shorter requests that
show where a lookup's time goes)
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scimitar

USERS = int(os.environ.get("BENCH_USERS", "100000"))
CONNECTIONS = 16
THREADS = 16
DURATION = os.environ.get("BENCH_DURATION", "8s")
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
HERE = Path(__file__).resolve().parent

DONE_LUA = r"""
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %f, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua(body: str, token: str) -> str:
    return f'wrk.headers["Authorization"] = "Bearer {token}"\nwrk.headers["Content-Type"] = "application/scim+json"\n' + body + DONE_LUA


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, script: str, server_pid: int) -> dict:
    """One wrk run; also the server's CPU time per request, which the machine's noise (other guests
    taking CPU time) disturbs far less than requests/s."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    cpu_before = cpu_seconds(server_pid)
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "-s", f.name, url],
                         capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(server_pid) - cpu_before
    os.unlink(f.name)
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    result["cpu_us"] = cpu / max(result["requests"], 1) * 1e6
    return result


def start(cmd: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, proc.stdout.readline().strip()


def seed(host: str, port: int, token: str, n: int) -> list[str]:
    conn = http.client.HTTPConnection(host, port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    ids = []
    for start_at in range(0, n, 1000):
        ops = [{"method": "POST", "path": "/Users", "bulkId": str(i),
                "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"user{i}@bench.test",
                         "name": {"givenName": f"G{i}", "familyName": "Bench"}, "active": True,
                         "emails": [{"type": "work", "value": f"user{i}@bench.test", "primary": True}]}}
               for i in range(start_at, min(n, start_at + 1000))]
        conn.request("POST", "/scim/v2/Bulk", json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                                                          "Operations": ops}), headers)
        resp = json.loads(conn.getresponse().read())
        ids += [o["location"].rsplit("/", 1)[1] for o in resp["Operations"] if o["status"] == "201"]
    return ids


def main() -> int:
    bare_exe = sys.argv[1]
    work = Path(tempfile.mkdtemp(prefix="scimitar-bench-"))
    atexit.register(shutil.rmtree, work, True)  # the server's database and logs
    db = f"sqlite:///{work}/bench.db"
    store = scimitar.open_store(db)
    store.create_org("bench", "Bench")
    store.create_member("bench", "bench@bench.test", "owner")
    _, token = store.create_token("bench", "bench@bench.test", "bench")
    del store

    server, url = start([sys.executable, "-m", "scimitar", "--db", db, "serve", "--port", "0", "--threads", str(THREADS)])
    base = url[: -len("/scim/v2")]
    host, port = base[len("http://"):].split(":")
    t0 = time.time()
    ids = seed(host, int(port), token, USERS)
    print(f"seeded {len(ids)} users through /Bulk in {time.time() - t0:.1f}s", flush=True)
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("POST", "/scim/v2/Groups", json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                                        "displayName": "bench group"}),
                 {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    group_id = json.loads(conn.getresponse().read())["id"]
    (work / "ids.txt").write_text("\n".join(ids[:5000]) + "\n")

    pick_id = f"""
ids = {{}}
for line in io.lines("{work}/ids.txt") do ids[#ids + 1] = line end
math.randomseed(os.time())
"""
    scenarios = {
        "POST /Users": lua("""
-- Each wrk thread gets its own id, so generated userNames never collide (a collision is a 409).
local next_id = 0
setup = function(thread) next_id = next_id + 1; thread:set("tid", next_id) end
counter = 0
request = function()
  counter = counter + 1
  local name = string.format("new-%s-%d-%d@bench.test", tid, counter, os.time())
  return wrk.format("POST", "/scim/v2/Users", nil,
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name .. '","active":true}')
end
""", token),
        "GET /Users/{id}": lua(pick_id + """
request = function() return wrk.format("GET", "/scim/v2/Users/" .. ids[math.random(#ids)]) end
""", token),
        'GET /Users?filter=userName eq': lua(f"""
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/scim/v2/Users?filter=userName%20eq%20%22user" .. math.random(0, {USERS - 1}) .. "%40bench.test%22")
end
""", token),
        "PATCH group add member": lua(pick_id + f"""
request = function()
  return wrk.format("PATCH", "/scim/v2/Groups/{group_id}", nil,
    '{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"members","value":[{{"value":"' .. ids[math.random(#ids)] .. '"}}]}}]}}')
end
""", token),
    }
    if os.environ.get("BENCH_LAYERS"):  # where a lookup's time goes: the same path, cut shorter
        scenarios["GET /ServiceProviderConfig"] = lua("""
request = function() return wrk.format("GET", "/scim/v2/ServiceProviderConfig") end
""", token)
        scenarios["GET /Users/{unknown id} (404)"] = lua("""
request = function() return wrk.format("GET", "/scim/v2/Users/00000000-0000-7000-8000-" .. math.random(100000000000, 999999999999)) end
""", token)
    results: dict[str, list[dict]] = {name: [] for name in scenarios}
    bare_same: dict[str, list[dict]] = {name: [] for name in scenarios}  # the bare handler, same stream
    bare_results: list[dict] = []
    bare, bare_port = start([bare_exe, "0", str(THREADS)])
    bare_url = f"http://127.0.0.1:{bare_port}"
    try:
        for _ in range(REPEATS):  # interleaved, so drift on a noisy machine hits every scenario alike
            bare_results.append(run_wrk(bare_url + "/scim/v2/Users", lua("", token), bare.pid))
            for name, script in scenarios.items():
                bare_same[name].append(run_wrk(bare_url, script, bare.pid))
                results[name].append(run_wrk(base, script, server.pid))
    finally:
        bare.terminate()
        server.terminate()
        server.wait()
        bare.wait()

    def med(rs, key):
        return statistics.median(r[key] for r in rs)

    bare_rps = med(bare_results, "rps")
    print(f"\nconcurrency {CONNECTIONS}, {THREADS} server threads, {USERS} users on SQLite, "
          f"{REPEATS} runs of {DURATION} each, medians")
    print("(of bare: of the bare handler sent the same requests; of fixed: of the bare handler sent one fixed\n"
          " request; server us/req: the server process's CPU time per request; bare: the bare handler's)")
    print(f"{'scenario':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'of bare':>8} {'of fixed':>8} "
          f"{'bare req/s':>10} {'server us/req':>14} {'bare us/req':>12}")
    print(f"{'bare Poco (fixed request)':32} {bare_rps:9.0f} {med(bare_results, 'p50_us') / 1000:8.2f} "
          f"{med(bare_results, 'p99_us') / 1000:8.2f} {med(bare_results, 'errors'):6.0f} {'':>8} {1:8.2f} "
          f"{bare_rps:10.0f} {med(bare_results, 'cpu_us'):14.1f} {med(bare_results, 'cpu_us'):12.1f}")
    for name, rs in results.items():
        same = bare_same[name]
        # The fraction of each run against the bare run just before it, then the median of those.
        of_bare = statistics.median(r["rps"] / b["rps"] for r, b in zip(rs, same))
        print(f"{name:32} {med(rs, 'rps'):9.0f} {med(rs, 'p50_us') / 1000:8.2f} {med(rs, 'p99_us') / 1000:8.2f} "
              f"{med(rs, 'errors'):6.0f} {of_bare:8.2f} {med(rs, 'rps') / bare_rps:8.2f} {med(same, 'rps'):10.0f} "
              f"{med(rs, 'cpu_us'):14.1f} {med(same, 'cpu_us'):12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
