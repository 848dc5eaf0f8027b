"""scimitar.testing runs transforms and event handlers on samples, with settings, as the server does."""

from __future__ import annotations

import pytest

from scimitar import testing
from scimitar.rules import Reject


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "r.py").write_text('''
from scimitar import rules

@rules.transform("User")
def domain(user, ctx):
    if not user["userName"].endswith(ctx.settings.get("domain", "@x.test")):
        raise rules.Reject("userName outside " + ctx.settings.get("domain", "@x.test"))
    user["title"] = ctx.settings.get("title", "none")
    return user

SEEN = []

@rules.on("member.provisioned")
def record(event, ctx):
    SEEN.append((event["userName"], ctx.settings.get("notify_url")))
''')
    return str(tmp_path)


def test_transform_and_handler_on_samples(folder):
    out = testing.transform(folder, {"userName": "ann@acme.test"}, settings={"domain": "@acme.test", "title": "Ops"})
    assert out["title"] == "Ops"
    with pytest.raises(Reject) as err:
        testing.transform(folder, {"userName": "ann@other.test"}, settings={"domain": "@acme.test"})
    assert "outside @acme.test" in str(err.value)
    event = testing.make_event("member.provisioned", "ann@acme.test", after={"role": "member"})
    assert testing.handle(folder, event, settings={"notify_url": "https://hooks.test/a"}) == 1
    module = next(h.fn.__globals__ for h in testing.load(folder).handlers["member.provisioned"])
    assert module["SEEN"] == [("ann@acme.test", "https://hooks.test/a")]
    assert testing.handle(folder, testing.make_event("member.changed", "ann@acme.test")) == 0


def test_decide_applies_the_defaults_the_rules_declare(tmp_path):
    (tmp_path / "d.py").write_text('''
from scimitar import rules

ROLE = rules.setting("fallback_role", default="viewer")

@rules.decide
def role(user, ctx):
    return rules.Decision(role=ctx.settings[ROLE])
''')
    user = testing.make_user("ann@x.test")
    assert testing.decide(str(tmp_path), user)["role"] == "viewer"
    assert testing.decide(str(tmp_path), user, {"fallback_role": "editor"})["role"] == "editor"


def test_decide_is_the_cores_combination_with_its_type_checks(tmp_path):
    (tmp_path / "t.py").write_text('''
from scimitar import rules

@rules.decide(priority=1)
def nothing(user, ctx):
    return None

@rules.decide(priority=2)
def numeric_role(user, ctx):
    return rules.Decision(role=5)
''')
    d = testing.decide(str(tmp_path), testing.make_user("ann@x.test"))
    assert d["error"] == "t.py:numeric_role: returned role=5; a string is expected"
    assert d["rules"] == [{"rule": "t.py:nothing", "matched": False}]
