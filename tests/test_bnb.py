"""Interval branch and bound (ncproofs/certify/bnb.py) and the reduced deep-linear CE
problem (ncproofs/certify/schatten_ce.py).

Independent routes for the expected values: published global minima of classical test
functions (six-hump camel -1.0316284534898774; Branin 5/(4 pi) = 0.39788735772973816;
Rosenbrock 0 at (1, 1)); Zhu et al.'s closed form for the ufm-ce scalar reduction,
f* = -log(1 - (K-1) t) + (K-1) t log(1/t - (K-1)), t = sqrt(n lam_W lam_H), derived by hand
from psi'(a) = 0; finite differences for the jets; numpy's SVD for the Schatten term; scipy's
bounded scalar minimization for the deep-collapse value.  Mutation tests: a gradient or
Hessian enclosure scaled down makes box bounds exceed sampled values (caught), and
perturbed claims are refuted, never certified.
"""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from ncproofs.certify.bnb import FunctionProblem, Jet, ball, box_lower_bound, minimize
from ncproofs.certify.bnb_functions import branin_problem, camel_problem
from ncproofs.certify.certificate import CERTIFIED, LEMMA, REFUTED, upper_end
from ncproofs.certify.schatten_ce import (
    PhiSeries,
    SchattenCEProblem,
    schatten_constant,
    schatten_power_sum,
)

CAMEL_MIN = -1.0316284534898774
BRANIN_MIN = 5 / (4 * math.pi)


def rosenbrock(v):
    x, y = v
    return 100 * (y - x.square()).square() + (1 - x).square()


CAMEL = camel_problem()
BRANIN = branin_problem()


@pytest.mark.parametrize("problem,known", [(CAMEL, CAMEL_MIN), (BRANIN, BRANIN_MIN)])
def test_certifies_known_global_minima(problem, known):
    res = minimize(problem, rel_gap=1e-9, max_seconds=60)
    assert res.converged
    assert res.lower <= known <= res.upper + 1e-15
    assert res.upper - res.lower <= 1e-9 * abs(known)


def test_rosenbrock_zero_with_absolute_gap():
    res = minimize(FunctionProblem(rosenbrock, [-2, -2], [2, 2]), abs_gap=1e-10,
                   max_seconds=60)
    assert res.converged and res.lower <= 0.0 <= res.upper < 1e-10


def test_refutes_planted_wrong_claims():
    # a claimed minimum above the true one: a point below it is found
    res = minimize(CAMEL, stop_below=-1.0, max_seconds=30)
    assert res.upper < -1.0
    # a claimed minimum below the true one: the lower bound passes it
    res = minimize(CAMEL, stop_above=-1.05, max_seconds=30)
    assert res.lower > -1.05


@pytest.mark.parametrize("max_boxes", [1, 5, 40])
def test_budget_never_gives_lower_above_known_value(max_boxes):
    res = minimize(CAMEL, max_boxes=max_boxes, polish=False, max_seconds=30)
    assert res.lower <= CAMEL_MIN
    if not res.converged:
        assert res.live > 0 and res.largest_live_width > 0 and "budget" in res.reason


def _violations(problem, lo, hi, mutation, trials=40, seed=0):
    """Boxes whose engine bound exceeds the value at a sampled point of the box."""
    rng = np.random.default_rng(seed)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    bad = 0
    for _ in range(trials):
        c = rng.uniform(lo, hi)
        w = 10 ** rng.uniform(-3, 0) * (hi - lo) / 4
        b = box_lower_bound(problem, c - w, c + w, mutation=mutation)
        xs = np.vstack([rng.uniform(c - w, c + w, size=(20, len(lo))), c - w, c + w, c])
        if b > min(upper_end(problem.value(x)) for x in xs):
            bad += 1
    return bad


def test_box_bounds_are_sound():
    assert _violations(CAMEL, [-3, -2], [3, 2], None) == 0
    assert _violations(BRANIN, [-5, 0], [10, 15], None) == 0


@pytest.mark.parametrize("mutation", [{"gradient_scale": 0.5}, {"hessian_scale": 0.5}])
def test_mutation_broken_enclosure_is_caught(mutation):
    """A deliberately shrunk gradient or Hessian enclosure must produce box bounds above
    values the function actually takes."""
    assert _violations(CAMEL, [-3, -2], [3, 2], mutation) + _violations(
        BRANIN, [-5, 0], [10, 15], mutation) > 0


def test_jet_matches_finite_differences():
    x0 = np.array([0.3, -0.7])
    j = CAMEL.jet(x0, x0, 2)

    def f(x):
        return float(CAMEL.value(np.asarray(x, float)).mid())

    h = 1e-5
    for i in range(2):
        e = np.eye(2)[i] * h
        assert abs(float(j.g[i].mid()) - (f(x0 + e) - f(x0 - e)) / (2 * h)) < 1e-6
        for k in range(2):
            ek = np.eye(2)[k] * h
            fd = (f(x0 + e + ek) - f(x0 + e - ek) - f(x0 - e + ek) + f(x0 - e - ek)) / (4 * h * h)
            assert abs(float(j.h[i, k].mid()) - fd) < 1e-4


def test_ufm_ce_scalar_reduction_matches_zhu_closed_form():
    """psi(a) = log(1 + (K-1) e^-a) + (K-1) t a (the L = 1 deep-collapse scalar)."""
    K, t = 4, math.sqrt(5 * 1e-3 * 1e-3)
    zhu = -math.log(1 - (K - 1) * t) + (K - 1) * t * math.log(1 / t - (K - 1))
    a_max = math.log(K) / ((K - 1) * t)  # psi(a) > log K = psi(0) beyond it

    def psi(v):
        (a,) = v
        return (a * -1).exp().__mul__(K - 1).log1p() + a * ((K - 1) * t)

    res = minimize(FunctionProblem(psi, [0.0], [a_max]), max_seconds=30)
    assert res.converged and res.lower <= zhu <= res.upper + 1e-15
    assert res.upper - res.lower <= 1e-9 * zhu


def test_phi_series_and_closed_form_agree_with_numeric_derivatives():
    import mpmath

    q = Fraction(1, 3)
    phi = PhiSeries(flint.arb(1) / 3)
    for rho in (0.0, 0.05, 0.3, 0.49, 0.6, 0.9):
        val, d1, d2 = phi.enclose(flint.arb(rho))

        def f(r):
            qq = mpmath.mpf(q.numerator) / q.denominator
            return (1 + mpmath.sqrt(r)) ** qq + (1 - mpmath.sqrt(r)) ** qq

        with mpmath.workdps(40):
            exact = f(mpmath.mpf(rho)) if rho else mpmath.mpf(2)
            assert val.contains(flint.arb(float(exact))) or abs(float(val.mid()) - exact) < 1e-15
            if rho > 0:
                e1 = mpmath.diff(f, mpmath.mpf(rho))
                e2 = mpmath.diff(f, mpmath.mpf(rho), 2)
                assert abs(float(d1.mid()) - float(e1)) < 1e-10
                assert abs(float(d2.mid()) - float(e2)) < 1e-9
            else:  # Phi = 2 sum_j binom(q, 2j) rho^j: Phi'(0) = 2 binom(q, 2)
                b2 = q * (q - 1) / 2
                assert abs(float(d1.mid()) - 2 * float(b2)) < 1e-12


@pytest.mark.parametrize("rows,q", [(1, Fraction(1, 3)), (2, Fraction(1, 3)), (2, Fraction(1, 5)),
                                    (2, Fraction(1, 2))])
def test_schatten_term_matches_svd(rows, q):
    rng = np.random.default_rng(rows)
    phi = PhiSeries(flint.arb(q.numerator) / q.denominator) if rows == 2 else None
    for _ in range(5):
        X = rng.normal(size=(rows, rows + 1)) * rng.uniform(0.1, 5)
        jets = Jet.variables([flint.arb(v) for v in X.ravel()], 1)
        grid = [jets[r * (rows + 1):(r + 1) * (rows + 1)] for r in range(rows)]
        S = schatten_power_sum(grid, flint.arb(q.numerator) / q.denominator, phi)
        expected = (np.linalg.svd(X, compute_uv=False) ** (2 * float(q))).sum()
        assert abs(float(S.v.mid()) - expected) < 1e-12 * expected


def _psi_float(K, L, n, lam):
    """(min, argmin) over a >= 0 of the deep-collapse scalar, by scipy in floats."""
    c = (L + 1) / 2 * lam * n ** (1 / (L + 1))
    r = minimize_scalar(lambda a: math.log1p((K - 1) * math.exp(-a))
                        + (K - 1) * c * a ** (2 / (L + 1)),
                        bounds=(1e-9, 60), method="bounded", options={"xatol": 1e-12})
    return (r.fun, r.x) if r.fun < math.log(K) else (math.log(K), 0.0)


def _deep_problem(K, L, n, lam):
    _, a = _psi_float(K, L, n, float(lam))
    C = schatten_constant(L, n, lam, lam)
    base = SchattenCEProblem(K, Fraction(2, L + 1), C)
    return SchattenCEProblem(K, Fraction(2, L + 1), C, starts=[base.etf_point(a)]), a


def test_reduced_problem_k2_certified_equals_deep_collapse():
    problem, _ = _deep_problem(2, 3, 2, Fraction(5, 1000))
    res = minimize(problem, rel_gap=1e-9, max_seconds=60)
    expected, _ = _psi_float(2, 3, 2, 5e-3)
    assert res.converged and res.upper - res.lower <= 1e-9 * expected
    assert abs(res.upper - expected) < 1e-12


def test_reduced_problem_k3_sound_and_tight_at_etf():
    problem, a = _deep_problem(3, 2, 2, Fraction(1, 1000))
    expected, _ = _psi_float(3, 2, 2, 1e-3)
    x = problem.etf_point(a)
    assert abs(float(problem.value(x).mid()) - expected) < 1e-12
    # a thin box around the ETF is closed by the convexity rule at the candidate value
    b = box_lower_bound(problem, x - 1e-3, x + 1e-3)
    assert expected - 1e-12 < b <= expected + 1e-15
    lo, hi = x - 3, x + 3
    assert _violations(problem, lo, hi, None, trials=12) == 0
    assert _violations(problem, lo, hi, {"gradient_scale": 0.3}, trials=12) > 0


def _theorem_case(K, L, lam):
    """deep-linear-ce pieces without its (slow) 1-D candidate search: a from scipy, the
    claim = the reduced objective at the ETF point (>= psi*, within rounding)."""
    from ncproofs.theorems.base import ClosedForm, get_theorem
    from ncproofs.theorems.deep_linear_ce import etf_point, reduced_problem

    th = get_theorem("deep-linear-ce")
    spec = th.spec({"K": K, "n": 2, "d": K, "L": L, "lam_W": lam, "lam_H": lam})
    _, a = _psi_float(K, L, 2, float(Fraction(lam)))
    problem = reduced_problem(spec, a)
    cand = problem.value(problem.etf_point(a))
    closed = ClosedForm(objective=None, regime="deep collapse", minimizer={"a": a},
                        point=etf_point(spec, a))
    return th, spec, closed, cand, th.upper_bound(spec, closed.point)


def test_deep_linear_ce_bnb_certificate_uses_lemmas_only():
    th, spec, closed, cand, cand_upper = _theorem_case(2, 3, "5e-3")
    cert = th._certify_bnb(spec, closed, cand, cand_upper, flint.arb(0), {}, 30)
    assert cert.status == CERTIFIED and cert.lower_bound_source == "interval branch-and-bound"
    assert all(a.kind == LEMMA for a in cert.assumptions)
    # mutation: a claim 1e-6 too high is refuted by the point, one too low by the bound
    for factor in (1 + 1e-6, 1 - 1e-6):
        wrong = cand * flint.arb(factor)
        cert = th._certify_bnb(spec, closed, wrong, cand_upper, flint.arb(0), {}, 30)
        assert cert is not None and cert.status == REFUTED


def test_deep_linear_ce_k3_not_certified_within_small_budget():
    th, spec, closed, cand, cand_upper = _theorem_case(3, 2, "1e-3")
    weak = flint.arb(0.0125)  # about the 1-D bound of this cell (the example)
    cert = th._certify_bnb(spec, closed, cand, cand_upper, weak, {}, 2)
    assert cert is None or (cert.status != CERTIFIED and cert.lower_bound <= float(cand.mid()))


def test_ball_encloses_interval():
    b = ball(-1.5, 2.25)
    assert b.contains(flint.arb(-1.5)) and b.contains(flint.arb(2.25))
