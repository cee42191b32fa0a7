"""ufm-ce (Zhu et al. 2021): closed form vs independent routes, certificate mutations.

Independent routes used here:
* mpmath: golden-section minimization of the scalar problem at 40 digits (no SymPy, no
  closed-form root);
* torch: the full nonconvex (W, H, b) problem from random starts;
* the Hessian at the origin (autograd), whose sign change locates the threshold K t = 1
  without the derivation.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from ncproofs.certify.dual import CEDual, softmax_columns
from ncproofs.certify.frames import FramePoint
from ncproofs.certify.intervals import isqrt_fraction_below
from ncproofs.pipeline import verify
from ncproofs.theorems import get_theorem
from ncproofs.theorems.ufm_ce import etf_closed_form

TH = get_theorem("ufm-ce")


def spec(**kw):
    base = {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3"}
    base.update(kw)
    return TH.spec(base)


def mpmath_scalar_optimum(K: int, t: float) -> mpmath.mpf:
    """min over a >= 0 of log(1 + (K-1) e^{-a}) + (K-1) t a by golden section (40 digits).

    This is the class-mean relaxation restricted to symmetric logits, written by hand."""
    with mpmath.workdps(40):
        t = mpmath.mpf(t)

        def g(a):
            return mpmath.log(1 + (K - 1) * mpmath.exp(-a)) + (K - 1) * t * a

        lo, hi = mpmath.mpf(0), mpmath.mpf(60)
        phi = (mpmath.sqrt(5) - 1) / 2
        for _ in range(250):
            x1, x2 = hi - phi * (hi - lo), lo + phi * (hi - lo)
            if g(x1) < g(x2):
                hi = x2
            else:
                lo = x1
        return g((lo + hi) / 2)


@pytest.mark.parametrize(
    "K, n, lam_W, lam_H",
    [(4, 3, "3e-3", "7e-3"), (3, 5, "1e-3", "1e-3"), (10, 2, "1e-4", "2e-3"), (4, 3, "0.3", "0.3"),
     (5, 1, "0.05", "0.05")],
)
def test_closed_form_value_matches_mpmath_minimization(K, n, lam_W, lam_H):
    s = spec(K=K, n=n, d=K, lam_W=lam_W, lam_H=lam_H)
    closed = TH.closed_form(s)
    t = math.sqrt(n * float(s.lam_W) * float(s.lam_H))
    reference = mpmath_scalar_optimum(K, t)
    assert float(closed.objective) == pytest.approx(float(reference), rel=1e-14, abs=1e-15)


@pytest.mark.parametrize(
    "params",
    [
        {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1e-2"},
        {"K": 3, "n": 4, "d": 2, "lam_W": "2e-3", "lam_H": "1e-3", "bias": "false"},
        {"K": 5, "n": 2, "d": 6, "lam_W": "1e-2", "lam_H": "1e-2"},
        {"K": 4, "n": 3, "d": 5, "lam_W": "0.3", "lam_H": "0.3"},
    ],
)
def test_closed_form_matches_full_numeric_problem(params):
    """The torch solve of the full (W, H, b) problem from random starts reaches the
    closed-form value, and its solution is collapsed (NC1 ~ 0)."""
    s = TH.spec(params)
    closed = TH.closed_form(s)
    numeric = TH.solve(s, device="cpu", starts=4, seed=1)
    assert numeric.summary["objective"] == pytest.approx(float(closed.objective), rel=1e-11)
    assert numeric.summary["grad_norm"] < 1e-8
    if closed.regime.startswith("collapse"):
        assert numeric.summary["metrics"]["NC1"] < 1e-8
        assert numeric.summary["metrics"]["NC2_W"] < 1e-5


def test_numeric_solution_has_the_predicted_scales():
    """|w_k| and |h| of the numeric optimum equal alpha sqrt((K-1)/K) and beta sqrt((K-1)/K)."""
    s = spec()
    closed = TH.closed_form(s)
    numeric = TH.solve(s, device="cpu", starts=2, seed=3)
    W, H = numeric.point["W"], numeric.point["H"]
    scale = math.sqrt((s.K - 1) / s.K)
    assert np.linalg.norm(W, axis=1) == pytest.approx(closed.minimizer["alpha"] * scale, rel=1e-6)
    assert np.linalg.norm(H, axis=0) == pytest.approx(closed.minimizer["beta"] * scale, rel=1e-6)
    b = numeric.point["b"].ravel()
    assert np.abs(b - b.mean()).max() < 1e-7  # lam_b = 0: b* = c 1 for any c (CE ignores c)


def test_threshold_from_the_hessian_at_the_origin():
    """Independent of the derivation: the origin has negative curvature iff K t < 1."""
    K, n, lam = 4, 3, None
    # K t = K sqrt(n) lam with lam_W = lam_H = lam; K t = 1 at lam = 1/(K sqrt(n)).
    lam_star = 1 / (K * math.sqrt(n))
    below = spec(lam_W=repr(lam_star * 0.98), lam_H=repr(lam_star * 0.98))
    above = spec(lam_W=repr(lam_star * 1.02), lam_H=repr(lam_star * 1.02))
    curv_below = TH.landscape(below, TH.closed_form(below))["origin"]["min_eigenvalue"]
    curv_above = TH.landscape(above, TH.closed_form(above))["origin"]["min_eigenvalue"]
    assert curv_below < -1e-4 and curv_above > -1e-12
    assert TH.closed_form(below).regime.startswith("collapse")
    assert TH.closed_form(above).regime.startswith("zero")
    del lam


def test_saddle_at_origin_and_psd_at_minimizer():
    s = spec()
    land = TH.landscape(s, TH.closed_form(s))
    assert land["origin"]["min_eigenvalue"] < -0.01
    assert land["origin"]["value_along_direction"] < 0
    assert land["closed_form"]["min_eigenvalue"] > -1e-10
    assert land["closed_form"]["grad_norm"] < 1e-12


# ---------------------------------------------------------------- certificates


@pytest.mark.parametrize(
    "params",
    [
        {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1e-2"},
        {"K": 4, "n": 3, "d": 3, "lam_W": "3e-3", "lam_H": "7e-3", "bias": "false"},
        {"K": 4, "n": 3, "d": 5, "lam_W": "0.3", "lam_H": "0.3"},
        {"K": 4, "n": 3, "d": 1, "lam_W": "0.3", "lam_H": "0.3"},  # origin fits any d
        {"K": 40, "n": 2, "d": 39, "lam_W": "1e-4", "lam_H": "1e-4"},
    ],
)
def test_certified(params):
    s = TH.spec(params)
    cert = TH.certify(s, TH.closed_form(s))
    assert cert.status == "certified" and cert.rigorous
    assert cert.lower_bound <= float(TH.closed_form(s).objective) <= cert.upper_bound
    assert cert.gap < 1e-12


def test_relaxation_value_is_reported_not_trusted():
    s = spec()
    cert = TH.certify(s, TH.closed_form(s))
    relax = cert.details["relaxation"]
    assert relax["rigorous"] is False
    assert relax["value"] == pytest.approx(cert.lower_bound, rel=1e-6)


def _scaled_point(closed, factor_W=1.0, factor_H=1.0):
    if isinstance(closed.point, FramePoint):  # stored by structure: scale its exact scales
        point = dataclasses.replace(closed.point, alpha=closed.point.alpha * factor_W,
                                    beta=closed.point.beta * factor_H)
        return dataclasses.replace(closed, point=point)
    point = dataclasses.replace(closed.point, arrays=dict(closed.point.arrays))
    point.arrays["W"] = point.arrays["W"] * factor_W
    point.arrays["H"] = point.arrays["H"] * factor_H
    return dataclasses.replace(closed, point=point)


def test_mutation_scaled_closed_form_point_not_certified():
    s = spec()
    closed = TH.closed_form(s)
    cert = TH.certify(s, _scaled_point(closed, 1 + 1e-4, 1 + 1e-4))
    assert cert.status != "certified"


def test_mutation_scaled_claimed_value_refuted():
    s = spec()
    closed = TH.closed_form(s)
    wrong = dataclasses.replace(closed, objective=closed.objective * sp.Rational(10001, 10000))
    cert = TH.certify(s, wrong)
    assert cert.status == "refuted"


def test_mutation_wrong_etf_scale_not_certified():
    """Swap the paper's scale relation h = sqrt(lam_W/(n lam_H)) w for its inverse."""
    s = spec()
    closed = TH.closed_form(s)
    a, alpha = closed.minimizer["a"], closed.minimizer["alpha"]
    ratio = math.sqrt(float(s.lam_H) / (s.n[0] * float(s.lam_W)))  # wrong: inverted
    alpha_wrong = math.sqrt(a / ratio)
    if isinstance(closed.point, FramePoint):  # W = alpha_wrong P, H = ratio W^T
        point = dataclasses.replace(closed.point, alpha=alpha_wrong, beta=alpha_wrong * ratio)
    else:
        point = dataclasses.replace(closed.point, arrays=dict(closed.point.arrays))
        point.arrays["W"] = point.arrays["W"] / alpha * alpha_wrong
        point.arrays["H"] = point.arrays["W"].T * ratio
    cert = TH.certify(s, dataclasses.replace(closed, point=point))
    assert cert.status != "certified"


@pytest.mark.parametrize("lam", ["0.13", "0.16"])
def test_mutation_wrong_threshold_claims_etf_value(lam):
    """Rule (K-1) t < 1 instead of K t < 1: for 1/K <= t < 1/(K-1) it claims the ETF
    formula f = -log(1-(K-1)t) + (K-1) t log((1-(K-1)t)/t); the truth is log K."""
    s = spec(K=4, n=4, lam_W=lam, lam_H=lam)  # t = 2 lam
    t = sp.Rational(2) * sp.Rational(lam)
    assert 4 * t >= 1 > 3 * t
    formula = -sp.log(1 - 3 * t) + 3 * t * sp.log((1 - 3 * t) / t)
    true_closed = TH.closed_form(s)
    wrong = dataclasses.replace(true_closed, objective=formula)
    assert TH.certify(s, wrong).status == "refuted"
    assert TH.certify(s, true_closed).status == "certified"


def test_mutation_wrong_threshold_claims_zero_just_below():
    """Rule (K+1) t < 1: for K/(K+1) <= K t < 1 it claims W = H = 0 (value log K) where
    the ETF is optimal.  Close to the threshold the two values differ by little."""
    s = spec(K=4, n=1, lam_W="0.24", lam_H="0.24")  # K t = 0.96
    assert TH.closed_form(s).regime.startswith("collapse")
    wrong = etf_closed_form(s, None)
    # the claimed point's value is the claim itself, so only a gap shows: not certified
    assert TH.certify(s, wrong).status == "inconclusive"


def test_mutation_claiming_zero_below_threshold_refuted():
    s = spec()
    wrong = etf_closed_form(s, None)  # claims W = H = 0 although K t < 1
    cert = TH.certify(s, wrong)
    assert cert.status == "inconclusive" and cert.gap > 0.1


def test_too_small_d_not_applicable():
    s = spec(K=6, n=2, d=3, lam_W="1e-3", lam_H="1e-3")
    cert = TH.certify(s, TH.closed_form(s))
    assert cert.status == "not-applicable"
    assert "d = 3 < K - 1 = 5" in cert.reason
    assert cert.upper_bound is None


def test_imbalanced_not_applicable():
    s = spec(n="6,3,1,2")
    cert = TH.certify(s, TH.closed_form(s))
    assert cert.status == "not-applicable"


# ---------------------------------------------------------------- dual bounds


def test_dense_dual_bound_is_below_numeric_optimum_for_any_dual_point():
    """Weak duality: any column-stochastic P gives a bound <= the optimum (found by the
    full numeric solve), including imbalanced counts and every bias mode."""
    rng = np.random.default_rng(0)
    for counts, bias, lam_b in [((3, 3, 3), False, 0), ((5, 2, 1), True, 0),
                                ((5, 2, 1), True, Fraction(1, 50))]:
        s = TH.spec({"K": 3, "n": ",".join(map(str, counts)), "d": 3, "lam_W": "1e-2",
                     "lam_H": "1e-2", "bias": str(bias).lower(), "lam_b": str(lam_b)})
        optimum = TH.solve(s, device="cpu", starts=4, seed=0).summary["objective"]
        dual = CEDual(counts, s.lam_W, s.lam_H, bias, Fraction(lam_b))
        for _ in range(3):
            P = rng.dirichlet(np.ones(3), size=3).T
            bound = dual.dense_bound(P)
            assert float(bound.value.upper()) <= optimum + 1e-12


def test_dense_dual_at_numeric_logits_is_tight():
    s = TH.spec({"K": 3, "n": "5,2,1", "d": 3, "lam_W": "1e-2", "lam_H": "1e-2"})
    numeric = TH.solve(s, device="cpu", starts=4, seed=0)
    W, H, b = numeric.point["W"], numeric.point["H"], numeric.point["b"]
    Z = W @ H + b
    y = np.repeat(np.arange(3), s.n)
    means = np.stack([Z[:, y == k].mean(axis=1) for k in range(3)], axis=1)
    bound = CEDual(s.n, s.lam_W, s.lam_H, True).dense_bound(softmax_columns(means))
    assert float(bound.value.lower()) == pytest.approx(numeric.summary["objective"], rel=1e-9)


def test_symmetric_dual_rejects_infeasible_point():
    dual = CEDual((3,) * 4, Fraction(3, 1000), Fraction(7, 1000))
    t_below = isqrt_fraction_below(3 * Fraction(3, 1000) * Fraction(7, 1000))
    dual.symmetric_bound(t_below)
    with pytest.raises(ValueError, match="infeasible"):
        dual.symmetric_bound(t_below + Fraction(1, 10**6))


def test_decide_never_certifies_non_finite_bounds():
    """A ball that lost all precision (e.g. arb's pow of a ball around 0 is nan/inf)
    must not turn into an infinite tolerance."""
    import flint

    from ncproofs.certify.certificate import decide

    bad = flint.arb(0, 1e-3) ** 2  # nan or inf in python-flint 0.9
    for lower, upper in [(flint.arb(1), bad), (bad, flint.arb(1)), (flint.arb("nan"), bad)]:
        cert = decide(method="m", lower=lower, upper=upper, claimed=flint.arb(1))
        assert cert.status != "certified"
    cert = decide(method="m", lower=flint.arb(1), upper=flint.arb(1), claimed=bad)
    assert cert.status != "certified"


@pytest.mark.parametrize("lam", ["1e-12", "1e-20"])
def test_tiny_optimum_certified_and_mutations_refused(lam):
    """f* ~ 1e-11 / 1e-18: the tolerance is relative, so a claim off by 1e-4 relative (or
    a claim of 0) must not pass; the true claim must still certify (128-bit balls)."""
    s = spec(K=3, n=1, d=2, lam_W=lam, lam_H=lam)
    closed = TH.closed_form(s)
    assert TH.certify(s, closed).status == "certified"
    for wrong in (closed.objective * sp.Rational(10001, 10000), sp.Integer(0),
                  closed.objective * 10):
        assert TH.certify(s, dataclasses.replace(closed, objective=wrong)).status != "certified"
    t = math.sqrt(float(s.lam_W) * float(s.lam_H))
    assert float(closed.objective) == pytest.approx(float(mpmath_scalar_optimum(3, t)), rel=1e-9)


@pytest.mark.parametrize("K, lam", [(9, "0.0630957"), (2, "0.0379269"), (5, "0.162378")])
def test_seven_digit_weight_decays_certify_without_hanging(K, lam):
    """Regression (found by a sweep over geom(1e-3, 1, 16)): sympy.simplify of the numeric
    closed-form value factored huge integers inside logcombine and ran for minutes.  The
    expected value is Zhu et al.'s formula f* = -log(1-(K-1)t) + (K-1) t log((1-(K-1)t)/t),
    t = lam here (n = 1, lam_W = lam_H), evaluated in mpmath -- an independent route."""
    report = verify("ufm-ce", {"K": K, "n": 1, "d": K, "lam_W": lam, "lam_H": lam},
                    solve=False, landscape=False)
    assert report["certificate"]["status"] == "certified"
    t = mpmath.mpf(lam)
    expected = -mpmath.log(1 - (K - 1) * t) + (K - 1) * t * mpmath.log((1 - (K - 1) * t) / t)
    assert abs(report["closed_form"]["objective"] - float(expected)) <= 1e-12 * float(expected)
