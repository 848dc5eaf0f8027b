"""Group push as Entra ID and Okta do it: create, rename, add and remove members, delete."""

from __future__ import annotations

from support import GROUP_URN, PATCH_URN, assert_scim_error


def patch_ops(*ops):
    return {"schemas": [PATCH_URN], "Operations": list(ops)}


def member_ids(tenant, gid):
    return sorted(m["value"] for m in tenant.get(f"/Groups/{gid}").json().get("members", []))


def test_group_lifecycle(tenant):
    a = tenant.create_user("a@g.test", displayName="Ann")
    b = tenant.create_user("b@g.test")
    c = tenant.create_user("c@g.test")
    g = tenant.create_group("Engineering", [a["id"]])
    assert g["members"] == [{"value": a["id"], "$ref": f"{tenant.base}/Users/{a['id']}", "display": "Ann", "type": "User"}]
    # Okta: POST then PATCH member add; Entra: capitalized ops.
    r = tenant.patch(f"/Groups/{g['id']}", patch_ops({"op": "Add", "path": "members",
                                                      "value": [{"value": b["id"]}, {"value": c["id"]}]}))
    # A group PATCH answers 204 (the member list is never loaded to echo it), with the new ETag.
    assert r.status_code == 204, r.text
    assert r.headers["ETag"] == 'W/"2"'
    assert member_ids(tenant, g["id"]) == sorted([a["id"], b["id"], c["id"]])
    # Entra removes listed members with path "members" plus a value list: the others stay.
    r = tenant.patch(f"/Groups/{g['id']}", patch_ops({"op": "Remove", "path": "members", "value": [{"value": a["id"]}]}))
    assert r.status_code == 204
    assert member_ids(tenant, g["id"]) == sorted([b["id"], c["id"]])
    # Okta removes one member by value filter.
    r = tenant.patch(f"/Groups/{g['id']}", patch_ops({"op": "remove", "path": f'members[value eq "{b["id"]}"]'}))
    assert member_ids(tenant, g["id"]) == [c["id"]]
    # Rename (Entra: no path; Okta: path displayName).
    r = tenant.patch(f"/Groups/{g['id']}", patch_ops({"op": "Replace", "value": {"id": g["id"], "displayName": "Eng"}}))
    assert r.status_code == 204
    assert tenant.get(f"/Groups/{g['id']}").json()["displayName"] == "Eng"
    # With a projection the resource comes back (200), still without loading members unless asked.
    r = tenant.patch(f"/Groups/{g['id']}?excludedAttributes=members",
                     patch_ops({"op": "replace", "path": "displayName", "value": "Engineering 2"}))
    assert r.status_code == 200 and r.json()["displayName"] == "Engineering 2" and "members" not in r.json()
    # The user's groups attribute follows.
    assert [x["display"] for x in tenant.get(f"/Users/{c['id']}").json()["groups"]] == ["Engineering 2"]
    # Filters on groups, and a lookup with members excluded.
    found = tenant.get('/Groups?filter=displayName eq "engineering 2"&excludedAttributes=members').json()
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]
    assert tenant.get(f'/Groups?filter=members.value eq "{c["id"]}"').json()["totalResults"] == 1
    assert tenant.delete(f"/Groups/{g['id']}").status_code == 204
    assert tenant.get(f"/Users/{c['id']}").json()["groups"] == []


def test_put_replaces_membership(tenant):
    a = tenant.create_user("pa@g.test")
    b = tenant.create_user("pb@g.test")
    g = tenant.create_group("Put group", [a["id"]])
    r = tenant.put(f"/Groups/{g['id']}", {"schemas": [GROUP_URN], "displayName": "Put group", "members": [{"value": b["id"]}]})
    assert r.status_code == 200
    assert member_ids(tenant, g["id"]) == [b["id"]]


def test_unknown_member_is_refused_and_nothing_changes(tenant, other_tenant):
    a = tenant.create_user("ua@g.test")
    foreign = other_tenant.create_user("foreign@g.test")
    g = tenant.create_group("Strict", [a["id"]])
    for bad in ["00000000-0000-0000-0000-000000000000", foreign["id"]]:
        r = tenant.patch(f"/Groups/{g['id']}", patch_ops({"op": "add", "path": "members", "value": [{"value": bad}]},
                                                         {"op": "replace", "path": "displayName", "value": "Changed"}))
        assert_scim_error(r, 400, "invalidValue")
    got = tenant.get(f"/Groups/{g['id']}").json()
    assert got["displayName"] == "Strict" and got["meta"]["version"] == 'W/"1"'
    assert member_ids(tenant, g["id"]) == [a["id"]]


def test_nested_group_member(tenant):
    inner = tenant.create_group("Inner")
    outer = tenant.create_group("Outer", [inner["id"]])
    assert outer["members"][0]["type"] == "Group"
    assert outer["members"][0]["$ref"].endswith(f"/Groups/{inner['id']}")


def test_a_users_groups_are_the_same_read_alone_or_in_a_list(tenant):
    u = tenant.create_user("member@x.test")
    first = tenant.create_group("First", [u["id"]])
    second = tenant.create_group("Second", [u["id"]])
    alone = tenant.get(f"/Users/{u['id']}").json()["groups"]
    listed = tenant.get(f'/Users?filter=id eq "{u["id"]}"').json()["Resources"][0]["groups"]
    assert alone == listed
    assert [(g["value"], g["display"], g["type"]) for g in alone] == [
        (first["id"], "First", "direct"), (second["id"], "Second", "direct")]
    assert alone[0]["$ref"].endswith(f"/Groups/{first['id']}")
    assert "groups" not in tenant.get(f"/Users/{u['id']}?excludedAttributes=groups").json()
