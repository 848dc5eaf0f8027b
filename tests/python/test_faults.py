"""Faults on real processes: a server killed with SIGKILL mid-write, PostgreSQL going away and coming
back, a SQLite file locked by another process, a full disk, and two servers racing on one PostgreSQL.

Every test starts its own `scimitar serve` children (tests/python/faults_support.py) on an organization
with an empty rule set of its own, so each user's decision is the organization default (provisioned, role "member", groups = the display
names of the user's IdP groups). Requests always carry a client timeout: a hang shows as a failure
naming the request, never as a stuck suite."""

from __future__ import annotations

import concurrent.futures
import os
import random
import sqlite3
import subprocess
import threading
import time
import uuid

import pytest

from faults_support import (Answer, Client, FaultServer, PrivatePostgres, consistency_problems, integrity_problems,
                            new_tenant,
                            patch_ops, pg_bin, scim_error_problems, sqlite_path)
from support import pg_url

# A request the server cannot serve because the database is unavailable must say so (503 with
# Retry-After) well before a client's own timeout; we give every request 10 s and want the answer in 5.
CLIENT_TIMEOUT_S = 10.0
UNAVAILABLE_ANSWER_S = 5.0
# A write that waits for a SQLite lock held by another process must give up with 503 in bounded time,
# also when several writes queue for it; an IdP's request must not sit for half a minute.
LOCKED_WRITE_BOUND_S = 15.0


def _pg_or_skip() -> str:
    url = pg_url()  # raises in CI when unset
    if not url:
        pytest.skip("SCIMITAR_TEST_PG_URL is not set (scripts/test.sh sets it)")
    return url


@pytest.fixture
def servers():
    """Servers started by a test; stopped (SIGTERM, then SIGKILL) at teardown."""
    started: list[FaultServer] = []
    yield started
    for s in started:
        s.stop(timeout=10)


# ---- 1. kill -9 during writes ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill9_during_writes_loses_no_acknowledged_write_and_leaves_nothing_half_written(
        backend, tmp_path, servers):
    db = "sqlite:///" + str(tmp_path / "kill.db") if backend == "sqlite" else _pg_or_skip()
    slug, token = new_tenant(db, "kill")
    server = FaultServer(db, tmp_path, "--threads", "8")
    servers.append(server)
    setup = Client(server.url, token)
    groups = []
    for name in ("Kill A", "Kill B"):
        a = setup.new_group(name)
        assert a.status == 201, a.short()
        groups.append(a.json()["id"])

    acked_users: dict[str, tuple[str, str]] = {}  # id -> (userName, email) answered 2xx
    # (group, user) -> ops in order, each (op, "acked" | "refused" | "unknown")
    pair_ops: dict[tuple[str, str], list[tuple[str, str]]] = {}
    lock = threading.Lock()  # not reentrant: outcome_of() takes it
    stop = threading.Event()
    counts = {"sent": 0, "2xx": 0, "other": 0, "no answer": 0}
    refusals: list[str] = []

    def outcome_of(a: Answer) -> str:
        with lock:
            counts["sent"] += 1
            key = "2xx" if a.ok else ("no answer" if a.status is None else "other")
            counts[key] += 1
            if key == "other" and len(refusals) < 5:
                refusals.append(a.short())
        return "acked" if a.ok else ("unknown" if a.status is None else "refused")

    def worker(n: int) -> None:
        c = Client(server.url, token)
        rnd = random.Random(n)
        mine: list[tuple[str, str]] = []  # (group, user) pairs this thread added
        i = 0
        while not stop.is_set():
            i += 1
            name, email = f"w{n}-{i}@kill.test", f"mail-{n}-{i}-{uuid.uuid4().hex[:6]}@kill.test"
            a = c.new_user(name, emails=[{"type": "work", "value": email}], title=f"t{i}")
            if outcome_of(a) == "acked":
                with lock:
                    acked_users[a.json()["id"]] = (name, email)
                uid, gid = a.json()["id"], groups[i % 2]
                a = c.add_members(gid, uid)
                st = outcome_of(a)
                with lock:
                    pair_ops.setdefault((gid, uid), []).append(("add", st))
                mine.append((gid, uid))
            elif a.status is None:
                return  # the server is gone
            if mine and rnd.random() < 0.35:
                gid, uid = mine.pop(rnd.randrange(len(mine)))
                a = c.remove_member(gid, uid)
                st = outcome_of(a)
                with lock:
                    pair_ops.setdefault((gid, uid), []).append(("remove", st))
                if a.status is None:
                    return

    pool = concurrent.futures.ThreadPoolExecutor(4)
    futures = [pool.submit(worker, n) for n in range(4)]
    # Kill in the middle of the stream: after 1 s and 30 acknowledged users (a busy machine is
    # slower), at the latest after 3 s.
    started = time.monotonic()
    while time.monotonic() - started < 3 and (time.monotonic() - started < 1 or len(acked_users) < 30):
        time.sleep(0.05)
    server.kill9()
    killed_at, killed_after = counts["sent"], time.monotonic() - started
    time.sleep(0.3)
    stop.set()
    for f in futures:
        f.result(timeout=30)
    pool.shutdown()
    print(f"[{backend}] requests: {counts}; {killed_at} sent when SIGKILLed after {killed_after:.1f}s; "
          f"{len(acked_users)} users acknowledged")
    for r in refusals:
        print(f"[{backend}] non-2xx answer before the kill: {r}")
    assert len(acked_users) >= 5, f"too few writes before the kill to test anything: {counts}"

    restarted = FaultServer(db, tmp_path, "--threads", "8")
    servers.append(restarted)
    c = Client(restarted.url, token, timeout=30)
    problems: list[str] = [f"a write before the kill was refused: {r}" for r in refusals]
    for uid, (name, email) in acked_users.items():
        a = c.get(f"/Users/{uid}")
        if a.status != 200 or a.json().get("userName") != name:
            problems.append(f"acknowledged user {name} ({uid}) lost after restart: {a.short()}")
    members = {gid: c.member_ids(gid) for gid in groups}
    for (gid, uid), ops in pair_ops.items():
        last_acked = max((k for k, (_, st) in enumerate(ops) if st == "acked"), default=None)
        later_unknown = any(st == "unknown" for _, st in ops[0 if last_acked is None else last_acked + 1:])
        if later_unknown:
            continue  # an operation in flight at the kill may or may not have committed
        expected = last_acked is not None and ops[last_acked][0] == "add"
        if (uid in members[gid]) != expected:
            problems.append(f"membership of {acked_users.get(uid)} in group {gid}: ops {ops}, member now: "
                            f"{uid in members[gid]}")
    half, stored = consistency_problems(c, db, slug, groups)
    problems += half
    print(f"[{backend}] after restart: {len(stored)} users stored, {len(acked_users)} acknowledged")
    # The restarted server takes writes.
    a = c.new_user(f"after-{uuid.uuid4().hex[:6]}@kill.test")
    if a.status != 201:
        problems.append(f"write after restart: {a.short()}")
    assert not problems, "\n".join(problems)


# ---- 2. PostgreSQL restart ------------------------------------------------------------------------------------
@pytest.fixture
def private_pg():
    if not pg_bin():
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the PostgreSQL fault tests: no PostgreSQL server binaries")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.cleanup()


def test_postgres_restart_answers_503_then_recovers_without_restarting_scimitar(private_pg, tmp_path, servers):
    db = private_pg.url
    slug, token = new_tenant(db, "pgr")
    server = FaultServer(db, tmp_path, "--threads", "4")  # a pool of 8 connections, all of which must recover
    servers.append(server)
    c = Client(server.url, token, timeout=CLIENT_TIMEOUT_S)
    a = c.new_user("before@pg.test", emails=[{"value": "before@pg.test"}])
    assert a.status == 201, a.short()
    uid = a.json()["id"]
    # Use several pooled connections before the outage.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert all(x.status == 200 for x in pool.map(lambda _: c.get("/Users?count=1"), range(8)))

    private_pg.stop("fast")
    problems: list[str] = []
    during: list[Answer] = []
    requests_while_down = [
        lambda: c.get("/Users"),
        lambda: c.get(f"/Users/{uid}"),
        lambda: c.new_user("during@pg.test"),
        lambda: c.patch(f"/Users/{uid}", patch_ops({"op": "replace", "path": "title", "value": "x"})),
        lambda: c.get('/Users?filter=userName eq "before@pg.test"'),
        lambda: c.new_group("During"),
    ]
    for send in requests_while_down:
        a = send()
        during.append(a)
        problems += scim_error_problems(a, 503, retry_after=True)
        if a.status is not None and a.seconds > UNAVAILABLE_ANSWER_S:
            problems.append(f"answered in {a.seconds:.2f}s, more than {UNAVAILABLE_ANSWER_S}s: {a.short()}")
    # Concurrent requests while down: none may hang.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for a in pool.map(lambda _: c.get("/Users?count=1"), range(8)):
            during.append(a)
            problems += scim_error_problems(a, 503, retry_after=True)
    print("while PostgreSQL is down:\n  " + "\n  ".join(a.short() for a in during))
    assert server.alive(), f"scimitar exited while PostgreSQL was down: {server.stderr()[-3000:]}"

    private_pg.start()
    back = time.monotonic()
    first_ok = None
    tries: list[Answer] = []
    while time.monotonic() - back < 10:
        a = c.get(f"/Users/{uid}")
        tries.append(a)
        if a.status == 200:
            first_ok = time.monotonic() - back
            break
        time.sleep(0.25)
    print(f"after PostgreSQL came back: first success after "
          f"{'never (10 s)' if first_ok is None else f'{first_ok:.2f}s'}; "
          f"{len(tries)} tries, last: {tries[-1].short() if tries else None}")
    if first_ok is None:
        problems.append(f"no request succeeded within 10 s of PostgreSQL's restart; last: {tries[-1].short()}")
    elif first_ok > 5:
        problems.append(f"the first request succeeded only {first_ok:.1f}s after PostgreSQL's restart")
    # Every pooled connection recovers, not only the first: many requests, concurrently, all succeed.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        after = list(pool.map(lambda _: c.get("/Users?count=1"), range(16)))
    after.append(c.new_user("after@pg.test"))
    after.append(c.patch(f"/Users/{uid}", patch_ops({"op": "replace", "path": "title", "value": "back"})))
    bad = [a.short() for a in after if not a.ok]
    if bad:
        problems.append(f"{len(bad)} of {len(after)} requests failed after PostgreSQL came back:\n    " +
                        "\n    ".join(bad[:6]))
    assert server.alive(), "scimitar exited"
    assert not problems, "\n".join(problems)


# ---- 3. SQLite locked by another process --------------------------------------------------------------------
def test_sqlite_locked_by_another_process_writes_answer_503_reads_go_on(tmp_path, servers):
    db = "sqlite:///" + str(tmp_path / "locked.db")
    slug, token = new_tenant(db, "lock")
    server = FaultServer(db, tmp_path, "--threads", "8")
    servers.append(server)
    c = Client(server.url, token, timeout=LOCKED_WRITE_BOUND_S)
    a = c.new_user("before@lock.test")
    assert a.status == 201, a.short()
    uid = a.json()["id"]
    mode = sqlite3.connect(sqlite_path(db)).execute("PRAGMA journal_mode").fetchone()[0]
    print(f"journal_mode of the server's database: {mode}")

    holder = sqlite3.connect(sqlite_path(db), isolation_level=None, timeout=5)
    holder.execute("BEGIN EXCLUSIVE")
    locked_at = time.monotonic()
    problems: list[str] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            # Three writes queue for the lock at once; every one must give up in bounded time.
            writes = [pool.submit(c.new_user, f"locked-{k}@lock.test") for k in range(2)]
            writes.append(pool.submit(c.patch, f"/Users/{uid}",
                                      patch_ops({"op": "replace", "path": "title", "value": "locked"})))
            time.sleep(0.3)
            reads = [c.get(f"/Users/{uid}", timeout=CLIENT_TIMEOUT_S), c.get("/Users?count=5", timeout=CLIENT_TIMEOUT_S)]
            written = [f.result() for f in writes]
        print(f"lock held for {time.monotonic() - locked_at:.1f}s")
    finally:
        holder.rollback()
        holder.close()
    print("while locked:\n  " + "\n  ".join(a.short() for a in written + reads))
    for a in written:
        problems += scim_error_problems(a, 503, retry_after=True)
        if a.status is not None and a.seconds > LOCKED_WRITE_BOUND_S:
            problems.append(f"answered after {a.seconds:.1f}s: {a.short()}")
    if mode.lower() == "wal":
        for a in reads:
            if a.status != 200 or a.seconds > UNAVAILABLE_ANSWER_S:
                problems.append(f"a read while another process holds the write lock (WAL): {a.short()}")
    # Released: writes succeed again.
    time.sleep(0.2)
    after = [c.new_user(f"after-{k}@lock.test", timeout=CLIENT_TIMEOUT_S) for k in range(3)]
    print("after release:\n  " + "\n  ".join(a.short() for a in after))
    problems += [f"write after the lock was released: {a.short()}" for a in after if a.status != 201]
    # A write that was refused changed nothing; one the client gave up on may have been stored later.
    time.sleep(0.5)
    stored = {u["userName"] for u in c.all_users()}
    print(f"stored afterwards: {sorted(stored)}; PATCHed title now: {c.get(f'/Users/{uid}').json().get('title')!r}")
    for k, a in enumerate(written[:2]):
        if a.status is not None and not a.ok and f"locked-{k}@lock.test" in stored:
            problems.append(f"a write answered {a.status} was stored anyway: locked-{k}@lock.test")
    if written[2].status is not None and not written[2].ok and c.get(f"/Users/{uid}").json().get("title") == "locked":
        problems.append(f"a PATCH answered {written[2].status} was applied anyway")
    assert server.alive()
    assert not problems, "\n".join(problems)


# ---- 4. disk full ----------------------------------------------------------------------------------------------
@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a 4 MiB tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip() or r.returncode}")
    yield mnt
    r = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(path) -> int:
    """Fills the filesystem of `path` with a file until it refuses to grow; returns its size."""
    size = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 16, 1 << 12, 1 << 9):
            block = b"\0" * chunk
            while True:
                try:
                    size += f.write(block)
                except OSError:
                    break
    return size


def test_disk_full_writes_fail_with_scim_error_nothing_corrupted_reads_go_on(small_tmpfs, tmp_path, servers):
    db_file = small_tmpfs / "full.db"
    db = "sqlite:///" + str(db_file)
    slug, token = new_tenant(db, "full")
    server = FaultServer(db, tmp_path, "--threads", "4")
    servers.append(server)
    c = Client(server.url, token, timeout=CLIENT_TIMEOUT_S)
    before = {}
    for k in range(20):
        a = c.new_user(f"u{k}@full.test", emails=[{"value": f"u{k}@full.test"}], title="x" * 200)
        assert a.status == 201, a.short()
        before[a.json()["id"]] = a.json()
    a = c.new_group("Full", members=list(before)[:5])
    assert a.status == 201, a.short()
    gid = a.json()["id"]

    filler = small_tmpfs / "filler"
    filled = _fill(filler)
    st = os.statvfs(small_tmpfs)
    print(f"filler: {filled} bytes; free now: {st.f_bavail * st.f_frsize} bytes")
    problems: list[str] = []
    during: list[Answer] = []
    try:
        big = "y" * 200_000
        for k in range(4):
            during.append(c.new_user(f"full-{k}@full.test", title=big))
        some = list(before)[5]
        during.append(c.patch(f"/Users/{some}", patch_ops({"op": "replace", "path": "title", "value": big})))
        during.append(c.add_members(gid, *list(before)[5:15]))
        during.append(c.new_group("Full 2", members=list(before)))
        print("disk full:\n  " + "\n  ".join(a.short() for a in during))
        failed = [a for a in during if not a.ok]
        if not failed:
            problems.append("no write failed although the filesystem is full")
        for a in failed:
            if a.status is None or a.status < 500:
                problems.append(f"a write on a full disk did not answer a 5xx: {a.short()}")
            else:
                problems += scim_error_problems(a)
        # Reads keep being served, and what was stored is intact.
        for uid, u in before.items():
            a = c.get(f"/Users/{uid}")
            if a.status != 200:
                problems.append(f"read on a full disk: {a.short()}")
            elif uid != some and (a.json()["userName"] != u["userName"] or a.json()["meta"] != u["meta"]):
                problems.append(f"user {u['userName']} changed: {a.text}")
        a = c.get('/Users?filter=emails.value eq "u3@full.test"')
        if a.status != 200 or a.json()["totalResults"] != 1:
            problems.append(f"filtered read on a full disk: {a.short()}")
        check = integrity_problems(db_file)
        if check:
            problems.append(f"PRAGMA integrity_check on a full disk: {check}")
    finally:
        filler.unlink()
    # Space again: writes succeed, on every pooled connection.
    time.sleep(0.2)
    after = [c.new_user(f"after-{k}@full.test", emails=[{"value": f"after-{k}@full.test"}]) for k in range(10)]
    after.append(c.add_members(gid, *list(before)[5:8]))
    print("after freeing space:\n  " + "\n  ".join(a.short() for a in after))
    problems += [f"write after space was freed: {a.short()}" for a in after if not a.ok]
    for a in during:
        if a.ok and a.method == "POST" and a.path == "/Users":
            got = c.get(f"/Users/{a.json()['id']}")
            if got.status != 200:
                problems.append(f"a user created (2xx) on the full disk is gone: {got.short()}")
    check = integrity_problems(db_file)
    if check:
        problems.append(f"PRAGMA integrity_check after freeing space: {check}")
    ids = list(before)
    want = set(ids[:5]) | set(ids[5:8])
    if not during[5].ok:  # the member add refused on the full disk changed nothing
        got = c.member_ids(gid)
        if got != want:
            problems.append(f"group members after the full disk: missing {sorted(want - got)}, "
                            f"unexpected {sorted(got - want)}")
    half, _ = consistency_problems(c, db, slug, [gid])
    problems += half
    assert server.alive(), f"scimitar exited on a full disk: {server.stderr()[-3000:]}"
    assert not problems, "\n".join(problems)


# ---- 5. two servers on one PostgreSQL, racing -------------------------------------------------------------
def test_two_servers_on_one_postgres_race_without_duplicates_or_lost_updates(tmp_path, servers):
    db = _pg_or_skip()
    slug, token = new_tenant(db, "race")
    one = FaultServer(db, tmp_path, "--threads", "8")
    servers.append(one)
    two = FaultServer(db, tmp_path, "--threads", "8")
    servers.append(two)
    a_, b_ = Client(one.url, token, timeout=30), Client(two.url, token, timeout=30)
    problems: list[str] = []

    # userNames taken concurrently by both servers, also differing only in case.
    names = [f"racer{k}@race.test" for k in range(24)]
    variants = []
    for n in names:
        variants += [(a_, n), (b_, n), (a_, n.upper()), (b_, n.capitalize())]
    random.Random(5).shuffle(variants)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda v: (v[1], v[0].new_user(v[1])), variants))
    wins: dict[str, list[str]] = {}
    for name, a in created:
        if a.status == 201:
            wins.setdefault(name.lower(), []).append(a.json()["id"])
        elif a.status == 409:
            problems += scim_error_problems(a, 409)
        else:
            problems.append(f"userName race: {a.short()}")
    for n in names:
        if len(wins.get(n, [])) != 1:
            problems.append(f"userName {n}: {len(wins.get(n, []))} creations answered 201")
    stored = a_.all_users()
    folded: dict[str, list[str]] = {}
    for u in stored:
        folded.setdefault(u["userName"].lower(), []).append(u["userName"])
    dup = {k: v for k, v in folded.items() if len(v) > 1}
    if dup:
        problems.append(f"duplicate userNames stored (case-insensitively): {dup}")

    # Members added and removed concurrently through both servers: each change touches its own user,
    # so the final membership is exactly what the successful operations imply.
    ids = [wins[n][0] for n in names if len(wins.get(n, [])) == 1]
    assert len(ids) >= 16, f"the userName race left too few users to go on: {problems}"
    first, second = ids[: len(ids) // 2], ids[len(ids) // 2:]
    g = a_.new_group("Race group", members=first)
    assert g.status == 201, g.short()
    gid = g.json()["id"]
    expected = set(first)
    ops = []
    for k, uid in enumerate(first):
        ops.append(("remove", uid, a_ if k % 2 else b_))
    for k, uid in enumerate(second):
        ops.append(("add", uid, b_ if k % 2 else a_))

    def run_round(round_ops, seed, label):
        """Runs (op, user id, client) member changes concurrently; `expected` follows the answered ones."""
        random.Random(seed).shuffle(round_ops)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            done = list(pool.map(lambda o: (o, o[2].remove_member(gid, o[1]) if o[0] == "remove"
                                            else o[2].add_members(gid, o[1])), round_ops))
        for (op, uid, _), a in done:
            if a.ok:
                (expected.discard if op == "remove" else expected.add)(uid)
            else:
                problems.append(f"concurrent member {op}{label}: {a.short()}")

    run_round(ops, 7, "")
    # A second round on the same users: put the removed back, take the added out.
    ops2 = [("add", uid, a_ if k % 2 else b_) for k, uid in enumerate(first)] + \
           [("remove", uid, b_ if k % 2 else a_) for k, uid in enumerate(second[: len(second) // 2])]
    run_round(ops2, 8, " (round 2)")
    for client, label in ((a_, "server one"), (b_, "server two")):
        final = client.member_ids(gid)
        if final != expected:
            problems.append(f"{label}: final members differ from the successful operations: missing "
                            f"{sorted(expected - final)}, unexpected {sorted(final - expected)}")
    for uid in ids:
        a = b_.get(f"/Users/{uid}")
        in_group = gid in {x["value"] for x in a.json().get("groups", [])} if a.status == 200 else None
        if in_group != (uid in expected):
            problems.append(f"user {uid}: groups attribute says member={in_group}, expected {uid in expected}")

    # Stale If-Match: one server changes the user, the other sends the old ETag -> 412.
    uid = ids[0]
    v1 = a_.get(f"/Users/{uid}").headers.get("ETag")
    ok = a_.patch(f"/Users/{uid}", patch_ops({"op": "replace", "path": "title", "value": "one"}),
                  headers={"If-Match": v1})
    if ok.status != 200:
        problems.append(f"PATCH with the current ETag: {ok.short()}")
    stale = b_.patch(f"/Users/{uid}", patch_ops({"op": "replace", "path": "title", "value": "two"}),
                     headers={"If-Match": v1})
    problems += [f"stale If-Match on a user: {p}" for p in scim_error_problems(stale, 412)]
    stale_put = b_.put(f"/Users/{uid}", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                         "userName": names[0], "title": "two"}, headers={"If-Match": v1})
    problems += [f"stale If-Match on a user PUT: {p}" for p in scim_error_problems(stale_put, 412)]
    if b_.get(f"/Users/{uid}").json().get("title") != "one":
        problems.append("a write with a stale If-Match changed the user")
    # Both servers send the same current ETag at once: exactly one wins, the other gets 412.
    for round_ in range(3):
        cur = a_.get(f"/Users/{uid}").headers.get("ETag")
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            pair = list(pool.map(lambda cl: cl.patch(f"/Users/{uid}", patch_ops(
                {"op": "replace", "path": "title", "value": f"r{round_}-{cl is a_}"}), headers={"If-Match": cur}),
                (a_, b_)))
        statuses = sorted(x.status for x in pair)
        if statuses != [200, 412]:
            problems.append(f"same ETag {cur} sent by both servers at once: {[x.short() for x in pair]}")
    gv = a_.get(f"/Groups/{gid}").headers.get("ETag")
    ok = a_.patch(f"/Groups/{gid}", patch_ops({"op": "replace", "path": "displayName", "value": "Race 2"}),
                  headers={"If-Match": gv})
    if not ok.ok:
        problems.append(f"group PATCH with the current ETag: {ok.short()}")
    stale = b_.add_members(gid, ids[-1], headers={"If-Match": gv})
    problems += [f"stale If-Match on a group: {p}" for p in scim_error_problems(stale, 412)]
    assert not problems, "\n".join(problems)
