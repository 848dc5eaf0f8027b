"""Helpers for the fault tests (test_faults.py): `scimitar serve` children that can be killed, a
SCIM client that records every answer with its timing, a private PostgreSQL cluster that a test can
stop and start again, direct reads of the outbox, and a consistency check of one organization."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import requests

import scimitar
from scimitar.rules import load_sources
from support import ERROR_URN, GROUP_URN, PATCH_URN, SCIM, USER_URN, scimitar_cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- a server child ---------------------------------------------------------------------------
class FaultServer:
    """`scimitar serve` on 127.0.0.1 with a free port. Its stderr goes to a file and its stdout is
    drained by a thread, so a server that logs a lot (a background thread failing every 0.5 s while
    the database is away) never blocks on a full pipe. Runs in `cwd` (no ./rules there: no rules)."""

    def __init__(self, db_url: str, cwd: Path, *extra: str, start_timeout: float = 30.0) -> None:
        self.db_url = db_url
        self.cwd = Path(cwd)
        self.log_path = self.cwd / f"server-{uuid.uuid4().hex[:6]}.stderr"
        self._err = open(self.log_path, "w")
        self.proc = subprocess.Popen([*scimitar_cmd(), "--db", db_url, "serve", "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=self._err, text=True, cwd=str(self.cwd))
        self.stdout: list[str] = []
        first: list[str] = []
        got_first = threading.Event()

        def drain() -> None:
            for line in self.proc.stdout:
                if not got_first.is_set():
                    first.append(line.strip())
                    got_first.set()
                self.stdout.append(line.rstrip("\n"))
            got_first.set()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not got_first.wait(start_timeout) or not first or not first[0].startswith("http://"):
            self.proc.kill()
            self.proc.wait(10)
            raise RuntimeError(f"server did not start on {db_url}: {first!r}\n{self.stderr()}")
        self.url = first[0]  # http://127.0.0.1:PORT/scim/v2

    def stderr(self) -> str:
        try:
            if not self._err.closed:
                self._err.flush()
            return self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"(stderr unreadable: {e})"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> Optional[int]:
        """SIGTERM and wait; SIGKILL after `timeout` (then None). Returns the exit code."""
        code: Optional[int]
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                code = None
        else:
            code = self.proc.returncode
        self._err.close()
        return code


# ---- a recording SCIM client --------------------------------------------------------------------
@dataclass
class Answer:
    """One request and what came back: status (None: no answer), headers, body, seconds taken."""
    method: str
    path: str
    status: Optional[int]
    seconds: float
    headers: dict = field(default_factory=dict)
    text: str = ""
    error: Optional[str] = None  # the client-side exception (timeout, connection reset, ...)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.text)

    def short(self) -> str:
        if self.status is None:
            return f"{self.method} {self.path}: NO ANSWER after {self.seconds:.2f}s ({self.error})"
        body = self.text if len(self.text) < 300 else self.text[:300] + "..."
        extra = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "retry-after")}
        return f"{self.method} {self.path}: {self.status} in {self.seconds:.2f}s {extra} {body}"


class Client:
    """A SCIM client for one tenant on one server; `timeout` bounds every request."""

    def __init__(self, base: str, token: str, timeout: float = 10.0) -> None:
        self.base, self.token, self.timeout = base, token, timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body=None, headers=None, timeout: Optional[float] = None) -> Answer:
        h = {"Content-Type": SCIM} if body is not None else {}
        h.update(headers or {})
        data = None if body is None else json.dumps(body)
        start = time.monotonic()
        try:
            r = self.session.request(method, self.base + path, data=data, headers=h,
                                     timeout=timeout or self.timeout)
        except requests.RequestException as e:
            return Answer(method, path, None, time.monotonic() - start, error=f"{type(e).__name__}: {e}")
        return Answer(method, path, r.status_code, time.monotonic() - start, dict(r.headers), r.text)

    def get(self, path, **kw): return self.request("GET", path, **kw)
    def post(self, path, body, **kw): return self.request("POST", path, body, **kw)
    def put(self, path, body, **kw): return self.request("PUT", path, body, **kw)
    def patch(self, path, body, **kw): return self.request("PATCH", path, body, **kw)
    def delete(self, path, **kw): return self.request("DELETE", path, **kw)

    def new_user(self, user_name: str, **attrs) -> Answer:
        return self.post("/Users", {"schemas": [USER_URN], "userName": user_name, **attrs})

    def new_group(self, name: str, members=()) -> Answer:
        return self.post("/Groups", {"schemas": [GROUP_URN], "displayName": name,
                                     "members": [{"value": m} for m in members]})

    def add_members(self, gid: str, *uids: str, **kw) -> Answer:
        return self.patch(f"/Groups/{gid}", patch_ops({"op": "add", "path": "members",
                                                       "value": [{"value": u} for u in uids]}), **kw)

    def remove_member(self, gid: str, uid: str, **kw) -> Answer:
        return self.patch(f"/Groups/{gid}", patch_ops({"op": "remove", "path": f'members[value eq "{uid}"]'}), **kw)

    def all_users(self) -> list[dict]:
        out, start = [], 1
        for _ in range(1000):
            a = self.get(f"/Users?startIndex={start}&count=500", timeout=30)
            assert a.status == 200, a.short()
            page = a.json()
            out.extend(page["Resources"])
            start += len(page["Resources"])
            if not page["Resources"] or start > page["totalResults"]:
                break
        return out

    def member_ids(self, gid: str) -> set[str]:
        a = self.get(f"/Groups/{gid}", timeout=30)
        assert a.status == 200, a.short()
        return {m["value"] for m in a.json().get("members", [])}


def patch_ops(*ops) -> dict:
    return {"schemas": [PATCH_URN], "Operations": list(ops)}


def scim_error_problems(a: Answer, status: Optional[int] = None, retry_after: bool = False) -> list[str]:
    """What is wrong with `a` as a SCIM error answer (empty: nothing)."""
    if a.status is None:
        return [f"no answer: {a.short()}"]
    problems = []
    if status is not None and a.status != status:
        problems.append(f"status {a.status}, expected {status}")
    ctype = a.headers.get("Content-Type", "")
    if not ctype.startswith(SCIM):
        problems.append(f"Content-Type {ctype!r}, expected {SCIM}")
    try:
        body = a.json()
    except ValueError:
        problems.append("body is not JSON")
        body = {}
    if not isinstance(body, dict):
        body = {}
    if body.get("schemas") != [ERROR_URN]:
        problems.append(f"schemas {body.get('schemas')!r}")
    if body.get("status") != str(a.status):
        problems.append(f"body status {body.get('status')!r} (HTTP {a.status})")
    if not body.get("detail"):
        problems.append("no detail")
    if retry_after:
        value = a.headers.get("Retry-After")
        if value is None:
            problems.append("no Retry-After header")
        elif not value.strip().isdigit():
            problems.append(f"Retry-After {value!r} is not a number of seconds")
    return [f"{'; '.join(problems)} [{a.short()}]"] if problems else []


# ---- tenants ----------------------------------------------------------------------------------
def new_tenant(db_url: str, prefix: str = "f") -> tuple[str, str]:
    """A fresh organization with an owner and a token, made through the native store: (slug, token).
    It is decided by an empty rule set of its own, whatever default set the database stores."""
    store = scimitar.open_store(db_url, pool_size=1)
    slug = f"{prefix}-{uuid.uuid4().hex[:10]}"
    store.create_org(slug, "Fault test org")
    store.apply_rule_set(slug, load_sources([], "no rules").version, "{}", "[]", "fault tests: no rules")
    store.create_member(slug, "owner@example.test", "owner")
    _, token = store.create_token(slug, "owner@example.test", "fault tests")
    del store
    return slug, token


def integrity_problems(db_file) -> list[str]:
    """`PRAGMA integrity_check` of a SQLite file, read-only; [] when it is ok. SQLite 3.40 (Debian 12)
    reports "NULL value in T.C" for NOT NULL columns of WITHOUT ROWID tables even when no value is
    NULL (a false positive of the checker, fixed in later releases); such lines are kept only if a
    query finds a NULL there."""
    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=10)
    try:
        out = []
        for (line,) in con.execute("PRAGMA integrity_check").fetchall():
            if line == "ok":
                continue
            m = re.fullmatch(r"NULL value in (\w+)\.(\w+)", line)
            if m and con.execute(f'SELECT count(*) FROM "{m[1]}" WHERE "{m[2]}" IS NULL').fetchone()[0] == 0:
                continue
            out.append(line)
        return sorted(set(out))
    finally:
        con.close()


def sqlite_path(db_url: str) -> str:
    assert db_url.startswith("sqlite:///")
    return db_url[len("sqlite:///"):]


# ---- a private PostgreSQL cluster --------------------------------------------------------------
def pg_bin() -> Optional[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in p.split("/")[4].split(".")
                                                                          if x.isdigit()])
    if found and os.path.exists(os.path.join(found[-1], "pg_ctl")):
        return found[-1]
    ctl = shutil.which("pg_ctl")
    return os.path.dirname(ctl) if ctl else None


class PrivatePostgres:
    """A throwaway cluster on 127.0.0.1 owned by this test, as scripts/postgres.sh makes one (run as
    the postgres user when root). start()/stop() may be called repeatedly on the same port and data."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        if not self.bin:
            raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl)")
        self.dir = tempfile.mkdtemp(prefix="scimitar-faults-pg.")
        os.chmod(self.dir, 0o755)
        self.as_pg: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", timeout=120)

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        r = subprocess.run([*self.as_pg, os.path.join(self.bin, tool), *args], capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off -c max_connections=100",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def cleanup(self) -> None:
        subprocess.run([*self.as_pg, os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- reading the database directly ----------------------------------------------------------------
def outbox_events(db_url: str, slug: str) -> list[dict]:
    """The organization's outbox, oldest first: [{"type", "payload"}] (payload parsed)."""
    sql = ("SELECT e.type, e.payload FROM outbox e JOIN orgs o ON o.id = e.org_id "
           f"WHERE o.slug = '{slug}' ORDER BY e.id")
    assert all(c.isalnum() or c in "-_" for c in slug)
    if db_url.startswith("sqlite:///"):
        con = sqlite3.connect(f"file:{sqlite_path(db_url)}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute(sql).fetchall()
        finally:
            con.close()
    else:
        q = (f"SELECT coalesce(json_agg(json_build_array(t.type, t.payload)), '[]') FROM ({sql}) t")
        r = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", db_url, "-c", q],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        rows = json.loads(r.stdout.strip())
    return [{"type": t, "payload": json.loads(p)} for t, p in rows]


def decisions(db_url: str, slug: str) -> list[dict]:
    """Every stored decision of the organization, through the Python API's store
    ([{"user_id", "userName", "provisioned", "detail", "error", ...}])."""
    store = scimitar.open_store(db_url, pool_size=1)
    try:
        return json.loads(store.decisions_json(slug, False))
    finally:
        del store


def members_via_api(db_url: str, slug: str) -> list[scimitar.Member]:
    """Org.members(include_unprovisioned=True), the documented Python API."""
    db = scimitar.open(db_url, pool_size=1)
    try:
        return db.org(slug).members(include_unprovisioned=True)
    finally:
        db.close()


def outcome(detail: dict, provisioned: bool) -> Optional[dict]:
    if not provisioned:
        return None
    return {"groups": sorted(detail.get("groups") or []), "provisioned": True, "role": detail.get("role"),
            "units": sorted(detail.get("units") or [])}


def consistency_problems(client: Client, db_url: str, slug: str,
                         group_ids: list[str]) -> tuple[list[str], list[dict]]:
    """Checks that nothing of the organization is half-written: for every stored user, its document,
    the email index, its groups against the groups' members, its stored decision and the outbox agree.
    The server runs without rules, so a decision is: provisioned, role "member", groups = the display
    names of the user's groups. Returns (problems, stored users)."""
    problems: list[str] = []
    users = client.all_users()
    by_id = {u["id"]: u for u in users}
    if len(by_id) != len(users):
        problems.append(f"the user list repeats ids: {len(users)} rows, {len(by_id)} ids")
    groups = {}
    for gid in group_ids:
        a = client.get(f"/Groups/{gid}", timeout=30)
        if a.status != 200:
            problems.append(f"group {gid}: {a.short()}")
            continue
        groups[gid] = a.json()
    member_of: dict[str, set[str]] = {}
    for gid, g in groups.items():
        for m in g.get("members", []):
            if m["value"] not in by_id:
                problems.append(f"group {g['displayName']} lists member {m['value']} that is not a stored user")
            member_of.setdefault(m["value"], set()).add(gid)
    stored_decisions = {d["user_id"]: d for d in decisions(db_url, slug)}
    api_members = {m.user_name: m for m in members_via_api(db_url, slug)}
    events: dict[str, list[dict]] = {}
    for e in outbox_events(db_url, slug):
        events.setdefault(e["payload"].get("user_id", "?"), []).append(e)
    for uid in events:
        if uid not in by_id:
            problems.append(f"outbox events for a user that is not stored: {uid} {events[uid]}")
    for uid, d in stored_decisions.items():
        if uid not in by_id:
            problems.append(f"a decision for a user that is not stored: {d}")
    for uid, listed in by_id.items():
        name = listed["userName"]
        a = client.get(f"/Users/{uid}", timeout=30)
        if a.status != 200:
            problems.append(f"user {name} is listed but GET /Users/{uid} answers {a.short()}")
            continue
        u = a.json()
        if u.get("userName") != name or u.get("meta", {}).get("version") != listed.get("meta", {}).get("version"):
            problems.append(f"user {uid}: listed {listed} but read {u}")
        for e in u.get("emails", []):
            f = client.get(f'/Users?filter=emails.value eq "{e["value"]}"', timeout=30)
            found = [r["id"] for r in f.json().get("Resources", [])] if f.status == 200 else None
            if found != [uid]:
                problems.append(f"user {name}: filter emails.value eq {e['value']!r} finds {found} ({f.short()})")
        user_groups = {g["value"] for g in u.get("groups", [])}
        if user_groups != member_of.get(uid, set()):
            problems.append(f"user {name}: its groups are {sorted(user_groups)} but the groups list it in "
                            f"{sorted(member_of.get(uid, set()))}")
        d = stored_decisions.get(uid)
        if d is None:
            problems.append(f"user {name} has no stored decision")
            continue
        expected_groups = sorted(groups[g]["displayName"] for g in member_of.get(uid, set()) if g in groups)
        detail = d["detail"]
        if d["userName"] != name or not d["provisioned"] or d.get("error") or \
                sorted(detail.get("groups") or []) != expected_groups:
            problems.append(f"user {name}: stored decision {d} does not match its groups {expected_groups}")
        m = api_members.get(name)
        if m is None or sorted(m.groups) != sorted(detail.get("groups") or []) or m.provisioned != d["provisioned"]:
            problems.append(f"user {name}: Org.members() gives {m}, the stored decision is {d}")
        evs = events.get(uid, [])
        want = outcome(detail, bool(d["provisioned"]))
        if not evs:
            if want is not None:
                problems.append(f"user {name}: provisioned but no outbox event")
            continue
        if evs[0]["type"] != "member.provisioned":
            problems.append(f"user {name}: first outbox event is {evs[0]}")
        last = evs[-1]["payload"].get("after")
        got = None if last is None else {**last, "groups": sorted(last.get("groups") or []),
                                         "units": sorted(last.get("units") or [])}
        if got != want:
            problems.append(f"user {name}: last outbox event says {evs[-1]}, the stored decision {want}")
    return problems, users
