r"""The convex relaxation on class-mean logits (cvxpy).  Its optimal value is a number,
not a proof: callers report it with ``rigorous = false`` and turn its solution into a
rigorous bound through :mod:`ncproofs.certify.dual`.

Averaging the features of a class never increases the objective when the loss is convex
in the logits (Jensen) and always decreases |H|^2, so optimal features are constant per
class.  With D = diag(sqrt n_k) and the factorization identity

    min { lam_W/2 |W|^2 + lam_H/2 |Hbar D|^2 : W Hbar = M } = sqrt(lam_W lam_H) |M D|_*,

the problem over (W, H, b) is bounded below, for every d, by

    min_{M, b}  sum_k (n_k/N) loss(M e_k + b, k) + sqrt(lam_W lam_H) |M D|_* + lam_b/2 |b|^2,

with equality when d >= rank(M*).  The nuclear norm sits in an epigraph constraint so
that solvers see a plain SDP/exponential-cone program.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..losses import Loss
from ..spec import SpecError

#: the largest K for which we hand the 2K x 2K PSD cone to a solver (docs/benchmarks.md,
#: "Measured facts":
#: K = 50 costs Clarabel 27 s and 1.4 GB; K = 100 exhausts memory).
MAX_RELAXATION_K = 60


@dataclass
class RelaxationResult:
    value: float
    M: np.ndarray
    b: np.ndarray | None
    solver: str
    status: str
    seconds: float

    def as_details(self) -> dict[str, object]:
        """For a certificate's ``details``: a number reported, never trusted."""
        import math

        usable = self.status == "optimal" and math.isfinite(self.value)
        return {"value": self.value if usable else None, "solver": self.solver,
                "status": self.status, "seconds": self.seconds, "rigorous": False}


def solve_relaxation(
    loss: Loss,
    counts: tuple[int, ...],
    lam_W: Fraction,
    lam_H: Fraction,
    lam_b: Fraction = Fraction(0),
    bias: bool = False,
    solver: str | None = None,
    *,
    labels: Sequence[Any] | None = None,
    K: int | None = None,
) -> RelaxationResult:
    """``labels[j]`` is the label (for multi-label losses, the label set) of column j of M,
    default j; M is K x len(counts) with K = len(counts) unless given."""
    import cvxpy as cp

    labels = list(range(len(counts))) if labels is None else list(labels)
    K = len(counts) if K is None else K
    if K > MAX_RELAXATION_K:
        raise SpecError(
            f"K must be <= {MAX_RELAXATION_K} for the cvxpy relaxation (its 2K x 2K PSD cone "
            f"needs too much memory beyond that), got K={K}"
        )
    N = sum(counts)
    M = cp.Variable((K, len(counts)))
    s = cp.Variable()
    b = cp.Variable(K) if bias else None
    D = np.diag(np.sqrt(np.asarray(counts, dtype=float)))
    data = 0
    for k, label in enumerate(labels):
        z = M[:, k] + b if bias else M[:, k]
        data = data + (counts[k] / N) * loss.cvxpy(z, label)
    objective = data + float(np.sqrt(float(lam_W) * float(lam_H))) * s
    if bias and lam_b != 0:
        objective = objective + float(lam_b) / 2 * cp.sum_squares(b)
    problem = cp.Problem(cp.Minimize(objective), [cp.normNuc(M @ D) <= s])
    chosen = solver or ("CLARABEL" if K <= 20 else "SCS")
    start = time.perf_counter()
    kwargs = {"eps": 1e-9, "max_iters": 200000} if chosen == "SCS" else {}
    try:
        problem.solve(solver=chosen, **kwargs)
    except cp.error.SolverError:
        problem.solve(solver="SCS", eps=1e-8, max_iters=200000)
        chosen = "SCS"
    seconds = time.perf_counter() - start
    return RelaxationResult(
        value=float(problem.value),
        M=np.asarray(M.value),
        b=None if b is None else np.asarray(b.value),
        solver=chosen,
        status=str(problem.status),
        seconds=seconds,
    )
