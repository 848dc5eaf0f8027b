"""Fluid: only members of one IdP group get an account. The group is a per-organization setting:
    scimitar org set acme user_group="Fluid User"
Organizations without the setting admit everyone (subject to default_policy)."""
from scimitar import rules

USER_GROUP = rules.setting("user_group", description="the IdP group whose members get an account (unset: everyone)")


@rules.decide(priority=10)
def admission_group(user, ctx):
    group = ctx.settings.get(USER_GROUP)
    if group is None:
        return None
    if group in user.groups:
        return rules.Decision(provision=True, reason=f"member of '{group}'")
    return rules.Decision(provision=False, reason=f"not a member of '{group}'")
