"""/ServiceProviderConfig, /Schemas and /ResourceTypes describe exactly what is supported."""

from __future__ import annotations

from support import ENTERPRISE_URN, GROUP_URN, USER_URN, assert_scim_error


def test_service_provider_config(tenant):
    c = tenant.get("/ServiceProviderConfig").json()
    assert c["patch"]["supported"] is True
    assert c["filter"] == {"supported": True, "maxResults": 1000}
    assert c["etag"]["supported"] is True and c["sort"]["supported"] is True
    assert c["bulk"]["supported"] is True
    assert c["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    # The advertised cap is enforced.
    assert tenant.get("/Users?count=5000").json()["itemsPerPage"] <= 1000


def test_schemas_and_resource_types(tenant):
    schemas = tenant.get("/Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} == {USER_URN, ENTERPRISE_URN, GROUP_URN}
    user = tenant.get(f"/Schemas/{USER_URN}").json()
    attrs = {a["name"]: a for a in user["attributes"]}
    assert attrs["userName"]["uniqueness"] == "server" and attrs["userName"]["required"] is True
    assert attrs["groups"]["mutability"] == "readOnly"
    assert attrs["password"]["returned"] == "never"
    types = tenant.get("/ResourceTypes").json()
    assert {t["id"]: t["endpoint"] for t in types["Resources"]} == {"User": "/Users", "Group": "/Groups"}
    assert tenant.get("/ResourceTypes/User").json()["schemaExtensions"] == [{"schema": ENTERPRISE_URN, "required": False}]
    assert_scim_error(tenant.get("/Schemas/urn:nope"), 404)
