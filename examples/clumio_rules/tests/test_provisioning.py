"""Run with: .venv/bin/python -m pytest examples/clumio_rules/tests"""
from pathlib import Path

from scimitar.testing import decide, make_user

HERE = str(Path(__file__).resolve().parents[1])  # the rules folder


def test_super_admins_get_the_global_unit():
    d = decide(HERE, make_user("ann@x.test", groups=["Clumio Super Admins", "EMEA"]))
    assert (d["provisioned"], d["role"], d["units"]) == (True, "Super Admin", ["Global Organization"])


def test_the_first_matching_row_wins():
    d = decide(HERE, make_user("bob@x.test", groups=["Clumio Operators", "EMEA"]))
    assert (d["role"], d["units"]) == ("Operator", ["EMEA"])
    assert decide(HERE, make_user("bob@x.test", groups=["Clumio Operators"]))["units"] == ["Global Organization"]


def test_keywords_and_no_match():
    assert decide(HERE, make_user("cy@x.test", groups=["Internal Audit"]))["role"] == "Read-Only Admin"
    nobody = decide(HERE, make_user("dee@x.test", groups=["Marketing"]))
    assert nobody["provisioned"] is False and nobody["reason"] == "no auto-provisioning rule matched"
