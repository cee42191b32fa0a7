"""dufm-binary (Súkeník et al. 2023, K = 2).  Expected values come from independent routes:
mpmath minimization of the scalar problem at 40 digits, the hand-derived threshold
formula checked by SymPy, interval evaluation of a *different* (antipodal first-layer)
explicit point, and multi-start torch solves of the full ReLU model; mutations (a wrong
scale, a wrong threshold) must not certify; bad input raises SpecError."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from ncproofs.certify.certificate import CERTIFIED, CONDITIONAL
from ncproofs.losses import get_loss
from ncproofs.spec import SpecError
from ncproofs.theorems._deep_relu import dnc_scalar, explicit_deep_point, rigorous_value
from ncproofs.theorems.base import ExplicitPoint, get_theorem
from ncproofs.theorems.dufm_binary import threshold_product

TH = get_theorem("dufm-binary")
BASE = {"K": 2, "n": 2, "d": 2, "L": 3, "lam_W": "2e-2", "lam_H": "2e-2"}


def mp_value(n: int, lam: float, L: int) -> mpmath.mpf:
    """Independent route: 2 min_x [(x-1)^2/4 + C x^(2/(L+1))] by bracketing g' at 40 digits."""
    mpmath.mp.dps = 40
    lam = mpmath.mpf(lam)
    C = mpmath.mpf(L + 1) / 2 * (n * lam ** (L + 1)) ** (mpmath.mpf(1) / (L + 1))
    p = mpmath.mpf(2) / (L + 1)
    g = lambda x: (x - 1) ** 2 / 4 + C * x**p  # noqa: E731
    dg = lambda x: (x - 1) / 2 + C * p * x ** (p - 1)  # noqa: E731
    best = g(0)
    grid = [mpmath.mpf(i) / 4000 for i in range(1, 4001)]
    for a, b in zip(grid, grid[1:]):
        if dg(a) * dg(b) < 0:
            best = min(best, g(mpmath.findroot(dg, (a, b), solver="illinois")))
    return 2 * best


@pytest.mark.parametrize("n,lam,L", [(2, "2e-2", 3), (1, "5e-2", 2), (3, "1e-2", 5)])
def test_conditional_value_matches_mpmath_and_torch(n, lam, L):
    spec = TH.spec({"K": 2, "n": n, "d": 2, "L": L, "lam_W": lam, "lam_H": lam})
    closed = TH.closed_form(spec)
    cert = TH.certify(spec, closed)
    # the bounds meet, but the lower bound rests on the paper's Theorem 3.1
    assert cert.status == CONDITIONAL and not cert.rigorous
    expected = mp_value(n, float(Fraction(lam)), L)
    assert abs(float(closed.objective) - float(expected)) < 1e-13
    assert cert.lower_bound <= float(expected) + 1e-15 <= cert.upper_bound + 2e-15
    # independent: multi-start torch on the full ReLU model (one column per sample)
    # (deep ReLU models have worse local minima: at L = 5 random starts may stop above it,
    # but never below)
    num = TH.solve(spec, device="cpu", starts=4, seed=1)
    assert num.summary["objective"] >= float(expected) - 1e-9
    if L <= 3:
        assert num.summary["objective"] == pytest.approx(float(expected), abs=1e-9)


def test_threshold_formula_and_jump():
    """Hand formula (docs/relu.md): x* > 0 iff n lam_H lam_W^L < (2L)^-(L+1)((L-1)/L)^(L-1);
    SymPy solves g = g(0), g' = 0 for the jump point (L-1)/L independently of power_scalar."""
    x, C = sp.symbols("x C", positive=True)
    for L in (2, 3, 4):
        g = (x - 1) ** 2 / 4 + C * x ** sp.Rational(2, L + 1)
        C_st = sp.solve(sp.diff(g, x), C)[0]
        roots = [r for r in sp.solve(sp.simplify((g - sp.Rational(1, 4)).subs(C, C_st)), x)
                 if r != 0]
        assert roots == [sp.Rational(L - 1, L)]
        C_thr = C_st.subs(x, roots[0])
        prod_thr = (C_thr / (sp.Rational(L + 1, 2))) ** (L + 1)
        assert sp.simplify(prod_thr - threshold_product(L)) == 0
        # just below / above the threshold (n = 1, all lambdas equal)
        lam_thr = float(threshold_product(L)) ** (1 / (L + 1))
        for factor, zero in ((0.999, False), (1.001, True)):
            lam = Fraction(lam_thr * factor).limit_denominator(10**12)
            spec = TH.spec({"K": 2, "n": 1, "d": 2, "L": L, "lam_W": lam, "lam_H": lam})
            res = dnc_scalar(spec).certified_minimum()
            assert res.zero_wins is zero
            if not zero:
                assert abs(float(res.argmin.mid()) - (L - 1) / L) < 0.02  # a jump, not 0


def test_first_layer_angle_not_unique():
    """An antipodal first layer (180 degrees) has the same interval value as the explicit
    orthogonal (90 degree) point: h_2 = -h_1, W_1 = c (e_1 - e_2) e_1^T."""
    spec = TH.spec(BASE)
    closed = TH.closed_form(spec)
    orth = closed.point.arrays
    a = orth["H"][0, 0]
    c1 = orth["W1"][0, 0]
    anti = {k: v.copy() for k, v in orth.items()}
    anti["H"] = np.zeros_like(orth["H"])
    anti["H"][0, 0], anti["H"][0, 1] = a, -a
    anti["W1"] = np.zeros_like(orth["W1"])
    anti["W1"][0, 0], anti["W1"][1, 0] = c1, -c1
    pt = ExplicitPoint(arrays=anti, labels=closed.point.labels, counts=closed.point.counts)
    v_anti = rigorous_value(pt, get_loss("mse"), spec.lams, spec.lam_H, "relu")
    v_orth = TH.upper_bound(spec, closed.point)
    assert abs(float(v_anti.mid()) - float(v_orth.mid())) < 1e-14
    assert abs(float(v_orth.mid()) - float(closed.objective)) < 1e-13


@pytest.mark.parametrize("mutation", [{"value_scale": 1 + 1e-4}, {"value_scale": 1 - 1e-4}])
def test_wrong_scale_does_not_certify(mutation):
    spec = TH.spec(BASE)
    assert TH.certify(spec, TH.closed_form(spec, **mutation)).status not in (CERTIFIED,
                                                                             CONDITIONAL)


def test_wrong_threshold_does_not_certify():
    """The continuous-transition rule (x* = 0 only where no positive stationary point is
    left) is wrong in the window: at 1.01 x the threshold it claims the root's value."""
    L = 3
    lam = Fraction(float(threshold_product(L)) ** (1 / (L + 1)) * 1.01).limit_denominator(10**9)
    spec = TH.spec({"K": 2, "n": 1, "d": 2, "L": L, "lam_W": lam, "lam_H": lam})
    ps = dnc_scalar(spec)
    assert ps.certified_minimum().positive_root is not None  # inside the window
    wrong = TH.closed_form(spec, threshold_override=float(ps.C) * 1.5)
    assert wrong.regime.startswith("deep neural collapse")
    assert TH.certify(spec, wrong).status not in (CERTIFIED, CONDITIONAL)
    right = TH.closed_form(spec)
    # just beyond the threshold only the DNC reduction bounds f from below: conditional
    assert right.regime.startswith("zero") and TH.certify(spec, right).status == CONDITIONAL


def test_frobenius_zero_regime_needs_no_assumption():
    spec = TH.spec({"K": 2, "n": 1, "d": 3, "L": 2, "lam_W": "0.4", "lam_H": "0.4"})
    cert = TH.certify(spec, TH.closed_form(spec))
    assert cert.status == CERTIFIED and cert.rigorous
    assert {a.kind for a in cert.assumptions} == {"lemma"}
    # the DNC regime rests on the paper's own Theorem 3.1: conditional, never certified
    spec2 = TH.spec(BASE)
    cert2 = TH.certify(spec2, TH.closed_form(spec2))
    assert cert2.status == CONDITIONAL and not cert2.rigorous
    assert any(a.kind == "reduction" and "Súkeník" in a.text for a in cert2.assumptions)


def test_explicit_point_has_stated_size():
    spec = TH.spec({**BASE, "d": 5})
    pt = explicit_deep_point(K=2, d=5, n=2, x=0.5, lams=spec.lams, lam_H=spec.lam_H)
    assert pt.arrays["H"].shape == (5, 2) and pt.arrays["W3"].shape == (2, 5)


@pytest.mark.parametrize("bad,name", [({"K": "3"}, "K"), ({"d": "1"}, "d"), ({"L": "1"}, "L"),
                                      ({"bias": "true"}, "bias"), ({"lam_H": "0"}, "lam_H"),
                                      ({"width": "3"}, "width")])
def test_bad_input(bad, name):
    with pytest.raises(SpecError, match=name):
        TH.spec({**BASE, **bad})


def test_tiny_product_is_a_spec_error_not_a_hang():
    """Regression (CLI fuzz): lam_W = lam_H = 1e-300 sent flint's complex_roots into an
    uninterruptible loop (no answer after 9 CPU minutes).  Now refused up front, naming the
    parameters and the range; a product just above the bound still runs."""
    with pytest.raises(SpecError, match=r"n \* lam_H \* lam_W\^L must be >= 1e-100"):
        TH.spec({**BASE, "lam_W": "1e-300", "lam_H": "1e-300"})
    TH.spec({**BASE, "L": 2, "lam_W": "1e-49", "lam_H": "1"})  # n lam_H lam_W^2 = 2e-98
