r"""Rigorous lower bounds for the cross-entropy relaxation by weak duality.

Primal (see :mod:`ncproofs.certify.relaxation`), with w_k = n_k/N, D = diag(sqrt n_k),
s = sqrt(lam_W lam_H):

    F(M, b) = sum_k w_k CE(M e_k + b, k) + s |M D|_* + lam_b/2 |b|^2.

The conjugate of CE(., k) = logsumexp(.) - z_k is finite only on {p - e_k : p in the
simplex}, where it equals sum_j p_j log p_j.  Hence for every column-stochastic P
(column k is a probability vector p_k) and Y = (P - I) diag(w):

    F(M, b) >= sum_k w_k Ent(p_k) + <Y, M> + <Y 1, b> + s |M D|_* + lam_b/2 |b|^2
            >= sum_k w_k Ent(p_k) - |Y 1|^2 / (2 lam_b)         (lam_b > 0)

provided |Y D^{-1}|_2 <= s, i.e. (congruence by D)

    lam_W lam_H diag(n) - Y^T Y  is positive semidefinite,                 (*)

and, for an unregularized bias, Y 1 = 0 (no bias: no condition, no term).  Ent is the
Shannon entropy.  Every quantity is rational once P is, so (*) is checked *exactly*:
the characteristic polynomial of a real symmetric matrix has only nonnegative roots iff
its coefficients alternate in sign (Descartes), computed by FLINT in exact rationals.
The entropy is enclosed with arb balls.  This is the VSDP recipe (Jansson, Chaykin &
Keil 2007) with the slack check done exactly and the cone's domain (the simplex) kept
exactly by rational rounding.

A dual point P that violates (*) is pulled toward the identity, P' = theta P + (1 - theta) I
(Y' = theta Y): columns stay in the simplex, Y'1 stays 0, and theta <= s/|Y D^{-1}|_2
restores (*).  For balanced classes and P = (1 - (K-1) q) I + q (11^T - I) everything is
explicit: Y^T Y = q^2 (I - 11^T/K)/1 has eigenvalues q^2 and 0, so (*) reads q^2 <= n lam_W lam_H
-- an O(1) exact check for any K.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import flint
import numpy as np

from ..spec import SpecError
from .intervals import arb_entropy, arb_of

MAX_DENSE_DUAL_K = 120
_GRID = 1 << 48  # rational rounding grid for dual probabilities


@dataclass
class DualBound:
    """A rigorous lower bound ``value`` (an arb ball; use its lower end)."""

    value: flint.arb
    method: str
    theta: Fraction = Fraction(1)
    details: dict[str, Any] = field(default_factory=dict)
    #: the exact dual data for a proof file (rationals as "p/q" strings; ncproofs.check)
    proof: dict[str, Any] | None = None


@dataclass(frozen=True)
class CEDual:
    counts: tuple[int, ...]
    lam_W: Fraction
    lam_H: Fraction
    bias: bool = False
    lam_b: Fraction = Fraction(0)
    #: label smoothing alpha: the loss is logsumexp(z) - y_k^T z with the target
    #: y_k = (1 - alpha) e_k + alpha/K 1, whose conjugate is finite on {p - y_k : p in the
    #: simplex}; every "I" (one-hot targets) below becomes T = (1 - alpha) I + alpha/K 11^T
    smoothing: Fraction = Fraction(0)

    @property
    def K(self) -> int:
        return len(self.counts)

    def target(self, j: int, k: int) -> Fraction:
        """Entry (j, k) of the target matrix T (column k is the target of class k)."""
        return (1 - self.smoothing) * (j == k) + self.smoothing / self.K

    @property
    def s_squared(self) -> Fraction:
        return self.lam_W * self.lam_H

    # ------------------------------------------------------------------ symmetric (O(1))

    def symmetric_bound(self, q: Fraction) -> DualBound:
        """Bound from P = (1-(K-1)q) I + q (11^T - I), balanced classes, 0 <= q <= 1/(K-1).

        The KKT point of the ETF closed form has q = min(t, 1/K), t = sqrt(n lam_W lam_H).
        With smoothing alpha, Y = -(q - alpha/K)(I - 11^T/K) and (*) reads
        (q - alpha/K)^2 <= n lam_W lam_H; the KKT point has q = min(t + alpha/K, 1/K).
        """
        if len(set(self.counts)) != 1:
            raise SpecError("n must be balanced for the symmetric dual")
        K, n = self.K, self.counts[0]
        if not (0 <= q <= Fraction(1, K - 1)):
            raise ValueError("q must lie in [0, 1/(K-1)]")
        # Y = -r (I - 11^T/K), r = q - alpha/K; Y 1 = 0 so every bias mode is satisfied
        # with no bias term.
        r = q - self.smoothing / K
        if r * r > n * self.s_squared:
            raise ValueError("symmetric dual point infeasible: (q - alpha/K)^2 > n lam_W lam_H")
        p_true = 1 - (K - 1) * q
        value = arb_entropy([p_true]) + (K - 1) * arb_entropy([q])
        return DualBound(
            value=value,
            method="exact symmetric dual point (q^2 <= n lam_W lam_H checked in rationals)",
            details={"q": float(q), "slack": float(n * self.s_squared - r * r)},
            proof={"kind": "ce-symmetric-dual", "q": str(q)},
        )

    # ------------------------------------------------------------------ dense

    def dense_bound(self, P: np.ndarray) -> DualBound:
        """Bound from an approximate column-stochastic K x K matrix P (floats).

        Rounds P to rationals on the simplex, repairs the bias constraint exactly,
        shrinks toward I until (*) holds exactly, and encloses the dual objective.
        """
        K = self.K
        if K > MAX_DENSE_DUAL_K:
            raise SpecError(
                f"K must be <= {MAX_DENSE_DUAL_K} for the dense exact dual check, got K={K}"
            )
        P = np.asarray(P, dtype=np.float64)
        if P.shape != (K, K) or not np.all(np.isfinite(P)):
            raise ValueError("P must be a finite K x K matrix")
        N = sum(self.counts)
        w = [Fraction(c, N) for c in self.counts]
        cols = [_round_to_simplex(P[:, k]) for k in range(K)]
        if self.bias and self.lam_b == 0:
            rows = None if self.smoothing == 0 else [
                sum(w[k] * self.target(j, k) for k in range(K)) for j in range(K)]
            cols = _balance_marginals(cols, w, rows)
        Y = [[w[k] * (cols[k][j] - self.target(j, k)) for k in range(K)] for j in range(K)]
        theta = self._feasible_scale(Y)
        p_final = [
            [theta * cols[k][j] + (1 - theta) * self.target(j, k) for j in range(K)]
            for k in range(K)
        ]
        value = flint.arb(0)
        for k in range(K):
            value += arb_of(w[k]) * arb_entropy(p_final[k])
        bias_penalty = Fraction(0)
        if self.bias and self.lam_b != 0:
            row = [theta * sum(Y[j]) for j in range(K)]
            bias_penalty = sum(r * r for r in row) / (2 * self.lam_b)
            value -= arb_of(bias_penalty)
        return DualBound(
            value=value,
            method="dense dual point: rational simplex rounding, exact PSD check (Descartes)",
            theta=theta,
            details={"theta": float(theta), "bias_penalty": float(bias_penalty)},
            proof={"kind": "ce-dense-dual",
                   "P_columns": [[str(x) for x in col] for col in p_final]},
        )

    def psd_slack_holds(self, Y: list[list[Fraction]], theta: Fraction) -> bool:
        """Exact check of (*) for theta * Y."""
        K = self.K
        Yq = flint.fmpq_mat(K, K, [_q(x) for row in Y for x in row])
        G = Yq.transpose() * Yq
        C = flint.fmpq_mat(K, K)
        t2 = _q(theta * theta)
        for i in range(K):
            for j in range(K):
                C[i, j] = -t2 * G[i, j]
            C[i, i] += _q(self.s_squared * self.counts[i])
        return _charpoly_nonnegative_roots(C)

    def _feasible_scale(self, Y: list[list[Fraction]]) -> Fraction:
        Yf = np.array([[float(x) for x in row] for row in Y])
        Dinv = 1 / np.sqrt(np.asarray(self.counts, dtype=float))
        sigma = float(np.linalg.norm(Yf * Dinv[None, :], 2))
        s = float(np.sqrt(float(self.s_squared)))
        theta = Fraction(1) if sigma <= s else Fraction(s / sigma) * Fraction(1 - 2**-30)
        theta = min(Fraction(1), Fraction(int(theta * _GRID), _GRID))
        # At an optimum |Y D^-1|_2 = s up to float noise, so sigma <= s may hold in floats
        # while (*) fails in rationals: try fine shrinks before the coarse 1023/1024 steps.
        for fine in (0, 36, 30, 20):
            cand = theta if fine == 0 else Fraction(int(theta * (1 - Fraction(1, 2**fine))
                                                        * _GRID), _GRID)
            if self.psd_slack_holds(Y, cand):
                return cand
        for _ in range(60):
            if self.psd_slack_holds(Y, theta):
                return theta
            theta *= Fraction(1023, 1024)
        return Fraction(0)  # P = I: the trivial dual point, always feasible, value 0


def _q(x: Fraction) -> flint.fmpq:
    return flint.fmpq(x.numerator, x.denominator)


def _charpoly_nonnegative_roots(C: flint.fmpq_mat) -> bool:
    """True iff the symmetric rational matrix C is positive semidefinite.

    det(xI - C) = sum_i c_i x^i is real-rooted; all roots are >= 0 iff (-1)^(K-i) c_i >= 0
    for every i (then (-1)^K p(-y) has nonnegative coefficients and no positive root).
    """
    coeffs = C.charpoly().coeffs()  # low to high degree
    K = len(coeffs) - 1
    return all(((-1) ** (K - i)) * c >= 0 for i, c in enumerate(coeffs))


def _round_to_simplex(p: np.ndarray) -> list[Fraction]:
    """Exact rational probability vector close to p (nonnegative, sums to 1)."""
    p = np.clip(np.nan_to_num(p, nan=0.0), 0.0, None)
    total = p.sum()
    p = p / total if total > 0 else np.full_like(p, 1 / len(p))
    q = [Fraction(int(round(x * _GRID)), _GRID) for x in p]
    big = max(range(len(q)), key=lambda j: q[j])
    q[big] += 1 - sum(q)
    if q[big] < 0:  # cannot happen for a normalized input; guard anyway
        q = [Fraction(1, len(q))] * len(q)
    return q


def _balance_marginals(
    cols: list[list[Fraction]], w: list[Fraction], rows: list[Fraction] | None = None
) -> list[list[Fraction]]:
    """Make sum_k w_k p_k = rows exactly (default rows = w; needed for an unregularized
    bias), keeping each p_k in the simplex: Altschuler, Weed & Rigollet's rounding of the
    coupling pi_{jk} = w_k p_{jk} onto the transport polytope with column marginals w and
    row marginals ``rows``, in rationals."""
    K = len(w)
    r_target = list(w) if rows is None else list(rows)
    pi = [[w[k] * cols[k][j] for k in range(K)] for j in range(K)]  # pi[j][k]
    for j in range(K):  # rows down to w_j
        r = sum(pi[j])
        if r > r_target[j]:
            pi[j] = [x * r_target[j] / r for x in pi[j]]
    for k in range(K):  # columns down to w_k
        c = sum(pi[j][k] for j in range(K))
        if c > w[k]:
            for j in range(K):
                pi[j][k] = pi[j][k] * w[k] / c
    err_r = [r_target[j] - sum(pi[j]) for j in range(K)]
    err_c = [w[k] - sum(pi[j][k] for j in range(K)) for k in range(K)]
    mass = sum(err_r)
    if mass > 0:
        for j in range(K):
            for k in range(K):
                pi[j][k] += err_r[j] * err_c[k] / mass
    return [[pi[j][k] / w[k] for j in range(K)] for k in range(K)]


def softmax_columns(Z: np.ndarray) -> np.ndarray:
    """Column-wise softmax (the CE dual point at logits Z)."""
    Z = np.asarray(Z, dtype=np.float64)
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)
