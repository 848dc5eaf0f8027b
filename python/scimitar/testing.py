"""Unit-test a rules folder with pytest, without a server or a database::

    from scimitar.testing import decide, make_user

    def test_fluid_users_only():
        d = decide("rules/", make_user("ann@x.test", groups=["Fluid User"]), {"user_group": "Fluid User"})
        assert d["provisioned"]

The result is exactly what the server stores for the user (provisioned, role, units, groups, reason,
sources, rules, inputs, version, error).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Iterable, Optional

from .rules import Context, RuleSet, User, load_rules

__all__ = ["make_user", "decide", "load"]


def make_user(user_name: str, groups: Iterable[str] = (), active: bool = True, user_id: Optional[str] = None,
              **attributes: Any) -> dict:
    """A user as the rules receive it: SCIM attributes plus direct IdP group names. Extension
    attributes go in by URN: ``make_user("a", **{"urn:...:enterprise:2.0:User": {"department": "R&D"}})``."""
    doc = {"userName": user_name, "active": active, **attributes}
    return {"id": user_id or f"id-{user_name}", "doc": doc,
            "groups": [{"id": f"group-{g}", "display": g} for g in groups]}


@functools.lru_cache(maxsize=32)
def load(rules_dir: str) -> RuleSet:
    """Loads (once per process) a rules folder."""
    return load_rules(rules_dir)


def decide(rules_dir: str, user: dict, settings: Optional[dict] = None, now: Optional[dt.datetime] = None,
           org: str = "test") -> dict:
    """The decision the rules in `rules_dir` make for `user` (from make_user) under `settings`."""
    rule_set = load(str(rules_dir))
    ctx = Context(org, dict(settings or {}), now or dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    return rule_set.decide(User(user["doc"], user["groups"], user["id"]), ctx)
