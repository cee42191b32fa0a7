r"""Rigorous lower bound for the pick-all-label (multi-label) CE relaxation.

Data: every label set S of each size s in ``sizes`` carries n_s samples; N = sum_s n_s
C(K, s), w_S = n_S / N.  Relaxation on per-label-set mean logits (Jensen + the
factorization identity, valid for every d; tight when d >= rank)::

    F(M, b) = sum_S w_S PAL(M e_S + b, S) + sqrt(lam_W lam_H) |M D|_* + lam_b/2 |b|^2,

D = diag(sqrt n_S).  With PAL(z, S) = max_{p in simplex} <|S| p - 1_S, z> + |S| Ent(p),
for dual points p_S and Y = [w_S (|S| p_S - 1_S)]_S:

    F >= sum_S w_S |S| Ent(p_S)    provided |Y D^{-1}|_2 <= sqrt(lam_W lam_H) and Y 1 = 0.

Symmetric point p_S = pi_s on S, q_s off S (s pi_s + (K - s) q_s = 1): each column of Y
is -K w_S q_s (1_S - (s/K) 1), so Y 1 = 0 (bias of any kind is free) and, because
sum_{|S| = s} P 1_S 1_S^T P = C(K-2, s-1) P with P = I - 11^T/K,

    |Y D^{-1}|_2^2 = (K^2 / N^2) sum_s n_s C(K-2, s-1) q_s^2                 (exact)

-- an O(m) rational check, for any K.  The entropy is enclosed in arb balls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import comb
from typing import Any

import flint

from .intervals import arb_entropy, arb_of


@dataclass
class PALBound:
    value: flint.arb
    method: str
    details: dict[str, Any] = field(default_factory=dict)
    #: the exact dual data for a proof file (ncproofs.check)
    proof: dict[str, Any] | None = None


def pal_spectral_norm_sq(K: int, sizes: Sequence[int], n: Sequence[int],
                         q: Sequence[Fraction]) -> Fraction:
    """|Y D^{-1}|_2^2 of the symmetric dual point, exactly."""
    N = sum(ns * comb(K, s) for s, ns in zip(sizes, n))
    total = sum(Fraction(ns * comb(K - 2, s - 1)) * qs * qs for s, ns, qs in zip(sizes, n, q))
    return Fraction(K * K, N * N) * total


def pal_symmetric_bound(K: int, sizes: Sequence[int], n: Sequence[int],
                        q: Sequence[Fraction], lam_W: Fraction, lam_H: Fraction) -> PALBound:
    """sum_s (n_s C(K,s)/N) s Ent(pi_s 1_S + q_s 1_{S^c}), after checking feasibility."""
    N = sum(ns * comb(K, s) for s, ns in zip(sizes, n))
    for s, qs in zip(sizes, q):
        if not (0 <= qs and (K - s) * qs <= 1):
            raise ValueError(f"q for size {s} must lie in [0, 1/(K - s)], got {qs}")
    norm_sq = pal_spectral_norm_sq(K, sizes, n, q)
    if norm_sq > lam_W * lam_H:
        raise ValueError("symmetric PAL dual point infeasible: |Y D^-1|_2^2 > lam_W lam_H")
    value = flint.arb(0)
    for s, ns, qs in zip(sizes, n, q):
        pi = (1 - (K - s) * qs) / s
        ent = arb_entropy([pi] * s + [qs] * (K - s))
        value += arb_of(Fraction(ns * comb(K, s) * s, N)) * ent
    return PALBound(
        value=value,
        method="exact symmetric PAL dual point ((K/N)^2 sum_s n_s C(K-2,s-1) q_s^2 <= "
               "lam_W lam_H checked in rationals)",
        details={"q": [float(x) for x in q], "slack": float(lam_W * lam_H - norm_sq)},
        proof={"kind": "pal-symmetric-dual", "q": [str(x) for x in q]},
    )
