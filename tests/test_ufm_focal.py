"""ufm-focal: root isolation, every stationary point vs the origin, mutations, bad input."""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import mpmath as mp
import pytest
import sympy as sp
import torch

from ncproofs.derive.roots import isolate_roots
from ncproofs.losses import FocalLoss
from ncproofs.spec import SpecError
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.ufm_focal import focal_candidates, focal_closed_form

TH = get_theorem("ufm-focal")
WINDOW = {"K": 20, "n": 1, "d": 19, "gamma": "3", "bias": "false"}


def _g_mp(a, K, t, gamma):
    p = 1 / (1 + (K - 1) * mp.exp(-a))
    return -((1 - p) ** gamma) * mp.log(p) + t * (K - 1) * a


def _mp_global_min(K, t, gamma, a_max=12):
    """Independent route: dense grid in 40-digit arithmetic, then golden-section refinement
    around the best grid point (and the boundary a = 0)."""
    mp.mp.dps = 40
    grid = [a_max * i / 4000 for i in range(4001)]
    vals = [_g_mp(mp.mpf(a), K, t, gamma) for a in grid]
    i = min(range(len(vals)), key=vals.__getitem__)
    if i == 0:
        return mp.mpf(0), vals[0]
    lo, hi = mp.mpf(grid[i - 1]), mp.mpf(grid[i + 1])
    for _ in range(150):
        m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        if _g_mp(m1, K, t, gamma) < _g_mp(m2, K, t, gamma):
            hi = m2
        else:
            lo = m1
    a = (lo + hi) / 2
    return a, _g_mp(a, K, t, gamma)


@pytest.mark.parametrize("lam,winner", [("0.06322", "origin"), ("0.06319", "local min")])
def test_window_against_mpmath(lam, winner):
    spec = TH.spec({**WINDOW, "lam_W": lam, "lam_H": lam})
    closed = TH.closed_form(spec)
    kinds = [c["kind"] for c in closed.minimizer["candidates"]]
    assert kinds == ["origin", "local max", "local min"]  # two stationary margins
    chosen = closed.minimizer["candidates"][closed.minimizer["chosen"]]
    assert chosen["kind"] == winner
    a_mp, g_mp = _mp_global_min(20, mp.mpf(lam), 3)
    assert float(closed.objective) == pytest.approx(float(g_mp), rel=1e-13)
    assert chosen["a"] == pytest.approx(float(a_mp), abs=1e-8)
    # the bounds meet, but the lower bound assumes Zhou et al.'s Theorem 3.1 (the claim)
    cert = TH.certify(spec, closed)
    assert cert.status == "conditional" and not cert.rigorous
    assert [a.kind for a in cert.assumptions] == ["reduction"]


def test_mutation_non_global_roots_do_not_certify():
    spec = TH.spec({**WINDOW, "lam_W": "0.06322", "lam_H": "0.06322"})
    for choose in (1, 2):  # the local max and the (non-global) local min
        status = TH.certify(spec, focal_closed_form(spec, choose=choose)).status
        assert status not in ("certified", "conditional")


def test_gamma_zero_is_ce_margin():
    # independent closed form (Zhu et al.): a* = log(1/t - (K-1))
    cand = focal_candidates(4, 3, Fraction(3, 1000), Fraction(7, 1000), Fraction(0))
    t = math.sqrt(3 * 3e-3 * 7e-3)
    assert float(cand.a_values[1].mid()) == pytest.approx(math.log(1 / t - 3), rel=1e-14)


def test_default_small_case_and_numeric():
    """Lemma L12 holds at the candidate: certified on lemmas only; the nonconvex full
    problem solved from random starts (an independent route) lands on the certified value
    and never below the lower bound."""
    spec = TH.spec({"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "gamma": "2"})
    closed = TH.closed_form(spec)
    cert = TH.certify(spec, closed)
    assert cert.status == "certified" and cert.rigorous
    assert {a.kind for a in cert.assumptions} == {"lemma"}
    num = TH.solve(spec, device="cpu", starts=4, seed=0)
    assert num.summary["objective"] == pytest.approx(float(closed.objective), abs=1e-10)
    assert num.summary["objective"] >= cert.lower_bound * (1 - 1e-9)


def test_mutation_wrong_candidate_does_not_certify():
    """The origin chosen instead of the optimal margin (a perturbed closed form): psi'(0) < 0,
    so no bracket at 0 exists and the value is not certified."""
    spec = TH.spec({"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "gamma": "2"})
    cert = TH.certify(spec, focal_closed_form(spec, choose=0))
    assert cert.status not in ("certified", "conditional")


def _h(u, gamma):
    """h(u) = r^gamma (-log(1 - r)), r = e^u/(1 + e^u), written stably for large u."""
    return (1 / (1 + mp.e**-u)) ** gamma * mp.log(1 + mp.e**u)


def _r_of_u(u):
    return mp.e**u / (1 + mp.e**u)


@pytest.mark.parametrize("gamma", ["1/2", "1", "2", "3"])
@pytest.mark.parametrize("u_c", [-2.0, 0.5, 1.5, 2.0, 3.0, 4.5])
def test_convex_minorant_lemma_in_mpmath(gamma, u_c):
    """Lemma L12 by an independent route (40-digit mpmath, finite differences on a grid):
    ``minorant_holds`` says yes exactly when g (h up to u_c, tangent beyond) is <= h and
    convex; where it says yes, FL(z, y) >= g(LSE_{j != y}(z_j - z_y)) at random logits."""
    from ncproofs.certify.focal import minorant_holds

    mp.mp.dps = 40
    gm = mp.mpf(Fraction(gamma).numerator) / Fraction(gamma).denominator
    holds = minorant_holds(flint.arb(float(_r_of_u(mp.mpf(u_c)))), flint.arb(gamma))
    slope = mp.diff(lambda u: _h(u, gm), u_c)

    def g(u):
        return _h(u, gm) if u <= u_c else _h(mp.mpf(u_c), gm) + slope * (u - u_c)

    grid = [mp.mpf(-30) + i * mp.mpf(230) / 4600 for i in range(4601)]
    values = [g(u) for u in grid]
    below = all(v <= _h(u, gm) + mp.mpf(10) ** -30 for u, v in zip(grid, values))
    second = [values[i - 1] - 2 * values[i] + values[i + 1] for i in range(1, len(values) - 1)]
    convex = min(second) >= -mp.mpf(10) ** -25
    assert holds == (below and convex), (holds, below, convex)
    if not holds:
        return
    rng = __import__("numpy").random.default_rng(0)
    for _ in range(50):
        z = [mp.mpf(float(x)) for x in rng.normal(scale=3, size=5)]
        p_y = mp.e**z[0] / sum(mp.e**x for x in z)
        focal = -((1 - p_y) ** gm) * mp.log(p_y)
        u = mp.log(sum(mp.e**(x - z[0]) for x in z[1:]))
        assert focal >= g(u) - mp.mpf(10) ** -30


def test_convex_minorant_refused_where_it_would_be_false():
    """gamma = 3, r_c = 0.9: E > 0 but D(r_c) > 1, so the tangent's slope exceeds the
    asymptotic slope 1 of h and the line crosses h -- the check must (and does) refuse;
    past the slope's peak (r_c = 0.99, E < 0) h is not convex up to u_c: refused too."""
    from ncproofs.certify.focal import minorant_holds, slope_terms

    mp.mp.dps = 40
    gm = mp.mpf(3)
    for r_c in (0.9, 0.99):
        assert not minorant_holds(flint.arb(r_c), flint.arb(3))
    D, E = slope_terms(flint.arb(0.9), flint.arb(3))
    assert D > 1 and E > 0
    u_c = mp.log(mp.mpf(0.9) / mp.mpf(0.1))
    slope = mp.diff(lambda u: _h(u, gm), u_c)
    crossing = [u for u in range(10, 200, 10)
                if _h(mp.mpf(u), gm) < _h(u_c, gm) + slope * (u - u_c)]
    assert crossing  # the tangent really exceeds h: a minorant built there would be false


def test_too_small_d_not_applicable():
    spec = TH.spec({"K": 4, "n": 3, "d": 2, "lam_W": "3e-3", "lam_H": "7e-3", "gamma": "2"})
    assert TH.certify(spec, TH.closed_form(spec)).status == "not-applicable"


def test_root_isolation_engine():
    third = flint.arb(1) / 3

    def f(x):
        return (x - third) * (x - 2) * (x + 1)

    def df(x):
        return (x - 2) * (x + 1) + (x - third) * (x + 1) + (x - third) * (x - 2)

    out = isolate_roots(f, df, Fraction(-3), Fraction(3))
    assert out.complete and len(out.roots) == 3
    assert [r.contains(v) for r, v in zip(out.roots, [-1, third, 2])] == [True] * 3
    # a double root cannot be isolated as simple: reported unresolved, never silently lost
    dbl = isolate_roots(lambda x: (x - 1) * (x - 1), lambda x: 2 * (x - 1),
                        Fraction(0), Fraction(3))
    assert not dbl.complete


def test_loss_backends_agree():
    loss = FocalLoss(gamma=Fraction(3, 2))
    Z = torch.randn(4, 6, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    vt = loss.torch(Z, y)
    for i in range(6):
        z = Z[:, i].tolist()
        va = loss.arb([flint.arb(x) for x in z], int(y[i]))
        vs = float(loss.sympy([sp.Float(x, 30) for x in z], int(y[i])))
        assert abs(float(va.mid()) - float(vt[i])) < 1e-13 and abs(vs - float(vt[i])) < 1e-13


@pytest.mark.parametrize("gamma", ["-1", "-0.01"])
def test_bad_gamma(gamma):
    with pytest.raises(SpecError, match="gamma"):
        TH.spec({"K": 4, "n": 3, "d": 5, "lam_W": "1e-3", "lam_H": "1e-3", "gamma": gamma})


@pytest.mark.parametrize("gamma", ["0", "1/2", "3"])
def test_slope_terms_are_the_derivatives_of_the_focal_loss(gamma):
    """D(r) = h'(u) and r^gamma E(r) = dD/dr, checked against mpmath's numerical
    derivatives of the loss itself (an independent route; SymPy checks the same identities
    symbolically in ``ncproofs derive ufm-focal``)."""
    from ncproofs.certify.focal import slope_terms

    mp.mp.dps = 40
    gm = mp.mpf(Fraction(gamma).numerator) / Fraction(gamma).denominator
    for u in (-3.0, 0.0, 1.7, 4.0):
        r = _r_of_u(mp.mpf(u))
        D, E = slope_terms(flint.arb(str(r)), flint.arb(gamma))
        assert float(D.mid()) == pytest.approx(float(mp.diff(lambda v: _h(v, gm), u)),
                                               rel=1e-12)

        def D_of_r(x):
            return mp.diff(lambda v: _h(v, gm), mp.log(x / (1 - x)))

        assert float(E.mid()) * float(r) ** float(gm) == pytest.approx(
            float(mp.diff(D_of_r, r)), rel=1e-9)
