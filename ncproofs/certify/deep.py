r"""Rigorous pieces for deep unconstrained-features models.

* :func:`interval_objective_deep` -- the original deep objective

      f = sum_j (c_j/N) loss(W_L s(... s(W_1 h_j)) + b, y_j) + sum_l lam_l/2 |W_l|^2
          + lam_H/2 sum_j c_j |h_j|^2 + lam_b/2 |b|^2

  at an explicit float point, in interval arithmetic (python-flint ``arb``): a rigorous
  upper bound on the minimum.  Activations "linear" and "relu" (a ReLU of a ball that
  straddles 0 is enclosed by [0, upper]).
* :data:`DEPTH_IDENTITY` -- the statement of the depth-L factorization inequality that
  every deep lower bound rests on, with citations, for a certificate's ``assumptions``.
* :func:`balanced_factorization` -- explicit W_1..W_L, G with W_L ... W_1 G = M that attain
  the identity (balanced across layers): the point behind an upper bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

import flint
import numpy as np

from ..losses import Loss
from .intervals import arb_matrix, arb_of, arb_sum_squares
from .provenance import DEPTH_FACTORIZATION
from .upper import interval_data_term

#: the depth-L factorization inequality every deep lower bound rests on (a lemma)
DEPTH_IDENTITY = DEPTH_FACTORIZATION


def _relu_arb(x: flint.arb) -> flint.arb:
    if x >= 0:
        return x
    if x <= 0:
        return flint.arb(0)
    return flint.arb(0).union(flint.arb(x.upper()))


def arb_relu(A: flint.arb_mat) -> flint.arb_mat:
    """Entrywise enclosure of max(a, 0) (a ball straddling 0 becomes [0, upper])."""
    return flint.arb_mat([[_relu_arb(A[i, j]) for j in range(A.ncols())]
                          for i in range(A.nrows())])


def interval_objective_deep(
    loss: Loss,
    Ws: Sequence[np.ndarray],
    H: np.ndarray,
    b: np.ndarray | None,
    labels: Sequence[int],
    counts: Sequence[int],
    lams: Sequence[Fraction],
    lam_H: Fraction,
    lam_b: Fraction = Fraction(0),
    activation: str = "linear",
) -> flint.arb:
    """Enclosure of f at float arrays ``Ws = [W_1, ..., W_L]`` (W_L is K x d), H (d x m)
    with column multiplicities ``counts`` and labels, bias b (K,) or None."""
    if len(Ws) != len(lams):
        raise ValueError(f"{len(Ws)} weight matrices but {len(lams)} weight decays")
    if activation not in ("linear", "relu"):
        raise ValueError(f"activation must be linear or relu, got {activation!r}")
    X = arb_matrix(H)
    for l, W in enumerate(Ws, start=1):
        X = arb_matrix(W) * X
        if activation == "relu" and l < len(Ws):
            X = arb_relu(X)
    if b is not None:
        bias = arb_matrix(np.asarray(b, dtype=np.float64).reshape(-1, 1))
        X = X + bias * flint.arb_mat(1, X.ncols(), [1] * X.ncols())
    value = interval_data_term(loss, X, labels, counts)
    for lam, W in zip(lams, Ws):
        value += arb_of(lam) * arb_sum_squares(W) / 2
    H = np.asarray(H, dtype=np.float64)
    counts_arr = np.asarray(counts)
    col_sq = flint.arb(0)
    for c in np.unique(counts_arr):  # one interval dot product per multiplicity
        col_sq += arb_sum_squares(H[:, counts_arr == c]) * int(c)
    value += arb_of(lam_H) * col_sq / 2
    if b is not None and lam_b != 0:
        value += arb_of(lam_b) * arb_sum_squares(b) / 2
    return value


def balanced_factorization(
    M: np.ndarray, lams: Sequence[float], lam_H: float, d: int,
) -> tuple[list[np.ndarray], np.ndarray]:
    r"""W_1..W_L (W_l d x d, W_L K x d) and G (d x m) with W_L ... W_1 G = M, attaining the
    depth-L identity: with M = U S V^T (rank r <= d), E = the first r columns of I_d and
    Lam = (lam_H prod lam_l)^(1/(L+1)),

        G = a_H E S^(1/(L+1)) V^T,  W_l = a_l E S^(1/(L+1)) E^T (l < L),
        W_L = a_L U S^(1/(L+1)) E^T,   a_j = sqrt(Lam / lam_j)  (prod a_j = 1),

    so lam_j |factor_j|^2 = Lam sum_i sigma_i^(2/(L+1)) for every factor.  Raises
    ValueError when rank M > d."""
    L = len(lams)
    U, S, Vt = np.linalg.svd(np.asarray(M, dtype=float), full_matrices=False)
    r = int((S > 1e-14 * max(S.max(initial=0.0), 1e-300)).sum())
    if r > d:
        raise ValueError(f"rank {r} of the target does not fit in width d = {d}")
    U, S, Vt = U[:, :r], S[:r], Vt[:r]
    root = S ** (1.0 / (L + 1))
    Lam = float(np.exp((np.log(lam_H) + sum(np.log(x) for x in lams)) / (L + 1)))
    a = [np.sqrt(Lam / x) for x in lams]
    a_H = np.sqrt(Lam / lam_H)
    E = np.eye(d)[:, :r]
    G = a_H * (E * root) @ Vt
    Ws = [a[l] * (E * root) @ E.T for l in range(L - 1)]
    Ws.append(a[L - 1] * (U * root) @ E.T)
    return Ws, G


def interval_minimize_1d(
    dec: Callable[[flint.arb], flint.arb],
    inc: Callable[[flint.arb], flint.arb],
    deriv: Callable[[flint.arb], flint.arb] | None,
    lo: float,
    hi: float,
    *,
    rel_tol: float = 1e-12,
    max_nodes: int = 20000,
    leaves: list[tuple[float, float]] | None = None,
) -> tuple[flint.arb, float]:
    r"""Rigorous enclosure of min_{a in [lo, hi]} psi(a), psi = dec + inc with ``dec``
    non-increasing and ``inc`` non-decreasing (both enclosed by arb functions).

    Branch and bound: on [u, v] psi >= dec(v) + inc(u) (monotonicity) and, when ``deriv``
    is given and u > 0, psi >= psi(m) - |psi'([u, v])| (v - u)/2 (mean value form).
    Returns (ball [lower, upper] of the minimum, a float argmin); ``lower`` is rigorous,
    ``upper`` is psi at an evaluated point.  Stops when the relative width is below
    ``rel_tol`` or after ``max_nodes`` intervals (then the enclosure is simply wider).
    ``leaves``, when given, receives the final partition of [lo, hi] (pruned, dropped and
    live intervals): the cover a proof file lists for an independent re-check."""
    import heapq
    import math

    from .certificate import lower_end, upper_end

    def value(a: float) -> flint.arb:
        x = flint.arb(a)
        return dec(x) + inc(x)

    def lower_on(u: float, v: float) -> float:
        bound = lower_end(dec(flint.arb(v)) + inc(flint.arb(u)))
        if deriv is not None and u > 0:
            m = 0.5 * (u + v)
            rad = 0.5 * (v - u) + 2 * math.ulp(m)
            slope = deriv(flint.arb(m, rad))
            bound = max(bound, lower_end(value(m) - abs(slope) * flint.arb(rad)))
        return bound

    best_a = min((lo, hi), key=lambda a: upper_end(value(a)))
    best_up = upper_end(value(best_a))
    heap = [(lower_on(lo, hi), lo, hi)]
    floor = math.inf  # lowest bound among intervals dropped unrefined (float resolution)
    done: list[tuple[float, float]] = []
    nodes = 0
    while heap and nodes < max_nodes:
        low, u, v = heap[0]
        if best_up - low <= rel_tol * abs(best_up):  # purely relative (no floor)
            break
        heapq.heappop(heap)
        m = 0.5 * (u + v)
        if not (u < m < v):
            floor = min(floor, low)
            done.append((u, v))
            continue
        val = upper_end(value(m))
        if val < best_up:
            best_up, best_a = val, m
        for a, b in ((u, m), (m, v)):
            child = lower_on(a, b)
            if child < best_up:  # pruned children have bounds >= best_up >= the minimum
                heapq.heappush(heap, (child, a, b))
            else:
                done.append((a, b))
        nodes += 1
    global_low = min([h[0] for h in heap] + [floor, best_up])
    if leaves is not None:
        leaves.extend(sorted(done + [(u, v) for _, u, v in heap]))
    return flint.arb(global_low).union(flint.arb(best_up)), best_a
