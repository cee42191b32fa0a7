"""dufm-lowrank (deep ReLU UFM, K >= 3).  Independent routes: the DNC candidate against an
mpmath minimization of its scalar problem, the refuting point re-read from its npz file
and re-evaluated with a plain numpy float objective written here, and the
Frobenius/AM-GM lower bound against torch values of random points (a lower bound must be
below every point).  Mutations (a wrong scale, a wrong threshold) must not certify; bad
input raises SpecError."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncproofs.certify.certificate import CERTIFIED, REFUTED
from ncproofs.outputs import saving_to
from ncproofs.solve.deep import deep_objective, random_init
from ncproofs.spec import SpecError
from ncproofs.theorems._deep_relu import frobenius_scalar
from ncproofs.theorems.base import get_theorem

TH = get_theorem("dufm-lowrank")
#: the papers' weight decay 0.004 (Súkeník et al. 2024, DUFM experiment), K = 3, L = 5
REFUTE = {"K": 3, "n": 1, "d": 3, "L": 5, "lam_W": "0.004", "lam_H": "0.004"}
#: K = 6, L = 2 at 0.99 of the DNC threshold (found by the x0.8 weight-decay continuation)
NEAR_THRESHOLD = {"K": 6, "n": 1, "d": 6, "L": 2, "lam_W": "0.06548", "lam_H": "0.06548"}
#: no-search keyword arguments for the cheap mutation tests
SMALL = {"starts": 4, "continuation": (), "gaussian_starts": 0}
ZERO = {"K": 4, "n": 1, "d": 4, "L": 3, "lam_W": "0.2", "lam_H": "0.2"}


def numpy_objective(arrays: dict, K: int, n: int, lam: float, L: int) -> float:
    """Plain float64 numpy objective of the deep ReLU UFM (independent of torch/arb)."""
    A = arrays["H"]
    reg = lam / 2 * (A**2).sum()
    for layer in range(1, L + 1):
        W = arrays[f"W{layer}"]
        A = W @ A
        if layer < L:
            A = np.maximum(A, 0)
        reg += lam / 2 * (W**2).sum()
    Y = np.repeat(np.eye(K), n, axis=1)
    return float(0.5 * ((A - Y) ** 2).sum() / (K * n) + reg)


@pytest.fixture(scope="module")
def refuted(tmp_path_factory):
    spec = TH.spec(REFUTE)
    closed = TH.closed_form(spec)
    with saving_to(tmp_path_factory.mktemp("refutations")):  # files only where asked
        return spec, closed, TH.certify(spec, closed)


def dnc_mpmath(K: int, L: int, lam: str) -> float:
    """K min_x [(x-1)^2/(2K) + C x^(2/(L+1))], C = ((L+1)/2) lam (n = 1, equal lambdas:
    (lam^(L+1))^(1/(L+1)) = lam), minimized by mpmath (stationary point vs x = 0)."""
    import mpmath

    mpmath.mp.dps = 40
    C = mpmath.mpf(L + 1) / 2 * mpmath.mpf(lam)
    p = mpmath.mpf(2) / (L + 1)
    g = lambda x: (x - 1) ** 2 / (2 * K) + C * x**p  # noqa: E731
    xs = mpmath.findroot(lambda x: (x - 1) / K + C * p * x ** (p - 1), 0.9)
    return float(K * min(g(xs), g(0)))


def test_refutation_is_verified_and_saved(refuted):
    spec, closed, cert = refuted
    assert cert.status == REFUTED and cert.rigorous
    assert dnc_mpmath(3, 5, "0.004") == pytest.approx(float(closed.objective), abs=1e-12)
    # the saved point, re-read and re-evaluated independently
    data = np.load(cert.details["saved_point"])
    value = numpy_objective({k: data[k] for k in ("H", "W1", "W2", "W3", "W4", "W5")}, 3, 1,
                            0.004, 5)
    assert value == pytest.approx(cert.upper_bound, abs=1e-12)
    assert value < float(closed.objective) * (1 - 1e-2)
    assert cert.details["improvement_percent"] > 1
    assert data["H"].shape == (3, 3)  # the stated d


def test_refutation_is_low_rank(refuted):
    """Some intermediate post-ReLU layer of the winner has class means of rank < K (DNC has
    rank K at every layer)."""
    _, _, cert = refuted
    layers = cert.details["layers"]
    assert min(e["rank"] for e in layers[1:-1]) < 3
    # the singular values are reported per layer and agree with the saved point
    data = np.load(cert.details["saved_point"])
    M = np.maximum(data["W1"] @ data["H"], 0)
    s = np.linalg.svd(M, compute_uv=False)
    assert s == pytest.approx(layers[1]["singular_values"], abs=1e-9)


def test_near_threshold_k6_l2_refuted(tmp_path):
    """K = 6, L = 2 at 0.99 lam_thr: the weight-decay continuation finds a point below DNC
    (re-evaluated here in numpy)."""
    spec = TH.spec(NEAR_THRESHOLD)
    closed = TH.closed_form(spec)
    assert dnc_mpmath(6, 2, "0.06548") == pytest.approx(float(closed.objective), abs=1e-12)
    with saving_to(tmp_path):
        cert = TH.certify(spec, closed)
    assert cert.status == REFUTED
    data = np.load(cert.details["saved_point"])
    value = numpy_objective({k: data[k] for k in ("H", "W1", "W2")}, 6, 1, 0.06548, 2)
    assert value < float(closed.objective) * (1 - 1e-3)


def test_frobenius_bound_below_random_points():
    spec = TH.spec({"K": 3, "n": 2, "d": 4, "L": 3, "lam_W": "0.05", "lam_H": "0.05"})
    low = frobenius_scalar(spec).certified_minimum().value
    obj = deep_objective("mse", spec.n, [0.05] * 3, 0.05, activation="relu")
    shapes = {"W1": (4, 4), "W2": (4, 4), "W3": (3, 4), "H": (4, 6)}
    for scale in (0.3, 1.0, 2.0):
        vals = obj(random_init(shapes, 64, 0, torch.device("cpu"), scale))
        assert float(vals.min()) >= float(low.lower())


def test_zero_regime_certified_and_mutations():
    spec = TH.spec(ZERO)
    closed = TH.closed_form(spec)
    assert TH.certify(spec, closed).status == CERTIFIED
    assert TH.certify(spec, TH.closed_form(spec, value_scale=1 + 1e-4)).status != CERTIFIED


def test_wrong_threshold_is_refuted():
    """Claiming W = H = 0 (a threshold below the true one) at half the DNC threshold: the
    search (and the DNC point) beat 1/2, so the claim is refuted, never certified."""
    spec = TH.spec({"K": 3, "n": 1, "d": 3, "L": 2, "lam_W": "0.066", "lam_H": "0.066"})
    wrong = TH.closed_form(spec, threshold_override=0.0)
    assert wrong.regime.startswith("zero")
    cert = TH.certify(spec, wrong, **SMALL)
    assert cert.status == REFUTED


def test_wrong_scale_never_certifies_in_search_regime():
    spec = TH.spec({"K": 3, "n": 1, "d": 3, "L": 2, "lam_W": "0.066", "lam_H": "0.066"})
    cert = TH.certify(spec, TH.closed_form(spec, value_scale=1 - 1e-4), **SMALL)
    assert cert.status != CERTIFIED


@pytest.mark.parametrize("bad,name", [({"K": "1"}, "K"), ({"d": "2"}, "d"), ({"L": "1"}, "L"),
                                      ({"bias": "true"}, "bias"), ({"lam_W": "-1"}, "lam_W"),
                                      ({"depth": "3"}, "depth")])
def test_bad_input(bad, name):
    with pytest.raises(SpecError, match=name):
        TH.spec({**REFUTE, **bad})
