"""ufm-mse-imbalanced: threshold N^2 lam_W lam_H >= n_k, lengths, mutations, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from ncproofs.spec import SpecError
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.ufm_mse_imbalanced import imbalanced_closed_form

TH = get_theorem("ufm-mse-imbalanced")


def _run(params):
    spec = TH.spec(params)
    closed = TH.closed_form(spec)
    return spec, closed, TH.certify(spec, closed)


def test_default_cases_certified():
    for case in TH.default_cases:
        _, _, cert = _run(case["params"])
        assert cert.status == case["expect"], cert.reason


def test_threshold_exact_boundary():
    # n = (4, 1), N = 5, lam_W = lam_H = 1/5: N^2 lam_W lam_H = 1 = n_2 -> class 2 dies
    spec, closed, cert = _run({"K": 2, "n": "4,1", "d": 2, "lam_W": "0.2", "lam_H": "0.2"})
    assert closed.minimizer["survives"] == [True, False]
    assert cert.status == "certified"
    # hand computation (independent of the module): f* = s sqrt(4) - N s^2/2 + 1/(2N)
    s = 0.2
    assert float(closed.objective) == pytest.approx(s * 2 - 5 * s * s / 2 + 1 / 10, rel=1e-14)


def test_numeric_multistart_and_lengths():
    # independent route: torch multi-start on the full problem; lengths by hand
    spec, closed, _ = _run({"K": 3, "n": "6,3,1", "d": 4, "lam_W": "2e-3", "lam_H": "5e-3"})
    num = TH.solve(spec, device="cpu", starts=4, seed=1)
    assert num.summary["objective"] == pytest.approx(float(closed.objective), abs=1e-10)
    W = num.point["W"]
    N, s = 10, math.sqrt(2e-3 * 5e-3)
    expect = sorted((5e-3 / 2e-3) ** 0.25 * math.sqrt(math.sqrt(nk) - N * s) for nk in (6, 3, 1))
    assert sorted(np.linalg.norm(W, axis=1)) == pytest.approx(expect, rel=1e-5)
    G = W @ W.T  # orthogonal rows
    assert np.abs(G - np.diag(np.diag(G))).max() < 1e-6


def test_dead_class_numeric():
    spec, closed, cert = _run({"K": 4, "n": "8,4,2,1", "d": 3, "lam_W": "0.08",
                               "lam_H": "0.08"})
    assert closed.minimizer["survives"] == [True, True, True, False]
    num = TH.solve(spec, device="cpu", starts=4, seed=0)
    assert num.summary["objective"] == pytest.approx(float(closed.objective), abs=1e-10)


def test_mutation_perturbed_lengths():
    spec = TH.spec({"K": 3, "n": "6,3,1", "d": 4, "lam_W": "2e-3", "lam_H": "5e-3"})
    bad = imbalanced_closed_form(spec, length_scale=1 + sp.Rational(1, 10**4))
    assert TH.certify(spec, bad).status != "certified"


@pytest.mark.parametrize("survivors", [[True, True, True, True], [True, True, False, False]])
def test_mutation_wrong_threshold(survivors):
    spec = TH.spec({"K": 4, "n": "8,4,2,1", "d": 4, "lam_W": "0.08", "lam_H": "0.08"})
    bad = imbalanced_closed_form(spec, survivors=survivors)
    assert TH.certify(spec, bad).status != "certified"


def test_too_small_d():
    spec, closed, cert = _run({"K": 4, "n": "8,4,2,1", "d": 2, "lam_W": "2e-3",
                               "lam_H": "5e-3"})
    assert cert.status == "not-applicable" and "d = 2" in cert.reason
    num = TH.solve(spec, device="cpu", starts=4, seed=0)
    assert num.summary["objective"] == pytest.approx(
        closed.minimizer["rank_constrained_value_uncertified"], abs=1e-9)


@pytest.mark.parametrize("params,name", [
    ({"K": 3, "n": "6,3,1", "d": 4, "lam_W": "1e-3", "lam_H": "1e-3", "bias": "true"}, "bias"),
    ({"K": 3, "n": "6,3", "d": 4, "lam_W": "1e-3", "lam_H": "1e-3"}, "n"),
    ({"K": 3, "n": "6,3,0", "d": 4, "lam_W": "1e-3", "lam_H": "1e-3"}, "n"),
    ({"K": 3, "n": "6,3,1", "d": 4, "lam_W": "0", "lam_H": "1e-3"}, "lam_W"),
])
def test_bad_input(params, name):
    with pytest.raises(SpecError, match=name):
        TH.spec(params)
