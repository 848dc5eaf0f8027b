"""Settings are declared and validated, can be removed, and changing one that decisions read
recomputes the organization in the running server, with an event for each changed outcome."""

from __future__ import annotations

import json

import pytest

import scimitar
from faults_support import outbox_events
from test_rules_server import REPO_RULES, cli, rules_server, wait_for  # noqa: F401 (fixture)


def decision(t, user_name: str) -> dict:
    found = t.store.decision_json(t.slug, user_name)
    return json.loads(found) if found else {}


@pytest.fixture
def served(rules_server):
    return rules_server(folder=REPO_RULES)


def test_bad_values_are_refused_and_nothing_is_stored(tmp_path):
    db = f"sqlite:///{tmp_path}/s.db"
    cli(db, "org", "create", "acme", "--name", "Acme Corp")
    bad = cli(db, "org", "set", "acme", "default_role=viewer", "default_policy=maybe", check=False)
    assert bad.returncode == 1
    assert "default_policy" in bad.stderr and "admit or deny" in bad.stderr
    empty = cli(db, "org", "set", "acme", "default_role=", check=False)
    assert empty.returncode == 1 and "org unset" in empty.stderr
    assert cli(db, "org", "set", "acme", "scim_sync=sometimes", check=False).returncode == 1
    assert cli(db, "org", "set", "acme", "Bad Key=x", check=False).returncode == 1
    shown = cli(db, "org", "show", "acme").stdout
    assert "organization acme: Acme Corp" in shown
    assert "default_role=member  (default; built in)" in shown  # the valid first pair was not stored either
    assert "default_policy=admit  (default; built in)" in shown
    assert "rule set: none stored" in shown

    assert "default_policy=deny" in cli(db, "org", "set", "acme", "default_policy=DENY", "user_group=Fluid User").stdout
    shown = cli(db, "org", "show", "acme").stdout
    assert "default_policy=deny  (set; built in)" in shown
    assert "user_group=Fluid User  (set; not declared by the rules)" in shown
    assert "removed" in cli(db, "org", "unset", "acme", "user_group").stdout
    assert "was not set" in cli(db, "org", "unset", "acme", "user_group").stdout
    assert "user_group" not in cli(db, "org", "show", "acme").stdout

    org = scimitar.open(db).org("acme")
    with pytest.raises(scimitar.ScimError) as err:
        org.set(default_policy="perhaps")
    assert err.value.status == 400
    assert org.settings["default_policy"] == "deny"
    org.unset("default_policy")
    assert "default_policy" not in org.settings


def test_a_setting_change_from_another_process_recomputes_the_organization(served):
    t = served
    ann = t.create_user("ann@set.test")
    t.create_user("bob@set.test")
    t.create_group("Fluid User", [ann["id"]])
    assert decision(t, "bob@set.test")["provisioned"] is True  # no user_group: everyone is admitted
    before = len(outbox_events(t.db, t.slug))

    cli(t.db, "org", "set", t.slug, "user_group=Fluid User")
    wait_for(lambda: decision(t, "bob@set.test")["provisioned"] is False, what="bob deprovisioned by the setting")
    assert decision(t, "ann@set.test")["provisioned"] is True
    assert decision(t, "bob@set.test")["detail"]["reason"] == "not a member of 'Fluid User'"
    assert decision(t, "ann@set.test")["detail"]["groups"] == []  # the admission group is no app group
    events = outbox_events(t.db, t.slug)[before:]
    assert sorted((e["payload"]["userName"], e["type"]) for e in events) == [
        ("ann@set.test", "member.changed"), ("bob@set.test", "member.deprovisioned")]

    mark = len(outbox_events(t.db, t.slug))
    cli(t.db, "org", "unset", t.slug, "user_group")
    wait_for(lambda: decision(t, "bob@set.test")["provisioned"] is True, what="bob provisioned again")
    assert sorted((e["payload"]["userName"], e["type"]) for e in outbox_events(t.db, t.slug)[mark:]) == [
        ("ann@set.test", "member.changed"), ("bob@set.test", "member.provisioned")]

    # A setting decisions do not read changes no decision and emits nothing.
    cli(t.db, "org", "set", t.slug, "default_role=analyst")
    wait_for(lambda: decision(t, "bob@set.test")["detail"]["role"] == "analyst", what="the new default role")
    count = len(outbox_events(t.db, t.slug))
    cli(t.db, "org", "set", t.slug, "scim_sync=on")
    assert t.store.stale_decisions() == []
    assert len(outbox_events(t.db, t.slug)) == count


def test_event_handlers_read_the_organizations_settings(rules_server, tmp_path):
    log = tmp_path / "notified.jsonl"
    t = rules_server({"rules.py": f'''
import json
from scimitar import rules

@rules.on("member.provisioned")
def notify(event, ctx):
    with open({str(log)!r}, "a") as f:
        f.write(json.dumps({{"user": event["userName"], "url": ctx.settings.get("notify_url")}}) + "\\n")
'''})
    t.store.set_setting(t.slug, "notify_url", "https://hooks.example.test/acme")
    t.create_user("ann@hook.test")
    wait_for(lambda: log.exists() and log.read_text().strip(), what="the handler to run")
    assert [json.loads(x) for x in log.read_text().splitlines()] == [
        {"user": "ann@hook.test", "url": "https://hooks.example.test/acme"}]


def test_transforms_read_the_organizations_settings(rules_server):
    t = rules_server({"rules.py": '''
from scimitar import rules

@rules.transform("User")
def default_title(user, ctx):
    user.setdefault("title", ctx.settings.get("default_title", "none"))
    return user
'''})
    assert t.create_user("ann@transform.test")["title"] == "none"
    t.store.set_setting(t.slug, "default_title", "Engineer")
    assert t.create_user("bob@transform.test")["title"] == "Engineer"


DECLARING_RULES = '''
from scimitar import rules

GROUP = rules.setting("user_group", default="Fluid User", description="admission group")
SEATS = rules.setting("seats", default=5, type="integer")
TIER = rules.setting("tier", choices=["Gold", "Silver"], default="Silver")

@rules.decide
def admit(user, ctx):
    ok = ctx.settings[GROUP] in user.groups
    return rules.Decision(provision=ok, role=f"{ctx.settings[TIER]}:{ctx.settings[SEATS]}",
                          reason=f"group {ctx.settings[GROUP]}")
'''


def test_rule_files_declare_the_settings_they_read(rules_server):
    t = rules_server({"rules.py": DECLARING_RULES})
    ann = t.create_user("ann@decl.test")
    t.create_group("Fluid User", [ann["id"]])
    assert decision(t, "ann@decl.test")["provisioned"] is True  # the declared default decides
    assert decision(t, "ann@decl.test")["detail"]["role"] == "Silver:5"

    shown = cli(t.db, "org", "show", t.slug).stdout
    assert "  user_group=Fluid User  (default; declared by the rules)" in shown
    assert "  seats=5  (default; declared by the rules)" in shown
    refused = cli(t.db, "org", "set", t.slug, "seats=many", check=False)
    assert refused.returncode == 1 and "'seats' must be an integer" in refused.stderr
    refused = cli(t.db, "org", "set", t.slug, "tier=Bronze", check=False)
    assert refused.returncode == 1 and "Gold or Silver" in refused.stderr
    assert t.store.settings(t.slug) == {}  # nothing refused was stored

    cli(t.db, "org", "set", t.slug, "tier=gold", "seats= 12")
    assert t.store.settings(t.slug) == {"tier": "Gold", "seats": "12"}  # stored as declared
    wait_for(lambda: decision(t, "ann@decl.test")["detail"]["role"] == "Gold:12", what="the recompute")
    cli(t.db, "org", "unset", t.slug, "seats")
    wait_for(lambda: decision(t, "ann@decl.test")["detail"]["role"] == "Gold:5", what="the default again")


def test_a_bad_declaration_stops_the_folder_from_loading(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "bad.py").write_text('from scimitar import rules\nrules.setting("seats", default="x", type="integer")\n')
    out = cli(f"sqlite:///{tmp_path}/bad.db", "rules", "check", str(folder), check=False)
    assert out.returncode == 1
    assert "bad.py: rules.setting('seats'): the default of setting 'seats' must be an integer" in out.stderr
