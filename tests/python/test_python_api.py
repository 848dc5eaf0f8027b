"""The Python API and bulk import/export, on SQLite and PostgreSQL, with the shipped rules."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

import scimitar
from support import USER_URN, ServerProcess, pg_url, scimitar_cmd

REPO = Path(__file__).resolve().parents[2]
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/api.db"
    url = pg_url()
    if not url:
        pytest.skip("SCIMITAR_TEST_PG_URL is not set")
    return url


@pytest.fixture
def org(db_url):
    # The organization has the shipped rules as its own set: the PostgreSQL database is shared, and
    # its default set is whatever other tests left.
    db = scimitar.open(db_url)
    org = db.create_org("api-" + uuid.uuid4().hex[:8])
    db.apply_rules(str(REPO / "rules"), org=org.slug)
    yield org
    db.close()


def test_users_filters_members_explain(org):
    report = org.import_users([
        {"externalId": "e1", "userName": "ann@x.test", "name.givenName": "Ann", "emails[work].value": "ann@x.test"},
        {"externalId": "e2", "userName": "bob@x.test", "active": "False", ENT + ":department": "R&D"},
    ])
    assert (report.created, report.updated, report.unchanged, report.rejected) == (2, 0, 0, [])
    assert report.decisions_changed == 1  # ann provisioned; bob is inactive
    assert [u["userName"] for u in org.users(filter='userName sw "a"')] == ["ann@x.test"]
    assert [u["userName"] for u in org.users(filter=f'{ENT}:department eq "r&d"')] == ["bob@x.test"]
    assert [u["userName"] for u in org.users(sort_by="userName", descending=True)] == ["bob@x.test", "ann@x.test"]
    ann = next(org.users(filter='emails[type eq "work" and value eq "ANN@x.test"]'))
    assert ann["name"] == {"givenName": "Ann"}
    assert [(m.user_name, m.role) for m in org.members()] == [("ann@x.test", "member")]
    assert org.explain("bob@x.test")["detail"]["sources"]["provision"] == "00_active.py:deactivated_in_idp"
    with pytest.raises(scimitar.ScimError) as e:
        list(org.users(filter="userName eq"))
    assert e.value.status == 400 and e.value.scim_type == "invalidFilter"
    with pytest.raises(LookupError):
        org.db.org("no-such-org")


def test_import_is_idempotent_reports_every_bad_row_and_updates(org):
    rows = [{"externalId": f"e{i}", "userName": f"u{i}@x.test"} for i in range(5)]
    rows.insert(2, {"externalId": "bad", "userName": "u1@x.test"})   # duplicate userName
    rows.insert(4, {"userName": "nokey@x.test"})                       # no externalId
    first = org.import_users(rows, batch_size=2)
    assert (first.created, len(first.rejected)) == (5, 2)
    assert [line for line, _ in first.rejected] == [3, 5]
    assert "already in use" in first.rejected[0][1] and "no externalId" in first.rejected[1][1]
    again = org.import_users(rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert "nothing to do" not in str(again)  # two rows are still rejected
    rows[0]["title"] = "lead"
    third = org.import_users(rows)
    assert (third.updated, third.unchanged) == (1, 4)
    dry = org.import_users([{"externalId": "new", "userName": "new@x.test"}, rows[0]], dry_run=True)
    assert (dry.created, dry.unchanged) == (1, 1) and str(dry).startswith("dry run")
    assert not list(org.users(filter='userName eq "new@x.test"'))
    odd = org.import_users([["not", "columns"], 42])  # JSON lines that are not objects
    assert odd.rejected == [(1, "a row is an object of columns, not list"), (2, "a row is an object of columns, not int")]


def test_an_import_that_changes_many_users_updates_them_and_their_decisions(org):
    rows = [{"externalId": f"e{i}", "userName": f"u{i}@x.test", "emails[work].value": f"u{i}@old.test"} for i in range(6)]
    assert org.import_users(rows).created == 6
    assert len(org.members()) == 6
    for i, row in enumerate(rows):
        row["emails[work].value"] = f"u{i}@new.test"
        row["active"] = "false" if i % 2 else "true"
    rows[4]["userName"] = "U0@x.test"  # another user's userName: this row alone is refused
    report = org.import_users(rows, batch_size=3)
    assert (report.created, report.updated, report.unchanged) == (0, 5, 0)
    assert report.rejected == [(5, report.rejected[0][1])] and "already in use" in report.rejected[0][1]
    assert report.decisions_changed == 3  # u1, u3 and u5 deactivated: their accounts go
    assert sorted(m.user_name for m in org.members()) == ["u0@x.test", "u2@x.test", "u4@x.test"]
    assert [u["userName"] for u in org.users(filter='emails.value eq "u3@new.test"')] == ["u3@x.test"]
    assert not list(org.users(filter='emails.value eq "u3@old.test"'))
    assert [u["userName"] for u in org.users(filter='emails.value eq "u4@old.test"')] == ["u4@x.test"]


def test_a_batch_decided_ahead_commits_against_the_settings_and_rows_stored_by_then(org):
    """The importer decides batch N+1 while batch N commits; what changed in between wins."""
    store, slug = org.db.store, org.slug

    def batch(*keys: str) -> str:
        return json.dumps([{"line": i + 1, "resource": {"externalId": k, "userName": f"{k}@x.test"}}
                           for i, k in enumerate(keys)])

    prepared = store.import_prepare(slug, "User", batch("a1", "a2"), "externalId", False)
    org.set(user_group="Fluid User")  # admission now needs a group that a1 and a2 are not in
    assert store.import_commit(slug, prepared)[:5] == (2, 0, 0, [], 0)  # created, updated, unchanged, rejected, members removed
    assert org.members() == []
    assert org.explain("a1@x.test")["detail"]["reason"] == "not a member of 'Fluid User'"

    prepared = store.import_prepare(slug, "User", batch("b1", "b2"), "externalId", False)
    org.import_users([{"externalId": "b1", "userName": "b1@x.test"}])  # stored by another import meanwhile
    assert store.import_commit(slug, prepared)[:5] == (1, 0, 1, [], 0)  # b1 matched the stored row, unchanged
    assert [u["userName"] for u in org.users(filter='userName sw "b"')] == ["b1@x.test", "b2@x.test"]


def test_a_batch_decided_ahead_is_decided_again_when_the_rules_changed_before_its_commit(tmp_path):
    db = scimitar.open(f"sqlite:///{tmp_path}/ahead.db", rules=str(REPO / "rules"))
    org = db.create_org("ahead")
    rows = json.dumps([{"line": 1, "resource": {"externalId": "c1", "userName": "c1@x.test"}}])
    prepared = db.store.import_prepare(org.slug, "User", rows, "externalId", False)  # shipped rules admit c1
    closed = tmp_path / "closed"
    closed.mkdir()
    (closed / "closed.py").write_text("from scimitar import rules\n"
                                      "@rules.decide\n"
                                      "def closed(user, ctx):\n"
                                      "    return rules.Decision(provision=False, reason='closed')\n")
    assert db.apply_rules(str(closed))  # the new default set, for every process
    db.store.recompute_all(org.slug)  # what a server does when the stored set changes
    assert db.store.import_commit(org.slug, prepared)[:5] == (1, 0, 0, [], 0)
    assert org.members() == []
    assert org.explain("c1@x.test")["detail"]["reason"] == "closed"
    db.close()


def test_a_rule_failing_for_some_imported_users_records_the_error_and_decides_the_others(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "picky.py").write_text(
        "from scimitar import rules\n"
        "@rules.decide\n"
        "def picky(user, ctx):\n"
        "    if user.user_name.startswith('bad'):\n"
        "        raise ValueError('no bad users')\n"
        "    return rules.Decision(provision=True, role='Zoë', reason='ok')\n")
    db = scimitar.open(f"sqlite:///{tmp_path}/picky.db", rules=str(rules))
    org = db.create_org("picky")
    rows = [{"externalId": f"e{i}", "userName": f"{'bad' if i % 3 == 0 else 'good'}{i}@x.test"} for i in range(9)]
    report = org.import_users(rows, batch_size=2)  # several batches in flight
    assert (report.created, report.rejected) == (9, [])
    members = {m.user_name: m for m in org.members(include_unprovisioned=True)}
    assert sorted(n for n, m in members.items() if m.provisioned) == [f"good{i}@x.test" for i in (1, 2, 4, 5, 7, 8)]
    assert {m.role for m in members.values() if m.provisioned} == {"Zoë"}
    bad = org.explain("bad3@x.test")
    assert not bad["provisioned"] and "no bad users" in bad["error"]
    db.close()


def test_mapping_function_and_groups(org):
    def mapping(row):
        return {"userName": row["mail"].lower(), "externalId": row["id"], "displayName": row["full"]}
    report = org.import_users([{"id": "1", "mail": "A@X.test", "full": "A"}, {"id": "2"}], mapping=mapping)
    assert report.created == 1 and report.rejected[0][0] == 2 and "KeyError" in report.rejected[0][1]
    user = next(org.users())
    groups = org.import_groups([{"displayName": "Team", "members": [{"value": user["id"]}]}])
    assert groups.created == 1
    assert org.import_groups([{"displayName": "Team", "members": [{"value": user["id"]}]}]).unchanged == 1
    assert [m.groups for m in org.members()] == [["Team"]]


def test_in_process_server_with_inline_rules(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.py").write_text("from scimitar import rules\n\n@rules.decide\ndef r(user, ctx):\n"
                                "    return rules.Decision(role='inline')\n")
    db = scimitar.open(f"sqlite:///{tmp_path}/inproc.db")
    org = db.create_org("inproc")
    db.store.create_member("inproc", "o@x.test", "owner")
    _, token = db.store.create_token("inproc", "o@x.test", "")
    with scimitar.serve(db=db, rules=str(rules), port=0) as server:
        r = requests.post(server.url + "/Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                                        "userName": "srv@x.test"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 201
    assert [(m.user_name, m.role) for m in org.members()] == [("srv@x.test", "inline")]


def cli(db, *args, check=True, cwd=None):
    r = subprocess.run([*scimitar_cmd(), "--db", db, *args], capture_output=True, text=True, timeout=120, cwd=cwd)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_cli_import_csv_with_mapping_and_export(tmp_path):
    db = f"sqlite:///{tmp_path}/cli.db"
    cli(db, "org", "create", "acme")
    path = tmp_path / "people.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["externalId", "userName", "name.givenName", "emails[work].value", ENT + ":department", "active"])
        w.writerow(["1", "ann@acme.test", "Ann", "ann@acme.test", "R&D", "true"])
        w.writerow(["2", "bob@acme.test", "Bob", "bob@acme.test", "Sales", "maybe"])
        w.writerow(["3", "cy@acme.test", "Cy", "", "", "false"])
        w.writerow(["4", "dee@acme.test", "Dee", "", "", "true", "a cell beyond the header"])
    out = cli(db, "import", "--org", "acme", str(path), "--rules", str(REPO / "rules"), check=False)
    assert out.returncode == 3
    assert "line 3: rejected: 'active' must be a boolean" in out.stdout
    assert "line 5: rejected: the row has 7 cells, the header row 6" in out.stdout
    assert "4 rows: 2 created, 0 updated, 0 unchanged, 2 rejected; 1 decisions changed" in out.stdout
    again = cli(db, "import", "--org", "acme", str(path), check=False).stdout
    assert "0 created, 0 updated, 2 unchanged, 2 rejected" in again
    exported = cli(db, "export", "--org", "acme", "--format", "csv").stdout.splitlines()
    assert exported[0] == ("externalId,userName,active,emails[work].value,name.givenName,"
                           f"{ENT}:department")  # the columns the stored users need
    assert "1,ann@acme.test,true,ann@acme.test,Ann,R&D" in exported
    lines = [json.loads(x) for x in cli(db, "export", "--org", "acme").stdout.splitlines()]
    assert sorted(u["userName"] for u in lines) == ["ann@acme.test", "cy@acme.test"]
    mapping = tmp_path / "mapping.py"
    mapping.write_text("def map_row(row):\n    return {'userName': row['login'], 'externalId': row['login']}\n")
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text('{"login": "dee@acme.test"}\nnot json\n')
    out = cli(db, "import", "--org", "acme", str(jsonl), "--mapping", str(mapping), check=False).stdout
    assert "line 2: rejected: invalid JSON" in out and "1 created" in out
    # With a mapping too, a row whose cells do not line up with the header row is refused.
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("login,team\neve@acme.test,ops\nfay@acme.test\ngus@acme.test,ops,extra\n")
    out = cli(db, "import", "--org", "acme", str(ragged), "--mapping", str(mapping), check=False).stdout
    assert "line 3: rejected: the row has 1 cells, the header row 2" in out
    assert "line 4: rejected: the row has 3 cells, the header row 2" in out
    assert "3 rows: 1 created, 0 updated, 0 unchanged, 2 rejected" in out


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_import_leaves_whole_batches_and_rerun_completes(tmp_path, how):
    TOTAL = 20000
    db = f"sqlite:///{tmp_path}/kill.db"
    cli(db, "org", "create", "acme")
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"externalId": str(i), "userName": f"k{i}@acme.test"}) + "\n"
                            for i in range(TOTAL)))
    # A mapping that takes its time keeps the import running until the signal comes: at full speed
    # 20,000 rows can be done before the first committed row is seen.
    slow = tmp_path / "slow_mapping.py"
    slow.write_text("import time\n\ndef map_row(row):\n    time.sleep(0.0005)\n"
                    "    return {'externalId': row['externalId'], 'userName': row['userName']}\n")
    proc = subprocess.Popen([*scimitar_cmd(), "--db", db, "import", "--org", "acme", str(path), "--batch-size", "50",
                             "--mapping", str(slow)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # A shell that started us in the background (nohup, `&`) leaves SIGINT
                            # ignored, and the child would inherit that: Ctrl-C must reach it.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    done = scimitar.open(db).org("acme")
    deadline = time.time() + 60
    while time.time() < deadline and next(iter(done.users(page_size=1)), None) is None:
        time.sleep(0.02)
    proc.send_signal(how)  # as soon as some rows are committed
    _, err = proc.communicate()
    if how == signal.SIGINT:  # Ctrl-C: the batches in flight are committed, then the CLI says so
        assert proc.returncode == 130 and "import interrupted" in err.decode(), err.decode()[-2000:]
    partial = sum(1 for _ in done.users())
    assert 0 < partial < TOTAL, partial
    assert partial % 50 == 0, f"{partial} rows: a batch of 50 was committed in part"
    out = cli(db, "import", "--org", "acme", str(path)).stdout
    assert f"{TOTAL - partial} created, 0 updated, {partial} unchanged, 0 rejected" in out
    assert sum(1 for _ in done.users()) == TOTAL


def test_opening_a_database_does_not_wait_for_a_writer_in_another_process(tmp_path):
    import sqlite3
    db = f"sqlite:///{tmp_path}/busy.db"
    scimitar.open(db).create_org("acme")
    writer = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as a long import batch does
    try:
        started = time.monotonic()
        out = subprocess.run([*scimitar_cmd(), "--db", db, "export", "--org", "acme"], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert time.monotonic() - started < 10  # the busy timeout is 30 s
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_server_keeps_writing_while_an_import_runs_in_another_process(tmp_path):
    db = f"sqlite:///{tmp_path}/shared.db"
    store = scimitar.open_store(db)
    store.create_org("acme", "Acme")
    store.create_member("acme", "owner@acme.test", "owner")
    _, token = store.create_token("acme", "owner@acme.test", "test")
    server = ServerProcess(db)
    try:
        path = tmp_path / "many.jsonl"
        path.write_text("".join(json.dumps({"externalId": str(i), "userName": f"m{i}@acme.test"}) + "\n"
                                for i in range(20000)))
        importer = subprocess.Popen([*scimitar_cmd(), "--db", db, "import", "--org", "acme", str(path),
                                     "--rules", str(REPO / "rules"), "--batch-size", "500"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
        statuses = []
        while importer.poll() is None or len(statuses) < 20:
            r = session.post(f"{server.url}/Users", data=json.dumps({"schemas": [USER_URN],
                                                                    "userName": f"live{len(statuses)}@acme.test"}))
            statuses.append(r.status_code)
        out, err = importer.communicate(timeout=120)
        assert importer.returncode == 0, err
        assert "20000 created, 0 updated, 0 unchanged, 0 rejected" in out
        assert set(statuses) == {201}, statuses
        assert sum(1 for _ in scimitar.open(db).org("acme").users()) == 20000 + len(statuses)
    finally:
        assert server.stop() == 0


def test_fast_json_gives_the_standard_librarys_json_and_errors():
    from scimitar import _json
    for value in [{"reason": "Zoë", "n": 1.5, "none": None}, {"lone": "\ud800"}, {1: "int key"}, [2 ** 70]]:
        text = _json.dumps(value)
        assert json.loads(text) == json.loads(json.dumps(value))
    assert _json.loads('{"a": [1, "\\u00e9"]}') == {"a": [1, "é"]}
    assert _json.loads('"\\ud800"') == "\ud800"  # orjson refuses it; the standard library decodes it
    with pytest.raises(json.JSONDecodeError) as e:
        _json.loads('{"a": ')
    assert e.value.msg == "Expecting value"
