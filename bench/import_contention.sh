#!/usr/bin/env bash
# Writes through a running server while an import runs in another process on the same SQLite file:
# imports BENCH_IMPORT_USERS (default 100000) users with the shipped rules while a client POSTs a
# user every 50 ms for 15 s, and prints the POST latencies. Run: bench/import_contention.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$PWD/.venv/bin/python
WORK=$(mktemp -d /tmp/scimitar-contention.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
DB="sqlite:///$WORK/c.db"
N=${BENCH_IMPORT_USERS:-100000}
"$PY" -c "
import json
with open('$WORK/users.jsonl', 'w') as f:
    for i in range($N):
        f.write(json.dumps({'externalId': f'e{i}', 'userName': f'user{i}@bench.test'}) + '\n')"
"$PY" -m scimitar --db "$DB" org create bench >/dev/null
"$PY" -m scimitar --db "$DB" member create --org bench --email o@x.test >/dev/null
TOKEN=$("$PY" -m scimitar --db "$DB" token create --org bench --owner o@x.test | tail -1)
"$PY" -m scimitar --db "$DB" serve --port 0 --threads 4 >"$WORK/server.out" 2>&1 &
for _ in $(seq 50); do [[ -s "$WORK/server.out" ]] && break; sleep 0.1; done
URL=$(head -1 "$WORK/server.out")
"$PY" -m scimitar --db "$DB" import --org bench "$WORK/users.jsonl" --rules rules >"$WORK/import.out" 2>&1 &
TOKEN=$TOKEN URL=$URL "$PY" - <<'PY'
import json, os, time
import requests
s = requests.Session()
s.headers.update({"Authorization": "Bearer " + os.environ["TOKEN"], "Content-Type": "application/scim+json"})
lat, end, i = [], time.time() + 15, 0
while time.time() < end:
    t = time.perf_counter()
    r = s.post(os.environ["URL"] + "/Users", data=json.dumps(
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"during{i}@x.test"}))
    lat.append(time.perf_counter() - t)
    i += 1
    if r.status_code != 201:
        print("POST failed:", r.status_code, r.text)
    time.sleep(0.05)
lat.sort()
print(f"{len(lat)} POSTs during the import: median {lat[len(lat) // 2] * 1000:.0f} ms, "
      f"p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
PY
