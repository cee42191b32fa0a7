"""The K = 3 deep-linear CE branch and bound over the variational matrix B
(ncproofs/certify/schatten_dual.py; lemmas L16-L17 of docs/certificates.md).

Independent routes: the reduced objective g is evaluated here from its definition with
numpy's SVD (not through B), the variational identity with numpy's eigendecomposition, and
the deep-collapse value by scipy's scalar minimization of the 1-D ETF objective."""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from ncproofs.certify.bnb import minimize
from ncproofs.certify.certificate import CERTIFIED, LEMMA, REFUTED
from ncproofs.certify.schatten_ce import helmert_float, schatten_constant
from ncproofs.certify.schatten_dual import SchattenDualProblem

Q = helmert_float(3)


def reduced_g(X: np.ndarray, C: float, L: int) -> float:
    """(1/3) sum_k CE(Q x_k, k) + C sum_i sigma_i(X)^(2/(L+1)), by definition."""
    Y = Q @ X
    ce = sum(math.log(np.exp(Y[:, k] - Y[k, k]).sum()) for k in range(3)) / 3
    return ce + C * float((np.linalg.svd(X, compute_uv=False) ** (2 / (L + 1))).sum())


def mat_power(S: np.ndarray, e: float) -> np.ndarray:
    w, V = np.linalg.eigh(S)
    return (V * np.maximum(w, 0) ** e) @ V.T


def coordinates(B: np.ndarray) -> np.ndarray:
    b0 = (B[0, 0] + B[1, 1]) / 2
    return np.array([b0, (B[0, 0] - B[1, 1]) / (2 * b0), B[0, 1] / b0])


def collapse_scale(C: float, L: int) -> tuple[float, float]:
    """min_a of g(a Q^T) = log(1 + 2 e^(-a)) + 2 C a^p (scipy; Y = a (I - 11^T/3) has
    margins a and X = a Q^T singular values a, a)."""
    p = 2 / (L + 1)
    res = minimize_scalar(lambda a: math.log1p(2 * math.exp(-a)) + 2 * C * a ** p,
                          bounds=(1e-6, 60), method="bounded", options={"xatol": 1e-12})
    return float(res.x), float(res.fun)


@pytest.mark.parametrize("L", [2, 3, 4])
def test_variational_identity_L16(L):
    """C tr S^q = min_B tr(B^-1 S) + kappa tr B^(1/L), attained at B = S^(1-q)/(Cq)."""
    rng = np.random.default_rng(L)
    C = 0.003 * L
    problem = SchattenDualProblem(L, flint.arb(C), upper=1.0)
    q, kappa = 1 / (L + 1), float(problem.kappa.mid())

    def rhs(B, S):
        return float(np.trace(np.linalg.solve(B, S))) + kappa * float(
            np.trace(mat_power(B, 1 / L)))

    for _ in range(5):
        X = rng.normal(scale=4, size=(2, 3))
        S = X @ X.T
        lhs = C * float(np.trace(mat_power(S, q)))
        B = mat_power(S, 1 - q) / (C * q)
        assert rhs(B, S) == pytest.approx(lhs, rel=1e-12)
        for _ in range(5):
            E = rng.normal(size=(2, 2))
            B2 = B + 0.3 * np.trace(B) * (E @ E.T) / np.trace(E @ E.T)
            assert rhs(B2, S) >= lhs * (1 - 1e-12)


def _samples(L: int, rng: np.random.Generator):
    """(X, box around X's optimal B) pairs: near deep collapse, where the bounds are tight,
    and random points with boxes of random size, some reaching |r| > 1."""
    C = float(schatten_constant(L, 2, Fraction(1, 1000), Fraction(1, 1000)).mid())
    a, _ = collapse_scale(C, L)
    q = 1 / (L + 1)
    out = []
    for i in range(40):
        scale = 0.02 if i < 25 else 0.6
        X = a * Q.T + rng.normal(scale=scale * a, size=(2, 3))
        x = coordinates(mat_power(X @ X.T, 1 - q) / (C * q))
        w = 10.0 ** rng.uniform(-4, -0.5)
        lo = x - w * rng.uniform(0, 1, 3) * np.array([x[0], 1, 1])
        hi = x + w * rng.uniform(0, 1, 3) * np.array([x[0], 1, 1])
        lo[0] = max(lo[0], 0.0)
        out.append((X, lo, hi))
    for _ in range(10):  # boxes long in b0, below the point: the Loewner rule decides these
        X = a * Q.T + rng.normal(scale=0.02 * a, size=(2, 3))
        x = coordinates(mat_power(X @ X.T, 1 - q) / (C * q))
        lo = np.array([rng.uniform(0.1, 0.5) * x[0], x[1] - 1e-3, x[2] - 1e-3])
        out.append((X, lo, np.array([1.01 * x[0], x[1] + 1e-3, x[2] + 1e-3])))
    return C, out


def _violations(problem: SchattenDualProblem, C: float, L: int, samples) -> int:
    return sum(problem.box_bound(lo, hi)[0] > reduced_g(X, C, L) + 1e-13
               for X, lo, hi in samples)


@pytest.mark.parametrize("L", [2, 3])
def test_box_bound_never_exceeds_a_sampled_value(L):
    C, samples = _samples(L, np.random.default_rng(10 + L))
    problem = SchattenDualProblem(L, flint.arb(C), upper=1.0)
    assert _violations(problem, C, L, samples) == 0
    # and the bound is not vacuous: tight (1e-6) on small boxes at deep collapse
    a, value = collapse_scale(C, L)
    x = coordinates(mat_power(a * a * np.eye(2), 1 - 1 / (L + 1)) / (C / (L + 1)))
    lo, hi = x * (1 - 1e-5) + np.array([0, -1e-5, -1e-5]), x * (1 + 1e-5) + np.array(
        [0, 1e-5, 1e-5])
    assert value * (1 - 1e-6) < problem.box_bound(lo, hi)[0] <= value + 1e-13


class HalvedDual(SchattenDualProblem):
    """Mutation: the quadratic term of L17 halved (a broken dual bound)."""

    def dual_data(self, B):
        const, Y = super().dual_data(B)
        return const, Y * flint.arb(0.5)


class LowerCornerLoewner(SchattenDualProblem):
    """Mutation: the 'upper' Loewner bound taken at the box's lowest b0."""

    @staticmethod
    def loewner_upper(lo, hi, c):
        h, rho = SchattenDualProblem.loewner_upper(lo, hi, c)
        return float(lo[0]), rho


@pytest.mark.parametrize("mutant", [HalvedDual, LowerCornerLoewner])
def test_broken_bounding_rules_are_caught(mutant):
    L = 2
    C, samples = _samples(L, np.random.default_rng(12))
    assert _violations(mutant(L, flint.arb(C), upper=1.0), C, L, samples) > 0


def test_search_certifies_deep_collapse_and_matches_scipy():
    """K = 3, L = 2, n = 2, lam = 5e-3: the branch and bound over B closes at the
    deep-collapse value computed independently by scipy."""
    L = 2
    C_arb = schatten_constant(L, 2, Fraction(5, 1000), Fraction(5, 1000))
    C = float(C_arb.mid())
    a, value = collapse_scale(C, L)
    start = SchattenDualProblem.point_of_scale_for(L, C_arb, a)
    problem = SchattenDualProblem(L, C_arb, upper=value * (1 + 1e-9), starts=[start])
    leaves: list = []
    res = minimize(problem, rel_gap=5e-10, max_seconds=300, polish=False, leaves=leaves)
    assert res.converged
    assert res.lower == pytest.approx(value, rel=1e-9)
    assert res.upper == pytest.approx(value, rel=1e-9)
    assert len(leaves) >= res.boxes // 2  # the partition: every leaf of the bisection tree


def test_theorem_certifies_k3_and_refutes_planted_wrong_claims():
    from ncproofs.theorems.base import ClosedForm, get_theorem
    from ncproofs.theorems.deep_linear_ce import etf_point

    th = get_theorem("deep-linear-ce")
    spec = th.spec({"K": 3, "n": 2, "d": 3, "L": 2, "lam_W": "5e-3", "lam_H": "5e-3"})
    C = float(schatten_constant(2, 2, Fraction(5, 1000), Fraction(5, 1000)).mid())
    a, value = collapse_scale(C, 2)
    closed = ClosedForm(objective=None, regime="deep collapse", minimizer={"a": a},
                        point=etf_point(spec, a))
    cand_upper = th.upper_bound(spec, closed.point)
    cand = flint.arb(value) + flint.arb(0, 1e-15)
    cert = th._certify_dual(spec, closed, cand, cand_upper, flint.arb(0), {}, 1)
    assert cert.status == CERTIFIED and all(a_.kind == LEMMA for a_ in cert.assumptions)
    assert cert.proof["lower"]["kind"] == "schatten-dual"
    for factor in (1 + 1e-6, 1 - 1e-6):  # above: the point refutes; below: the bound does
        wrong = cand * flint.arb(factor)
        cert = th._certify_dual(spec, closed, wrong, cand_upper, flint.arb(0), {}, 1)
        assert cert is not None and cert.status == REFUTED


def test_only_k3():
    with pytest.raises(ValueError, match="K = 3"):
        SchattenDualProblem(2, flint.arb(0.01), upper=1.0, K=4)
