"""deep-linear-mse: exact scalar reduction, window case, certificate, mutations, bad input.

Independent routes: mpmath high-precision minimization of phi on a grid plus refinement
(scalar), a plain L-BFGS solve of the *full* problem with one feature column per sample
(no variable projection) and the L = 1 threshold N^2 lam_W lam_H >= n_k stated by Dang et
al. (and docs/known_results.md).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch

from ncproofs.derive.deep_scalar import DeepScalar, lowest_candidate, tie_ratio
from ncproofs.solve.deep import solve_deep
from ncproofs.spec import SpecError
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.deep_linear_mse import mse_closed_form

torch.set_num_threads(1)
TH = get_theorem("deep-linear-mse")

# class 2 (n_k = 5) sits in the L = 2 window: R = 65^3 lam^3 / 25 = 0.0802 in (1/16, 0.1055)
WINDOW = {"K": 3, "n": "40,20,5", "d": 3, "lam_W": "0.0194", "lam_H": "0.0194", "L": 2}


def mp_min(ds: DeepScalar) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Global min of phi over x >= 0 by mpmath: dense grid on [0, 1.5], then golden-section
    refinement around the best grid points (phi -> infinity, minimizer in [0, 1])."""
    mpmath.mp.dps = 40
    A = mpmath.mpf(ds.A.numerator) / ds.A.denominator
    kappa = mpmath.mpf(ds.kappa.numerator) / ds.kappa.denominator
    L = ds.L

    def phi(x):
        return A * (x - 1) ** 2 + mpmath.mpf(L + 1) / 2 * kappa ** (mpmath.mpf(1) / (L + 1)) \
            * x ** (mpmath.mpf(2) / (L + 1))

    grid = [mpmath.mpf(i) / 3000 for i in range(0, 4501)]
    vals = [phi(x) for x in grid]
    best_x, best_v = mpmath.mpf(0), phi(mpmath.mpf(0))
    for i in sorted(range(1, len(grid) - 1), key=lambda i: vals[i])[:3]:
        lo, hi = grid[i - 1], grid[i + 1]
        g = (mpmath.sqrt(5) - 1) / 2
        for _ in range(200):
            a, b = hi - g * (hi - lo), lo + g * (hi - lo)
            if phi(a) < phi(b):
                hi = b
            else:
                lo = a
        x = (lo + hi) / 2
        if phi(x) < best_v:
            best_x, best_v = x, phi(x)
    return best_x, best_v


@pytest.mark.parametrize("L,A,kappa", [
    (1, Fraction(1, 8), Fraction(1, 10**5)),
    (2, Fraction(1, 8), Fraction(3, 10**6)),
    (3, Fraction(1, 6), Fraction(1, 10**9)),
    (5, Fraction(1, 8), Fraction(7, 10**16)),
    (2, Fraction(1, 13), Fraction(4, 10**4)),   # window-sized R for L = 2
])
def test_scalar_minimum_matches_mpmath(L, A, kappa):
    ds = DeepScalar(L, A, kappa)
    x_ref, v_ref = mp_min(ds)
    x, _ = ds.exact_minimizer()
    assert abs(float(x) - float(x_ref)) < 1e-9
    assert abs(float(ds.value(x).evalf(30)) - float(v_ref)) < 1e-14
    low, _ = ds.certified_minimum()
    assert float(low.lower()) <= float(v_ref) + 1e-30
    assert float(v_ref) - float(low.lower()) < 1e-14


def test_window_case_zero_beats_positive_stationary_point():
    spec = TH.spec(WINDOW)
    ds = DeepScalar(2, Fraction(5, 130), 5 * spec.lam_H * spec.lam_W**2)
    # independent: phi' changes sign on (0, 1) (grid in float), so a positive stationary
    # point exists, and the local minimum there is above phi(0) = A (mpmath)
    xs = np.linspace(1e-6, 1, 200001)
    A, q = float(ds.A), float(ds.kappa) ** (1 / 3)
    dphi = 2 * A * (xs - 1) + 1.5 * q * (2 / 3) * xs ** (-1 / 3)
    assert (np.diff(np.sign(dphi)) != 0).sum() == 2
    x_loc = xs[np.argmax(np.where(xs > 0.3, -np.abs(dphi), -np.inf))]
    assert A * (x_loc - 1) ** 2 + 1.5 * q * x_loc ** (2 / 3) > A
    assert tie_ratio(2) < ds.R
    closed = TH.closed_form(spec)
    assert closed.minimizer["x"][2] == 0.0
    assert closed.minimizer["x"][0] > 0.5 and closed.minimizer["x"][1] > 0.5
    assert TH.certify(spec, closed).status == "certified"
    # Dang et al.'s rule (largest root, clamped) picks the positive point: must not certify
    wrong = mse_closed_form(spec, root_rule="largest-clamp")
    assert wrong.minimizer["x"][2] > 0.3
    assert TH.certify(spec, wrong).status != "certified"


def test_window_numeric_full_problem_agrees():
    """Full problem (one column per sample, no variable projection) from random starts."""
    spec = TH.spec(WINDOW)
    closed = TH.closed_form(spec)
    res = solve_deep("mse", spec.n, spec.d, [float(spec.lam_W)] * 2, float(spec.lam_H),
                     features="full", starts=6, seed=3, device="cpu", max_iter=3000)
    assert abs(float(res.values.min()) - float(closed.objective.evalf(30))) < 1e-9


@pytest.mark.parametrize("params", [
    {"K": 4, "n": "20,10,5,5", "d": 4, "lam_W": "5e-3", "lam_H": "5e-3", "L": 2},
    {"K": 3, "n": "6,3,2", "d": 4, "lam_W": "0.01", "lam_H": "0.02", "L": 3},
    {"K": 3, "n": 4, "d": 3, "lam_W": "0.01", "lam_H": "0.01", "L": 2, "bias": "true"},
])
def test_certified_and_full_solve_agrees(params):
    spec = TH.spec(params)
    closed = TH.closed_form(spec)
    cert = TH.certify(spec, closed)
    assert cert.status == "certified" and cert.rigorous
    res = solve_deep("mse", spec.n, spec.d, [float(spec.lam_W)] * spec.L, float(spec.lam_H),
                     bias=spec.bias, features="class-means", starts=4, seed=1, device="cpu")
    assert abs(float(res.values.min()) - float(closed.objective.evalf(30))) < 1e-9
    if spec.bias:
        assert np.allclose(res.best_point()["b"].ravel(), 1 / spec.K, atol=1e-5)


@pytest.mark.parametrize("lam,expect_zero", [("0.0026", [False, False, True]),
                                             ("0.0024", [False, False, False])])
def test_L1_threshold_from_the_paper(lam, expect_zero):
    """Dang et al., Thm 4.1 (L = 1): class k collapses iff N^2 lam_W lam_H >= n_k.
    n = (300, 100, 1), N = 401: N^2 lam^2 = 1.087 (lam = 0.0026) vs 0.926 (0.0024)."""
    spec = TH.spec({"K": 3, "n": "300,100,1", "d": 3, "lam_W": lam, "lam_H": lam, "L": 1})
    N = spec.N
    paper = [N * N * spec.lam_W * spec.lam_H >= nk for nk in spec.n]
    assert paper == expect_zero
    closed = TH.closed_form(spec)
    assert [x == 0 for x in closed.minimizer["x"]] == expect_zero
    assert TH.certify(spec, closed).status == "certified"


def test_mutations_do_not_certify():
    spec = TH.spec({"K": 4, "n": "200,100,50,50", "d": 4, "lam_W": "5e-4", "lam_H": "5e-4",
                    "L": 3})
    wrong_c = mse_closed_form(spec, kappa_scale=Fraction(10001, 10000) ** 4)  # c * (1+1e-4)
    assert TH.certify(spec, wrong_c).status != "certified"
    closed = mse_closed_form(spec)
    closed.objective = closed.objective * (1 + 1e-4)  # a value off by 1e-4
    assert TH.certify(spec, closed).status != "certified"
    closed = mse_closed_form(spec)
    closed.point.arrays["W1"] = closed.point.arrays["W1"] * (1 + 1e-4)  # a wrong point
    assert TH.certify(spec, closed).status != "certified"


def test_bad_input():
    with pytest.raises(SpecError, match="L must be >= 1"):
        TH.spec({"K": 3, "n": 4, "d": 3, "lam_W": "0.1", "lam_H": "0.1", "L": 0})
    with pytest.raises(SpecError, match="d must be >= K"):
        TH.spec({"K": 4, "n": 4, "d": 3, "lam_W": "0.1", "lam_H": "0.1", "L": 2})
    with pytest.raises(SpecError, match="d must be >= K - 1"):
        TH.spec({"K": 4, "n": 4, "d": 2, "lam_W": "0.1", "lam_H": "0.1", "L": 2,
                 "bias": "true"})
    with pytest.raises(SpecError, match="missing parameter L"):
        TH.spec({"K": 4, "n": 4, "d": 4, "lam_W": "0.1", "lam_H": "0.1"})
    spec = TH.spec({"K": 3, "n": "4,2,1", "d": 3, "lam_W": "0.1", "lam_H": "0.1", "L": 2,
                    "bias": "true"})
    closed = TH.closed_form(spec)
    assert TH.certify(spec, closed).status == "not-applicable"


def test_certified_minimum_no_nan_candidate_when_root_ball_contains_one():
    """Regression (audit A4): L = 1, kappa = 1e-80: a root ball of P straddles x = 1 and
    python-flint 0.9's (x - 1) ** 2 was nan there, silently dropped by min().  Independent
    route, by hand (L = 1 is convex): x* = 1 - sqrt(kappa)/(2A), phi* = sqrt(kappa) -
    kappa/(4A) = 1e-40 - 1e-80 (A = 1/4), in mpmath at 120 digits."""
    ds = DeepScalar(1, Fraction(1, 4), Fraction(1, 10**80))
    low, cands = ds.certified_minimum()
    assert all(v.is_finite() for _, v in cands)
    with mpmath.workdps(120):
        ref = mpmath.mpf(10) ** -40 - mpmath.mpf(10) ** -80
        assert mpmath.mpf(low.lower().str(60, radius=False)) <= ref
        assert ref - mpmath.mpf(low.lower().str(60, radius=False)) < mpmath.mpf(10) ** -70


def test_lowest_candidate_non_finite_is_not_skipped():
    """A nan candidate value must make the lower bound non-finite (inconclusive), not be
    skipped in favour of a larger finite candidate."""
    import flint

    cands = [(flint.arb(0), flint.arb(1)), (flint.arb(1), flint.arb("nan"))]
    assert not lowest_candidate(cands).is_finite()
    assert lowest_candidate(cands[:1]) == 1


def test_exact_minimizer_tiny_kappa_does_not_hang():
    """Regression (CLI fuzz): lam_W = 1e-300 gives R ~ 1e-300; ``bool(root > 0)`` on the
    tiny stationary root s ~ R^(1/3) refined its interval for minutes.  Independent route:
    for L = 2 the positive minimizer is x* = s^3 with s (1 - s^3) = r = kappa^(1/3)/(2A),
    the root near s = 1 found by mpmath at 400 digits."""
    A, kappa = Fraction(1, 6), Fraction(7, 10**300)
    ds = DeepScalar(2, A, kappa)
    points = ds.positive_stationary_points()
    assert len(points) == 2  # both roots of g(s) = r in (0, 1): tiny local max, s_2 ~ 1
    x, regime = ds.exact_minimizer()
    assert regime == "positive"
    with mpmath.workdps(400):
        r = mpmath.cbrt(mpmath.mpf(7) / mpmath.mpf(10) ** 300) * 3  # 1/(2A) = 3
        s2 = mpmath.findroot(lambda s: s * (1 - s**3) - r, mpmath.mpf(1) - r / 3)
        assert abs(mpmath.mpf(str(x.evalf(60))) - s2**3) < mpmath.mpf(10) ** -50


@pytest.mark.parametrize("extra, message", [
    ({"L": 30}, r"L must be >= 1 and <= 10, got 30"),
    ({"lam_H": "1e-300"}, r"lam_H \* lam_W\^L must be >= 1e-40"),
    ({"lam_W": "1e-15", "L": 3}, r"lam_H \* lam_W\^L must be >= 1e-40"),
])
def test_out_of_reach_of_exact_root_isolation_is_a_spec_error(extra, message):
    """Regression (CLI fuzz): ``derive deep-linear-mse ... L=30`` (SymPy real_roots of a
    degree-1860 polynomial) and lam_H = 1e-300 (40-digit evalf of CRootOf values) hung for
    minutes; they are now refused up front, naming the parameter and the range."""
    with pytest.raises(SpecError, match=message):
        TH.spec({"K": 3, "n": "1000,1,1", "d": 3, "lam_W": "3e-3", "lam_H": "7e-3", "L": 2,
                 **extra})


def test_edge_of_reach_still_certifies():
    """The guards do not cut into what works: L = 10 (the bound), imbalanced, is certified,
    and each class's x* agrees with the mpmath grid + golden-section minimum."""
    spec = TH.spec({"K": 3, "n": "3,2,1", "d": 3, "lam_W": "1e-2", "lam_H": "1e-2", "L": 10})
    closed = TH.closed_form(spec)
    assert TH.certify(spec, closed).status == "certified"
    from ncproofs.theorems.deep_linear_mse import scalar_problems
    for ds, x in zip(scalar_problems(spec), closed.minimizer["x"]):
        x_ref, _ = mp_min(ds)
        assert abs(x - float(x_ref)) < 1e-9
