#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ from requests Entra ID and Okta send
(shapes from tests/python and /work/shared/ARCHITECTURE.md). Each seed starts with the target's
selector byte (see the comment at the top of each fuzz_*.cc). Re-run after changing it; files
named crash-* (regression seeds) are left alone."""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
APP = "urn:okta:scimitar_app:1.0:user:custom"
APPG = "urn:example:params:scim:schemas:extension:app:2.0:Group"
UID = "0190d1a2-7b3c-7def-8abc-0123456789ab"
GID = "0190d1a2-7b3c-7def-8abc-0123456789ac"

ENTRA_USER = {
    "schemas": [USER, ENT], "externalId": "0a21f0f2-8d2a-4f8e-bf98-7b2d0c6a6f11",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com", "active": True,
    "displayName": "Test User", "title": "Engineer", "preferredLanguage": "en-US",
    "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "addresses": [{"type": "work", "streetAddress": "1 Main", "locality": "Seattle", "region": "WA",
                   "postalCode": "98101", "country": "US", "formatted": "1 Main", "primary": False}],
    "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0101"},
                     {"type": "fax", "value": "+1 555 0102"}],
    ENT: {"employeeNumber": "1234", "department": "R&D", "costCenter": "42", "organization": "Contoso",
          "division": "Cloud", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
}
OKTA_USER = {
    "schemas": [USER], "userName": "isabella@example.com", "name": {"givenName": "Isabella", "familyName": "Rossi"},
    "emails": [{"primary": True, "value": "isabella@example.com", "type": "work"}],
    "displayName": "Isabella Rossi", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [], "password": "1mz050nq", "active": True,
}
OKTA_APP_USER = dict(OKTA_USER, schemas=[USER, APP], **{APP: {"role": "Admin", "seats": "5", "vip": "True",
                     "permissions": ["export", "import"], "badge": {"number": "B-7", "issued": "2024-05-01T10:00:00+02:00"},
                     "costCenterCode": "CC-1", "since": "2024-01-01T00:00:00.123Z", "avatar": "aGVsbG8=",
                     "profile": "https://example.com/p/1", "devices": [{"serial": "S1", "count": 2}]}})
ENTRA_GROUP = {"schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
               "displayName": "Group1DisplayName", "members": [], "meta": {"resourceType": "Group"}}
OKTA_GROUP = {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": [{"value": UID, "display": "isabella@example.com"}]}
APP_GROUP = {"schemas": [GROUP, APPG], "displayName": "Tiered", APPG: {"tier": "gold", "owners": ["x"]}}


def ops(*o):
    return {"schemas": [PATCH], "Operations": list(o)}


def write(target, name, sel, payload):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    text = payload if isinstance(payload, (str, bytes)) else json.dumps(payload, separators=(",", ":"))
    data = text if isinstance(text, bytes) else text.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write((bytes([sel]) if sel is not None else b"") + data)


def resource():
    t = "fuzz_resource"
    write(t, "entra-user-post", 0x08, ENTRA_USER)
    write(t, "entra-user-put-bare", 0x0A, dict(ENTRA_USER, id="abc"))
    write(t, "okta-user-post", 0x08, OKTA_USER)
    write(t, "okta-user-app-ext", 0x0B, OKTA_APP_USER)
    write(t, "okta-user-deactivate-put", 0x18, dict(OKTA_USER, active="False"))
    write(t, "entra-group-post", 0x09, ENTRA_GROUP)
    write(t, "okta-group-post", 0x19, OKTA_GROUP)
    write(t, "group-app-ext", 0x0C, APP_GROUP)
    write(t, "user-no-schemas", 0x00, {"userName": "x", "Emails": [{"VALUE": "a@b.c", "Primary": "true"}]})
    write(t, "user-readonly", 0x28, dict(OKTA_USER, id="1", meta={"created": "2020-01-01T00:00:00Z"}, groups=[{"value": "g"}]))
    write(t, "user-x509", 0x38, {"schemas": [USER], "userName": "c", "x509Certificates": [{"value": "TUlJQw=="}],
                                 "ims": [{"value": "c", "type": "xmpp"}], "photos": [{"value": "https://p/1", "type": "photo"}],
                                 "entitlements": [{"value": "e"}], "timezone": "Europe/Oslo", "userType": "Employee",
                                 "nickName": "n", "profileUrl": "https://p", "password": "p"})


def filters():
    t = "fuzz_filter"
    for i, (sel, f) in enumerate([
        (0, 'userName eq "Test_User_ab6490ee@contoso.com"'),
        (0, 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7b2d0c6a6f11"'),
        (0, 'emails[type eq "work" and value eq "x@contoso.com"]'),
        (0, 'emails[type eq "work"].value eq "x@contoso.com"'),
        (0, 'emails.value co "@example.com" or not (active eq false)'),
        (1, 'displayName eq "Group1DisplayName"'),
        (1, 'members[value eq "0190d1a2-7b3c-7def-8abc-0123456789ab"]'),
        (0, 'meta.lastModified gt "2011-05-13T04:42:34Z" and meta.created le "2030-01-01T00:00:00+01:00"'),
        (0, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"'),
        (0, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber sw "12"'),
        (3, f'{APP}:seats ge 2 and {APP}:role eq "ADMIN"'),
        (3, f'{APP}:badge.issued lt "2025-01-01T00:00:00Z" and {APP}:vip eq true and {APP}:ratio gt 1.5e2'),
        (0, 'title pr and (name.familyName ew "son" or name.givenName ne null)'),
        (0, 'groups[display eq "Eng"] and addresses[type eq "work" and postalCode sw "98"]'),
        (8, 'userName eq "a\\"b\\u00e9\\\\"'),
        (4, f'{APPG}:tier eq "gold" and displayName co "%_"'),
        (0, 'id eq "0190d1a2-7b3c-7def-8abc-0123456789ab" or externalId eq null'),
        (0, 'phoneNumbers[type eq "work" or not(value pr)].value eq "+1"'),
    ]):
        write(t, f"seed-{i:02d}", sel, f)


def patches():
    t = "fuzz_patch"
    seeds = [
        ("entra-user-replace", 0, ops({"op": "Replace", "path": "active", "value": "False"},
                                      {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "erin@new.test"},
                                      {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Oslo"},
                                      {"op": "Add", "value": {"name.givenName": "Erin", f"{ENT}:department": "Ops"}},
                                      {"op": "replace", "path": f"{ENT}:manager", "value": {"value": "boss-id"}})),
        ("okta-deactivate", 0, ops({"op": "replace", "value": {"active": False}})),
        ("entra-no-path-dotted", 0, ops({"op": "Replace", "value": {"displayName": "D", "name.familyName": "F",
                                                                     'emails[type eq "work"].value': "w@x"}})),
        ("remove-filter", 0, ops({"op": "remove", "path": 'phoneNumbers[type eq "fax"]'},
                                 {"op": "Remove", "path": "title"})),
        ("add-multi", 0, ops({"op": "add", "path": "emails", "value": [{"value": "n@x", "type": "home", "primary": "True"}]},
                             {"op": "add", "path": "roles", "value": {"value": "admin"}})),
        ("readonly", 0, ops({"op": "replace", "path": "id", "value": "x"}, {"op": "add", "path": "meta.created", "value": "y"})),
        ("ext-user", 3, ops({"op": "replace", "path": f"{APP}:role", "value": "editor"},
                            {"op": "add", "path": f"{APP}:permissions", "value": ["export"]},
                            {"op": "replace", "path": f"{APP}:badge.number", "value": "B-2"},
                            {"op": "remove", "path": f'{APP}:devices[serial eq "S1"]'},
                            {"op": "add", "value": {f"{APP}:seats": 9, f"{APP}:vip": "True"}})),
        ("okta-group-add", 1, ops({"op": "add", "path": "members", "value": [{"value": UID, "display": "a@x"}]})),
        ("okta-group-remove", 1, ops({"op": "remove", "path": f'members[value eq "{UID}"]'})),
        ("entra-group-remove-list", 1, ops({"op": "Remove", "path": "members", "value": [{"value": UID}]})),
        ("entra-group-replace", 1, ops({"op": "Replace", "value": {"id": GID, "displayName": "Eng"}},
                                       {"op": "Replace", "path": "displayName", "value": "Engineering 2"})),
        ("group-members-replace", 1, ops({"op": "replace", "path": "members", "value": [{"value": UID}, {"value": GID}]})),
        ("group-ext", 4, ops({"op": "add", "path": f"{APPG}:owners", "value": ["c"]},
                             {"op": "replace", "path": f"{APPG}:tier", "value": "silver"})),
        ("user-bare", 2, ops({"op": "add", "path": f"{ENT}:department", "value": "X"})),
    ]
    for name, sel, body in seeds:
        write(t, name, sel, body)
    for i, p in enumerate(['emails[type eq "work"].value', 'members[value eq "x"]', f"{ENT}:manager.value",
                           "name.givenName", f'{APP}:devices[count gt 1].serial', 'addresses[type eq "work" and primary eq true]']):
        write(t, f"path-{i:02d}", 0x08 | (3 if "okta" in p else 0), p + '\n"v"')


def bulk():
    t = "fuzz_bulk"
    write(t, "groups-with-members", 0, {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"schemas": [GROUP], "displayName": "Bulk team", "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [USER], "userName": "b1@bulk.test"}},
        {"method": "POST", "path": "/Users", "bulkId": "u2", "data": {"schemas": [USER], "userName": "b2@bulk.test"}},
        {"method": "PATCH", "path": "/Users/bulkId:u1", "data": ops({"op": "add", "path": "title", "value": "lead"})}]})
    write(t, "failed-dependency", 0, {"schemas": [BULK], "failOnErrors": 5, "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "Test_User_ab6490ee@contoso.com"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:a"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "ok", "data": {"schemas": [USER], "userName": "fine@bulk.test"}}]})
    write(t, "cycle-and-unknown", 0, {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"schemas": [GROUP], "displayName": "G1", "members": [{"value": "bulkId:g2"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g2", "data": {"schemas": [GROUP], "displayName": "G2", "members": [{"value": "bulkId:g1"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g3", "data": {"schemas": [GROUP], "displayName": "G3", "members": [{"value": "bulkId:nobody"}]}}]})
    write(t, "put-patch-delete", 1, {"schemas": [BULK], "failOnErrors": 1, "Operations": [
        {"method": "PUT", "path": f"/Users/{UID}", "version": 'W/"3"', "data": dict(OKTA_APP_USER)},
        {"method": "PATCH", "path": f"/Groups/{GID}", "data": ops({"op": "Add", "path": "members", "value": [{"value": UID}]})},
        {"method": "DELETE", "path": "/Users/0190d1a2-7b3c-7def-8abc-0123456789ad", "bulkId": "d"},
        {"method": "PATCH", "path": "/Users/bulkId:d", "data": ops({"op": "remove", "path": "title"})}]})
    write(t, "limits", 2, {"schemas": [BULK], "Operations": [{"method": "delete", "path": "/Groups/x"},
                                                           {"method": "get", "path": "/Users"}]})
    write(t, "manager-ref", 0, {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "boss", "data": {"schemas": [USER, ENT], "userName": "boss@x"}},
        {"method": "POST", "path": "/Users", "bulkId": "emp", "data": {"schemas": [USER, ENT], "userName": "emp@x",
                                                                       ENT: {"manager": {"value": "bulkId:boss"}}}},
        {"method": "PUT", "path": "/Users/bulkId:emp", "data": {"schemas": [USER], "userName": "emp2@x"}}]})


def query():
    t = "fuzz_query"
    seeds = [
        (0, ['userName eq "isabella@example.com"', "", "", "", "", "1", "100"]),
        (0, ['userName eq "6b6c2b94-1d1e-4a4d-9a26-3b8c1e2e2b1f"', "", "", "", "", "", ""]),
        (0, ['externalId eq "00ujl29u0le5T6Aj10h7"', "userName,emails.value", "", "userName", "descending", "2", "0"]),
        (1, ['displayName eq "Engineering"', "", "members", "displayName", "ascending", "1", "1000000"]),
        (1, ["", "displayName,members.value", "", "meta.lastModified", "", "0", "-1"]),
        (2, [f'{APP}:seats gt 2', f"{APP}:role", "", f"{APP}:seats", "descending", "1", "10"]),
        (0, ["", "", "emails,groups,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "name.familyName",
             "Ascending", "9223372036854775807", "1"]),
        (8, ['emails[type eq "work" and value eq "Test_User_ab6490ee@contoso.com"]', "", "", "", "", "1", "2"]),
        (16, ["", "groups", "", "", 'W/"3"', 'W/"3"', ""]),
        (24, ['id eq "x"', "", "groups", "", "*", "*", "5"]),
        (5, ['emails.value eq "x"', "", "", "emails.value", "", " 3", "+4"]),
        (0, ["", "", "", f"{ENT}:employeeNumber", "", "1e3", "0x10"]),
    ]
    for i, (sel, fields) in enumerate(seeds):
        write(t, f"seed-{i:02d}", sel, "\n".join(fields))


def json_text():
    t = "fuzz_json_text"
    seeds = [
        json.dumps(ENTRA_USER, separators=(",", ":")),
        json.dumps(OKTA_APP_USER, indent=1),  # jsonb-style spacing
        '{"a": 1, "b": [true, false, null], "c": {"d": "\\u00e9\\n\\"x\\""}, "e": -1.5e-3}',
        '[ {"value": "a"}, "s", 1, [], {}, null ]',
        '"plain string"', '"esc \\ud83d\\ude00 \\/ \\t"', 'null', 'true', '[]', '{}', ' { "k" : "v" } ',
        '{"a":1,"a":2}', '12345678901234567890', b'"\xc3\x28 invalid utf8"',
    ]
    for i, s in enumerate(seeds):
        write(t, f"seed-{i:02d}", None, s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s)


def import_rows():
    t = "fuzz_import"
    users = [{"line": 2, "resource": {"userName": "a@x.test", "externalId": "e-a", "name": {"givenName": "A"},
                                     "emails": [{"value": "a@x.test", "type": "work", "primary": True}]}},
             {"line": 3, "resource": {"userName": "b@x.test", "externalId": "e-b", "active": "False", ENT: {"department": "Ops"},
                                     "schemas": [USER, ENT]}},
             {"line": 4, "resource": {"userName": "Test_User_ab6490ee@contoso.com", "externalId": "0a21f0f2-8d2a-4f8e-bf98-7b2d0c6a6f11",
                                     "displayName": "Changed"}},
             {"line": 5, "resource": {"userName": "A@X.test", "externalId": "e-a"}},
             {"line": 6, "resource": {"externalId": "no-name"}},
             {"line": 7, "resource": "not an object"}]
    write(t, "users-externalId", 0x00, users)
    write(t, "users-userName-rules", 0x12, users)
    write(t, "users-dry-run", 0x08, users)
    write(t, "users-app-ext", 0x30, [{"line": 1, "resource": {"schemas": [USER, APP], "userName": "c@x", "externalId": "c",
                                                           APP: {"role": "admin", "costCenterCode": "1"}}}])
    groups = [{"line": 1, "resource": {"displayName": "Engineering", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                                      "members": [{"value": UID}]}},
              {"line": 2, "resource": {"displayName": "New", "externalId": "g-new", "members": []}},
              {"line": 3, "resource": {"displayName": "engineering", "externalId": "g-3", "members": [{"value": "nobody"}]}},
              {"line": 4}]
    write(t, "groups-externalId", 0x01, groups)
    write(t, "groups-displayName", 0x03, groups)
    write(t, "bad-key", 0x04, users[:1])


def http():
    """fuzz_http seeds: byte 0 (limits; the split count is set from the list), byte 1 (small-limit
    parameters), the split bytes, then the connection's bytes. Requests as Entra ID and Okta send them."""
    t = "fuzz_http"
    host = "Host: scim.example.com\r\n"
    entra_ua = "User-Agent: Microsoft.Identity.Provisioning\r\n"
    okta_ua = "User-Agent: Okta SCIM Client 1.0.0\r\n"
    auth = "Authorization: Bearer 4b0d9f8e-secret-token\r\n"
    scim = "Content-Type: application/scim+json; charset=utf-8\r\nAccept: application/scim+json\r\n"

    def req(method, target, body=None, extra="", version="HTTP/1.1", ua=entra_ua, chunked=None):
        head = f"{method} {target} {version}\r\n{host}{ua}{auth}"
        if body is not None:
            head += scim
        if chunked is not None:
            data = body.encode()
            parts = [data[i:i + chunked] for i in range(0, len(data), chunked)]
            enc = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in parts) + b"0\r\n\r\n"
            return (head + extra + "Transfer-Encoding: chunked\r\n\r\n").encode() + enc
        if body is not None:
            data = body.encode()
            return (head + extra + f"Content-Length: {len(data)}\r\n\r\n").encode() + data
        return (head + extra + "\r\n").encode()

    def body(v):
        return json.dumps(v, separators=(",", ":"))

    filt = "/scim/v2/Users?filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%40contoso.com%22"
    patch = body(ops({"op": "Replace", "path": "active", "value": "False"},
                     {"op": "Add", "path": 'emails[type eq "work"].value', "value": "a@contoso.com"}))
    okta_patch = body(ops({"op": "add", "path": "members", "value": [{"value": UID, "display": "isabella@example.com"}]}))
    seeds = {
        "entra-get-filter": (0x00, 0, [0], req("GET", filt)),
        "entra-get-filter-split": (0x08, 0, [3, 17, 0, 64], req("GET", filt)),
        "okta-get-filter-paging": (0x04, 0, [5, 200],
                                   req("GET", "/scim/v2/Users?filter=userName%20eq%20%22isabella%40example.com%22&startIndex=1&count=100", ua=okta_ua)),
        "okta-get-groups": (0x00, 0, [1], req("GET", "/scim/v2/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&excludedAttributes=members", ua=okta_ua)),
        "entra-post-user": (0x04, 0, [40, 0x82], req("POST", "/scim/v2/Users", body(ENTRA_USER))),
        "okta-post-user": (0x08, 0, [7, 0, 100, 0x81], req("POST", "/scim/v2/Users", body(OKTA_USER), ua=okta_ua)),
        "entra-patch-user": (0x00, 0, [9], req("PATCH", f"/scim/v2/Users/{UID}", patch)),
        "okta-patch-group": (0x04, 0, [2, 50], req("PATCH", f"/scim/v2/Groups/{GID}", okta_patch, ua=okta_ua)),
        "okta-put-user-chunked": (0x08, 0, [11, 3, 0, 90], req("PUT", f"/scim/v2/Users/{UID}", body(OKTA_USER), ua=okta_ua, chunked=64)),
        "entra-post-chunked-small": (0x01, 0, [1, 2], req("POST", "/scim/v2/Groups", body(ENTRA_GROUP), chunked=16)),
        "expect-continue": (0x04, 0, [10, 0x84], req("POST", "/scim/v2/Users", body(OKTA_USER), "Expect: 100-continue\r\n", ua=okta_ua)),
        "expect-continue-chunked": (0x08, 0, [30, 0, 7, 0x83], req("POST", "/scim/v2/Bulk", body({"schemas": [BULK], "Operations": []}),
                                                                 "Expect: 100-Continue\r\n", chunked=8)),
        "pipelined-get-get": (0x04, 0, [20, 33], req("GET", "/scim/v2/Users/" + UID) + req("GET", "/scim/v2/ServiceProviderConfig")),
        "pipelined-patch-delete": (0x08, 0, [0, 60, 1, 0x85], req("PATCH", f"/scim/v2/Users/{UID}", patch) +
                                   req("DELETE", f"/scim/v2/Users/{UID}", extra="Connection: close\r\n")),
        "pipelined-chunked-then-get": (0x04, 0, [13, 0x81], req("POST", "/scim/v2/Users", body(OKTA_USER), chunked=100) +
                                       req("GET", "/scim/v2/Schemas")),
        "http10-keep-alive": (0x04, 0, [4, 0x81], req("GET", "/scim/v2/Users?count=1", extra="Connection: keep-alive\r\n", version="HTTP/1.0") +
                              req("GET", "/scim/v2/Users?startIndex=2&count=1", version="HTTP/1.0")),
        "http10-post": (0x00, 0, [0x82], req("POST", "/scim/v2/Users", body(OKTA_USER), version="HTTP/1.0", ua=okta_ua)),
        "leading-crlf-bare-lf": (0x04, 0, [1, 30], b"\r\n\r\nGET /scim/v2/Users HTTP/1.1\nHost: x\n\n"),
        "no-host-trailer": (0x04, 0, [5, 9], b"POST /scim/v2/Users HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5;ext=1\r\n{\"a\":\r\n2\r\n1}\r\n0\r\nX-Trailer: y\r\n\r\n"),
        "small-limits-body": (0x02 | 0xA0, 0x95, [3, 0x81], req("POST", "/scim/v2/Users", body(OKTA_USER), ua=okta_ua)),
        "small-limits-head": (0x06, 0x40, [2, 40], req("GET", filt)),
        "small-limits-chunked": (0x03 | 0x80, 0, [6, 6], req("PUT", f"/scim/v2/Groups/{GID}", body(ENTRA_GROUP), chunked=10)),
        "bad-cl-te": (0x00, 0, [0x81], b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        "bad-version": (0x00, 0, [0x81], b"GET /scim/v2/Users HTTP/2.0\r\nHost: x\r\n\r\n"),
        "x-forwarded-proto": (0x00, 0, [0x81], req("GET", "/scim/v2/Users/" + UID, extra="X-Forwarded-Proto: https\r\nIf-None-Match: W/\"3\"\r\n")),
    }
    for name, (sel, param, splits, stream) in seeds.items():
        sel = (sel & ~0x1C) | (len(splits) - 1) << 2  # bits 2-4: the split count
        write(t, name, None, bytes([sel, param] + splits) + stream)


if __name__ == "__main__":
    resource(); filters(); patches(); bulk(); query(); json_text(); import_rows(); http()
