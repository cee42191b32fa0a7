"""ufm-ls: margin vs mpmath, reduction to ufm-ce at alpha = 0, mutations, bad input."""

from __future__ import annotations

from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
import torch

from ncproofs.certify.dual import CEDual, softmax_columns
from ncproofs.losses import LabelSmoothingCE
from ncproofs.spec import SpecError
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.ufm_ls import ls_closed_form

TH = get_theorem("ufm-ls")
BASE = {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3"}


def _run(params, closed=None):
    spec = TH.spec(params)
    closed = closed or TH.closed_form(spec)
    return spec, closed, TH.certify(spec, closed)


def test_default_cases():
    for case in TH.default_cases:
        assert _run(case["params"])[2].status == case["expect"]


def test_mpmath_scalar_minimum():
    # independent route: 40-digit minimization of g(a) = LS at ETF logits + t (K-1) a
    mp.mp.dps = 40
    K, n, alpha = 4, 3, mp.mpf(1) / 10
    t = mp.sqrt(n * mp.mpf(3) / 1000 * mp.mpf(7) / 1000)

    def g(a):
        return mp.log(1 + (K - 1) * mp.exp(-a)) + alpha * (K - 1) / K * a + t * (K - 1) * a

    a_star = mp.findroot(lambda a: mp.diff(g, a), 1.0)
    _, closed, cert = _run({**BASE, "alpha": "0.1"})
    assert cert.status == "certified"
    assert float(closed.minimizer["a"]) == pytest.approx(float(a_star), rel=1e-13)
    assert float(closed.objective) == pytest.approx(float(g(a_star)), rel=1e-13)


def test_alpha_zero_is_ufm_ce():
    # independent theorem module (Zhu et al.'s closed form)
    ce = get_theorem("ufm-ce")
    spec_ce = ce.spec(BASE)
    _, closed, _ = _run({**BASE, "alpha": "0"})
    assert float(closed.objective) == pytest.approx(float(ce.closed_form(spec_ce).objective),
                                                    rel=1e-14)


def test_threshold_zero_regime():
    # K t + alpha >= 1 -> f* = log K
    _, closed, cert = _run({**BASE, "lam_W": "0.1", "lam_H": "0.1", "alpha": "0.6"})
    assert closed.objective == sp.log(4) and cert.status == "certified"


def test_numeric_agrees():
    spec, closed, _ = _run({**BASE, "alpha": "0.2"})
    num = TH.solve(spec, device="cpu", starts=3, seed=2)
    assert num.summary["objective"] == pytest.approx(float(closed.objective), abs=1e-10)


def test_mutation_margin():
    spec, closed, _ = _run({**BASE, "alpha": "0.1"})
    a = sp.sympify(closed.minimizer["a_exact"])
    bad = ls_closed_form(spec, a * (1 + sp.Rational(1, 10**4)))
    assert TH.certify(spec, bad).status != "certified"


def test_mutation_wrong_threshold():
    # K t + alpha < 1 here, so claiming the origin (f* = log K) must fail
    spec = TH.spec({**BASE, "alpha": "0.1"})
    assert TH.certify(spec, ls_closed_form(spec, None)).status != "certified"


def test_smoothed_dense_dual_matches_symmetric():
    # the generalized CEDual: dense route at the KKT softmax vs the O(1) symmetric route
    spec, closed, _ = _run({**BASE, "alpha": "0.1"})
    K, a = 4, closed.minimizer["a"]
    Z = a * (np.eye(K) - np.ones((K, K)) / K)
    dual = CEDual(spec.n, spec.lam_W, spec.lam_H, False, Fraction(0), smoothing=spec.alpha)
    dense = dual.dense_bound(softmax_columns(Z))
    assert float(dense.value.mid()) == pytest.approx(float(closed.objective), abs=1e-9)


def test_loss_backends_agree():
    import flint

    loss = LabelSmoothingCE(alpha=Fraction(1, 4))
    Z = torch.randn(3, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 2, 1])
    vt = loss.torch(Z, y)
    for i in range(5):
        z = Z[:, i].tolist()
        va = loss.arb([flint.arb(x) for x in z], int(y[i]))
        vs = float(loss.sympy([sp.Float(x, 30) for x in z], int(y[i])))
        assert abs(float(va.mid()) - float(vt[i])) < 1e-13 and abs(vs - float(vt[i])) < 1e-13


@pytest.mark.parametrize("alpha", ["1", "-0.1", "1.5"])
def test_bad_alpha(alpha):
    with pytest.raises(SpecError, match="alpha"):
        TH.spec({**BASE, "alpha": alpha})
