"""Your own theorem (issue 14, item 3): examples/ufm_mse_target.py through --module, through
an entry point of the group ``ncproofs.theorems``, and its certificate's mutations.

Route for the expected values: with c = 1 the problem is ufm-mse (bias-free), whose
published optimum is kappa - kappa^2/2 (Zhou et al. 2022); for c != 1 the formula
c kappa - kappa^2/2 is checked against a direct 1-d minimization in floats of
g(s) = (s - c)^2/2 + kappa s over s >= 0 (scipy), not against the module's own code."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from scipy.optimize import minimize_scalar

import ncproofs
from ncproofs.cli import main

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "ufm_mse_target.py"
PARAMS = {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3"}


def scalar_optimum(K: int, n: int, lam_W: float, lam_H: float, c: float) -> float:
    kappa = K * math.sqrt(n * lam_W * lam_H)
    res = minimize_scalar(lambda s: (s - c) ** 2 / 2 + kappa * s, bounds=(0, 10 * c),
                          method="bounded", options={"xatol": 1e-12})
    return min(res.fun, c * c / 2)


@pytest.fixture(scope="module")
def theorem_id():
    (tid,) = ncproofs.load_theorem_module(EXAMPLE)
    assert ncproofs.load_theorem_module(EXAMPLE) == [tid]  # loading twice is harmless
    return tid


@pytest.mark.parametrize("c", ["1", "2", "0.05"])
def test_example_matches_independent_routes(theorem_id, c):
    report = ncproofs.verify(theorem_id, PARAMS, c=c, solve=False, landscape=False)
    expected = scalar_optimum(4, 3, 3e-3, 7e-3, float(c))
    assert report.objective == pytest.approx(expected, rel=1e-9)
    assert report.status in ("certified", "conditional")
    assert report.lower_bound <= expected * (1 + 1e-9) and report.gap < 1e-12
    if c == "1":  # the same problem as ufm-mse: same value and same status
        mse = ncproofs.verify("ufm-mse", PARAMS, bias="false", solve=False, landscape=False)
        assert report.objective == pytest.approx(mse.objective, rel=1e-14)
        assert report.status == mse.status
    scaling = [a for a in report["certificate"]["assumptions"] if a["text"].startswith("scaling")]
    assert scaling and scaling[0]["kind"] == "lemma"


def test_mutations_do_not_certify(theorem_id, monkeypatch):
    """A claimed value off by 1e-6 (relative), and a d too small for the orthogonal frame,
    must not be certified (nor conditional)."""
    module = sys.modules[type(ncproofs.theorems.get_theorem(theorem_id)).__module__]
    real = module.claimed_value
    monkeypatch.setattr(module, "claimed_value",
                        lambda *a: real(*a) * sp.Rational(1_000_001, 1_000_000))
    bad = ncproofs.verify(theorem_id, PARAMS, c="2", solve=False, landscape=False)
    assert bad.status not in ("certified", "conditional")
    monkeypatch.undo()
    small = ncproofs.verify(theorem_id, {**PARAMS, "d": 3}, c="2", solve=False,
                            landscape=False)
    assert small.status == "not-applicable"


def test_module_option_on_the_command_line(capsys):
    argv = ["verify", "--module", str(EXAMPLE), "ufm-mse-target", *sum(
        (["-p", f"{k}={v}"] for k, v in PARAMS.items()), []), "-p", "c=2", "--starts", "2",
        "--no-landscape", "--json", "--quiet"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["numeric"]["objective"] == pytest.approx(out["closed_form"]["objective"],
                                                        rel=1e-8)


def test_entry_point_registration(tmp_path):
    """A package that declares ``[ncproofs.theorems] target = ufm_mse_target`` in its
    entry points is listed by `ncproofs list` (an installed distribution is simulated
    by a dist-info folder on sys.path, which is what pip writes)."""
    (tmp_path / "ufm_mse_target.py").write_text(EXAMPLE.read_text())
    info = tmp_path / "ncproofs_example-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ncproofs-example\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[ncproofs.theorems]\ntarget = ufm_mse_target\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "ncproofs.cli", "list"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ufm-mse-target" in proc.stdout
