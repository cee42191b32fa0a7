"""The command line contract (docs/architecture.md): JSON field names, errors, --all."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ncproofs.cli import main

ARGS = ["verify", "ufm-ce", "-p", "K=4", "-p", "n=3", "-p", "d=5", "-p", "lam_W=3e-3",
        "-p", "lam_H=7e-3", "-p", "lam_b=1e-2", "--device", "cpu", "--starts", "2"]


def test_json_schema(capsys):
    assert main(ARGS + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["theorem"] == "ufm-ce"
    assert out["params"] == {"K": 4, "n": 3, "d": 5, "lam_W": 0.003, "lam_H": 0.007,
                             "lam_b": 0.01, "bias": True}
    assert {"objective", "regime", "minimizer"} <= set(out["closed_form"])
    assert {"method", "lower_bound", "upper_bound", "gap", "rigorous", "status",
            "assumptions"} <= set(out["certificate"])
    assert {"objective", "grad_norm", "iterations", "seconds", "device", "starts",
            "metrics"} <= set(out["numeric"])
    assert out["numeric"]["device"] == "cpu" and out["numeric"]["starts"] == 2
    assert out["certificate"]["status"] == "certified"
    assert out["verdict"]["status"] == "agree"


def test_text_output(capsys):
    assert main(ARGS + ["--no-landscape"]) == 0
    text = capsys.readouterr().out
    assert "certified" in text and "verdict" in text and "lower bound" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["verify", "ufm-ce", "-p", "K=1", "-p", "n=3", "-p", "d=5", "-p", "lam_W=1",
          "-p", "lam_H=1"], "K must be >= 2"),
        (["verify", "no-such-theorem"], "unknown theorem 'no-such-theorem'; available:"),
        (["verify", "ufm-ce", "-p", "K=4", "-p", "n=3,1", "-p", "d=5", "-p", "lam_W=1",
          "-p", "lam_H=1"], "n must be one int or a list of K = 4 ints"),
        (["verify", "ufm-ce", "-p", "K4"], "NAME=VALUE"),
        (["verify", "ufm-ce", "-p", "K=4", "-p", "n=3", "-p", "d=5", "-p", "lam_W=1",
          "-p", "lam_H=1", "-p", "gamma=2"], "unknown parameter 'gamma'"),
        (["verify", "ufm-ce", "-p", "K=4", "-p", "n=3", "-p", "d=5", "-p", "lam_W=1",
          "-p", "lam_H=1", "--device", "tpu"], "device must be one of cpu, cuda, auto"),
        (["derive", "nope"], "unknown theorem"),
    ],
)
def test_errors_are_one_line_without_traceback(argv, message):
    proc = subprocess.run([sys.executable, "-m", "ncproofs.cli", *argv],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_list_and_derive(capsys):
    assert main(["list"]) == 0
    assert "ufm-ce" in capsys.readouterr().out
    assert main(["derive", "ufm-ce"]) == 0
    text = capsys.readouterr().out
    for title in ("Stationarity", "Stationary point", "Threshold", "Optimal value"):
        assert title in text
    assert main(["derive", "ufm-ce", "--latex"]) == 0
    assert "\\[" in capsys.readouterr().out
    assert main(["derive", "ufm-ce", "-p", "K=4", "-p", "n=3", "-p", "d=5", "-p",
                 "lam_W=3e-3", "-p", "lam_H=7e-3"]) == 0


def test_verify_all_runs_every_default_case(capsys):
    code = main(["verify", "--all", "--no-landscape", "--starts", "2", "--device", "cpu",
                 "--json"])
    reports = json.loads(capsys.readouterr().out)
    ids = {r["theorem"] for r in reports}
    assert "ufm-ce" in ids
    failing = [(r["theorem"], r["params"], r["certificate"]["status"], r["expected"],
                r["certificate"].get("reason"), r["verdict"]["status"])
               for r in reports if not r["ok"]]
    assert code == (0 if not failing else 1)
    assert not failing, failing


def test_verify_all_reports_a_failing_case_instead_of_aborting(monkeypatch):
    """One theorem raising must not hide the other cases (it becomes an error row)."""
    from ncproofs import pipeline as verify_module
    from ncproofs.theorems import get_theorem

    theorem = get_theorem("ufm-ce")
    monkeypatch.setattr(type(theorem), "default_cases",
                        ({"params": {"K": 4, "n": 3, "d": 5, "lam_W": "1", "lam_H": "1"},
                          "expect": "certified"},))

    def boom(self, spec):
        raise RuntimeError("deliberate failure")

    monkeypatch.setattr(type(theorem), "closed_form", boom)
    reports = [r for r in verify_module.verify_all(solve=False, landscape=False)
               if r["theorem"] == "ufm-ce"]
    assert len(reports) == 1 and reports[0]["verdict"]["status"] == "error"
    assert "deliberate failure" in reports[0]["verdict"]["summary"]
    assert not verify_module.meets_expectation(reports[0])


def test_numeric_point_refutes_only_when_verified_in_intervals():
    """A float value below the claim is 'numeric-below-claim'; with an interval upper
    bound below the claim it is 'refuted'."""
    import sympy as sp

    from ncproofs.certify.certificate import Certificate
    from ncproofs.pipeline import make_verdict
    from ncproofs.theorems.base import ClosedForm

    closed = ClosedForm(objective=sp.Rational(1, 2), regime="claimed")
    cert = Certificate(method="m", status="inconclusive", rigorous=False)
    numeric = {"objective": 0.4999}
    assert make_verdict(closed, cert, numeric)["status"] == "numeric-below-claim"
    assert make_verdict(closed, cert, numeric, numeric_upper=0.49995)["status"] == "refuted"
    assert make_verdict(closed, cert, numeric, numeric_upper=0.5)["status"] == "numeric-below-claim"
