"""An import decides each organization with the rule set applied to it, whatever folder the import
runs in (issue 15, finding 1: it used to decide with ./rules, deprovisioning members)."""

from __future__ import annotations

import json
import subprocess

from support import scimitar_cmd

ROLE_RULE = '''
from scimitar import rules

@rules.decide(priority=10)
def role(user, ctx):
    return rules.Decision(provision={provision}, role="{role}", reason="{role} rules")
'''


def run(db, *args, cwd=None):
    r = subprocess.run([*scimitar_cmd(), "--db", db, *args], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_import_uses_the_applied_rule_set_not_the_local_folder(tmp_path):
    db = f"sqlite:///{tmp_path}/import.db"
    applied = tmp_path / "applied"
    applied.mkdir()
    (applied / "role.py").write_text(ROLE_RULE.format(provision=True, role="applied"))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "rules").mkdir(parents=True)
    (elsewhere / "rules" / "role.py").write_text(ROLE_RULE.format(provision=False, role="local"))
    run(db, "org", "create", "acme")
    run(db, "org", "create", "other")
    run(db, "rules", "apply", "--org", "acme", "--rules", str(applied))
    rows = tmp_path / "people.csv"
    rows.write_text("externalId,userName\nE1,ann@acme.test\nE2,bob@acme.test\n")

    out = run(db, "import", "--org", "acme", str(rows), cwd=elsewhere)
    assert "(applied to 'acme')" in out
    members = json.loads(run(db, "members", "--org", "acme", "--json", "--all"))
    assert [(m["userName"], m["provisioned"], m["role"]) for m in members] == [
        ("ann@acme.test", True, "applied"), ("bob@acme.test", True, "applied")]
    # Running it again from the same folder changes nothing.
    assert "nothing to do" in run(db, "import", "--org", "acme", str(rows), cwd=elsewhere)
    assert json.loads(run(db, "members", "--org", "acme", "--json", "--all")) == members

    # An organization without a rule set of its own is decided by the local folder, and the summary
    # says so.
    out = run(db, "import", "--org", "other", str(rows), cwd=elsewhere)
    assert "'other' has no rule set applied" in out
    members = json.loads(run(db, "members", "--org", "other", "--json", "--all"))
    assert {m["provisioned"] for m in members} == {False}
