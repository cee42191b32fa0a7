r"""Rigorous lower bounds for the MSE relaxation by weak duality, in exact rationals.

Primal (see :mod:`ncproofs.certify.relaxation`), w_k = n_k/N, D = diag(sqrt n_k),
s = sqrt(lam_W lam_H), Z = M + b 1^T:

    F(M, b) = sum_k w_k/2 |Z e_k - e_k|^2 + s |M D|_* + lam_b/2 |b|^2.

For every Y with |Y D^{-1}|_2 <= s we have s |M D|_* >= -<Y, M>, and minimizing the
remaining quadratic over (M, b) in closed form (Z e_k = e_k + Y e_k / w_k, b = -Y 1/lam_b)
gives the dual function

    F(M, b) >= g(Y) = -tr(Y) - sum_k |Y e_k|^2 / (2 w_k) - |Y 1|^2 / (2 lam_b),

where the last term is absent without a bias, and an unregularized bias (lam_b = 0)
requires Y 1 = 0.  The constraint is (congruence by D) the same as for CE,

    lam_W lam_H diag(n) - Y^T Y  positive semidefinite,                      (*)

checked exactly with :func:`ncproofs.certify.dual._charpoly_nonnegative_roots`.  For a
rational Y the bound g(Y) is a rational number: no rounding anywhere.  The KKT dual point
of a primal solution Z* is Y* = (Z* - I) diag(w) (the negative gradient of the data term);
a float approximation is rounded to rationals, its row sums repaired exactly when
lam_b = 0, and scaled by theta <= 1 until (*) holds exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import flint
import numpy as np

from ..spec import SpecError
from .dual import MAX_DENSE_DUAL_K, DualBound, _charpoly_nonnegative_roots, _q
from .intervals import arb_of

_GRID = 1 << 60


@dataclass(frozen=True)
class MSEDual:
    counts: tuple[int, ...]
    lam_W: Fraction
    lam_H: Fraction
    bias: bool = False
    lam_b: Fraction = Fraction(0)

    @property
    def K(self) -> int:
        return len(self.counts)

    @property
    def weights(self) -> list[Fraction]:
        N = sum(self.counts)
        return [Fraction(c, N) for c in self.counts]

    def value(self, Y: list[list[Fraction]]) -> Fraction:
        """g(Y) exactly (Y[j][k], rationals); raises if an unregularized bias sees Y 1 != 0."""
        K, w = self.K, self.weights
        rows = [sum(Y[j]) for j in range(K)]
        val = -sum(Y[k][k] for k in range(K))
        for k in range(K):
            val -= sum(Y[j][k] ** 2 for j in range(K)) / (2 * w[k])
        if self.bias:
            if self.lam_b == 0:
                if any(r != 0 for r in rows):
                    raise ValueError("an unregularized bias needs Y 1 = 0")
            else:
                val -= sum(r * r for r in rows) / (2 * self.lam_b)
        return val

    def feasible(self, Y: list[list[Fraction]]) -> bool:
        """Exact check of (*)."""
        K = self.K
        Yq = flint.fmpq_mat(K, K, [_q(x) for row in Y for x in row])
        G = Yq.transpose() * Yq
        C = flint.fmpq_mat(K, K)
        s2 = self.lam_W * self.lam_H
        for i in range(K):
            for j in range(K):
                C[i, j] = -G[i, j]
            C[i, i] += _q(s2 * self.counts[i])
        return _charpoly_nonnegative_roots(C)

    def bound_from_logits(self, Z: np.ndarray, residual: np.ndarray | None = None
                          ) -> DualBound:
        """Rigorous lower bound from approximate optimal class-mean logits Z (K x K, floats,
        bias included), through the KKT dual point Y = (Z - I) diag(w).  ``residual``: Z - I
        computed accurately by the caller (Z ~ I loses it in floats when kappa is tiny);
        it is rounded on a grid relative to its own magnitude (2^-60 of max |Z - I|)."""
        K = self.K
        if K > MAX_DENSE_DUAL_K:
            raise SpecError(f"K must be <= {MAX_DENSE_DUAL_K} for the exact dual check, got K={K}")
        Z = np.asarray(Z, dtype=np.float64)
        if Z.shape != (K, K) or not np.all(np.isfinite(Z)):
            raise ValueError("Z must be a finite K x K matrix")
        w = self.weights
        R = Z - np.eye(K) if residual is None else np.asarray(residual, dtype=np.float64)
        if R.shape != (K, K) or not np.all(np.isfinite(R)):
            raise ValueError("residual must be a finite K x K matrix")
        grid = _grid_for(float(np.abs(R).max()))
        Y = [[_round(R[j, k], grid) * w[k] for k in range(K)] for j in range(K)]
        if self.bias and self.lam_b == 0:
            for j in range(K):  # exact repair of Y 1 = 0
                shift = sum(Y[j]) / K
                Y[j] = [y - shift for y in Y[j]]
        theta = self._feasible_scale(Y)
        Yt = [[theta * y for y in row] for row in Y]
        value = self.value(Yt)
        return DualBound(
            value=arb_of(value),
            method="MSE dual point Y = (Z - I) diag(w): exact rationals, exact PSD check",
            theta=theta,
            details={"theta": float(theta), "theta_deficit": float(1 - theta),
                     "dual_value": float(value)},
            proof={"kind": "mse-dual", "Y": [[str(y) for y in row] for row in Yt]},
        )

    def _feasible_scale(self, Y: list[list[Fraction]]) -> Fraction:
        """The largest theta in a geometric ladder 1, 1 - 2^-50, 1 - 2^-46, ... with
        theta Y feasible (theta = 0 is always feasible)."""
        if self.feasible(Y):
            return Fraction(1)
        Yf = np.array([[float(x) for x in row] for row in Y])
        Dinv = 1 / np.sqrt(np.asarray(self.counts, dtype=float))
        sigma = float(np.linalg.norm(Yf * Dinv[None, :], 2))
        s = float(np.sqrt(float(self.lam_W * self.lam_H)))
        base = Fraction(min(1.0, s / sigma)) if sigma > 0 else Fraction(1)
        for e in range(50, 0, -4):
            theta = base * (1 - Fraction(1, 1 << e))
            grid = _grid_for(float(theta))
            theta = Fraction(int(theta * grid), grid)
            if self.feasible([[theta * y for y in row] for row in Y]):
                return theta
        return Fraction(0)


def _grid_for(scale: float) -> int:
    """A power-of-two grid with 60 bits below the magnitude ``scale`` (relative rounding:
    a fixed 2^-60 grid sent entries below 2^-61 to 0, a vacuous dual point)."""
    if not scale > 0 or not np.isfinite(scale):
        return _GRID
    return 1 << max(0, 60 - math.frexp(scale)[1])


def _round(x: float, grid: int = _GRID) -> Fraction:
    # exact: x * grid in floats overflows when the grid is fine (scale ~ 1e-300)
    return Fraction(round(Fraction(x) * grid), grid)
