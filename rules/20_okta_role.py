"""Fulcrum with Okta: the role comes from the Okta app attribute `role`, sent in the app's extension
namespace (any "urn:...:User" extension carrying "role"), or from the core `roles` attribute (the
primary one). Values are mapped through the setting role_map ("okta_value=app_role,...") when set;
unknown values fall through to the next rules and then to default_role."""
from scimitar import rules

ROLE_MAP = rules.setting("role_map", description="okta_value=app_role,... (unset: Okta roles are used as they are)")


def _okta_role(user):
    for key, value in user.raw.items():
        if isinstance(value, dict) and key[:4].lower() == "urn:":
            role = value.get("role")
            if isinstance(role, str) and role:
                return user.attr(f"{key}:role")
    roles = user.attr("roles") or []
    primary = [r.get("value") for r in roles if isinstance(r, dict) and r.get("primary")]
    return (primary or [r.get("value") for r in roles if isinstance(r, dict)] or [None])[0]


@rules.decide(priority=20)
def role_from_okta(user, ctx):
    role = _okta_role(user)
    if not role:
        return None
    mapping = dict(item.split("=", 1) for item in ctx.settings.get(ROLE_MAP, "").split(",") if "=" in item)
    if mapping and role not in mapping:
        return None
    return rules.Decision(role=mapping.get(role, role), reason=f"Okta role '{role}'")
