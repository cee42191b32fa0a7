"""sphere-gnc (Jiang et al.): margin codes, rigorous upper bounds, mutations, bad input.

Independent routes: one-vs-rest distances by a cvxpy QP (nearest point of the convex
hull), closed-form trigonometry, and random search against the proved upper bounds."""

from __future__ import annotations

import numpy as np
import pytest

from ncproofs.certify.certificate import CERTIFIED
from ncproofs.certify.margin import (
    code_margin,
    gram_margin_upper,
    polygon_margin_upper,
    radon_convexity_margin_upper,
    radon_margin_upper,
)
from ncproofs.spec import SpecError
from ncproofs.theorems.sphere_gnc import (
    MarginSpec,
    SphereGeneralizedCollapse,
    cross_polytope_code,
    polygon_code,
)

TH = SphereGeneralizedCollapse()


def qp_margin(W: np.ndarray) -> float:
    """min_k dist(w_k, conv{w_j : j != k}) by a cvxpy QP (independent of the code under test)."""
    import cvxpy as cp

    K = W.shape[0]
    out = []
    for k in range(K):
        V = np.delete(W, k, axis=0)
        lam = cp.Variable(K - 1, nonneg=True)
        prob = cp.Problem(cp.Minimize(cp.sum_squares(W[k] - lam @ V)), [cp.sum(lam) == 1])
        prob.solve(solver="CLARABEL")
        out.append(np.sqrt(max(prob.value, 0.0)))
    return min(out)


@pytest.mark.parametrize("K,d,expected", [
    (5, 2, 1 - np.cos(2 * np.pi / 5)), (4, 3, 4 / 3), (6, 3, 1.0), (5, 3, 1.0),
])
def test_known_codes_certified(K, d, expected):
    spec = MarginSpec(K=K, d=d)
    closed = TH.closed_form(spec)
    assert abs(qp_margin(closed.point.arrays["W"]) - expected) < 1e-6
    cert = TH.certify(spec, closed)
    assert cert.status == CERTIFIED
    assert cert.lower_bound <= -expected <= cert.upper_bound


def test_octahedron_margin_interval():
    W = cross_polytope_code(6, 3)
    m = code_margin(W, W.T)
    assert float(m.lower()) <= 1.0 <= float(m.upper()) and float(m.rad()) < 1e-12


def test_k_greater_than_2d_inconclusive_with_gap():
    spec = MarginSpec(K=8, d=3)
    cert = TH.certify(spec, TH.closed_form(spec))
    assert cert.status == "inconclusive"
    lower = cert.details["margin_lower_bound"]
    assert 0.73 < lower <= cert.details["margin_upper_bound"] == 1.0
    assert abs(qp_margin(np.array(cert.details["code"])) - lower) < 1e-6


@pytest.mark.parametrize("K,d", [(6, 4), (8, 4), (7, 5), (10, 5)])
def test_orthoplex_regime_certified_every_d(K, d):
    """d + 2 <= K <= 2d, d >= 4: the cross-polytope margin is 1 (independent QP) and the
    Radon-convexity lemma closes the gap (the older Radon lemma gave only 2(1 - 1/3))."""
    spec = MarginSpec(K=K, d=d)
    closed = TH.closed_form(spec)
    assert abs(qp_margin(closed.point.arrays["W"]) - 1.0) < 1e-6
    cert = TH.certify(spec, closed)
    assert cert.status == CERTIFIED and cert.details["margin_upper_bound"] == 1.0
    assert float(radon_margin_upper(d)) > 1.0  # the superseded bound could not certify


def test_orthoplex_mutation_not_certified():
    """A claimed margin 1 + 1e-4 at (d, K) = (4, 6) must not certify (the bound is 1)."""
    spec = MarginSpec(K=6, d=4)
    closed = TH.closed_form(spec)
    closed.objective = closed.objective * 1.0001
    assert TH.certify(spec, closed).status != CERTIFIED


def test_radon_convexity_bound_on_adversarial_codes():
    """The lemma rho <= 1 (K >= d + 2) against the numeric optimizer (independent route:
    the QP margin of the returned code) and against random codes, d = 4, 5."""
    for d, K in [(4, 6), (5, 7)]:
        code = TH.solve(MarginSpec(K=K, d=d), device="cpu", starts=4).point["W"]
        assert qp_margin(code) <= 1.0 + 1e-7
    rng = np.random.default_rng(1)
    for d, K in [(4, 6), (5, 8)]:
        for _ in range(5):
            W = rng.standard_normal((K, d))
            W /= np.linalg.norm(W, axis=1, keepdims=True)
            assert qp_margin(W) <= float(radon_convexity_margin_upper(K, d))
    with pytest.raises(ValueError):
        radon_convexity_margin_upper(5, 4)  # K = d + 1: the simplex has margin 5/4 > 1


def test_mutation_wrong_claims_not_certified():
    spec = MarginSpec(K=5, d=2)
    closed = TH.closed_form(spec)
    closed.objective = closed.objective * 1.0001
    W = polygon_code(5)
    W[0] = [np.cos(0.05), np.sin(0.05)]  # a non-regular pentagon: smaller margin
    closed.point.arrays["W"] = W
    assert TH.certify(spec, closed).status != CERTIFIED


def test_bounds_hold_on_random_codes():
    """Random codes never beat the proved bounds (independent QP margins)."""
    rng = np.random.default_rng(0)
    for d, K in [(2, 5), (3, 5), (3, 7)]:
        bound = min(float(gram_margin_upper(K)[0]), float(radon_margin_upper(d)))
        if d == 2:
            bound = min(bound, float(polygon_margin_upper(K).upper()))
        for _ in range(5):
            W = rng.standard_normal((K, d))
            W /= np.linalg.norm(W, axis=1, keepdims=True)
            assert qp_margin(W) <= bound + 1e-9


def test_numeric_solver_finds_pentagon():
    res = TH.solve(MarginSpec(K=5, d=2), device="cpu", starts=4)
    assert abs(res.summary["margin"] - (1 - np.cos(2 * np.pi / 5))) < 1e-8


@pytest.mark.parametrize("params,name", [({"d": "1"}, "d"), ({"lam_W": "1"}, "lam_W"),
                                         ({"K": "1"}, "K")])
def test_bad_input(params, name):
    with pytest.raises(SpecError, match=name):
        MarginSpec.from_params({"K": "5", "d": "2"} | params)
