"""Clumio-style Auto User Provisioning: conditions on IdP groups give a role and organizational units.
The first matching row wins; rows are evaluated as set operations, not Python calls."""
from scimitar import rules

rules.auto_provisioning([
    {"name": "super admins", "when": {"groups": {"$eq": "cl-super-admins"}},
     "role": "Super Admin", "units": ["Global"]},
    {"name": "regional admins", "when": {"groups": {"$all": ["cl-admins", "cl-emea"]}},
     "role": "Organizational Unit Admin", "units": ["EMEA"]},
    {"name": "backup operators", "when": {"groups": {"$contains": {"$in": ["backup", "restore"]}}},
     "role": "Backup Admin", "units": ["Global"]},
    {"name": "viewers", "when": {"groups": {"$in": ["cl-viewers", "cl-auditors"]}},
     "role": "Read-Only Admin", "units": ["Global"]},
], priority=30)
