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
from ncproofs.solve.deep import deep_objective, random_init
from ncproofs.spec import SpecError
from ncproofs.theorems._deep_relu import frobenius_scalar
from ncproofs.theorems.base import get_theorem

TH = get_theorem("dufm-lowrank")
REFUTE = {"K": 6, "n": 1, "d": 6, "L": 2, "lam_W": "0.06548", "lam_H": "0.06548"}
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
def refuted():
    spec = TH.spec(REFUTE)
    closed = TH.closed_form(spec)
    return spec, closed, TH.certify(spec, closed)


def test_refutation_is_verified_and_saved(refuted):
    spec, closed, cert = refuted
    assert cert.status == REFUTED and cert.rigorous
    # the DNC candidate itself: K min g, here by mpmath (K = 6 -> w = 1/6; the binary
    # helper is for K = 2, so do it directly)
    import mpmath

    mpmath.mp.dps = 40
    lam = mpmath.mpf(0.06548)
    C = mpmath.mpf(3) / 2 * lam ** 1  # (n lam^3)^(1/3) = lam, n = 1
    g = lambda x: (x - 1) ** 2 / 12 + C * mpmath.cbrt(x) ** 2  # noqa: E731
    xs = mpmath.findroot(lambda x: (x - 1) / 6 + 2 * C / 3 / mpmath.cbrt(x), 0.6)
    assert float(6 * min(g(xs), g(0))) == pytest.approx(float(closed.objective), abs=1e-12)
    # the saved point, re-read and re-evaluated independently
    data = np.load(cert.details["saved_point"])
    value = numpy_objective({k: data[k] for k in ("H", "W1", "W2")}, 6, 1, 0.06548, 2)
    assert value == pytest.approx(cert.upper_bound, abs=1e-12)
    assert value < float(closed.objective) * (1 - 1e-3)
    assert cert.details["improvement_percent"] > 0.1
    assert data["H"].shape == (6, 6)  # the stated d


def test_refutation_is_low_rank(refuted):
    """The winner's first-layer class means are numerically rank 2 (a hexagon) and its
    logits have rank < K: not deep neural collapse."""
    _, _, cert = refuted
    layers = cert.details["layers"]
    assert layers[0]["rank_1e-2"] <= 3
    assert layers[-1]["rank"] < 6


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
    cert = TH.certify(spec, wrong, starts=4, width_starts=1)
    assert cert.status == REFUTED


def test_wrong_scale_never_certifies_in_search_regime():
    spec = TH.spec({"K": 3, "n": 1, "d": 3, "L": 2, "lam_W": "0.066", "lam_H": "0.066"})
    cert = TH.certify(spec, TH.closed_form(spec, value_scale=1 - 1e-4), starts=4,
                      width_starts=1)
    assert cert.status != CERTIFIED


@pytest.mark.parametrize("bad,name", [({"K": "1"}, "K"), ({"d": "5"}, "d"), ({"L": "1"}, "L"),
                                      ({"bias": "true"}, "bias"), ({"lam_W": "-1"}, "lam_W"),
                                      ({"depth": "3"}, "depth")])
def test_bad_input(bad, name):
    with pytest.raises(SpecError, match=name):
        TH.spec({**REFUTE, **bad})
