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

    # An organization without a rule set of its own is decided by the local folder, and the summary
    # says so.
    out = cli(db, "import", "--org", "other", str(rows), cwd=elsewhere).stdout
    assert "'other' has no rule set applied" in out
    members = json.loads(cli(db, "members", "--org", "other", "--json", "--all").stdout)
    assert {m["provisioned"] for m in members} == {False}
