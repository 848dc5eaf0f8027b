"""Hostile and quirky bodies: bounded nesting, control characters, operation counts, and what Entra ID
sends that a strict reading of RFC 7643 would refuse. Nothing stored changes because of a rejected request."""

from __future__ import annotations

from support import ENTERPRISE_URN, GROUP_URN, PATCH_URN, USER_URN, assert_scim_error


def _user_count(tenant) -> int:
    return tenant.get("/Users?count=0").json()["totalResults"]


def test_deep_nesting_is_refused_and_the_server_lives_on(tenant):
    before = _user_count(tenant)
    for body in ("[" * 100_000 + "]" * 100_000,
                 '{"schemas": ["%s"], "userName": "deep", "x": %s}' % (USER_URN, "[" * 65 + "]" * 65),
                 '{"a":' * 50_000 + "1" + "}" * 50_000):
        detail = assert_scim_error(tenant.post("/Users", body), 400, "invalidSyntax")["detail"]
        assert "64" in detail
    # Nesting inside strings does not count, and 64 levels are still fine.
    ok = tenant.post("/Users", '{"schemas": ["%s"], "userName": "not[deep{", "x": %s}'
                     % (USER_URN, "[" * 62 + "]" * 62))
    assert ok.status_code == 201, ok.text
    deep_patch = '{"schemas": ["%s"], "Operations": [{"op": "add", "path": "title", "value": %s}]}' % (
        PATCH_URN, "[" * 1000 + "]" * 1000)
    assert_scim_error(tenant.patch(f"/Users/{ok.json()['id']}", deep_patch), 400, "invalidSyntax")
    assert _user_count(tenant) == before + 1


def test_control_characters_in_identifiers_are_refused(tenant):
    before = _user_count(tenant)
    for name in ("a\u0000b", "tab\there", "line\nbreak", "del\u007f"):
        body = assert_scim_error(tenant.post("/Users", {"schemas": [USER_URN], "userName": name}),
                                 400, "invalidValue")
        assert "userName" in body["detail"] and "control" in body["detail"]
    assert_scim_error(tenant.post("/Users", {"schemas": [USER_URN], "userName": "ok@ctl.test",
                                             "externalId": "x\u0001"}), 400, "invalidValue")
    assert_scim_error(tenant.post("/Groups", {"schemas": [GROUP_URN], "displayName": "G\u0000"}),
                      400, "invalidValue")
    assert _user_count(tenant) == before
    u = tenant.create_user("fine@ctl.test")
    g = tenant.create_group("Control group")
    assert_scim_error(tenant.post("/Groups", {"schemas": [GROUP_URN], "displayName": "Members",
                                              "members": [{"value": u["id"] + "\u0000"}]}), 400, "invalidValue")
    patch = {"schemas": [PATCH_URN], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": "x\u001fy"}]}]}
    assert_scim_error(tenant.patch(f"/Groups/{g['id']}", patch), 400, "invalidValue")
    rename = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "userName", "value": "a\u0000"}]}
    assert_scim_error(tenant.patch(f"/Users/{u['id']}", rename), 400, "invalidValue")
    assert tenant.get(f"/Users/{u['id']}").json()["userName"] == "fine@ctl.test"
    # Non-ASCII letters are not control characters.
    assert tenant.post("/Users", {"schemas": [USER_URN], "userName": "zoë@ctl.test"}).status_code == 201


def test_patch_operation_count_is_bounded(tenant):
    u = tenant.create_user("ops@limit.test")
    ops = [{"op": "replace", "path": "title", "value": str(i)} for i in range(1001)]
    body = assert_scim_error(tenant.patch(f"/Users/{u['id']}", {"schemas": [PATCH_URN], "Operations": ops}),
                             400, "invalidValue")
    assert "1000" in body["detail"]
    assert "title" not in tenant.get(f"/Users/{u['id']}").json()
    r = tenant.patch(f"/Users/{u['id']}", {"schemas": [PATCH_URN], "Operations": ops[:1000]})
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "999"


def test_entra_manager_as_a_plain_id(tenant):
    boss = tenant.create_user("boss@entra.test")
    r = tenant.post("/Users", {"schemas": [USER_URN, ENTERPRISE_URN], "userName": "worker@entra.test",
                               ENTERPRISE_URN: {"manager": boss["id"], "department": "Ops"}})
    assert r.status_code == 201, r.text
    assert r.json()[ENTERPRISE_URN]["manager"]["value"] == boss["id"]
    uid = r.json()["id"]
    other = tenant.create_user("other-boss@entra.test")
    patch = {"schemas": [PATCH_URN], "Operations": [
        {"op": "Add", "path": f"{ENTERPRISE_URN}:manager", "value": other["id"]}]}
    r = tenant.patch(f"/Users/{uid}", patch)
    assert r.status_code == 200, r.text
    stored = tenant.get(f"/Users/{uid}").json()[ENTERPRISE_URN]
    assert stored["manager"] == {"value": other["id"]}
    assert stored["department"] == "Ops"
    put = tenant.put(f"/Users/{uid}", {"schemas": [USER_URN, ENTERPRISE_URN], "userName": "worker@entra.test",
                                       ENTERPRISE_URN: {"manager": boss["id"]}})
    assert put.status_code == 200, put.text
    assert put.json()[ENTERPRISE_URN]["manager"] == {"value": boss["id"]}
    found = tenant.get(f'/Users?filter={ENTERPRISE_URN}:manager.value eq "{boss["id"]}"').json()
    assert [x["id"] for x in found["Resources"]] == [uid]


def test_value_filter_followed_by_a_sub_attribute(tenant):
    a = tenant.create_user("a@vf.test", emails=[{"type": "work", "value": "a@work.test"},
                                                {"type": "home", "value": "shared@home.test"}])
    tenant.create_user("b@vf.test", emails=[{"type": "home", "value": "a@work.test"}])
    for f in ('emails[type eq "work"].value eq "a@work.test"',
              'emails[type eq "work" and value eq "a@work.test"]'):
        r = tenant.get("/Users", params={"filter": f})
        assert r.status_code == 200, r.text
        assert [x["id"] for x in r.json()["Resources"]] == [a["id"]], f
    r = tenant.get("/Users", params={"filter": 'emails[type eq "work"].value eq "shared@home.test"'})
    assert r.json()["totalResults"] == 0
    assert_scim_error(tenant.get("/Users", params={"filter": 'emails[type eq "work"]. eq "x"'}), 400, "invalidFilter")


def test_managed_group_names_are_unique_per_organization(tenant, other_tenant):
    g = tenant.create_group("Fluid User")
    body = assert_scim_error(tenant.post("/Groups", {"schemas": [GROUP_URN], "displayName": "fluid user"}),
                             409, "uniqueness")
    assert "fluid user" in body["detail"]
    assert tenant.get('/Groups?filter=displayName eq "Fluid User"').json()["totalResults"] == 1
    other_tenant.create_group("Fluid User")  # another organization may use the name
    second = tenant.create_group("Fluid Admins")
    rename = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "displayName", "value": "FLUID USER"}]}
    assert_scim_error(tenant.patch(f"/Groups/{second['id']}", rename), 409, "uniqueness")
    assert_scim_error(tenant.put(f"/Groups/{second['id']}", {"schemas": [GROUP_URN], "displayName": "Fluid User"}),
                      409, "uniqueness")
    assert tenant.get(f"/Groups/{second['id']}").json()["displayName"] == "Fluid Admins"
    assert tenant.delete(f"/Groups/{g['id']}").status_code == 204
    tenant.create_group("Fluid User")  # the name is free again


def test_fuzzer_findings_answer_400_not_a_crash(tenant):
    """Each of these once crashed the server (sortBy) or answered 500 (numbers the parser threw on)."""
    assert_scim_error(tenant.get("/Users?sortBy=addresses"), 400, "invalidValue")
    assert_scim_error(tenant.get("/Users?sortBy=phoneNumbers.nosuch"), 400)
    assert_scim_error(tenant.get("/Users", params={"filter": "userName eq 99999999999999999999"}), 400, "invalidFilter")
    assert_scim_error(tenant.get("/Users", params={"filter": "externalId eq 1\u0000"}), 400, "invalidFilter")
    assert_scim_error(tenant.get("/Users", params={"filter": "externalId eq inf"}), 400, "invalidFilter")
    assert_scim_error(tenant.get("/Users?startIndex=+5"), 400, "invalidValue")
    assert_scim_error(tenant.get("/Users?count=%205"), 400, "invalidValue")
    assert tenant.get("/Users?sortBy=emails").status_code == 200
