r"""Rigorous upper bounds: the original objective at an explicit point, in intervals.

    f(W, H, b) = sum_j w_j loss(W h_j + b, y_j) + lam_W/2 |W|^2 + lam_H/2 sum_j c_j |h_j|^2
                 + lam_b/2 |b|^2

where the columns h_j of ``H`` carry a multiplicity c_j (the number of samples with that
feature) and w_j = c_j / N.  An explicit collapsed point has one column per class with
c_k = n_k; a numeric point has one column per sample with c_j = 1.  The evaluation is
exact up to outward rounding, so ``upper_end`` of the result bounds min f from above.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import flint
import numpy as np

from ..losses import Loss
from .intervals import arb_matrix, arb_of, arb_sum_squares


def interval_data_term(
    loss: Loss, Z: flint.arb_mat, labels: Sequence[int], counts: Sequence[int]
) -> flint.arb:
    """sum_j (c_j / N) loss(Z[:, j], y_j) for a K x m interval logit matrix Z."""
    K, m = Z.nrows(), Z.ncols()
    N = sum(counts)
    total = flint.arb(0)
    for j in range(m):
        column = [Z[i, j] for i in range(K)]
        total += loss.arb(column, labels[j]) * counts[j]
    return total / N


def interval_objective(
    loss: Loss,
    W: np.ndarray,
    H: np.ndarray,
    b: np.ndarray | None,
    labels: Sequence[int],
    counts: Sequence[int],
    lam_W: Fraction,
    lam_H: Fraction,
    lam_b: Fraction = Fraction(0),
) -> flint.arb:
    """Enclosure of f at (W, H, b) for float arrays W (K x d), H (d x m), b (K,)."""
    Z = arb_matrix(W) * arb_matrix(H)
    if b is not None:
        bias = arb_matrix(np.asarray(b, dtype=np.float64).reshape(-1, 1))
        ones = flint.arb_mat(1, Z.ncols(), [1] * Z.ncols())
        Z = Z + bias * ones
    value = interval_data_term(loss, Z, labels, counts)
    value += arb_of(lam_W) * arb_sum_squares(W) / 2
    # sum_j c_j |h_j|^2 = |H diag(sqrt c)|^2; sqrt c is irrational, so scale exactly by
    # grouping columns of equal multiplicity instead.
    H = np.asarray(H, dtype=np.float64)
    counts_arr = np.asarray(counts)
    col_sq = flint.arb(0)
    for c in np.unique(counts_arr):
        col_sq += arb_sum_squares(H[:, counts_arr == c]) * int(c)
    value += arb_of(lam_H) * col_sq / 2
    if b is not None and lam_b != 0:
        value += arb_of(lam_b) * arb_sum_squares(b) / 2
    return value
