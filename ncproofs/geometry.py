"""Reference geometries: the simplex ETF and orthogonal frames, exact and float.

Convention: a frame is a K x d matrix whose *rows* are the K class directions.

* Simplex ETF:  P P^T = I_K - 11^T/K  (rows of norm sqrt((K-1)/K), pairwise inner
  products -1/K).  It needs d >= K - 1.  We build it from the Helmert basis of the
  hyperplane 1^perp, padded with zeros to d columns.
* Orthogonal frame:  P P^T = I_K.  It needs d >= K.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .spec import SpecError


def helmert_basis(K: int, exact: bool = False) -> np.ndarray | sp.Matrix:
    """K x (K-1) matrix with orthonormal columns spanning {x : sum x = 0}.

    Column j (1-based) is (1, ..., 1, -j, 0, ..., 0)/sqrt(j (j+1)) with j ones.
    """
    if exact:
        B = sp.zeros(K, K - 1)
        for j in range(1, K):
            c = 1 / sp.sqrt(j * (j + 1))
            for i in range(j):
                B[i, j - 1] = c
            B[j, j - 1] = -j * c
        return B
    B = np.zeros((K, K - 1))
    for j in range(1, K):
        c = 1.0 / np.sqrt(j * (j + 1))
        B[:j, j - 1] = c
        B[j, j - 1] = -j * c
    return B


def simplex_etf(K: int, d: int, exact: bool = False) -> np.ndarray | sp.Matrix:
    """K x d matrix P with P P^T = I - 11^T/K (rows form a simplex ETF in R^d)."""
    if d < K - 1:
        raise SpecError(f"d must be >= K - 1 = {K - 1} to hold a simplex ETF, got d={d}")
    B = helmert_basis(K, exact)
    if exact:
        return B.row_join(sp.zeros(K, d - (K - 1)))
    return np.hstack([B, np.zeros((K, d - (K - 1)))])


def orthogonal_frame(K: int, d: int, exact: bool = False) -> np.ndarray | sp.Matrix:
    """K x d matrix P with P P^T = I (rows orthonormal)."""
    if d < K:
        raise SpecError(f"d must be >= K = {K} to hold an orthogonal frame, got d={d}")
    if exact:
        return sp.eye(K).row_join(sp.zeros(K, d - K))
    return np.hstack([np.eye(K), np.zeros((K, d - K))])


def etf_gram(K: int) -> np.ndarray:
    """I - 11^T/K, the Gram matrix of the simplex ETF."""
    return np.eye(K) - np.ones((K, K)) / K
