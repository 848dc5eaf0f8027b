"""A Clumio-style customer mapping: conditions on IdP groups give a role and organizational units.
Nobody outside these groups gets an account: a matching row sets provision=True before the
catch-all rule (priority 100) can set it to False."""
from scimitar import rules

rules.auto_provisioning([
    {"name": "global super admins", "when": {"groups": {"$eq": "Clumio Super Admins"}},
     "provision": True, "role": "Super Admin", "units": ["Global Organization"]},
    {"name": "emea operators", "when": {"groups": {"$all": ["Clumio Operators", "EMEA"]}},
     "provision": True, "role": "Operator", "units": ["EMEA"]},
    {"name": "any operator", "when": {"groups": {"$eq": "Clumio Operators"}},
     "provision": True, "role": "Operator", "units": ["Global Organization"]},
    {"name": "auditors", "when": {"groups": {"$contains": {"$in": ["audit", "compliance"]}}},
     "provision": True, "role": "Read-Only Admin", "units": ["Global Organization"]},
], priority=10)


@rules.decide(priority=100)
def only_listed_groups(user, ctx):
    return rules.Decision(provision=False, reason="no auto-provisioning rule matched")


@rules.group_name
def no_app_groups(group, ctx):  # Clumio has organizational units, not groups
    return None
