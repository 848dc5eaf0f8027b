"""Rules driving provisioning end to end: a real server, real rule files, SCIM over HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

import scimitar
from support import PATCH_URN, USER_URN, ServerProcess, Tenant, assert_scim_error, scimitar_cmd

REPO_RULES = str(Path(__file__).resolve().parents[2] / "rules")


def cli(db, *args, check=True, cwd=None):
    r = subprocess.run([*scimitar_cmd(), "--db", db, *args], capture_output=True, text=True, timeout=120, cwd=cwd)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def patch_ops(*ops):
    return {"schemas": [PATCH_URN], "Operations": list(ops)}


@pytest.fixture
def rules_server(tmp_path, request):
    """Starts a server on a fresh SQLite file with the rules folder given to make()."""
    started = []

    def make(files: dict[str, str] | None = None, folder: str | None = None):
        if folder is None:
            folder = tmp_path / f"rules-{len(started)}"
            folder.mkdir()
            for name, text in (files or {}).items():
                (folder / name).write_text(text)
        db = f"sqlite:///{tmp_path}/rules-{len(started)}.db"
        store = scimitar.open_store(db, pool_size=2)
        server = ServerProcess(db, "--rules", str(folder), "--rule-budget-ms", "200")
        started.append(server)
        t = Tenant(server, store)
        t.db, t.folder = db, Path(folder)
        return t

    yield make
    for s in started:
        s.stop()


def decision(t: Tenant, user_name: str) -> dict:
    found = t.store.decision_json(t.slug, user_name)
    return json.loads(found) if found else {}


def test_entra_flow_admission_follows_group_membership(rules_server):
    # Entra creates the user first and adds it to the admission group minutes later.
    t = rules_server(folder=REPO_RULES)
    t.store.set_setting(t.slug, "user_group", "Fluid User")
    u = t.create_user("ann@fluid.test")
    d = decision(t, "ann@fluid.test")
    assert d["provisioned"] is False and d["detail"]["reason"] == "not a member of 'Fluid User'"
    staff = t.create_group("Staff", [u["id"]])
    g = t.create_group("Fluid User")
    assert t.patch(f"/Groups/{g['id']}", patch_ops({"op": "Add", "path": "members", "value": [{"value": u["id"]}]})).status_code == 204
    d = decision(t, "ann@fluid.test")
    assert d["provisioned"] is True and d["detail"]["groups"] == ["Staff"]
    members = json.loads(cli(t.db, "members", "--org", t.slug, "--json").stdout)
    assert members == [{"userName": "ann@fluid.test", "provisioned": True, "role": "member", "units": [],
                        "groups": ["Staff"], "error": None}]
    assert json.loads(cli(t.db, "app-groups", "--org", t.slug, "--json").stdout) == {"Staff": ["ann@fluid.test"]}
    # Renaming a group recomputes its members' app groups.
    t.patch(f"/Groups/{staff['id']}", patch_ops({"op": "replace", "path": "displayName", "value": "Team"}))
    assert decision(t, "ann@fluid.test")["detail"]["groups"] == ["Team"]
    # Entra removes the member: deprovisioned. Deactivation also deprovisions.
    t.patch(f"/Groups/{g['id']}", patch_ops({"op": "Remove", "path": "members", "value": [{"value": u["id"]}]}))
    assert decision(t, "ann@fluid.test")["provisioned"] is False
    explained = cli(t.db, "explain", "--org", t.slug, "ann@fluid.test").stdout
    assert "not provisioned" in explained and "10_admission.py:admission_group" in explained
    assert "groups = " in explained


def test_okta_role_and_events_reach_handlers_after_commit(rules_server, tmp_path):
    log = tmp_path / "events.jsonl"
    t = rules_server({"rules.py": f'''
import json
from scimitar import rules

@rules.decide(priority=10)
def role(user, ctx):
    r = user.attr("urn:ietf:params:scim:schemas:extension:acme:2.0:User:role")
    return rules.Decision(role=r) if r else None

@rules.on("*")
def record(event, ctx):
    with open({str(log)!r}, "a") as f:
        f.write(json.dumps({{"type": event["type"], "user": event["userName"], "before": event["before"],
                            "after": event["after"], "user_id": event["user_id"]}}) + "\\n")
'''})
    ext = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
    u = t.create_user("okta@acme.test", **{ext: {"role": "admin"}}, schemas=[USER_URN, ext])
    assert u[ext] == {"role": "admin"}
    t.put(f"/Users/{u['id']}", {"schemas": [USER_URN, ext], "userName": "okta@acme.test", ext: {"role": "viewer"}})
    t.delete(f"/Users/{u['id']}")
    lines = wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 3 and log.read_text().splitlines(),
                     what="three events")
    events = [json.loads(x) for x in lines]
    assert [(e["type"], (e["after"] or {}).get("role")) for e in events] == [
        ("member.provisioned", "admin"), ("member.changed", "viewer"), ("member.deprovisioned", None)]
    outcome = {"provisioned": True, "role": "admin", "units": [], "groups": []}
    assert [e["before"] for e in events] == [None, outcome, {**outcome, "role": "viewer"}]
    assert events[0]["after"] == outcome and {e["user_id"] for e in events} == {u["id"]}


def test_failing_rule_keeps_previous_decision_and_the_write(rules_server):
    t = rules_server({"rules.py": '''
from scimitar import rules

@rules.decide(priority=10)
def fragile(user, ctx):
    if user.attr("title") == "boom":
        raise ValueError("cannot decide " + user.user_name)
    return rules.Decision(role=user.attr("title") or "member")
'''})
    u = t.create_user("fr@x.test", title="lead")
    assert decision(t, "fr@x.test")["detail"]["role"] == "lead"
    r = t.patch(f"/Users/{u['id']}", patch_ops({"op": "replace", "path": "title", "value": "boom"}))
    assert r.status_code == 200 and r.json()["title"] == "boom"  # the IdP's data is never lost
    d = decision(t, "fr@x.test")
    assert d["provisioned"] is True and d["detail"]["role"] == "lead"  # previous decision kept
    assert "rules.py:fragile: ValueError: cannot decide fr@x.test" in d["error"]
    assert "previous decision kept" in cli(t.db, "explain", "--org", t.slug, "fr@x.test").stdout
    t.patch(f"/Users/{u['id']}", patch_ops({"op": "replace", "path": "title", "value": "chief"}))
    d = decision(t, "fr@x.test")
    assert d["error"] is None and d["detail"]["role"] == "chief"


def test_slow_rule_is_interrupted_and_the_server_stays_responsive(rules_server):
    t = rules_server({"rules.py": '''
from scimitar import rules

@rules.decide(priority=10)
def slow(user, ctx):
    if user.user_name.startswith("loop"):
        while True:
            pass
'''})
    other = t.create_user("quick@x.test")
    results = {}

    def create():
        start = time.time()
        results["status"] = t.post("/Users", {"schemas": [USER_URN], "userName": "loop@x.test"}).status_code
        results["seconds"] = time.time() - start

    worker = threading.Thread(target=create)
    worker.start()
    time.sleep(0.05)
    for _ in range(5):  # reads never wait for Python
        assert t.get(f"/Users/{other['id']}").status_code == 200
    worker.join(timeout=30)
    assert results["status"] == 201 and results["seconds"] < 5
    assert "time budget" in decision(t, "loop@x.test")["error"]


def test_transform_reject_refuses_the_write(rules_server):
    t = rules_server({"rules.py": '''
from scimitar import rules

@rules.transform("User")
def normalise(resource, ctx):
    if not resource.get("userName", "").lower().endswith("@acme.test"):
        raise rules.Reject("only @acme.test accounts may be provisioned")
    resource["userName"] = resource["userName"].lower()
    return resource
'''})
    body = assert_scim_error(t.post("/Users", {"schemas": [USER_URN], "userName": "eve@evil.test"}), 400, "invalidValue")
    assert body["detail"] == "only @acme.test accounts may be provisioned"
    assert t.get("/Users").json()["totalResults"] == 0
    assert t.create_user("Zed@ACME.test")["userName"] == "zed@acme.test"


def test_a_broken_rules_folder_refuses_to_start(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "ok.py").write_text("from scimitar import rules\n")
    (folder / "bad.py").write_text("from scimitar import rules\n\nx = 1\nraise RuntimeError('misconfigured')\n")
    r = subprocess.run([*scimitar_cmd(), "--db", f"sqlite:///{tmp_path}/x.db", "serve", "--port", "0",
                        "--rules", str(folder)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "bad.py, line 4: RuntimeError: misconfigured" in r.stderr
    check = subprocess.run([*scimitar_cmd(), "rules", "check", str(folder)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 1 and "bad.py, line 4" in check.stderr


def test_dry_run_then_apply_per_organization(rules_server, tmp_path):
    t = rules_server(folder=REPO_RULES)
    for name, groups in (("a@x.test", ["cl-super-admins"]), ("b@x.test", ["cl-viewers"]), ("c@x.test", [])):
        u = t.create_user(name)
        for g in groups:
            t.create_group(g, [u["id"]])
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    (candidate / "rules.py").write_text('''
from scimitar import rules

@rules.decide(priority=10)
def only_admins(user, ctx):
    if "cl-super-admins" in user.groups:
        return rules.Decision(role="Owner", units=["HQ"])
    return rules.Decision(provision=False)
''')
    report = json.loads(cli(t.db, "rules", "dry-run", "--org", t.slug, "--rules", str(candidate), "--json").stdout)
    assert report["counts"] == {"users": 3, "provisioned": 0, "deprovisioned": 2, "changed": 1, "unchanged": 0, "errors": 0}
    assert [u["line"] for u in report["users"]] == [
        "~ a@x.test: role Super Admin -> Owner; units +HQ -Global",
        "- b@x.test: deprovisioned (was role=Read-Only Admin)",
        "- c@x.test: deprovisioned (was role=member)"]
    text = cli(t.db, "rules", "dry-run", "--org", t.slug, "--rules", str(candidate)).stdout
    assert "deprovisioned: 2" in text
    assert decision(t, "b@x.test")["provisioned"] is True  # a dry run changes nothing
    other = Tenant(t.server, t.store)
    other.create_user("b@x.test")
    cli(t.db, "rules", "apply", "--org", t.slug, "--rules", str(candidate))
    wait_for(lambda: decision(t, "b@x.test").get("provisioned") is False, what="the applied set to run")
    assert decision(t, "a@x.test")["detail"]["role"] == "Owner"
    assert decision(other, "b@x.test")["provisioned"] is True  # other organizations keep the server's rules


def test_sighup_reloads_the_folder_and_keeps_the_previous_set_on_error(rules_server):
    t = rules_server({"rules.py": 'from scimitar import rules\n\n@rules.decide\ndef r(user, ctx):\n    return rules.Decision(role="v1")\n'})
    t.create_user("h@x.test")
    assert decision(t, "h@x.test")["detail"]["role"] == "v1"
    (t.folder / "rules.py").write_text('from scimitar import rules\n\n@rules.decide\ndef r(user, ctx):\n    return rules.Decision(role="v2")\n')
    t.server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: decision(t, "h@x.test")["detail"]["role"] == "v2", what="reload")
    (t.folder / "rules.py").write_text("this is not python\n")
    t.server.proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    t.create_user("h2@x.test")
    assert decision(t, "h2@x.test")["detail"]["role"] == "v2"


def test_failed_handlers_are_recorded_and_retried(rules_server, tmp_path):
    marker = tmp_path / "attempts"
    t = rules_server({"rules.py": f'''
from pathlib import Path
from scimitar import rules

@rules.on("member.provisioned")
def flaky(event, ctx):
    p = Path({str(marker)!r})
    n = int(p.read_text()) if p.exists() else 0
    p.write_text(str(n + 1))
    if n == 0:
        raise ConnectionError("webhook down")
'''})
    t.create_user("w@x.test")
    failed = wait_for(lambda: json.loads(t.store.failed_events_json(t.slug)), what="a recorded failure")
    assert failed[0]["payload"]["last_error"] == "ConnectionError: webhook down"
    wait_for(lambda: marker.exists() and marker.read_text() == "2", timeout=15, what="the retry")
    wait_for(lambda: not json.loads(t.store.failed_events_json(t.slug)), what="delivery")


def test_stop_under_concurrent_rule_invoking_writes(rules_server):
    t = rules_server(folder=REPO_RULES)
    stop = threading.Event()

    def writer(i):
        n = 0
        while not stop.is_set():
            try:
                t.post("/Users", {"schemas": [USER_URN], "userName": f"w{i}-{n}@x.test"})
            except requests.RequestException:
                return
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    time.sleep(1.0)
    assert t.server.stop() == 0  # neither hangs nor crashes
    stop.set()
    for th in threads:
        th.join(timeout=10)
