"""Bad input gets a SCIM error and changes nothing; tenants never see each other."""

from __future__ import annotations

import requests

from support import PATCH_URN, USER_URN, assert_scim_error


def test_bad_bodies(tenant):
    u = tenant.create_user("keep@err.test", title="original")
    before = tenant.get(f"/Users/{u['id']}").json()
    assert_scim_error(tenant.post("/Users", "{not json"), 400, "invalidSyntax")
    assert_scim_error(tenant.post("/Users", {"userName": "x@err.test"}), 400, "invalidValue")  # no schemas
    assert_scim_error(tenant.post("/Users", {"schemas": [USER_URN]}), 400, "invalidValue")   # no userName
    assert_scim_error(tenant.post("/Users", {"schemas": [USER_URN], "userName": "y", "active": "perhaps"}), 400, "invalidValue")
    assert_scim_error(tenant.post("/Users", {"schemas": [USER_URN], "userName": ["y"]}), 400, "invalidValue")
    assert_scim_error(tenant.put(f"/Users/{u['id']}", {"schemas": [USER_URN], "userName": "keep@err.test",
                                                       "emails": "not-a-list-of-objects"}), 400, "invalidValue")
    assert_scim_error(tenant.patch(f"/Users/{u['id']}", {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "title", "value": "changed"},
        {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]}), 400, "mutability")
    assert_scim_error(tenant.patch(f"/Users/{u['id']}", {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "title", "value": "changed"}, {"op": "explode", "path": "title"}]}), 400, "invalidValue")
    assert_scim_error(tenant.patch(f"/Users/{u['id']}", {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "title[", "value": "x"}]}), 400, "invalidPath")
    assert_scim_error(tenant.post("/Users", "x" * (1024 * 1024 + 10)), 413)
    assert_scim_error(tenant.post("/Users", "<user/>", headers={"Content-Type": "application/xml"}), 415)
    assert tenant.get(f"/Users/{u['id']}").json() == before


def test_bad_filters_point_at_the_problem(tenant):
    body = assert_scim_error(tenant.get('/Users?filter=userName eq "a" and'), 400, "invalidFilter")
    assert "position" in body["detail"]
    assert_scim_error(tenant.get('/Users?filter=nosuch eq "a"'), 400, "invalidFilter")
    assert_scim_error(tenant.get("/Users?filter=" + "(" * 200 + 'userName pr' + ")" * 200), 400, "invalidFilter")
    assert_scim_error(tenant.get("/Users?count=many"), 400, "invalidValue")


def test_routes_methods_and_auth(tenant):
    assert_scim_error(tenant.get("/Nope"), 404)
    assert_scim_error(requests.get(tenant.server.root + "/elsewhere", timeout=10), 404)
    r = tenant.request("DELETE", "/Users")
    assert_scim_error(r, 405)
    assert r.headers["Allow"] == "GET, POST"
    anon = requests.get(tenant.base + "/Users", timeout=10)
    assert_scim_error(anon, 401)
    assert anon.headers["WWW-Authenticate"].startswith("Bearer")
    bad = requests.get(tenant.base + "/Users", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert_scim_error(bad, 401)
    ok = requests.get(f"{tenant.server.root}/o/{tenant.slug}/scim/v2/Users",
                      headers={"Authorization": f"Bearer {tenant.token}"}, timeout=10)
    assert ok.status_code == 200


def test_tenant_isolation(tenant, other_tenant):
    mine = tenant.create_user("same@iso.test")
    theirs = other_tenant.create_user("same@iso.test")  # same userName in another organization is fine
    assert_scim_error(other_tenant.get(f"/Users/{mine['id']}"), 404)
    assert_scim_error(other_tenant.put(f"/Users/{mine['id']}", {"schemas": [USER_URN], "userName": "z"}), 404)
    assert_scim_error(other_tenant.delete(f"/Users/{mine['id']}"), 404)
    listed = other_tenant.get('/Users?filter=userName eq "same@iso.test" or id eq "%s"' % mine["id"]).json()
    assert [u["id"] for u in listed["Resources"]] == [theirs["id"]]
    # A token used under another organization's URL is refused.
    r = requests.get(f"{tenant.server.root}/o/{other_tenant.slug}/scim/v2/Users",
                     headers={"Authorization": f"Bearer {tenant.token}"}, timeout=10)
    assert_scim_error(r, 401)
    assert tenant.get(f"/Users/{mine['id']}").status_code == 200


def test_revoked_token_and_deactivated_owner(tenant):
    tenant.store.create_member(tenant.slug, "second@example.test", "admin")
    token_id, token = tenant.store.create_token(tenant.slug, "second@example.test", "")
    h = {"Authorization": f"Bearer {token}"}
    assert requests.get(tenant.base + "/Users", headers=h, timeout=10).status_code == 200
    tenant.store.revoke_token(tenant.slug, token_id)
    assert_scim_error(requests.get(tenant.base + "/Users", headers=h, timeout=10), 401)
    assert tenant.get("/Users").status_code == 200
    tenant.store.deactivate_member(tenant.slug, "owner@example.test")
    assert_scim_error(tenant.get("/Users"), 401)


def test_scim_sync_off_refuses_and_changes_nothing(tenant):
    u = tenant.create_user("sync@example.test")
    tenant.store.set_setting(tenant.slug, "scim_sync", "off")
    body = assert_scim_error(tenant.post("/Users", {"schemas": [USER_URN], "userName": "new@example.test"}), 403)
    assert "disabled" in body["detail"]
    assert_scim_error(tenant.delete(f"/Users/{u['id']}"), 403)
    tenant.store.set_setting(tenant.slug, "scim_sync", "on")
    assert tenant.get("/Users").json()["totalResults"] == 1


def test_unmanaged_members_are_invisible_to_scim(tenant):
    tenant.store.create_member(tenant.slug, "app-made@example.test", "member")
    assert tenant.get('/Users?filter=userName eq "app-made@example.test"').json()["totalResults"] == 0
    # A pushed user may carry the same name: it is a second, managed identity.
    u = tenant.create_user("app-made@example.test")
    assert tenant.get(f"/Users/{u['id']}").status_code == 200
    emails = [m.email for m in tenant.store.list_members(tenant.slug)]
    assert "app-made@example.test" in emails
