"""Export, then import into a new organization, then export again gives the same file, in JSONL and
in CSV (issue 15, finding 7: manager, phone numbers, addresses, emails.primary and group memberships
were lost). The users are pushed over SCIM the way Entra ID and Okta push them."""

from __future__ import annotations

import json

import pytest

import scimitar
from support import ENTERPRISE_URN, USER_URN, ServerProcess, Tenant
from test_rules_server import cli

APP = "urn:okta:acme:1.0:user:custom"  # declared: typed (an integer, a boolean)
OKTA = "urn:okta:undeclared:1.0:user"   # not declared: kept as sent
APP_SCHEMA = {"id": APP, "name": "AcmeApp", "attributes": [
    {"name": "seats", "type": "integer"}, {"name": "admin", "type": "boolean"},
    {"name": "permissions", "type": "string", "multiValued": True}]}


@pytest.fixture
def source(tmp_path):
    db = f"sqlite:///{tmp_path}/trip.db"
    server = ServerProcess(db)
    store = scimitar.open_store(db, pool_size=2)
    t = Tenant(server, store)
    t.db = db
    scimitar.open(db).org(t.slug).declare_schema(APP_SCHEMA)
    yield t
    assert server.stop() == 0


def push_people(t: Tenant) -> None:
    schemas = [USER_URN, ENTERPRISE_URN, APP, OKTA]
    ann = t.create_user(
        "ann@acme.test", schemas=schemas, externalId="E-ann", displayName="Ann Example", title="CTO",
        active=True, name={"givenName": "Ann", "familyName": "Example", "formatted": "Ann Example"},
        emails=[{"type": "work", "value": "ann@acme.test", "primary": True},
                {"type": "home", "value": "ann@home.test", "primary": False}],
        phoneNumbers=[{"type": "mobile", "value": "+1 555 0100"}, {"type": "work", "value": "+1 555 0101"}],
        addresses=[{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "country": "US",
                    "primary": True}],
        **{ENTERPRISE_URN: {"department": "Office; of the CTO", "employeeNumber": "0001"},
           APP: {"seats": 5, "admin": True, "permissions": ["export", "import"]},
           OKTA: {"role": "Owner", "level": 3, "flag": False}})
    bob = t.create_user("bob@acme.test", schemas=[USER_URN, ENTERPRISE_URN], externalId="E-bob", active=False,
                        emails=[{"value": "bob@acme.test"}],  # no type: only JSON can keep it
                        **{ENTERPRISE_URN: {"manager": {"value": ann["id"]}, "department": "R&D"}})
    cy = t.create_user("cy@acme.test", externalId="E-cy", displayName="Cy")
    # ann's manager comes later in the file than ann: the import sets it once cy is stored.
    assert t.patch(f"/Users/{ann['id']}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                           "Operations": [{"op": "add", "path": f"{ENTERPRISE_URN}:manager",
                                                           "value": {"value": cy["id"]}}]}).status_code in (200, 204)
    t.create_group("Engineering", [ann["id"], bob["id"]])
    t.create_group("Staff; all", [ann["id"], cy["id"]])


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_import_export_gives_the_same_file(source, tmp_path, fmt):
    push_people(source)
    first = cli(source.db, "export", "--org", source.slug, "--format", fmt).stdout
    path = tmp_path / f"people.{fmt}"
    path.write_text(first)
    cli(source.db, "org", "create", "copy")
    scimitar.open(source.db).org("copy").declare_schema(APP_SCHEMA)
    out = cli(source.db, "import", "--org", "copy", str(path)).stdout
    assert "3 created" in out and "4 group memberships added (2 groups created)" in out, out
    second = cli(source.db, "export", "--org", "copy", "--format", fmt).stdout
    assert second == first

    # What was kept, read back through the API of the copy.
    copy = scimitar.open(source.db).org("copy")
    users = {u["userName"]: u for u in copy.users()}
    ann, bob, cy = users["ann@acme.test"], users["bob@acme.test"], users["cy@acme.test"]
    assert ann[ENTERPRISE_URN]["manager"]["value"] == cy["id"]
    assert bob[ENTERPRISE_URN]["manager"]["value"] == ann["id"]
    assert {e["type"]: e["primary"] for e in ann["emails"]} == {"work": True, "home": False}
    assert [p["value"] for p in ann["phoneNumbers"]] and ann["addresses"][0]["locality"] == "Springfield"
    assert ann[APP] == {"seats": 5, "admin": True, "permissions": ["export", "import"]}
    assert ann[OKTA] == {"role": "Owner", "level": 3, "flag": False}
    assert bob["active"] is False and bob["emails"] == [{"value": "bob@acme.test"}]
    assert sorted(g["display"] for g in ann["groups"]) == ["Engineering", "Staff; all"]

    # Importing the same file again changes nothing.
    again = cli(source.db, "import", "--org", "copy", str(path)).stdout
    assert "nothing to do" in again and "memberships added" not in again, again


def test_user_rows_name_their_groups_and_group_rows_name_members(tmp_path):
    db = f"sqlite:///{tmp_path}/names.db"
    cli(db, "org", "create", "acme")
    people = tmp_path / "people.csv"
    people.write_text("externalId,userName,groups\n"
                      "E1,ann@acme.test,Engineering;Fluid User\n"
                      "E2,bob@acme.test,Engineering\n"
                      "E3,cy@acme.test,\n")
    out = cli(db, "import", "--org", "acme", str(people)).stdout
    assert "3 created" in out and "3 group memberships added (2 groups created)" in out, out
    org = scimitar.open(db).org("acme")
    members = lambda name: sorted(m["display"] for g in org.groups(filter=f'displayName eq "{name}"')  # noqa: E731
                                  for m in g.get("members", []))
    assert members("Engineering") == ["ann@acme.test", "bob@acme.test"]

    # Group rows may name members by userName or by externalId; an unknown name rejects the row.
    groups = tmp_path / "groups.csv"
    groups.write_text("displayName,members.userName,members.externalId\n"
                      "Fluid User,bob@acme.test,E3\n"
                      "Ops,nobody@acme.test,\n")
    out = cli(db, "import", "--org", "acme", "--groups", str(groups), check=False)
    assert out.returncode == 3
    assert "line 3: rejected: member userName 'nobody@acme.test' is not a user of this organization" in out.stdout
    assert members("Fluid User") == ["ann@acme.test", "bob@acme.test", "cy@acme.test"]  # merged, ann stays
    assert list(org.groups(filter='displayName eq "Ops"')) == []


def test_a_key_repeated_in_one_file_is_reported_not_silently_applied_twice(tmp_path):
    db = f"sqlite:///{tmp_path}/repeat.db"
    cli(db, "org", "create", "acme")
    people = tmp_path / "people.jsonl"
    people.write_text(json.dumps({"externalId": "E1", "userName": "ann@acme.test", "title": "first"}) + "\n"
                      + json.dumps({"externalId": "E2", "userName": "bob@acme.test"}) + "\n"
                      + json.dumps({"externalId": "E1", "userName": "ann@acme.test", "title": "second"}) + "\n")
    out = cli(db, "import", "--org", "acme", str(people), "--batch-size", "1", check=False)
    assert out.returncode == 3
    assert "line 3: rejected: externalId 'E1' repeats an earlier row of this file" in out.stdout
    assert [u["title"] for u in scimitar.open(db).org("acme").users(filter='externalId eq "E1"')] == ["first"]


def test_manager_names_keep_the_ids_of_the_page_being_exported():
    from scimitar.exporter import ManagerNames
    asked: list[list[str]] = []

    def lookup(ids):
        asked.append(ids)
        return {i: f"user-{i}" for i in ids if i != "gone"}

    names = ManagerNames(lookup, limit=2)
    names.resolve(["a", "b"])
    names.resolve(["b", "c", "gone"])  # over the limit: "a" is forgotten, never this page's ids
    assert [names[i] for i in ("b", "c", "gone")] == ["user-b", "user-c", None]
    assert asked == [["a", "b"], ["c", "gone"]]  # "b" was remembered, not looked up again
    names.resolve(["a"])
    assert names["a"] == "user-a" and asked[-1] == ["a"]
