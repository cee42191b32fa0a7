"""ufm-mse: closed forms vs independent routes, mutations, bad input."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from ncproofs.certify.relaxation import solve_relaxation
from ncproofs.losses import get_loss
from ncproofs.spec import SpecError
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.ufm_mse import MSESolution, balanced_mse_solution, mse_closed_form

TH = get_theorem("ufm-mse")
BASE = {"K": 4, "n": 3, "lam_W": "3e-3", "lam_H": "7e-3"}


def _run(params, closed=None):
    spec = TH.spec(params)
    closed = closed or TH.closed_form(spec)
    return spec, closed, TH.certify(spec, closed)


@pytest.mark.parametrize("extra", [
    {"bias": "false", "d": 5}, {"lam_b": "0", "d": 3}, {"lam_b": "1", "d": 4},
    {"lam_b": "0.01", "d": 4},
])
def test_certified_and_matches_cvxpy(extra):
    # independent route: the cvxpy relaxation (Clarabel), a different solver and formulation
    spec, closed, cert = _run({**BASE, **extra})
    assert cert.status == "certified", cert.reason
    relax = solve_relaxation(get_loss("mse"), spec.n, spec.lam_W, spec.lam_H, spec.lam_b,
                             spec.bias)
    assert abs(relax.value - float(closed.objective)) < 1e-6


def test_paper_formulas():
    # docs/known_results.md (from the papers): f* = kappa - kappa^2/2 (no bias), and
    # (K-1)/K times that with a free bias; kappa = K sqrt(n lam_W lam_H)
    kappa = 4 * math.sqrt(3 * 3e-3 * 7e-3)
    _, c1, _ = _run({**BASE, "bias": "false", "d": 5})
    _, c2, _ = _run({**BASE, "lam_b": "0", "d": 3})
    assert float(c1.objective) == pytest.approx(kappa - kappa**2 / 2, rel=1e-13)
    assert float(c2.objective) == pytest.approx(0.75 * (kappa - kappa**2 / 2), rel=1e-13)


def test_numeric_multistart_agrees():
    # independent route: torch multi-start on the full nonconvex (W, H, b) problem
    spec, closed, _ = _run({**BASE, "lam_b": "1", "d": 4})
    num = TH.solve(spec, device="cpu", starts=4, seed=3)
    assert num.summary["objective"] == pytest.approx(float(closed.objective), abs=1e-10)


def test_transition_in_lam_b_is_continuous_and_monotone():
    # the ETF -> orthogonal transition: f* increases with lam_b and tends to the bias-free value
    K, t = 4, sp.sqrt(sp.Rational(3 * 21, 10**6))
    vals = [float(balanced_mse_solution(K, t, True, sp.Rational(x)).value)
            for x in ("0", "1/100", "1/30", "1/29", "1", "1000000")]
    assert all(a < b for a, b in zip(vals, vals[1:]))
    nobias = float(balanced_mse_solution(K, t, False, sp.Integer(0)).value)
    assert vals[-1] == pytest.approx(nobias, abs=1e-6)


def test_zero_regime():
    spec, closed, cert = _run({"K": 3, "n": 2, "d": 2, "lam_W": "0.3", "lam_H": "0.4",
                               "bias": "false"})
    assert closed.objective == sp.Rational(1, 2) and cert.status == "certified"


def test_mutation_scaled_value_not_certified():
    spec = TH.spec({**BASE, "lam_b": "1", "d": 4})
    t = sp.sqrt(3 * sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
    sol = balanced_mse_solution(4, t, True, sp.Integer(1))
    bad = mse_closed_form(spec, sol, value_scale=1 + sp.Rational(1, 10**4))
    assert TH.certify(spec, bad).status != "certified"


def test_mutation_wrong_threshold_not_certified():
    # lam_b = 1 lies beyond kappa/(1-kappa): claiming the y = 0 (ETF) branch there is wrong
    spec = TH.spec({**BASE, "lam_b": "1", "d": 4})
    kappa = 4 * sp.sqrt(3 * sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
    wrong = MSESolution(1 - kappa, sp.Integer(0), sp.Rational(1, 8),
                        (3 * (kappa - kappa**2 / 2) + sp.Rational(1, 4)) / 4, "wrong")
    assert TH.certify(spec, mse_closed_form(spec, wrong)).status != "certified"


def test_mutation_wrong_sign_not_certified():
    spec = TH.spec({**BASE, "bias": "false", "d": 5})
    kappa = 4 * sp.sqrt(3 * sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
    wrong = MSESolution(1 + kappa, 1 + kappa, None, kappa + kappa**2 / 2, "wrong sign")
    assert TH.certify(spec, mse_closed_form(spec, wrong)).status != "certified"


def test_too_small_d_not_applicable():
    _, closed, cert = _run({**BASE, "bias": "false", "d": 3})
    assert cert.status == "not-applicable" and "d = 3" in cert.reason
    # the rank-3 value (von Neumann) is what the numeric solve finds (independent route)
    spec = TH.spec({**BASE, "bias": "false", "d": 3})
    num = TH.solve(spec, device="cpu", starts=4, seed=0)
    assert num.summary["objective"] == pytest.approx(
        closed.minimizer["rank_constrained_value_uncertified"], abs=1e-9)


@pytest.mark.parametrize("params,name", [
    ({**BASE, "d": 4, "bias": "false", "lam_b": "0.1"}, "lam_b"),
    ({**BASE, "d": 4, "lam_b": "-1"}, "lam_b"),
    ({**BASE, "d": 4, "K": 1}, "K"),
    ({**BASE, "d": 4, "n": "3,2"}, "n"),
])
def test_bad_input(params, name):
    with pytest.raises(SpecError, match=name):
        TH.spec(params)


def test_imbalanced_not_applicable():
    spec, closed, cert = _run({**BASE, "n": "3,3,3,2", "d": 5})
    assert cert.status == "not-applicable"


@pytest.mark.parametrize("params,kappa,factor", [
    ({"K": 3, "n": 1, "d": 3, "lam_W": "1e-20", "lam_H": "1e-20", "bias": "false"},
     "3e-20", 1),
    ({"K": 3, "n": 1, "d": 3, "lam_W": "1e-20", "lam_H": "1e-20", "lam_b": "0"},
     "3e-20", sp.Rational(2, 3))])
def test_tiny_kappa_dual_not_vacuous(params, kappa, factor):
    """Regression (dual_mse rounding): Y = (Z - I) diag(w) ~ kappa/K fell below the fixed
    2^-60 grid (and Z ~ I in floats lost it), giving the vacuous lower bound 0.  Independent
    route, by hand (Zhou et al.): f* = (K-1)/K (kappa - kappa^2/2) with lam_b = 0, kappa -
    kappa^2/2 bias-free, kappa = K sqrt(n lam_W lam_H) = 3e-20 (SymPy, exact)."""
    spec = TH.spec(params)
    k = sp.Rational(kappa)
    ref = float(factor * (k - k**2 / 2))
    cert = TH.certify(spec, TH.closed_form(spec))
    assert cert.lower_bound > 0
    assert abs(cert.lower_bound - ref) <= 1e-9 * ref
    assert cert.lower_bound <= ref * (1 + 1e-15)


def test_too_small_d_keeps_a_refutation():
    # d < K (closed.point is None, normally not-applicable) with a claimed value half the
    # true one: the d-independent rigorous lower bound exceeds it, so the status must stay
    # refuted (a rigorous refutation is never overwritten by not-applicable); the honest
    # claim at the same d is still not-applicable.
    spec = TH.spec({"K": 4, "n": 3, "d": 2, "lam_W": "3e-3", "lam_H": "7e-3",
                    "bias": "false"})
    closed = TH.closed_form(spec)
    assert closed.point is None and TH.certify(spec, closed).status == "not-applicable"
    closed.objective = closed.objective / 2
    cert = TH.certify(spec, closed)
    assert cert.status == "refuted" and "not applicable" in cert.reason


def test_tiny_lambdas_no_overflow_and_no_false_certificate():
    """Regression (CLI fuzz): lam_W = lam_H = 1e-300 made the dual's rounding grid
    2^(60+~1000) and ``x * grid`` overflowed floats (OverflowError traceback).  Now the
    rounding is exact (checked against Fraction(x), exact from the float).  The
    certificate may stay inconclusive, but its lower bound must not exceed f*, which is
    O(sqrt(lam_W lam_H)) ~ 1e-300 (Zhou et al.'s balanced formula), so <= 1e-290."""
    from fractions import Fraction

    from ncproofs.certify.dual_mse import _grid_for, _round

    x = 3.7e-301
    grid = _grid_for(x)
    assert abs(_round(x, grid) - Fraction(x)) <= Fraction(1, 2 * grid)
    spec, closed, cert = _run({"K": 3, "n": 2, "d": 3, "lam_W": "1e-300", "lam_H": "1e-300"})
    assert cert.status in ("certified", "inconclusive")
    assert cert.lower_bound is None or cert.lower_bound <= 1e-290
