r"""The PSD-Gram relaxation of the normalized-features CE model, and its rigorous dual.

Problem (classifier rows w_j and features on the unit sphere, temperature tau > 0)::

    min  sum_k w_k CE(tau M e_k, k),   M_{jk} = w_j^T h_k,   w_k = n_k / N.

(Features of one class may be averaged in the Gram matrix: permuting the samples of a
class leaves the objective unchanged and CE is convex in the logits, so the symmetrized
Gram matrix has one feature block per class; repeating a column of a PSD matrix keeps it
PSD, so nothing is lost.)  The logits are a block of the 2K x 2K Gram matrix
G = [W; Hbar][W; Hbar]^T, which is PSD with unit diagonal; dropping rank(G) <= d gives
the convex relaxation (exponential cones + one SDP cone)::

    R = min { sum_k w_k CE(tau M e_k, k) : G PSD, diag(G) = 1, M = G[:K, K:] },

a lower bound for every d.

Dual (weak duality, VSDP-style; Jansson, Chaykin & Keil 2007).  CE(z, k) =
max_{p in simplex} <p - e_k, z> + Ent(p), so for column-stochastic P (columns p_k) and
Y = tau (P - I) diag(w):  objective >= sum_k w_k Ent(p_k) + <C, G>,
C = [[0, Y/2], [Y^T/2, 0]].  For every vector y, since diag(G) = 1 and tr G = 2K,

    <C, G> = sum_i y_i + <C - Diag(y), G> >= sum_i y_i + 2K min(0, lambda_min(C - Diag(y))).

So  R >= sum_k w_k Ent(p_k) + sum_i y_i - 2K delta  whenever C - Diag(y) + delta I is PSD.
With P and y rational, the PSD check is exact (characteristic polynomial sign pattern,
:func:`ncproofs.certify.dual._charpoly_nonnegative_roots`), the entropy is an arb ball:
the bound is rigorous whatever solver produced P and y.

Symmetric point (balanced classes): p_k = pi e_k + q (1 - e_k), pi = 1 - (K-1) q gives
Y = -tau q (I - 11^T/K), whose C has eigenvalues +-tau q/2 and 0; y = -(tau q/2) 1 makes
C - Diag(y) PSD exactly, so  R >= Ent(p) - K tau q  for every q in [0, 1/(K-1)] -- an O(1)
bound, maximal at q* = 1/(exp(tau K/(K-1)) + K - 1).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import flint
import numpy as np

from ..losses import Loss
from ..spec import SpecError
from .dual import _charpoly_nonnegative_roots, _round_to_simplex, softmax_columns
from .intervals import arb_entropy, arb_of
from .upper import interval_data_term

#: largest K for the 2K x 2K SDP handed to cvxpy / checked exactly (sizes measured in
#: docs/benchmarks.md)
MAX_GRAM_K = 30


@dataclass
class GramBound:
    """A rigorous lower bound ``value`` (arb; use its lower end) with its proof data."""

    value: flint.arb
    method: str
    details: dict[str, Any] = field(default_factory=dict)
    #: the exact dual data for a proof file (ncproofs.check); None when not exported
    proof: dict[str, Any] | None = None


def arb_unit_rows(V: np.ndarray) -> list[list[flint.arb]]:
    """Rows of the float matrix V divided by their norms, in intervals: an enclosure of an
    exactly unit-norm point (the exact normalization of V is what is certified)."""
    out = []
    for row in np.asarray(V, dtype=np.float64):
        xs = [flint.arb(float(x)) for x in row]
        norm = sum((x * x for x in xs), flint.arb(0)).sqrt()
        out.append([x / norm for x in xs])
    return out


def interval_sphere_objective(
    loss: Loss,
    tau: Fraction,
    W: np.ndarray,
    H: np.ndarray,
    labels: Sequence[Any],
    counts: Sequence[int],
) -> flint.arb:
    """Enclosure of sum_j (c_j/N) loss(tau W h_j, y_j) at the exactly normalized rows of
    W (K x d) and columns of H (d x m): a rigorous upper bound on the sphere optimum."""
    Wn = arb_unit_rows(W)
    Hn = arb_unit_rows(np.asarray(H).T)
    K, m = len(Wn), len(Hn)
    t = arb_of(tau)
    Z = flint.arb_mat(K, m)
    for j in range(K):
        for i in range(m):
            Z[j, i] = t * sum((a * b for a, b in zip(Wn[j], Hn[i])), flint.arb(0))
    return interval_data_term(loss, Z, labels, counts)


# --------------------------------------------------------------------------- relaxation


@dataclass
class GramRelaxation:
    value: float
    G: np.ndarray
    solver: str
    status: str
    seconds: float

    @property
    def M(self) -> np.ndarray:
        K = self.G.shape[0] // 2
        return self.G[:K, K:]


def solve_gram_relaxation(tau: Fraction, counts: Sequence[int],
                          solver: str = "CLARABEL") -> GramRelaxation:
    """cvxpy value of R (a number, not a proof)."""
    import cvxpy as cp

    K = len(counts)
    if K > MAX_GRAM_K:
        raise SpecError(f"K must be <= {MAX_GRAM_K} for the Gram SDP relaxation, got K={K}")
    N = sum(counts)
    G = cp.Variable((2 * K, 2 * K), PSD=True)
    t = float(tau)
    data = 0
    for k in range(K):
        z = t * G[:K, K + k]
        data = data + (counts[k] / N) * (cp.log_sum_exp(z) - z[k])
    problem = cp.Problem(cp.Minimize(data), [cp.diag(G) == 1])
    start = time.perf_counter()
    try:
        problem.solve(solver=solver)
    except cp.error.SolverError:
        solver = "SCS"
        problem.solve(solver="SCS", eps=1e-9, max_iters=100000)
    return GramRelaxation(value=float(problem.value), G=np.asarray(G.value), solver=solver,
                          status=str(problem.status), seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- dual bounds


def _fq(x: Fraction) -> flint.fmpq:
    return flint.fmpq(x.numerator, x.denominator)


def _rational(x: float, grid: int = 1 << 40) -> Fraction:
    return Fraction(round(float(x) * grid), grid)


def psd_shift(S: list[list[Fraction]], guess: float) -> Fraction:
    """A rational delta >= 0 with S + delta I PSD, verified exactly (S symmetric rational).

    Starts from the float estimate ``guess`` of -lambda_min(S), inflated, and doubles the
    margin until the exact check passes."""
    n = len(S)
    base = max(0.0, guess)
    margin = 1e-12 + 1e-9 * base
    for _ in range(80):
        delta = Fraction(base + margin).limit_denominator(1 << 60)
        delta = max(delta, Fraction(0))
        A = flint.fmpq_mat(n, n, [_fq(S[i][j] + (delta if i == j else 0))
                                  for i in range(n) for j in range(n)])
        if _charpoly_nonnegative_roots(A):
            return delta
        margin *= 4
    raise RuntimeError("no PSD shift found")  # pragma: no cover - cannot happen: delta grows


def off_diagonal_block(B: list[list[Fraction]]) -> list[list[Fraction]]:
    """The symmetric 2K x 2K matrix [[0, B/2], [B^T/2, 0]]: <C, G> = <B, G[:K, K:]> for a
    Gram matrix G of K classifier rows followed by K features."""
    K = len(B)
    C = [[Fraction(0)] * (2 * K) for _ in range(2 * K)]
    for i in range(K):
        for j in range(K):
            C[i][K + j] = B[i][j] / 2
            C[K + j][i] = B[i][j] / 2
    return C


@dataclass(frozen=True)
class GramCEDual:
    """Weak-duality lower bounds on R for temperature ``tau`` and class counts."""

    tau: Fraction
    counts: tuple[int, ...]

    @property
    def K(self) -> int:
        return len(self.counts)

    def symmetric_bound(self, q: Fraction) -> GramBound:
        """Ent(pi, q, ..., q) - K tau q with pi = 1 - (K-1) q (balanced classes only)."""
        K = self.K
        if len(set(self.counts)) != 1:
            raise SpecError("n must be balanced for the symmetric Gram dual")
        if not (0 <= q <= Fraction(1, K - 1)):
            raise ValueError("q must lie in [0, 1/(K-1)]")
        value = arb_entropy([1 - (K - 1) * q] + [q] * (K - 1)) - arb_of(K * self.tau * q)
        return GramBound(
            value=value,
            method="exact symmetric dual point y = -(tau q/2) 1: C - Diag(y) has eigenvalues "
                   "tau q, tau q/2 and 0, all >= 0",
            details={"q": float(q)},
            proof={"kind": "gram-symmetric-dual", "q": str(q)},
        )

    def dense_bound(self, G: np.ndarray) -> GramBound:
        """VSDP bound from an approximate primal Gram matrix G (e.g. a cvxpy solution):
        p_k = softmax(tau M e_k) rounded onto the rational simplex, y_i = (C G)_ii
        (complementary slackness) rounded, delta from an exact PSD check."""
        K = self.K
        if K > MAX_GRAM_K:
            raise SpecError(f"K must be <= {MAX_GRAM_K} for the dense Gram dual, got K={K}")
        G = np.asarray(G, dtype=np.float64)
        N = sum(self.counts)
        w = [Fraction(c, N) for c in self.counts]
        P = softmax_columns(float(self.tau) * G[:K, K:])
        cols = [_round_to_simplex(P[:, k]) for k in range(K)]
        Y = [[self.tau * w[k] * (cols[k][j] - (1 if j == k else 0)) for k in range(K)]
             for j in range(K)]
        n = 2 * K
        C = off_diagonal_block(Y)
        Cf = np.array([[float(x) for x in row] for row in C])
        y = [_rational(v) for v in np.diag(Cf @ G)]
        S = [[C[i][j] - (y[i] if i == j else 0) for j in range(n)] for i in range(n)]
        guess = -float(np.linalg.eigvalsh(np.array([[float(x) for x in r] for r in S]))[0])
        delta = psd_shift(S, guess)
        value = flint.arb(0)
        for k in range(K):
            value += arb_of(w[k]) * arb_entropy(cols[k])
        value += arb_of(sum(y, Fraction(0)) - n * delta)
        return GramBound(
            value=value,
            method="dense dual point from the SDP solution: rational simplex rounding, "
                   "exact PSD check of C - Diag(y) + delta I (VSDP correction 2K delta)",
            details={"delta": float(delta), "correction": float(n * delta)},
        )
