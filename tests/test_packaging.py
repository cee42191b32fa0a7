"""Dependencies and the test command (issue 14, item 10): torch as a range in
pyproject.toml, the exact pin only in constraints.txt, used by both README commands and by
.ci/run; pytest's addopts without -q so that `python -m pytest -q` prints its pass count."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_torch_is_a_range_and_the_pin_is_a_constraint():
    text = (ROOT / "pyproject.toml").read_text()  # (no tomllib: Python 3.10 is supported)
    (torch,) = re.findall(r'^\s*"(torch[^"]*)",', text, re.MULTILINE)
    assert "==" not in torch and ">=" in torch
    pins = (ROOT / "constraints.txt").read_text()
    assert re.search(r"^torch==\d+\.\d+\.\d+$", pins, re.MULTILINE)
    readme = (ROOT / "README.md").read_text()
    installs = [line for line in readme.splitlines() if "pip install" in line and "venv" in line]
    assert len(installs) == 2 and all("-c constraints.txt" in line for line in installs)
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install --quiet -c constraints.txt -e ".[test]"' in ci


def test_pytest_q_prints_the_pass_count():
    text = (ROOT / "pyproject.toml").read_text()
    addopts = re.findall(r"^addopts\s*=\s*(.*)$", text, re.MULTILINE)
    assert all("-q" not in a.strip("\"'").split() for a in addopts)
