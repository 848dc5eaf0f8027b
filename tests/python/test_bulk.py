"""/Bulk (RFC 7644 3.7) and root-level /.search."""

from __future__ import annotations

from support import GROUP_URN, PATCH_URN, USER_URN, assert_scim_error

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def bulk(tenant, ops, **extra):
    return tenant.post("/Bulk", {"schemas": [BULK], "Operations": ops, **extra})


def test_group_lists_members_created_in_the_same_request(tenant):
    # The group comes first in the request but refers to users created after it.
    r = bulk(tenant, [
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"schemas": [GROUP_URN], "displayName": "Bulk team", "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [USER_URN], "userName": "b1@bulk.test"}},
        {"method": "POST", "path": "/Users", "bulkId": "u2", "data": {"schemas": [USER_URN], "userName": "b2@bulk.test"}},
        {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"schemas": [PATCH_URN],
                                                                 "Operations": [{"op": "add", "path": "title", "value": "lead"}]}},
    ])
    assert r.status_code == 200, r.text
    ops = r.json()["Operations"]
    assert [o["status"] for o in ops] == ["201", "201", "201", "200"]
    assert all(o["location"].startswith(tenant.base) and o["version"].startswith('W/"') for o in ops)
    gid = ops[0]["location"].rsplit("/", 1)[1]
    group = tenant.get(f"/Groups/{gid}").json()
    assert sorted(m["display"] for m in group["members"]) == ["b1@bulk.test", "b2@bulk.test"]
    assert tenant.get('/Users?filter=title eq "lead"').json()["totalResults"] == 1


def test_errors_are_per_operation_and_fail_on_errors_stops(tenant):
    tenant.create_user("taken@bulk.test")
    r = bulk(tenant, [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER_URN], "userName": "taken@bulk.test"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP_URN], "displayName": "G",
                                                                     "members": [{"value": "bulkId:a"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "ok", "data": {"schemas": [USER_URN], "userName": "fine@bulk.test"}},
    ])
    ops = r.json()["Operations"]
    assert ops[0]["status"] == "409" and ops[0]["response"]["scimType"] == "uniqueness"
    assert ops[1]["status"] == "409" and "bulkId 'a' failed" in ops[1]["response"]["detail"]
    assert ops[2]["status"] == "201"
    stopped = bulk(tenant, [
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER_URN], "userName": "taken@bulk.test"}},
        {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"schemas": [USER_URN], "userName": "never@bulk.test"}},
    ], failOnErrors=1).json()["Operations"]
    assert len(stopped) == 1
    assert tenant.get('/Users?filter=userName eq "never@bulk.test"').json()["totalResults"] == 0


def test_circular_and_unknown_references(tenant):
    ops = bulk(tenant, [
        {"method": "POST", "path": "/Groups", "bulkId": "g1",
         "data": {"schemas": [GROUP_URN], "displayName": "G1", "members": [{"value": "bulkId:g2"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g2",
         "data": {"schemas": [GROUP_URN], "displayName": "G2", "members": [{"value": "bulkId:g1"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g3",
         "data": {"schemas": [GROUP_URN], "displayName": "G3", "members": [{"value": "bulkId:nobody"}]}},
    ]).json()["Operations"]
    assert [o["status"] for o in ops] == ["409", "409", "409"]
    assert "circular" in ops[0]["response"]["detail"]
    assert "no operation has bulkId 'nobody'" in ops[2]["response"]["detail"]
    assert tenant.get("/Groups").json()["totalResults"] == 0


def test_limits_and_malformed_requests(tenant):
    config = tenant.get("/ServiceProviderConfig").json()["bulk"]
    assert config == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    too_many = [{"method": "DELETE", "path": f"/Users/{i}"} for i in range(1001)]
    assert_scim_error(bulk(tenant, too_many), 413)
    assert_scim_error(tenant.post("/Bulk", {"Operations": []}), 400, "invalidValue")
    assert_scim_error(bulk(tenant, [{"method": "POST", "path": "/Users", "data": {}}]), 400, "invalidValue")


def test_root_search_pages_across_users_and_groups(tenant):
    for n in ("r1", "r2"):
        tenant.create_user(f"{n}@search.test")
    tenant.create_group("Searchers")
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    everything = tenant.post("/.search", {**body, "count": 10}).json()
    assert everything["totalResults"] == 3
    assert [x["meta"]["resourceType"] for x in everything["Resources"]] == ["User", "User", "Group"]
    page = tenant.post("/.search", {**body, "startIndex": 2, "count": 2}).json()
    assert [x["meta"]["resourceType"] for x in page["Resources"]] == ["User", "Group"]
    users_only = tenant.post("/.search", {**body, "filter": 'userName sw "r1"'}).json()
    assert users_only["totalResults"] == 1
    assert_scim_error(tenant.post("/.search", {**body, "filter": 'nosuch eq "x"'}), 400, "invalidFilter")


def test_references_that_cannot_resolve_fail_alone(tenant):
    """An empty bulkId reference answered 500 for the whole request (found by fuzz_bulk), after the
    operations before it were committed; a reference to a DELETE waited as if it were circular."""
    body = {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "ok", "data": {"schemas": [USER_URN], "userName": "ok@bulkref.test"}},
        {"method": "PUT", "path": "/Users/bulkId:", "data": {"schemas": [USER_URN], "userName": "x@bulkref.test"}},
        {"method": "DELETE", "path": "/Users/bulkId:ok", "bulkId": "gone"},
        {"method": "PATCH", "path": "/Users/bulkId:gone", "data": {"schemas": [PATCH_URN], "Operations": [
            {"op": "replace", "path": "title", "value": "t"}]}},
    ]}
    r = tenant.post("/Bulk", body)
    assert r.status_code == 200, r.text
    ops = r.json()["Operations"]
    assert [o["status"] for o in ops] == ["201", "409", "204", "409"]
    assert "no operation has bulkId ''" in ops[1]["response"]["detail"]
    assert "created no resource" in ops[3]["response"]["detail"]
