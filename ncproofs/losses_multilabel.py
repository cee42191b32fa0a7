r"""The pick-all-label cross-entropy of multi-label learning (Li et al.).

A sample carries a nonempty label set S subset {0, ..., K-1}; its loss is the sum of the
ordinary CE over its labels, the softmax running over all K classes::

    PAL(z, S) = sum_{k in S} CE(z, k) = |S| logsumexp(z) - sum_{k in S} z_k.

It is convex in the logits.  It does not fit the single-label ``(z, k)`` signature of
:mod:`ncproofs.losses` with an int ``k``, so the label argument here is a *tuple of
labels* (``sympy``, ``arb``, ``cvxpy``), and ``torch(Z, Y)`` takes a multi-hot float
matrix ``Y`` of shape (K, N).  With that convention it plugs into the shared engines
(``interval_data_term``, ``UFMObjective``, ``solve_relaxation`` with ``labels=``).

Conjugate (used by :mod:`ncproofs.certify.pal_dual`): PAL(z, S) = max_{p in simplex}
<|S| p - 1_S, z> + |S| Ent(p).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import flint
import sympy as sp

from ._lazy import torch
from .losses import Loss, arb_logsumexp, register_loss
from .spec import SpecError


def _labels(S: Sequence[int] | int) -> tuple[int, ...]:
    labels = (S,) if isinstance(S, int) else tuple(S)
    if not labels:
        raise SpecError("label sets must be nonempty (got an empty label set)")
    return labels


@register_loss
@dataclass(frozen=True)
class PickAllLabelCE(Loss):
    r"""PAL(z, S) = |S| log sum_j exp(z_j) - sum_{k in S} z_k."""

    name: str = "pal-ce"

    def sympy(self, z, k):
        S = _labels(k)
        return len(S) * sp.log(sum(sp.exp(zj) for zj in z)) - sum(z[j] for j in S)

    def sympy_set_margin(self, a: sp.Expr, s: sp.Expr, K: sp.Expr) -> sp.Expr:
        """PAL at logits a on the s labels of S and 0 elsewhere (K, s may be symbols):
        s (log(s e^a + K - s) - a)."""
        return s * (sp.log(s * sp.exp(a) + K - s) - a)

    def torch(self, Z, y):
        Y = y.to(Z.dtype)
        if Y.dim() == 1:  # plain labels: one-hot
            Y = torch.nn.functional.one_hot(y, Z.shape[-2]).T.to(Z.dtype)
        lse = torch.logsumexp(Z, dim=-2)
        return Y.sum(dim=-2) * lse - (Z * Y).sum(dim=-2)

    def arb(self, z, k):
        S = _labels(k)
        return len(S) * arb_logsumexp(z) - sum((z[j] for j in S), flint.arb(0))

    def cvxpy(self, z, k):
        import cvxpy as cp

        S = _labels(k)
        return len(S) * cp.log_sum_exp(z) - sum(z[j] for j in S)


def label_sets(K: int, sizes: Sequence[int]) -> list[tuple[int, ...]]:
    """Every label set of each size in ``sizes`` (lexicographic within a size)."""
    out: list[tuple[int, ...]] = []
    for s in sizes:
        out.extend(combinations(range(K), s))
    return out


def multi_hot(sets: Sequence[tuple[int, ...]], counts: Sequence[int], K: int) -> torch.Tensor:
    """(K, N) float64 indicator matrix, set j repeated counts[j] times."""
    cols = []
    for S, c in zip(sets, counts):
        col = torch.zeros(K, dtype=torch.float64)
        col[list(S)] = 1.0
        cols.extend([col] * c)
    return torch.stack(cols, dim=1)
