"""CLI fuzzing regressions (cross-cutting): boundary and adversarial inputs give a one-line
``error: ...`` naming the parameter and its range, never a traceback, never a hang."""

from __future__ import annotations

import pytest

from ncproofs.cli import main

BASE = ["-p", "K=4", "-p", "n=3", "-p", "d=5", "-p", "lam_H=7e-3"]


@pytest.mark.parametrize("value", ["1e400", "-1e400", "1e101"])
def test_huge_number_is_a_spec_error(value, capsys):
    """lam_W = 1e400 parsed exactly as a Fraction, then overflowed float() inside the CE
    dual's details (OverflowError traceback).  Now refused by the spec (|x| <= 1e100)."""
    code = main(["verify", "ufm-ce", *BASE, "-p", f"lam_W={value}", "--no-solve",
                 "--no-landscape"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: lam_W must be") and "1e100" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value, message", [
    ("1e", "lam_W must be a number"), ("inf", "lam_W must be a finite number"),
    ("nan", "lam_W must be a finite number"), ("", "lam_W must be a number"),
    ("3,", "lam_W must be a number"), ("-0", "lam_W must be > 0"), ("0", "lam_W must be > 0"),
])
def test_malformed_numbers_name_the_parameter(value, message, capsys):
    code = main(["verify", "ufm-ce", *BASE, "-p", f"lam_W={value}", "--no-solve",
                 "--no-landscape"])
    assert code == 2
    assert message in capsys.readouterr().err


def test_largest_allowed_magnitude_still_runs(capsys):
    """lam_W = lam_H = 1e100 (at the bound): zero regime, f* = log K (independent, by hand:
    at W = H = 0 every logit is 0, and any nonzero point pays >= 1e100 in decay)."""
    import math

    code = main(["verify", "ufm-ce", "-p", "K=4", "-p", "n=3", "-p", "d=5", "-p",
                 "lam_W=1e100", "-p", "lam_H=1e100", "--no-solve", "--no-landscape",
                 "--json"])
    import json

    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert abs(out["closed_form"]["objective"] - math.log(4)) < 1e-12


@pytest.mark.parametrize(
    "argv, message",
    [
        (["verify", "sphere-gnc", "-p", "K=200", "-p", "d=3"], "K must be <= max(64, 2d)"),
        (["verify", "relu2-convex", "-p", "n=50", "-p", "lam_W=1e-2", "-p", "d=4"],
         "n must be <= 25 for data=iris"),
        (["verify", "ufm-ce-imbalanced", "-p", "K=200", "-p", "n=2", "-p", "d=200",
          "-p", "lam_W=1e-3", "-p", "lam_H=1e-3"], "K must be <= 120"),
        (["verify", "dufm-lowrank", "-p", "K=3", "-p", "n=1", "-p", "d=3", "-p", "L=2",
          "-p", "lam_W=1e-300", "-p", "lam_H=1e-300"], "n * lam_H * lam_W^L must be >= 1e-100"),
        (["verify", "ufm-ce", "-p", "K=4", "-p", "n=3,", "-p", "d=5", "-p", "lam_W=1",
          "-p", "lam_H=1"], "n must be one int or K comma-separated ints"),
    ],
)
def test_size_guards_answer_at_once(argv, message, capsys):
    """Inputs that used to hang or run for minutes are refused up front (CLI fuzz)."""
    assert main(argv + ["--no-solve", "--no-landscape"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("value", ["1e-1000", "1e100000000", "-1e-100000000", "1e-301"])
def test_tiny_or_huge_exponents_refused_at_once(value, capsys):
    """Second audit: 1e-1000 passed the cap and became float 0.0 (ZeroDivisionError deep in
    the MSE theorem); Fraction('1e100000000') alone ran for minutes.  Both are refused
    before any exact parse."""
    code = main(["verify", "ufm-mse", "-p", "K=3", "-p", "n=2", "-p", "d=3", "-p",
                 f"lam_W={value}", "-p", "lam_H=1e-3", "--no-solve", "--no-landscape"])
    assert code == 2
    assert "lam_W must be between 1e-300 and 1e100 in magnitude" in capsys.readouterr().err


def test_orthoplex_beyond_64_classes_is_not_refused():
    """The K <= 64 search guard applies only beyond K = 2d: (d, K) = (40, 70) is the
    orthoplex regime, certified by the Radon-convexity lemma without a search."""
    from ncproofs.theorems import get_theorem

    theorem = get_theorem("sphere-gnc")
    spec = theorem.spec({"K": 70, "d": 40})
    assert spec.K == 70
