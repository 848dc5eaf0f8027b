"""An import decides each organization with the rule set applied to it, whatever folder the import
runs in (issue 15, finding 1: it used to decide with ./rules, deprovisioning members)."""

from __future__ import annotations

import json

from test_rules_server import cli

ROLE_RULE = '''
from scimitar import rules

@rules.decide(priority=10)
def role(user, ctx):
    return rules.Decision(provision={provision}, role="{role}", reason="{role} rules")
'''


def test_import_uses_the_applied_rule_set_not_the_local_folder(tmp_path):
    db = f"sqlite:///{tmp_path}/import.db"
    applied = tmp_path / "applied"
    applied.mkdir()
    (applied / "role.py").write_text(ROLE_RULE.format(provision=True, role="applied"))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "rules").mkdir(parents=True)
    (elsewhere / "rules" / "role.py").write_text(ROLE_RULE.format(provision=False, role="local"))
    cli(db, "org", "create", "acme")
    cli(db, "org", "create", "other")
    cli(db, "rules", "apply", "--org", "acme", "--rules", str(applied))
    rows = tmp_path / "people.csv"
    rows.write_text("externalId,userName\nE1,ann@acme.test\nE2,bob@acme.test\n")

    out = cli(db, "import", "--org", "acme", str(rows), cwd=elsewhere).stdout
    assert "(applied to 'acme')" in out
    members = json.loads(cli(db, "members", "--org", "acme", "--json", "--all").stdout)
    assert [(m["userName"], m["provisioned"], m["role"]) for m in members] == [
        ("ann@acme.test", True, "applied"), ("bob@acme.test", True, "applied")]
    # Running it again from the same folder changes nothing.
    assert "nothing to do" in cli(db, "import", "--org", "acme", str(rows), cwd=elsewhere).stdout
    assert json.loads(cli(db, "members", "--org", "acme", "--json", "--all").stdout) == members

    # An organization without a rule set of its own is decided by the stored default set, never by
    # the local folder: with none stored, by its settings alone, and the summary says so.
    out = cli(db, "import", "--org", "other", str(rows), cwd=elsewhere).stdout
    assert "decided by no rules (none stored)" in out
    members = json.loads(cli(db, "members", "--org", "other", "--json", "--all").stdout)
    assert [(m["provisioned"], m["role"]) for m in members] == [(True, "member"), (True, "member")]

    # Given a folder that is not what decides the organization, an import refuses and stores nothing.
    refused = cli(db, "import", "--org", "acme", str(rows), "--rules", str(elsewhere / "rules"), check=False)
    assert refused.returncode == 1
    assert "decided by the rule set applied to 'acme'" in refused.stderr
    assert "scimitar rules apply --org acme" in refused.stderr


def test_a_new_default_set_reaches_unchanged_rows_at_the_next_import_without_a_server(tmp_path):
    db = f"sqlite:///{tmp_path}/default.db"
    first = tmp_path / "first"
    first.mkdir()
    (first / "role.py").write_text(ROLE_RULE.format(provision=True, role="first"))
    second = tmp_path / "second"
    second.mkdir()
    (second / "role.py").write_text(ROLE_RULE.format(provision=True, role="second"))
    cli(db, "org", "create", "acme")
    cli(db, "rules", "apply", "--default", "--rules", str(first))
    rows = tmp_path / "people.csv"
    rows.write_text("externalId,userName\nE1,ann@acme.test\n")
    assert "(the default set)" in cli(db, "import", "--org", "acme", str(rows)).stdout
    roles = lambda: [m["role"] for m in json.loads(cli(db, "members", "--org", "acme", "--json").stdout)]  # noqa: E731
    assert roles() == ["first"]

    # No server runs to recompute; the next import, with every row unchanged, does it first.
    cli(db, "rules", "apply", "--default", "--rules", str(second))
    out = cli(db, "import", "--org", "acme", str(rows)).stdout
    assert "1 unchanged" in out
    assert roles() == ["second"]
    history = json.loads(cli(db, "rules", "history", "--default", "--json").stdout)
    assert [h["origin"].split(" by ")[0] for h in history] == [
        f"rules apply --default --rules {second}", f"rules apply --default --rules {first}"]
