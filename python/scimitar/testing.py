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

__all__ = ["make_user", "decide", "load", "transform", "handle", "make_event"]


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


def _context(rule_set: RuleSet, org: str, settings: Optional[dict], now: Optional[dt.datetime]) -> Context:
    """As the server builds it: `settings` over the defaults the rules declare."""
    return rule_set.context(org, dict(settings or {}), now or dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))


def decide(rules_dir: str, user: dict, settings: Optional[dict] = None, now: Optional[dt.datetime] = None,
           org: str = "test") -> dict:
    """The decision the rules in `rules_dir` make for `user` (from make_user) under `settings`."""
    rule_set = load(str(rules_dir))
    return rule_set.decide(User(user["doc"], user["groups"], user["id"]), _context(rule_set, org, settings, now))


def transform(rules_dir: str, resource: dict, resource_type: str = "User", settings: Optional[dict] = None,
              now: Optional[dt.datetime] = None, org: str = "test") -> dict:
    """The inbound SCIM payload after the folder's @rules.transform rules, under `settings`, as the
    server would validate and store it. A rule raising rules.Reject raises it here."""
    rule_set = load(str(rules_dir))
    return rule_set.transform(resource_type, dict(resource), _context(rule_set, org, settings, now))


def make_event(event_type: str, user_name: str, before: Optional[dict] = None, after: Optional[dict] = None,
               reason: str = "test", event_id: int = 1, org: str = "test") -> dict:
    """An outbox event as @rules.on handlers receive it (e.g. "member.provisioned")."""
    return {"id": event_id, "type": event_type, "org": org, "userName": user_name, "user_id": f"id-{user_name}",
            "before": before, "after": after, "reason": reason, "version": None}


def handle(rules_dir: str, event: dict, settings: Optional[dict] = None, now: Optional[dt.datetime] = None) -> int:
    """Runs the folder's @rules.on handlers for `event` (from make_event) under `settings`, as the
    server delivers it; returns how many handlers ran. A failing handler raises."""
    rule_set = load(str(rules_dir))
    handlers = rule_set.handlers.get(event["type"], []) + rule_set.handlers.get("*", [])
    ctx = _context(rule_set, event.get("org", "test"), settings, now)
    for h in handlers:
        h.fn(event, ctx)
    return len(handlers)
