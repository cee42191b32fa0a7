"""sphere-ce (Yaras et al. 2022): closed form, certificate, mutations, bad input.

Independent routes: mpmath evaluation of CE at the ETF Gram matrix (50 digits), the torch
Riemannian multi-start solve, and the cvxpy Gram relaxation."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from ncproofs.certify.certificate import CERTIFIED, NOT_APPLICABLE
from ncproofs.certify.gram import GramCEDual, solve_gram_relaxation
from ncproofs.spec import SpecError
from ncproofs.theorems.sphere_ce import SphereCrossEntropy, SphereSpec, sphere_etf_point

TH = SphereCrossEntropy()


def mp_etf_value(K: int, tau: Fraction) -> mpmath.mpf:
    """CE at the ETF from its Gram entries (1 on the label, -1/(K-1) elsewhere), 50 digits."""
    with mpmath.workdps(50):
        t = mpmath.mpf(tau.numerator) / tau.denominator
        z_true, z_other = t, -t / (K - 1)
        return mpmath.log(mpmath.exp(z_true) + (K - 1) * mpmath.exp(z_other)) - z_true


@pytest.mark.parametrize("K,d,tau", [(4, 3, Fraction(2)), (3, 2, Fraction(10)),
                                     (5, 6, Fraction(1, 2))])
def test_closed_form_matches_mpmath_and_certifies(K, d, tau):
    spec = SphereSpec(K=K, n=2, d=d, tau=tau)
    closed = TH.closed_form(spec)
    assert abs(float(sp.N(closed.objective, 30)) - float(mp_etf_value(K, tau))) < 1e-14
    cert = TH.certify(spec, closed)
    assert cert.status == CERTIFIED
    assert cert.lower_bound <= float(mp_etf_value(K, tau)) <= cert.upper_bound


def test_numeric_riemannian_solve_agrees():
    spec = SphereSpec(K=4, n=2, d=3, tau=2)
    res = TH.solve(spec, device="cpu", starts=6, seed=1)
    assert abs(res.summary["objective"] - float(mp_etf_value(4, Fraction(2)))) < 1e-9
    W = res.point["W"]
    G = W @ W.T
    assert np.allclose(G, (4 * np.eye(4) - 1) / 3, atol=1e-5)  # rows form a simplex ETF


def test_relaxation_and_dense_vsdp_bound():
    """cvxpy value (not rigorous) and the VSDP bound from its solution are both below the
    optimum; the VSDP bound from a *perturbed* primal point is still a valid bound."""
    tau, counts = Fraction(3, 2), (1, 1, 1, 1)
    f_star = float(mp_etf_value(4, tau))
    relax = solve_gram_relaxation(tau, counts)
    assert abs(relax.value - f_star) < 1e-6
    dual = GramCEDual(tau, counts)
    assert f_star - 1e-5 < float(dual.dense_bound(relax.G).value.lower()) <= f_star
    rng = np.random.default_rng(0)
    noisy = relax.G + 0.05 * rng.standard_normal(relax.G.shape)
    assert float(dual.dense_bound((noisy + noisy.T) / 2).value.upper()) <= f_star


def test_imbalanced_relaxation_bound_is_valid():
    """Imbalanced counts: no closed form claimed, but the VSDP bound stays below the
    numeric optimum of the sphere problem (independent torch route)."""
    tau, counts = Fraction(2), (3, 1, 1)
    relax = solve_gram_relaxation(tau, counts)
    bound = float(GramCEDual(tau, counts).dense_bound(relax.G).value.upper())
    spec = SphereSpec(K=3, n="3,1,1", d=2, tau=tau)
    assert TH.closed_form(spec).applicable is False
    res = TH.solve(spec, device="cpu", starts=4)
    assert bound <= res.summary["objective"] + 1e-9


def test_mutation_scaled_closed_form_not_certified():
    spec = SphereSpec(K=4, n=1, d=3, tau=2)
    closed = TH.closed_form(spec)
    closed.objective = closed.objective * sp.Rational(10001, 10000)
    assert TH.certify(spec, closed).status != CERTIFIED


def test_mutation_suboptimal_point_not_certified():
    spec = SphereSpec(K=4, n=1, d=3, tau=2)
    closed = TH.closed_form(spec)
    closed.point = sphere_etf_point(spec, margin_scale=1.01)
    assert TH.certify(spec, closed).status != CERTIFIED


def test_mutation_wrong_dual_point_not_tight():
    """A symmetric dual point at 2 q* is valid but not tight: its bound is far below."""
    tau = Fraction(2)
    q_star = 1 / (mpmath.exp(tau * 4 / 3) + 3)
    good = GramCEDual(tau, (1,) * 4).symmetric_bound(Fraction(float(q_star)))
    bad = GramCEDual(tau, (1,) * 4).symmetric_bound(Fraction(float(2 * q_star)))
    assert float(bad.value.upper()) < float(good.value.lower()) - 1e-3


def test_too_small_d_not_applicable():
    spec = SphereSpec(K=5, n=1, d=3, tau=2)
    closed = TH.closed_form(spec)
    assert TH.certify(spec, closed).status == NOT_APPLICABLE
    assert "sphere-gnc" in closed.reason


@pytest.mark.parametrize("params,name", [
    ({"tau": "0"}, "tau"), ({"tau": "-1"}, "tau"), ({"lam_W": "1e-3"}, "lam_W"),
    ({"lam_H": "2"}, "lam_H"), ({"bias": "true"}, "bias"), ({"K": "1"}, "K"),
])
def test_bad_input(params, name):
    base = {"K": "4", "n": "2", "d": "3", "tau": "1"}
    with pytest.raises(SpecError, match=name):
        SphereSpec.from_params(base | params)
