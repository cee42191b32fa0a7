r"""Rigorous upper bounds for deep (linear or ReLU) unconstrained-features models.

    f(W_1..W_L, H) = sum_j (c_j/N) loss(W_L s(W_{L-1} ... s(W_1 h_j)), y_j)
                     + sum_l lam_l/2 |W_l|_F^2 + lam_H/2 sum_j c_j |h_j|^2

with s = identity ("linear") or s = max(., 0) ("relu"), applied after every layer but the
last (Súkeník et al.'s deep UFM; Tirer & Bruna's extended UFM is L = 2).  The feature
columns h_j carry multiplicities c_j as in :mod:`ncproofs.certify.upper`.  Every float is
converted to ``arb`` exactly and ReLU is enclosed by ``arb.max(0)``, so the upper end of
the result bounds the objective of that explicit point, hence the minimum, from above.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import flint
import numpy as np

from ..losses import Loss
from .intervals import arb_matrix, arb_of, arb_sum_squares
from .upper import interval_data_term

ACTIVATIONS = ("linear", "relu")


def arb_relu(A: flint.arb_mat) -> flint.arb_mat:
    """Entrywise max(a, 0) enclosure."""
    zero = flint.arb(0)
    out = flint.arb_mat(A.nrows(), A.ncols())
    for i in range(A.nrows()):
        for j in range(A.ncols()):
            out[i, j] = A[i, j].max(zero)
    return out


def _data_term(loss: Loss, Z: flint.arb_mat, labels: Sequence[int],
               counts: Sequence[int]) -> flint.arb:
    """MSE written with products (arb's ``x ** 2`` of a ball around 0 is infinite, which
    would only make the bound useless, never wrong); other losses via ``loss.arb``."""
    if loss.name != "mse":
        return interval_data_term(loss, Z, labels, counts)
    total = flint.arb(0)
    for j in range(Z.ncols()):
        col = flint.arb(0)
        for i in range(Z.nrows()):
            e = Z[i, j] - (1 if i == labels[j] else 0)
            col += e * e
        total += col * counts[j]
    return total / (2 * sum(counts))


def interval_deep_objective(
    loss: Loss,
    weights: Sequence[np.ndarray],
    H: np.ndarray,
    labels: Sequence[int],
    counts: Sequence[int],
    lams: Sequence[Fraction],
    lam_H: Fraction,
    activation: str = "linear",
) -> flint.arb:
    """Enclosure of f at weights W_1..W_L (``weights[0]`` acts first) and features H."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if len(lams) != len(weights):
        raise ValueError("one weight decay per layer is needed")
    A = arb_matrix(H)
    for layer, W in enumerate(weights):
        A = arb_matrix(W) * A
        if activation == "relu" and layer < len(weights) - 1:
            A = arb_relu(A)
    value = _data_term(loss, A, labels, counts)
    for W, lam in zip(weights, lams):
        value += arb_of(lam) * arb_sum_squares(W) / 2
    H = np.asarray(H, dtype=np.float64)
    counts_arr = np.asarray(counts)
    col_sq = flint.arb(0)
    for c in np.unique(counts_arr):
        col_sq += arb_sum_squares(H[:, counts_arr == c]) * int(c)
    return value + arb_of(lam_H) * col_sq / 2
