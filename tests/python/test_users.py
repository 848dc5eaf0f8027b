"""User lifecycle over HTTP, as Entra ID and Okta drive it."""

from __future__ import annotations

import concurrent.futures
import uuid

from support import ENTERPRISE_URN, PATCH_URN, USER_URN, assert_scim_error


def patch_ops(*ops):
    return {"schemas": [PATCH_URN], "Operations": list(ops)}


def test_create_get_and_meta(tenant):
    u = tenant.create_user("alice@example.test", name={"givenName": "Alice", "familyName": "Liddell"},
                           emails=[{"type": "work", "value": "alice@example.test", "primary": True}],
                           active=True, externalId="ext-1", **{ENTERPRISE_URN: {"department": "R&D"}})
    uuid.UUID(u["id"])
    assert u["schemas"] == [USER_URN, ENTERPRISE_URN]
    meta = u["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"] == f"{tenant.base}/Users/{u['id']}"
    assert meta["version"] == 'W/"1"'
    assert meta["created"] == meta["lastModified"]
    r = tenant.get(f"/Users/{u['id']}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/scim+json"
    assert r.headers["ETag"] == 'W/"1"'
    got = r.json()
    assert got["userName"] == "alice@example.test"
    assert got[ENTERPRISE_URN] == {"department": "R&D"}
    assert got["groups"] == []


def test_okta_lookup_create_put_and_deactivate(tenant):
    # Okta looks the user up first; an empty ListResponse makes it create.
    r = tenant.get('/Users?filter=userName eq "dave@okta.test"&startIndex=1&count=100')
    assert r.status_code == 200
    assert r.json()["totalResults"] == 0 and r.json()["Resources"] == []
    u = tenant.create_user("dave@okta.test", name={"givenName": "Dave", "familyName": "D"}, active=True)
    found = tenant.get('/Users?filter=userName eq "DAVE@okta.test"&startIndex=1&count=100').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == u["id"]
    # Okta updates with PUT (the whole resource) ...
    put = tenant.put(f"/Users/{u['id']}", {"schemas": [USER_URN], "userName": "dave@okta.test",
                                           "name": {"givenName": "David", "familyName": "D"}, "active": True})
    assert put.status_code == 200, put.text
    assert put.json()["name"]["givenName"] == "David"
    assert put.json()["meta"]["version"] == 'W/"2"'
    # ... and deactivates with PATCH active:false; the user stays.
    off = tenant.patch(f"/Users/{u['id']}", patch_ops({"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200 and off.json()["active"] is False
    assert tenant.get(f"/Users/{u['id']}").json()["active"] is False
    assert tenant.get("/Users?filter=active eq false").json()["totalResults"] == 1


def test_entra_patch_forms(tenant):
    u = tenant.create_user("erin@entra.test", emails=[{"type": "work", "value": "erin@entra.test"}], active=True)
    r = tenant.patch(f"/Users/{u['id']}", patch_ops(
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "erin@new.test"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Oslo"},
        {"op": "Add", "value": {"name.givenName": "Erin", f"{ENTERPRISE_URN}:department": "Ops"}},
        {"op": "replace", "path": f"{ENTERPRISE_URN}:manager", "value": {"value": "boss-id"}}))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["active"] is False
    assert body["emails"] == [{"type": "work", "value": "erin@new.test"}]
    assert body["addresses"] == [{"type": "work", "locality": "Oslo"}]
    assert body["name"] == {"givenName": "Erin"}
    assert body[ENTERPRISE_URN] == {"department": "Ops", "manager": {"value": "boss-id"}}
    assert tenant.get('/Users?filter=emails.value eq "ERIN@new.test"').json()["totalResults"] == 1


def test_entra_test_connection_probe(tenant):
    r = tenant.get(f'/Users?filter=userName eq "{uuid.uuid4()}"')
    assert r.status_code == 200
    assert r.json() == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0,
                        "startIndex": 1, "itemsPerPage": 0, "Resources": []}


def test_username_unique_case_insensitively_and_conflict_changes_nothing(tenant):
    u = tenant.create_user("Frank@Example.test")
    r = tenant.post("/Users", {"schemas": [USER_URN], "userName": "frank@example.TEST"})
    assert_scim_error(r, 409, "uniqueness")
    other = tenant.create_user("other@example.test")
    r = tenant.patch(f"/Users/{other['id']}", patch_ops({"op": "replace", "path": "userName", "value": "FRANK@example.test"}))
    assert_scim_error(r, 409, "uniqueness")
    assert tenant.get(f"/Users/{other['id']}").json()["userName"] == "other@example.test"
    assert tenant.get(f"/Users/{u['id']}").json()["meta"]["version"] == 'W/"1"'


def test_filters_paging_and_sorting(tenant):
    for n in ["u3", "u1", "u5", "u2", "u4"]:
        tenant.create_user(f"{n}@page.test", title="eng" if n in ("u1", "u2") else "ops")
    page = tenant.get("/Users?sortBy=userName&startIndex=2&count=2").json()
    assert page["totalResults"] == 5 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [u["userName"] for u in page["Resources"]] == ["u2@page.test", "u3@page.test"]
    desc = tenant.get("/Users?sortBy=userName&sortOrder=descending&count=1").json()
    assert desc["Resources"][0]["userName"] == "u5@page.test"
    only_total = tenant.get("/Users?count=0").json()
    assert only_total["totalResults"] == 5 and only_total["Resources"] == []
    f = tenant.get('/Users?filter=title eq "eng" and (userName sw "u1" or userName ew "2@page.test")').json()
    assert sorted(u["userName"] for u in f["Resources"]) == ["u1@page.test", "u2@page.test"]
    r = tenant.get('/Users?filter=title eq "eng"&attributes=userName')
    assert all(set(u) == {"schemas", "id", "userName"} for u in r.json()["Resources"])
    r = tenant.get('/Users?excludedAttributes=title,meta')
    assert all("title" not in u and "meta" not in u and "userName" in u for u in r.json()["Resources"])
    s = tenant.post("/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                       "filter": 'title eq "ops"', "count": 10})
    assert s.status_code == 200 and s.json()["totalResults"] == 3


def test_etags_and_preconditions(tenant):
    u = tenant.create_user("gina@example.test")
    path = f"/Users/{u['id']}"
    assert tenant.get(path, headers={"If-None-Match": 'W/"1"'}).status_code == 304
    assert tenant.get(path, headers={"If-None-Match": 'W/"7"'}).status_code == 200
    ok = tenant.patch(path, patch_ops({"op": "add", "path": "title", "value": "A"}), headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == 'W/"2"'
    stale = tenant.patch(path, patch_ops({"op": "add", "path": "title", "value": "B"}), headers={"If-Match": 'W/"1"'})
    assert_scim_error(stale, 412)
    assert_scim_error(tenant.delete(path, headers={"If-Match": 'W/"1"'}), 412)
    assert tenant.get(path).json()["title"] == "A"


def test_concurrent_patches_lose_no_update(tenant):
    u = tenant.create_user("hank@example.test")
    path = f"/Users/{u['id']}"

    def add_email(i):
        return tenant.patch(path, patch_ops({"op": "add", "path": "emails",
                                             "value": [{"value": f"h{i}@example.test", "type": "other"}]})).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(add_email, range(24)))
    assert codes == [200] * 24
    got = tenant.get(path).json()
    assert len(got["emails"]) == 24
    assert got["meta"]["version"] == 'W/"25"'


def test_delete_removes_user_and_memberships(tenant):
    u = tenant.create_user("ivy@example.test")
    g = tenant.create_group("Ivy's group", [u["id"]])
    assert tenant.delete(f"/Users/{u['id']}").status_code == 204
    assert_scim_error(tenant.get(f"/Users/{u['id']}"), 404)
    assert tenant.get(f"/Groups/{g['id']}").json().get("members", []) == []
    assert_scim_error(tenant.delete(f"/Users/{u['id']}"), 404)
