"""Which rules decide is stored in the database, not taken from whichever process handles a request
(issue 15): two servers started with different --rules folders decide alike, a SIGHUP or
`rules apply --default` changes the default set for every server, and the history can be reverted."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import scimitar
from support import ServerProcess, Tenant, scimitar_cmd
from test_rules_server import cli, wait_for

ROLE = '''
from scimitar import rules

@rules.decide(priority=10)
def role(user, ctx):
    return rules.Decision(role="{role}", reason="folder {role}")
'''


def folder(tmp_path, role: str):
    d = tmp_path / f"rules-{role}"
    d.mkdir()
    (d / "role.py").write_text(ROLE.format(role=role))
    return d


def lines_until(server: ServerProcess, marker: str, timeout: float = 10.0) -> list[str]:
    """The server's stdout lines up to the first one containing `marker` (read by a thread, so that a
    server that prints nothing more fails the test instead of hanging it)."""
    seen: list[str] = []

    def read() -> None:
        for line in server.proc.stdout:
            seen.append(line.rstrip())
            if marker in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert any(marker in line for line in seen), f"no line with {marker!r} in {seen}"
    return seen


def role_of(t: Tenant, user_name: str) -> str | None:
    found = t.store.decision_json(t.slug, user_name)
    return json.loads(found)["detail"].get("role") if found else None


def test_two_servers_with_different_folders_decide_alike_and_follow_a_published_default(tmp_path):
    db = f"sqlite:///{tmp_path}/two.db"
    a, b = folder(tmp_path, "a"), folder(tmp_path, "b")
    first = ServerProcess(db, "--rules", str(a))
    second = ServerProcess(db, "--rules", str(b))
    try:
        lines_until(first, "rules: default rule set")
        started = lines_until(second, "rules: default rule set")
        assert any("differs from the default rule set stored in the database" in line for line in started), started
        store = scimitar.open_store(db, pool_size=2)
        t = Tenant(first, store)
        t.create_user("via-first@x.test")
        t.base = second.url  # the same organization, through the other process
        t.create_user("via-second@x.test")
        assert role_of(t, "via-first@x.test") == role_of(t, "via-second@x.test") == "a"

        # SIGHUP makes the second server's folder the default: both servers follow it, and one of
        # them recomputes the stored decisions.
        second.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: role_of(t, "via-first@x.test") == "b" and role_of(t, "via-second@x.test") == "b",
                 what="the published default to be recomputed")
        t.base = first.url
        time.sleep(1.0)  # the first server installs the new set within its sync interval (0.5 s)
        t.create_user("later@x.test")
        assert role_of(t, "later@x.test") == "b"

        history = json.loads(cli(db, "rules", "history", "--default", "--json").stdout)
        assert [h["origin"].split(" by ")[0] for h in history] == [
            f"serve reload (SIGHUP) of {b}", f"serve --rules {a}"]
        shown = cli(db, "org", "show", t.slug).stdout
        assert f"rule set: version {history[0]['version']}, the default set" in shown

        # Reverting to the first version is a new history entry, and every decision follows it.
        out = cli(db, "rules", "revert", "--default", history[1]["version"]).stdout
        assert "reverted the default set" in out
        wait_for(lambda: {role_of(t, u) for u in ("via-first@x.test", "via-second@x.test", "later@x.test")} == {"a"},
                 what="the revert to be recomputed")
        assert len(json.loads(cli(db, "rules", "history", "--default", "--json").stdout)) == 3
    finally:
        assert first.stop() == 0
        assert second.stop() == 0


def test_an_organizations_own_set_wins_and_clearing_it_returns_to_the_default(tmp_path):
    db = f"sqlite:///{tmp_path}/own.db"
    a, b = folder(tmp_path, "a"), folder(tmp_path, "b")
    server = ServerProcess(db, "--rules", str(a))
    try:
        store = scimitar.open_store(db, pool_size=2)
        t = Tenant(server, store)
        t.create_user("ann@x.test")
        assert role_of(t, "ann@x.test") == "a"
        cli(db, "rules", "apply", "--org", t.slug, "--rules", str(b))
        wait_for(lambda: role_of(t, "ann@x.test") == "b", what="the organization's own set")
        assert "applied to this organization" in cli(db, "rules", "show", "--org", t.slug).stdout
        cli(db, "rules", "clear", "--org", t.slug)
        wait_for(lambda: role_of(t, "ann@x.test") == "a", what="the default set again")
        history = json.loads(cli(db, "rules", "history", "--org", t.slug, "--json").stdout)
        assert [h["version"] for h in history][0] == ""  # the clear, newest first
        missing = cli(db, "rules", "revert", "--org", t.slug, "0000000000000000", check=False)
        assert missing.returncode == 1 and "no rule set version" in missing.stderr
    finally:
        assert server.stop() == 0


def test_the_python_api_refuses_rules_that_differ_from_the_stored_default(tmp_path):
    url = f"sqlite:///{tmp_path}/api.db"
    a, b = folder(tmp_path, "a"), folder(tmp_path, "b")
    db = scimitar.open(url, rules=str(a))  # nothing stored yet: a becomes the default
    db.close()
    try:
        scimitar.open(url, rules=str(b))
    except scimitar.RulesMismatch as e:
        assert "db.apply_rules" in str(e)
    else:
        raise AssertionError("a different folder was accepted")
    db = scimitar.open(url)
    org = db.create_org("acme")
    org.import_users([{"externalId": "1", "userName": "ann@x.test"}])
    assert [m.role for m in org.members()] == ["a"]
    assert db.apply_rules(str(b)) is True
    assert db.apply_rules(str(b)) is False  # already the default
    db.close()


def test_a_stored_set_that_does_not_load_here_keeps_decisions_and_never_admits_by_default(tmp_path):
    db = f"sqlite:///{tmp_path}/broken.db"
    strict = tmp_path / "strict"
    strict.mkdir()
    (strict / "_policy.py").write_text("ROLE = 'auditor'\n")  # a helper, stored with the set
    (strict / "role.py").write_text("import _policy\nfrom scimitar import rules\n\n@rules.decide\n"
                                    "def role(user, ctx):\n    return rules.Decision(provision=user.user_name != 'bob@x.test',"
                                    " role=_policy.ROLE)\n")
    server = ServerProcess(db, "--rules", str(strict))
    try:
        store = scimitar.open_store(db, pool_size=2)
        t = Tenant(server, store)
        t.create_user("ann@x.test")
        bob = t.create_user("bob@x.test")
        assert role_of(t, "ann@x.test") == "auditor"  # the helper came from the database
        # A set stored by another process that cannot load here (a module this machine lacks).
        store.apply_rule_set(t.slug, "feedfacefeedface", json.dumps({"r.py": "import not_installed_here\n"}), "[]",
                             "another machine")
        wait_for(lambda: "does not load" in (json.loads(store.decision_json(t.slug, "ann@x.test"))["error"] or ""),
                 what="the recompute to record the error")
        t.patch(f"/Users/{bob['id']}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                        "Operations": [{"op": "replace", "path": "title", "value": "x"}]})
        ann, later = (json.loads(store.decision_json(t.slug, u)) for u in ("ann@x.test", "bob@x.test"))
        assert ann["provisioned"] is True and ann["detail"]["role"] == "auditor"  # the previous outcome
        assert later["provisioned"] is False  # not admitted by the settings' default
    finally:
        assert server.stop() == 0

    # A server refuses to start on a default set it cannot load.
    cli(db, "rules", "clear", "--org", t.slug)
    scimitar.open_store(db).apply_rule_set(None, "badbadbadbadbad0", json.dumps({"r.py": "import nope\n"}), "[]", "test")
    refused = subprocess.run([*scimitar_cmd(), "--db", db, "serve", "--port", "0"], capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 2 and "default rule set stored in the database does not load" in refused.stderr


def test_a_cleared_default_stays_cleared_when_a_server_starts_with_a_folder(tmp_path):
    db = f"sqlite:///{tmp_path}/cleared.db"
    a = folder(tmp_path, "a")
    ServerProcess(db, "--rules", str(a)).stop()
    assert "the default set has no rule set now" in cli(db, "rules", "clear", "--default").stdout
    started = ServerProcess(db, "--rules", str(a))
    try:
        assert "differs from the default rule set" in " ".join(lines_until(started, "rules: default rule set"))
        assert "rule set: none stored" in cli(db, "rules", "show", "--org", "default").stdout
    finally:
        assert started.stop() == 0
