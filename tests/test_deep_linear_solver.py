"""The generic deep UFM solver (ncproofs.solve.deep) and the interval deep objective.

Independent routes: the objective recomputed in numpy from its formula (linear and ReLU),
the three feature treatments (full / class means / eliminated) against each other, and
the interval enclosure against the float value.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from ncproofs.certify.deep import balanced_factorization, interval_objective_deep
from ncproofs.losses import get_loss
from ncproofs.solve.deep import deep_objective, layer_metrics, random_init, solve_deep
from ncproofs.spec import SpecError

torch.set_num_threads(1)


def numpy_value(point, counts, lams, lam_H, act, loss):
    L = len(lams)
    K = len(counts)
    y = np.repeat(np.arange(K), counts)
    X = point["H"]
    for l in range(1, L + 1):
        X = point[f"W{l}"] @ X
        if l < L and act == "relu":
            X = np.maximum(X, 0)
    if "b" in point:
        X = X + point["b"].reshape(-1, 1)
    if loss == "mse":
        data = 0.5 * ((X - np.eye(K)[:, y]) ** 2).sum(axis=0)
    else:
        m = X.max(axis=0)
        data = np.log(np.exp(X - m).sum(axis=0)) + m - X[y, np.arange(len(y))]
    reg = sum(lam / 2 * (point[f"W{l}"] ** 2).sum() for l, lam in enumerate(lams, 1))
    return data.mean() + reg + lam_H / 2 * (point["H"] ** 2).sum()


@pytest.mark.parametrize("act,loss", [("linear", "mse"), ("relu", "ce"), ("relu", "mse")])
def test_objective_matches_numpy_and_interval(act, loss):
    counts, lams, lam_H, d = (3, 2, 2), (0.01, 0.02, 0.03), 0.05, 5
    obj = deep_objective(loss, counts, lams, lam_H, bias=True, activation=act)
    shapes = {"W1": (d, d), "W2": (d, d), "W3": (3, d), "H": (d, 7), "b": (3, 1)}
    p = random_init(shapes, 1, seed=4, device=torch.device("cpu"))
    value = float(obj(p)[0])
    point = {k: v[0].numpy() for k, v in p.items()}
    assert abs(value - numpy_value(point, counts, lams, lam_H, act, loss)) < 1e-13
    enc = interval_objective_deep(
        get_loss(loss), [point["W1"], point["W2"], point["W3"]], point["H"],
        point["b"].ravel(), np.repeat(np.arange(3), counts).tolist(), [1] * 7,
        [Fraction(x).limit_denominator(1000) for x in lams], Fraction(1, 20),
        activation=act)
    assert float(enc.lower()) - 1e-12 <= value <= float(enc.upper()) + 1e-12


@pytest.mark.parametrize("bias", [False, True])
def test_feature_treatments_agree(bias):
    """Variable projection, class means and the full problem reach the same optimum."""
    counts, d, lams, lam_H = (4, 2, 1), 3, [0.02, 0.02], 0.03
    vals = {}
    for features in ("eliminate", "class-means", "full"):
        res = solve_deep("mse", counts, d, lams, lam_H, bias=bias, features=features,
                         starts=4, seed=2, device="cpu", max_iter=4000)
        vals[features] = float(res.values.min())
    assert abs(vals["eliminate"] - vals["class-means"]) < 1e-10
    assert abs(vals["eliminate"] - vals["full"]) < 1e-9


def test_layer_metrics_at_balanced_point():
    M = np.diag([1.0, 0.5, 0.0])
    Ws, G = balanced_factorization(M, [0.1, 0.1, 0.1], 0.1, 4)
    prod = Ws[2] @ Ws[1] @ Ws[0] @ G
    assert np.allclose(prod, M, atol=1e-14)
    obj = deep_objective("mse", (2, 2, 2), [0.1] * 3, 0.1, class_means=True)
    point = {"W1": Ws[0], "W2": Ws[1], "W3": Ws[2], "H": G / np.sqrt(2)}
    layers = layer_metrics(obj, point, target="orthogonal")
    assert len(layers) == 4
    assert all(e["rank"] == 2 for e in layers[1:])
    assert max(e["balance"] for e in layers[1:]) < 1e-12
    assert layers[0]["NC1"] == 0.0


def test_bad_input():
    with pytest.raises(SpecError, match="activation"):
        solve_deep("mse", (2, 2), 2, [0.1], 0.1, activation="tanh", device="cpu")
    with pytest.raises(SpecError, match="features"):
        solve_deep("ce", (2, 2), 2, [0.1], 0.1, activation="relu", features="class-means",
                   device="cpu")
    with pytest.raises(SpecError, match="L must be >= 1"):
        solve_deep("mse", (2, 2), 2, [], 0.1, device="cpu")
    with pytest.raises(SpecError, match="MSE"):
        solve_deep("ce", (2, 2), 2, [0.1], 0.1, features="eliminate", device="cpu")
