"""Which IdP groups become app groups, and their names: the admission group (setting user_group) is
not mirrored; a prefix (setting group_prefix, e.g. "app-") is stripped, and when it is set, groups
without it are not mirrored."""
from scimitar import rules

GROUP_PREFIX = rules.setting("group_prefix", description="only IdP groups with this prefix become app groups, without it")


@rules.group_name
def app_group(group, ctx):
    name = group.display_name
    if name == ctx.settings.get("user_group"):
        return None
    prefix = ctx.settings.get(GROUP_PREFIX)
    if prefix:
        return (name[len(prefix):] or None) if name.startswith(prefix) else None
    return name
