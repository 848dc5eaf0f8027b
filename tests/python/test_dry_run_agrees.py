"""A dry run and the apply that follows it agree, because both compare decisions with the core's one
comparison (issue 15, finding 5: a rule change that only reordered units showed as unchanged in the
dry run, yet emitted member.changed when applied)."""

from __future__ import annotations

import json

from faults_support import outbox_events
from test_rules_server import cli, rules_server, wait_for  # noqa: F401 (fixture)

UNITS_RULE = '''
from scimitar import rules

@rules.decide(priority=10)
def units(user, ctx):
    return rules.Decision(provision=True, role="{role}", units={units!r}, reason="units rule")
'''


def test_reordered_units_are_no_change_in_the_dry_run_nor_when_applied(rules_server, tmp_path):
    t = rules_server({"r.py": UNITS_RULE.format(role="member", units=["emea", "apac"])})
    t.create_user("ann@units.test")
    reordered = tmp_path / "reordered"
    reordered.mkdir()
    (reordered / "r.py").write_text(UNITS_RULE.format(role="member", units=["apac", "emea", "apac"]))
    dry = json.loads(cli(t.db, "rules", "dry-run", "--org", t.slug, "--rules", str(reordered), "--json").stdout)
    assert dry["counts"]["unchanged"] == 1 and dry["counts"]["changed"] == 0
    before = len(outbox_events(t.db, t.slug))
    cli(t.db, "rules", "apply", "--org", t.slug, "--rules", str(reordered))
    wait_for(lambda: t.store.decision_json(t.slug, "ann@units.test")
             and json.loads(t.store.decision_json(t.slug, "ann@units.test"))["detail"]["units"] == ["apac", "emea", "apac"],
             what="the applied set to decide")
    assert outbox_events(t.db, t.slug)[before:] == []

    # A real change is seen the same way by both.
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "r.py").write_text(UNITS_RULE.format(role="admin", units=["apac"]))
    dry = json.loads(cli(t.db, "rules", "dry-run", "--org", t.slug, "--rules", str(changed), "--json").stdout)
    assert dry["counts"]["changed"] == 1
    cli(t.db, "rules", "apply", "--org", t.slug, "--rules", str(changed))
    wait_for(lambda: len(outbox_events(t.db, t.slug)) > before, what="the change's event")
    assert [e["type"] for e in outbox_events(t.db, t.slug)[before:]] == ["member.changed"]
