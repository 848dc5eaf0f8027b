"""Every example in examples/ runs as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bulk_import_example(tmp_path):
    r = subprocess.run(["bash", str(REPO / "examples/bulk_import/run.sh")], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "TMPDIR": str(tmp_path),
                                         "SCIMITAR": str(Path(sys.executable).parent / "scimitar")})
    assert r.returncode == 0, r.stderr
    assert "line 5: rejected: mapping failed: ValueError: no email address" in r.stdout
    assert "4 rows: 3 created, 0 updated, 0 unchanged, 1 rejected; 2 decisions changed" in r.stdout
    assert "4 rows: 0 created, 0 updated, 3 unchanged, 1 rejected" in r.stdout
    assert "ann.lee@example.com\tmember" in r.stdout and "cy.poe" not in r.stdout.split("decisions changed")[-1]


def test_clumio_rules_example_tests_pass():
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(REPO / "examples/clumio_rules/tests")],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout


def test_in_process_example():
    r = subprocess.run([sys.executable, str(REPO / "examples/in_process/inline_rule.py")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "status 201" in r.stdout
    assert "ann@example.com: role=editor (engineering department)" in r.stdout
