"""Group imports merge memberships by default (issue 15, finding 6: they replaced them wholesale,
removing and deprovisioning the members the IdP had pushed)."""

from __future__ import annotations

import json
from pathlib import Path

import scimitar
from test_rules_server import cli as run

REPO_RULES = str(Path(__file__).resolve().parents[2] / "rules")


def test_group_import_adds_members_unless_told_to_replace(tmp_path):
    db = f"sqlite:///{tmp_path}/groups.db"
    run(db, "org", "create", "acme")
    run(db, "org", "set", "acme", "user_group=Fluid User")
    run(db, "rules", "apply", "--org", "acme", "--rules", REPO_RULES)
    org = scimitar.open(db).org("acme")
    org.import_users([{"externalId": name, "userName": f"{name}@acme.test"} for name in ("ann", "bob", "cy")])
    users = {u["userName"].split("@")[0]: u["id"] for u in org.users()}
    # The IdP pushed ann and bob into the admission group.
    org.import_groups([{"displayName": "Fluid User", "members": [{"value": users["ann"]}, {"value": users["bob"]}]}])
    def provisioned():
        return sorted(m.user_name for m in org.members())

    assert provisioned() == ["ann@acme.test", "bob@acme.test"]

    # A file naming only cy adds cy; nobody loses access.
    path = tmp_path / "groups.jsonl"
    path.write_text(json.dumps({"displayName": "Fluid User", "members": [{"value": users["cy"]}]}) + "\n")
    out = run(db, "import", "--org", "acme", "--groups", str(path)).stdout
    assert "1 updated" in out and "removed" not in out
    assert provisioned() == ["ann@acme.test", "bob@acme.test", "cy@acme.test"]
    assert "nothing to do" in run(db, "import", "--org", "acme", "--groups", str(path)).stdout

    # Replacing is explicit, says how many members it removes, and a dry run says it first.
    dry = run(db, "import", "--org", "acme", "--groups", "--replace-members", "--dry-run", str(path)).stdout
    assert "2 group members would be removed" in dry
    assert provisioned() == ["ann@acme.test", "bob@acme.test", "cy@acme.test"]
    out = run(db, "import", "--org", "acme", "--groups", "--replace-members", str(path)).stdout
    assert "2 group members removed" in out
    assert provisioned() == ["cy@acme.test"]


def test_a_group_file_with_one_row_per_member_merges_them(tmp_path):
    db = f"sqlite:///{tmp_path}/rows.db"
    run(db, "org", "create", "acme")
    people = tmp_path / "people.csv"
    people.write_text("externalId,userName\nE1,ann@acme.test\nE2,bob@acme.test\n")
    run(db, "import", "--org", "acme", str(people))
    groups = tmp_path / "groups.csv"
    groups.write_text("displayName,members.userName\nOps,ann@acme.test\nOps,bob@acme.test\n")
    out = run(db, "import", "--org", "acme", "--groups", str(groups)).stdout
    assert "0 rejected" in out, out
    org = scimitar.open(db).org("acme")
    assert sorted(m["display"] for g in org.groups() for m in g["members"]) == ["ann@acme.test", "bob@acme.test"]
