"""The shipped rules/ folder, unit-tested the way a customer-success engineer tests a mapping."""

from __future__ import annotations

from pathlib import Path

from scimitar.testing import decide, make_user

RULES = str(Path(__file__).resolve().parents[2] / "rules")
OKTA_EXT = "urn:ietf:params:scim:schemas:extension:fulcrum:2.0:User"


def test_everyone_is_admitted_by_default_with_the_default_role():
    d = decide(RULES, make_user("ann@x.test"))
    assert d["error"] is None
    assert d["provisioned"] is True and d["role"] == "member" and d["units"] == [] and d["groups"] == []
    assert d["sources"]["provision"] == "setting default_policy=admit"


def test_default_policy_and_role_settings():
    assert decide(RULES, make_user("ann@x.test"), {"default_policy": "deny"})["provisioned"] is False
    assert decide(RULES, make_user("ann@x.test"), {"default_role": "viewer"})["role"] == "viewer"


def test_deactivated_users_are_not_provisioned_whatever_else_matches():
    d = decide(RULES, make_user("ann@x.test", groups=["cl-super-admins"], active=False))
    assert d["provisioned"] is False and d["role"] is None
    assert d["sources"]["provision"] == "00_active.py:deactivated_in_idp"


def test_fluid_admission_group_from_settings():
    settings = {"user_group": "Fluid User"}
    outside = decide(RULES, make_user("bob@x.test", groups=["Staff"]), settings)
    assert outside["provisioned"] is False and outside["reason"] == "not a member of 'Fluid User'"
    inside = decide(RULES, make_user("bob@x.test", groups=["Fluid User", "Staff"]), settings)
    assert inside["provisioned"] is True
    # The admission group is not mirrored as an app group; the others are.
    assert inside["groups"] == ["Staff"]
    custom = decide(RULES, make_user("bob@x.test", groups=["Acme Users"]), {"user_group": "Acme Users"})
    assert custom["provisioned"] is True and custom["groups"] == []


def test_okta_role_attribute_with_default_and_mapping():
    with_role = make_user("cy@x.test", schemas=["urn:ietf:params:scim:schemas:core:2.0:User", OKTA_EXT],
                          **{OKTA_EXT: {"role": "admin"}})
    d = decide(RULES, with_role)
    assert d["role"] == "admin" and d["sources"]["role"] == "20_okta_role.py:role_from_okta"
    assert d["inputs"][f"{OKTA_EXT}:role"] == "admin"
    mapped = decide(RULES, with_role, {"role_map": "admin=Administrator,user=Member"})
    assert mapped["role"] == "Administrator"
    unmapped = decide(RULES, with_role, {"role_map": "user=Member", "default_role": "Member"})
    assert unmapped["role"] == "Member" and unmapped["sources"]["role"] == "setting default_role"
    core_roles = decide(RULES, make_user("cy@x.test", roles=[{"value": "editor", "primary": True}]))
    assert core_roles["role"] == "editor"


def test_clumio_table_first_matching_row_gives_role_and_units():
    d = decide(RULES, make_user("di@x.test", groups=["cl-admins", "cl-emea"]))
    assert (d["role"], d["units"]) == ("Organizational Unit Admin", ["EMEA"])
    assert d["reason"] == "auto_provisioning row 'regional admins'"
    only_admins = decide(RULES, make_user("di@x.test", groups=["cl-admins"]))
    assert only_admins["role"] == "member"  # $all needs both groups
    keyword = decide(RULES, make_user("di@x.test", groups=["Nightly-Backup-Team"]))
    assert keyword["role"] == "Backup Admin"
    both = decide(RULES, make_user("di@x.test", groups=["cl-viewers", "cl-super-admins"]))
    assert both["role"] == "Super Admin"  # rows are tried in order
    # An Okta role is set by an earlier rule (priority 20), so it wins over the table (priority 30).
    okta = make_user("di@x.test", groups=["cl-super-admins"], **{OKTA_EXT: {"role": "auditor"}})
    d = decide(RULES, okta)
    assert d["role"] == "auditor" and d["units"] == ["Global"]


def test_group_naming_prefix_strip():
    d = decide(RULES, make_user("ed@x.test", groups=["app-Engineering", "Everyone", "app-"]), {"group_prefix": "app-"})
    assert d["groups"] == ["Engineering"]


def test_decisions_are_deterministic():
    u = make_user("fi@x.test", groups=["cl-viewers", "app-Ops"])
    assert decide(RULES, u, {"group_prefix": "app-"}) == decide(RULES, u, {"group_prefix": "app-"})
