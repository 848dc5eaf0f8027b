"""Users deactivated in the IdP (active: false) lose their account; this runs before every other rule."""
from scimitar import rules


@rules.decide(priority=0)
def deactivated_in_idp(user, ctx):
    if not user.active:
        return rules.Decision(provision=False, reason="deactivated in the identity provider")
