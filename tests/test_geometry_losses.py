"""Geometry identities (exact) and each loss agreeing across its backends."""

import flint
import numpy as np
import pytest
import sympy as sp
import torch
from scipy.special import logsumexp

from ncproofs.geometry import etf_gram, orthogonal_frame, simplex_etf
from ncproofs.losses import get_loss
from ncproofs.spec import SpecError


@pytest.mark.parametrize("K, d", [(2, 1), (3, 2), (5, 4), (5, 7)])
def test_simplex_etf_exact_gram(K, d):
    P = simplex_etf(K, d, exact=True)
    G = sp.simplify(P * P.T)
    assert G == sp.eye(K) - sp.ones(K, K) / K
    assert np.allclose(simplex_etf(K, d) @ simplex_etf(K, d).T, etf_gram(K), atol=1e-15)


def test_frames_need_room():
    with pytest.raises(SpecError, match=r"d must be >= K - 1 = 4"):
        simplex_etf(5, 3)
    with pytest.raises(SpecError, match=r"d must be >= K = 5"):
        orthogonal_frame(5, 4)


@pytest.mark.parametrize("name", ["ce", "mse"])
def test_backends_agree(name):
    """sympy, torch, arb and cvxpy forms evaluate to the same number; CE also equals
    scipy's logsumexp formula (an independent implementation)."""
    import cvxpy as cp

    rng = np.random.default_rng(0)
    loss = get_loss(name)
    K = 5
    Z = rng.normal(size=(K, 7))
    y = rng.integers(0, K, size=7)
    torch_vals = loss.torch(torch.tensor(Z), torch.tensor(y)).numpy()
    for j in range(7):
        z, k = Z[:, j], int(y[j])
        ref_sympy = float(loss.sympy([sp.Float(x, 30) for x in z], k))
        ref_arb = loss.arb([flint.arb(x) for x in z], k)
        ref_cvx = float(loss.cvxpy(cp.Constant(z), k).value)
        assert torch_vals[j] == pytest.approx(ref_sympy, rel=1e-13)
        assert float(ref_arb.mid()) == pytest.approx(ref_sympy, rel=1e-14)
        assert ref_cvx == pytest.approx(ref_sympy, rel=1e-9)
        if name == "ce":
            assert ref_sympy == pytest.approx(logsumexp(z) - z[k], rel=1e-13)
        else:
            assert ref_sympy == pytest.approx(0.5 * np.sum((z - np.eye(K)[k]) ** 2), rel=1e-13)


@pytest.mark.parametrize("name", ["ce", "mse"])
def test_symmetric_form_matches_full_form(name):
    loss = get_loss(name)
    zt, zo = sp.Rational(7, 5), sp.Rational(-2, 3)
    full = loss.sympy([zt, zo, zo, zo], 0)
    assert sp.simplify(loss.sympy_symmetric(zt, zo, 4) - full) == 0


def test_unknown_loss():
    with pytest.raises(SpecError, match="loss must be one of"):
        get_loss("hinge-ish")
