"""eufm-relu (Tirer & Bruna 2022, extended UFM).  Expected values come from independent
routes: mpmath high-precision minimization of the scalar problem, and multi-start torch
solves of the full three-factor model; mutations must not certify."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest

from ncproofs.certify.certificate import CERTIFIED, CONDITIONAL
from ncproofs.certify.power_scalar import PowerScalar
from ncproofs.spec import SpecError
from ncproofs.theorems.base import get_theorem

TH = get_theorem("eufm-relu")
BASE = {"K": 3, "n": 2, "d": 4, "lam_W": "5e-3", "lam_W1": "5e-3", "lam_H": "5e-3",
        "relu": "false"}


def mp_scalar_min(w, R, m):
    """Independent route: mpmath golden-section-free minimization at 40 digits."""
    mpmath.mp.dps = 40
    C = mpmath.mpf(R.numerator) / R.denominator
    C = C ** (mpmath.mpf(1) / m)
    w = mpmath.mpf(w.numerator) / w.denominator
    g = lambda x: w / 2 * (x - 1) ** 2 + C * x ** (mpmath.mpf(2) / m)  # noqa: E731
    dg = lambda x: w * (x - 1) + 2 * C / m * x ** (mpmath.mpf(2) / m - 1)  # noqa: E731
    best = g(0)
    grid = [mpmath.mpf(i) / 2000 for i in range(1, 2001)]
    for a, b in zip(grid, grid[1:]):
        if dg(a) * dg(b) < 0:
            best = min(best, g(mpmath.findroot(dg, (a, b), solver="illinois")))
    return best


@pytest.mark.parametrize("w,R,m", [(Fraction(1, 3), Fraction(27, 8) * 2 * Fraction(1, 200) ** 3, 3),
                                   (Fraction(1), Fraction(3, 1000), 4),
                                   (Fraction(1, 2), Fraction(1, 10), 2),
                                   (Fraction(1, 4), Fraction(1, 20), 6)])
def test_power_scalar_matches_mpmath(w, R, m):
    res = PowerScalar(w, R, m).certified_minimum()
    expected = mp_scalar_min(w, R, m)
    assert res.value.lower() <= float(expected) + 1e-15
    assert abs(float(res.value.mid()) - float(expected)) < 1e-13


def test_threshold_jump_matches_bisection():
    """x_thr = 1/2 for m = 3: just below C_thr the minimizer is near 1/2, just above 0."""
    ps = PowerScalar(Fraction(1), Fraction(1), 3)
    C_thr = float(ps.threshold_C())
    assert abs(C_thr - 0.75 * 2 ** (-1 / 3)) < 1e-15  # hand derivation, docs/relu.md
    below = PowerScalar(Fraction(1), Fraction(C_thr * (1 - 1e-6)) ** 3, 3).certified_minimum()
    above = PowerScalar(Fraction(1), Fraction(C_thr * (1 + 1e-6)) ** 3, 3).certified_minimum()
    assert not below.zero_wins and abs(float(below.argmin.mid()) - 0.5) < 1e-2
    assert above.zero_wins


def test_linear_certified_and_numeric_agrees():
    spec = TH.spec(BASE)
    closed = TH.closed_form(spec)
    cert = TH.certify(spec, closed)
    assert cert.status == CERTIFIED and cert.rigorous
    # independent: multi-start torch on the full model (W2, W1, H)
    num = TH.solve(spec, device="cpu", starts=4, seed=3)
    assert abs(num.summary["objective"] - float(closed.objective)) < 1e-10


def test_relu_k2_only_conditional_on_the_reduction():
    # for the ReLU model the scalar lower bound is the claim itself (Súkeník et al.'s
    # Theorem 3.1): the bounds meet, but the result is conditional, not certified
    spec = TH.spec({**BASE, "K": 2, "d": 3, "relu": "true"})
    cert = TH.certify(spec, TH.closed_form(spec))
    assert cert.status == CONDITIONAL and not cert.rigorous
    assert any(a.kind == "reduction" and "Súkeník" in a.text for a in cert.assumptions)
    linear = TH.certify(TH.spec({**BASE, "K": 2, "d": 3, "relu": "false"}),
                        TH.closed_form(TH.spec({**BASE, "K": 2, "d": 3, "relu": "false"})))
    assert linear.status == CERTIFIED and {a.kind for a in linear.assumptions} == {"lemma"}


@pytest.mark.parametrize("mutation", [{"scale": 1 + 1e-4}, {"regime_override": "zero"}])
def test_mutations_do_not_certify(mutation):
    spec = TH.spec(BASE)
    cert = TH.certify(spec, TH.closed_form(spec, **mutation))
    assert cert.status not in (CERTIFIED, CONDITIONAL)


def test_wrong_regime_above_threshold_does_not_certify():
    spec = TH.spec({**BASE, "lam_W": "0.2", "lam_W1": "0.2", "lam_H": "0.2"})
    assert TH.certify(spec, TH.closed_form(spec)).status == CERTIFIED
    spec2 = TH.spec({**BASE, "lam_W": "0.05", "lam_W1": "0.05", "lam_H": "0.05"})
    cert = TH.certify(spec2, TH.closed_form(spec2, regime_override="zero"))
    assert cert.status != CERTIFIED


def test_too_small_d_not_applicable():
    spec = TH.spec({**BASE, "K": 4, "d": 3})
    closed = TH.closed_form(spec)
    assert TH.certify(spec, closed).status == "not-applicable"
    assert "d = 3 < K = 4" in closed.reason


@pytest.mark.parametrize("bad,name", [({"bias": "true"}, "bias"), ({"lam_W1": "-1"}, "lam_W1"),
                                      ({"K": "1"}, "K"), ({"relu": "maybe"}, "relu"),
                                      ({"depth": "3"}, "depth")])
def test_bad_input(bad, name):
    with pytest.raises(SpecError, match=name):
        TH.spec({**BASE, **bad})
