"""multilabel-ce (Li et al.): reduction, certificate, mutations, bad input.

Independent routes: Zhu et al.'s closed form for m = 1 (mpmath), a direct numpy evaluation
of the full objective, the cvxpy relaxation on per-label-set logits, the torch solve."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch

from ncproofs.certify.certificate import CERTIFIED, NOT_APPLICABLE, REFUTED
from ncproofs.losses import get_loss
from ncproofs.spec import SpecError
from ncproofs.theorems.multilabel_ce import (
    MultiLabelCrossEntropy,
    MultiLabelSpec,
    explicit_point,
    solve_margins,
)

TH = MultiLabelCrossEntropy()


def numpy_objective(spec, W, H, b):
    """The full objective with per-set features repeated, in float64 numpy."""
    total = 0.0
    for S, c, h in zip(spec.sets, spec.set_counts, H.T):
        z = W @ h + (0 if b is None else b)
        lse = np.log(np.exp(z - z.max()).sum()) + z.max()
        total += c * (len(S) * lse - z[list(S)].sum())
    reg = float(spec.lam_W) / 2 * (W**2).sum()
    reg += float(spec.lam_H) / 2 * sum(c * (h**2).sum() for c, h in zip(spec.set_counts, H.T))
    return total / spec.N + reg


def test_m1_reduces_to_zhu_closed_form():
    spec = MultiLabelSpec(K=4, m=1, n=3, d=3, lam_W="3e-3", lam_H="7e-3")
    with mpmath.workdps(40):
        t = mpmath.sqrt(3 * mpmath.mpf("3e-3") * mpmath.mpf("7e-3"))
        zhu = -mpmath.log(1 - 3 * t) + 3 * t * mpmath.log((1 - 3 * t) / t)
    closed = TH.closed_form(spec)
    assert abs(float(sp.N(closed.objective, 30)) - float(zhu)) < 1e-14
    assert TH.certify(spec, closed).status == CERTIFIED


def test_m2_closed_form_point_and_relaxation_agree():
    spec = MultiLabelSpec(K=4, m=2, n=2, d=3, lam_W="1e-3", lam_H="1e-3")
    closed = TH.closed_form(spec)
    f = float(sp.N(closed.objective, 30))
    p = closed.point.arrays
    assert abs(numpy_objective(spec, p["W"], p["H"], p.get("b")) - f) < 1e-12
    cert = TH.certify(spec, closed)
    assert cert.status == CERTIFIED
    assert abs(cert.details["relaxation"]["value"] - f) < 1e-6  # cvxpy, independent
    assert cert.details["relaxation"]["rank"] <= 3  # rank K - 1: tight for d >= 3


def test_m2_numeric_solve_agrees():
    spec = MultiLabelSpec(K=4, m=2, n="2,1", d=3, lam_W="2e-3", lam_H="1e-3")
    f = float(sp.N(TH.closed_form(spec).objective, 30))
    res = TH.solve(spec, device="cpu", starts=4, seed=3)
    assert abs(res.summary["objective"] - f) < 1e-8
    assert res.summary["metrics"]["tagwise_residual"] < 1e-4


def test_margin_equation_common_mu():
    """Each a_s solves a (s e^a + K - s) = mu with one mu = K r/(N t) (stationarity)."""
    spec = MultiLabelSpec(K=5, m=3, n="3,2,1", d=4, lam_W="1e-3", lam_H="2e-3")
    a = solve_margins(spec, digits=30)
    mus = [x * (s * mpmath.exp(x) + 5 - s) for s, x in zip(spec.sizes, a)]
    r = mpmath.sqrt(sum(ns * [1, 3, 3][s - 1] * x**2 for s, ns, x in zip(spec.sizes, spec.n, a)))
    mu = 5 * r / (spec.N * mpmath.sqrt(mpmath.mpf("1e-3") * mpmath.mpf("2e-3")))
    assert all(abs(m - mu) < 1e-20 for m in mus)


def test_zero_regime_and_wrong_threshold_mutation():
    spec = MultiLabelSpec(K=4, m=2, n=1, d=3, lam_W="0.2", lam_H="0.2")
    closed = TH.closed_form(spec)
    assert closed.regime.startswith("zero")
    assert TH.certify(spec, closed).status == CERTIFIED
    # mutation: claim the collapse regime there (margins from a smaller weight decay)
    other = MultiLabelSpec(K=4, m=2, n=1, d=3, lam_W="1e-2", lam_H="1e-2")
    wrong = TH.closed_form(other)
    wrong.point = explicit_point(spec, [float(x) for x in solve_margins(other, 20)])
    assert TH.certify(spec, wrong).status != CERTIFIED


def test_mutations_not_certified():
    spec = MultiLabelSpec(K=4, m=2, n=2, d=3, lam_W="1e-3", lam_H="1e-3")
    closed = TH.closed_form(spec)
    closed.objective = closed.objective * sp.Rational(10001, 10000)
    assert TH.certify(spec, closed).status in (REFUTED, "inconclusive")
    closed = TH.closed_form(spec)
    a = [float(x) * 1.001 for x in solve_margins(spec, 20)]
    closed.point = explicit_point(spec, a)
    assert TH.certify(spec, closed).status != CERTIFIED


def test_too_small_d_not_applicable():
    spec = MultiLabelSpec(K=5, m=2, n=1, d=3, lam_W="1e-3", lam_H="1e-3")
    assert TH.certify(spec, TH.closed_form(spec)).status == NOT_APPLICABLE


def test_pal_loss_backends_agree():
    loss = get_loss("pal-ce")
    z = [0.3, -1.2, 2.0, 0.1]
    S = (0, 2)
    ref = 2 * np.log(np.exp(z).sum()) - z[0] - z[2]
    import flint

    assert abs(float(sp.N(loss.sympy([sp.Float(x) for x in z], S))) - ref) < 1e-12
    assert abs(float(loss.arb([flint.arb(x) for x in z], S).mid()) - ref) < 1e-12
    Y = torch.zeros(4, 1, dtype=torch.float64)
    Y[[0, 2], 0] = 1
    assert abs(float(loss.torch(torch.tensor(z, dtype=torch.float64)[:, None], Y)) - ref) < 1e-12


@pytest.mark.parametrize("params,name", [
    ({"m": "0"}, "m"), ({"m": "4"}, "m"), ({"n": "1,2,3"}, "n"), ({"n": "0"}, "n"),
    ({"lam_W": "0"}, "lam_W"), ({"foo": "1"}, "foo"),
])
def test_bad_input(params, name):
    base = {"K": "4", "m": "2", "n": "2", "d": "3", "lam_W": "1e-3", "lam_H": "1e-3"}
    with pytest.raises(SpecError, match=name):
        MultiLabelSpec.from_params(base | params)


def test_empty_label_set_rejected_by_loss():
    with pytest.raises(SpecError, match="nonempty"):
        get_loss("pal-ce").sympy([sp.Integer(0)] * 3, ())


@pytest.mark.parametrize("lam", ["1e-6", "1e-12"])
def test_tiny_weight_decay_margins_are_stationary(lam):
    """Regression (audit B1): mpmath's anderson solver raised 'Could not find root' at
    lam ~ 1e-6.  Independent route: the reduced objective written here in mpmath,
    F(a) = sum_s n_s C(K,s) s/N (log(s e^a_s + K - s) - a_s) + t (K-1) r(a), differentiated
    numerically (mpmath.diff, 80 digits): every partial derivative vanishes at the margins,
    relative to the size t (K-1) of the regularizer's slope."""
    spec = MultiLabelSpec(K=3, m=2, n=1, d=2, lam_W=lam, lam_H=lam)
    a = solve_margins(spec)
    K, N = 3, spec.N
    with mpmath.workdps(80):
        t = mpmath.mpf(lam)

        def F(a1, a2):
            data = sum(mpmath.mpf(comb * s) / N * (mpmath.log(s * mpmath.exp(x) + K - s) - x)
                       for s, comb, x in ((1, 3, a1), (2, 3, a2)))
            return data + t * (K - 1) * mpmath.sqrt(a1 * a1 + a2 * a2)  # C(1, s-1) = 1

        for order in ((1, 0), (0, 1)):
            g = mpmath.diff(F, (mpmath.mpf(a[0]), mpmath.mpf(a[1])), order)
            assert abs(g) < mpmath.mpf(10) ** -30 * t
    assert a[0] > a[1] > 0


def test_zero_regime_certified_for_every_d():
    """Regression (audit B2): W = H = 0 is optimal in the zero regime for any d, but the
    explicit point built a simplex ETF first and raised 'd must be >= K-1' at d = 1.
    Independent route: the exact threshold sum_s n_s C(K-2,s-1) = 1 + 1 = 2 <= N^2 lam_W
    lam_H = 36 puts (K=3, m=2, n=1, lam=1) in the zero regime, where f* = PAL at zero logits
    = sum_S w_S |S| log K = (3*1 + 3*2)/6 log 3 (mpmath); numpy evaluates the origin."""
    spec = MultiLabelSpec(K=3, m=2, n=1, d=1, lam_W="1", lam_H="1")
    closed = TH.closed_form(spec)
    ref = float(mpmath.mpf(9) / 6 * mpmath.log(3))
    assert abs(float(sp.N(closed.objective, 30)) - ref) < 1e-14
    p = closed.point.arrays
    assert abs(numpy_objective(spec, p["W"], p["H"], p.get("b")) - ref) < 1e-14
    assert TH.certify(spec, closed).status == CERTIFIED
