r"""Explicit points stored by structure, so their rigorous value costs O(K), not O(K d).

A frame point of the plain model is

    W = alpha P,   h_k = beta P^T e_k  (every sample of class k),   b = c 1  (or no bias),

with a K x d frame P named by its structure (only the first K columns are nonzero):

* ``centred-basis``  P = [I_K - 11^T/K, 0]: P P^T = I_K - 11^T/K, a simplex ETF (d >= K);
* ``standard-basis`` P = [I_K, 0]:          P P^T = I_K, an orthogonal frame (d >= K);
* ``zero``           P = 0: the origin W = H = 0 (any d).

The scales alpha, beta, c are binary floats, i.e. exact dyadic rationals, so the point is
exact.  Its logits are Z = alpha beta P P^T + c 11^T, and column k is a permutation of
column 0 (the label moved along), so for a loss invariant under relabelling
(CE, label smoothing, MSE, focal) every class has the same loss value and

    f = loss(z_0, 0) + lam_W/2 alpha^2 |P|_F^2 + lam_H/2 beta^2 N rho + lam_b/2 K c^2,

where rho = |P^T e_k|^2 is the common squared row norm.  The dense arrays are built only
when something asks for them (landscape, metrics), never for the certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import flint
import numpy as np

from ..losses import Loss
from .intervals import arb_of

FRAMES = ("zero", "centred-basis", "standard-basis")


@dataclass
class FramePoint:
    """A collapsed point W = alpha P, h_k = beta P^T e_k, b = c 1 of a named frame P."""

    frame: str
    K: int
    d: int
    alpha: float
    beta: float
    bias: float | None  # c, or None for a model without a bias
    counts: tuple[int, ...]
    #: the dense arrays, once asked for (not an init field: dataclasses.replace of a
    #: mutated point must not carry the old arrays along)
    _dense: dict[str, np.ndarray] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.frame not in FRAMES:
            raise ValueError(f"frame must be one of {FRAMES}, got {self.frame!r}")
        if self.frame != "zero" and self.d < self.K:
            raise ValueError(f"the {self.frame} frame needs d >= K, got d={self.d} < K={self.K}")

    @property
    def labels(self) -> tuple[int, ...]:
        return tuple(range(self.K))

    def gram_diagonal_and_off(self) -> tuple[Fraction, Fraction]:
        """(P P^T)_kk and (P P^T)_jk for j != k, exactly."""
        if self.frame == "zero":
            return Fraction(0), Fraction(0)
        if self.frame == "centred-basis":
            return 1 - Fraction(1, self.K), -Fraction(1, self.K)
        return Fraction(1), Fraction(0)

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """Dense W (K x d), class-mean H (d x K), b (K,): O(K d) memory, built on demand."""
        if self._dense is None:
            K, d = self.K, self.d
            P = np.zeros((K, d))
            if self.frame == "centred-basis":
                P[:, :K] = np.eye(K) - np.ones((K, K)) / K
            elif self.frame == "standard-basis":
                P[:, :K] = np.eye(K)
            self._dense = {"W": self.alpha * P, "H": self.beta * P.T}
            if self.bias is not None:
                self._dense["b"] = np.full(K, self.bias)
        return self._dense

    def interval_objective(self, loss: Loss, lam_W: Fraction, lam_H: Fraction,
                           lam_b: Fraction = Fraction(0)) -> flint.arb:
        """Enclosure of f at this exact point, O(K) interval operations (module docstring)."""
        alpha, beta = flint.arb(self.alpha), flint.arb(self.beta)
        diag, off = self.gram_diagonal_and_off()
        c = flint.arb(self.bias if self.bias is not None else 0.0)
        scale = alpha * beta
        column = [scale * arb_of(diag) + c] + [scale * arb_of(off) + c] * (self.K - 1)
        value = loss.arb(column, 0)
        frobenius = self.K * diag  # |P|_F^2 = tr(P P^T)
        value += arb_of(lam_W) * alpha * alpha * arb_of(frobenius) / 2
        value += arb_of(lam_H) * beta * beta * arb_of(sum(self.counts) * diag) / 2
        if self.bias is not None and lam_b != 0:
            value += arb_of(lam_b) * c * c * self.K / 2
        return value

    def as_proof(self) -> dict[str, Any]:
        """The point for a proof file: the frame's name and the exact scales (hex floats)."""
        return {"kind": "frame", "frame": self.frame, "alpha": float.hex(self.alpha),
                "beta": float.hex(self.beta),
                "bias": None if self.bias is None else float.hex(self.bias)}
