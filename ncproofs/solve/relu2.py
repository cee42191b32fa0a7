r"""Two-layer ReLU networks with weight decay: Pilanci & Ergen's exact convex program.

Nonconvex problem (scalar output, data X in R^{n x p}, targets y in R^n, width m):

    p(m) = min_{u_j, a_j}  1/2 |sum_j s(X u_j) a_j - y|^2 + beta/2 sum_j (|u_j|^2 + a_j^2),

s = max(., 0).  With the activation patterns D_i = diag(1[X g_i >= 0]) (all of them),

    min_{v_i, w_i} 1/2 |sum_i D_i X (v_i - w_i) - y|^2 + beta sum_i (|v_i|_2 + |w_i|_2)
    s.t. (2 D_i - I) X v_i >= 0,  (2 D_i - I) X w_i >= 0,

has the same value as p(m) for every m >= m* (the number of nonzero v_i, w_i), and its dual

    max_lam  1/2 |y|^2 - 1/2 |lam - y|^2   s.t.  |lam^T s(X u)| <= beta |u|  for all u

lower-bounds p(m) for EVERY width m (weak duality; Pilanci & Ergen 2020, Theorems 1-2).

What is rigorous here.
* ``enumerate_patterns`` lists the *complete* set exactly (integer arithmetic) when
  rank X = n (all 2^n patterns), rank X = 1 (two patterns), or p = 3 (the cells of a
  central plane arrangement in R^3, found from the extreme rays x_i x x_j).  A sampled set
  (``sample_patterns``) is always incomplete in general: its convex optimum describes a
  feasible network, i.e. an UPPER bound, never a lower one.
* ``dual_bound``: lam = y - prediction from the solver; dual feasibility per pattern and
  sign reads min_{mu >= 0} |c + A^T mu| <= beta (c = +-X^T D_i lam, A = (2D_i - I) X:
  the distance from c to the polar of the pattern cone), with mu from NNLS, checked in
  interval arithmetic; lam is scaled down by the worst ratio; the dual objective of the
  scaled lam, in intervals, is a rigorous lower bound -- only with the complete set.
* ``network_of`` turns (v_i, w_i) into an explicit network (u = v/sqrt|v|, a = sqrt|v|)
  whose objective, in intervals (``interval_network_objective``), is a rigorous upper bound.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import flint
import numpy as np

from ..certify.deep import arb_relu
from ..certify.intervals import arb_matrix, arb_of, arb_sum_squares

MAX_COMPLETE_PATTERNS = 5000


class PatternError(ValueError):
    """The complete pattern set cannot be enumerated exactly for this data."""


# --------------------------------------------------------------------------- patterns


def _integer_rows(X: np.ndarray) -> list[tuple[int, ...]]:
    """X scaled by one power of two to exact integers (floats are dyadic rationals)."""
    fr = [[Fraction(float(v)) for v in row] for row in np.asarray(X, dtype=np.float64)]
    den = 1
    for row in fr:
        for v in row:
            den = max(den, v.denominator)
    return [tuple(int(v * den) for v in row) for row in fr]


def _dot(a, b) -> int:
    return sum(x * y for x, y in zip(a, b))


def _cross(a, b) -> tuple[int, int, int]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _rank(rows: list[tuple[int, ...]]) -> int:
    return flint.fmpz_mat([list(r) for r in rows]).rank() if rows else 0


def enumerate_patterns(X: np.ndarray) -> list[tuple[int, ...]]:
    """Every nonzero pattern 1[X g >= 0] of a full-dimensional cell (exact).

    Raises :class:`PatternError` when no exact method applies (then sample patterns and
    label the result an upper bound)."""
    rows = _integer_rows(X)
    n, p = len(rows), len(rows[0])
    r = _rank(rows)
    if r == n:
        if 2**n - 1 > MAX_COMPLETE_PATTERNS:
            raise PatternError(f"rank X = n = {n}: 2^n - 1 patterns exceed "
                               f"{MAX_COMPLETE_PATTERNS}")
        return [t for t in itertools.product((0, 1), repeat=n) if any(t)]
    if r == 1:
        ref = next(row for row in rows if any(row))
        sign = [(_dot(row, ref) > 0) - (_dot(row, ref) < 0) for row in rows]
        pats = {tuple(int(s > 0) for s in sign), tuple(int(s < 0) for s in sign)}
        return sorted(t for t in pats if any(t))
    if p == 3 and r == 3:
        return _patterns_3d(rows)
    raise PatternError(f"exact enumeration needs rank X = n, rank X = 1 or p = 3 "
                       f"(got n = {n}, p = {p}, rank {r})")


def _patterns_3d(rows: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Cells of the arrangement {g : x_k^T g = 0} in R^3 (rank 3): every cell is a pointed
    cone, so it has an extreme ray v = +-(x_i x x_j); around v the cells are the sectors
    cut by the planes through v, whose sides are probed along tau = +-(v x x_k)."""
    n = len(rows)
    pats: set[tuple[int, ...]] = set()
    nonzero = [k for k in range(n) if any(rows[k])]
    for i, j in itertools.combinations(nonzero, 2):
        v0 = _cross(rows[i], rows[j])
        if not any(v0):
            continue
        for v in (v0, tuple(-c for c in v0)):
            dots = [_dot(rows[k], v) for k in range(n)]
            through = [k for k in range(n) if dots[k] == 0 and any(rows[k])]
            for k in through:
                for s in (1, -1):
                    tau = tuple(s * c for c in _cross(v, rows[k]))
                    base = []
                    for q in range(n):
                        if not any(rows[q]):
                            base.append(1)  # a zero row: x^T g = 0 >= 0
                        elif dots[q] != 0:
                            base.append(int(dots[q] > 0))
                        else:
                            t = _dot(rows[q], tau)
                            if t != 0:
                                base.append(int(t > 0))
                            else:  # x_q = c x_k (same plane): -1 same side as k, -2 opposite
                                base.append(-1 if _dot(rows[q], rows[k]) > 0 else -2)
                    for side in (0, 1):
                        pat = tuple(side if b == -1 else 1 - side if b == -2 else b
                                    for b in base)
                        if any(pat):
                            pats.add(pat)
    return sorted(pats)


def sample_patterns(X: np.ndarray, count: int, seed: int) -> list[tuple[int, ...]]:
    """Patterns of ``count`` Gaussian directions (distinct, nonzero): an incomplete set."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((np.asarray(X).shape[1], count))
    D = (np.asarray(X) @ G >= 0).astype(int).T
    return sorted({tuple(int(v) for v in row) for row in D if row.any()})


# --------------------------------------------------------------------------- convex program


@dataclass
class ConvexSolution:
    value: float  # solver value (not rigorous)
    V: np.ndarray  # (P, p)
    Wn: np.ndarray  # (P, p)
    prediction: np.ndarray  # (n,)
    solver: str
    status: str
    seconds: float


def solve_convex(X: np.ndarray, y: np.ndarray, beta: float,
                 patterns: list[tuple[int, ...]], solver: str = "CLARABEL") -> ConvexSolution:
    import cvxpy as cp

    X = np.asarray(X, float)
    D = np.array(patterns, dtype=float).T  # n x P
    P = D.shape[1]
    p = X.shape[1]
    V = cp.Variable((P, p))
    Wn = cp.Variable((P, p))
    XV, XW = X @ V.T, X @ Wn.T  # n x P
    pred = cp.sum(cp.multiply(D, XV - XW), axis=1)
    S = 2 * D - 1
    obj = 0.5 * cp.sum_squares(pred - y) + beta * (cp.sum(cp.norm(V, 2, axis=1))
                                                   + cp.sum(cp.norm(Wn, 2, axis=1)))
    cons = [cp.multiply(S, XV) >= 0, cp.multiply(S, XW) >= 0]
    prob = cp.Problem(cp.Minimize(obj), cons)
    t0 = time.perf_counter()
    kwargs: dict[str, Any] = {}
    if solver == "CLARABEL":
        kwargs = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12,
                  "max_iter": 400}
    prob.solve(solver=solver, **kwargs)
    seconds = time.perf_counter() - t0
    return ConvexSolution(value=float(prob.value), V=np.asarray(V.value),
                          Wn=np.asarray(Wn.value), prediction=np.asarray(pred.value).ravel(),
                          solver=solver, status=str(prob.status), seconds=seconds)


# --------------------------------------------------------------------------- certificates


@dataclass
class DualBound:
    value: flint.arb  # dual objective of the scaled lam (rigorous iff the set is complete)
    scale: float  # lam was multiplied by 1/scale (>= 1 means it had to shrink)
    worst_ratio: float
    patterns: int


def dual_bound(X: np.ndarray, y: np.ndarray, beta: Fraction, lam: np.ndarray,
               patterns: list[tuple[int, ...]]) -> DualBound:
    """Weak-duality bound 1/2|y|^2 - 1/2|t lam - y|^2 with t making lam dual feasible on
    every listed pattern (see the module docstring); the enclosure is rigorous for the
    listed patterns."""
    from scipy.optimize import nnls

    X = np.asarray(X, float)
    lam = np.asarray(lam, float)
    Xa = arb_matrix(X)
    lam_a = arb_matrix(lam.reshape(-1, 1))
    worst = flint.arb(0)
    beta_a = arb_of(beta)
    for pat in patterns:
        Dm = np.array(pat, dtype=float)
        A = (2 * Dm - 1)[:, None] * X  # n x p
        A_a = arb_matrix(A)
        c0 = X.T @ (Dm * lam)
        c0_a = Xa.transpose() * _diag_times(pat, lam_a)
        for s in (1.0, -1.0):
            mu, _ = nnls(A.T, -s * c0, maxiter=50 * A.shape[0])
            mu = np.maximum(mu, 0.0)
            r = c0_a * s + A_a.transpose() * arb_matrix(mu.reshape(-1, 1))
            worst = worst.max(arb_sum_squares_arb(r) / beta_a**2)  # squared ratio
    if not worst.is_finite():
        raise ArithmeticError("dual feasibility check produced a non-finite enclosure")
    # scale >= sqrt(worst squared ratio) as an exact float (checked in arb), >= 1
    scale = max(1.0, math.sqrt(float(worst.upper())))
    while not flint.arb(scale) ** 2 >= worst.upper():
        scale = math.nextafter(scale, math.inf)
    t = flint.arb(1) / flint.arb(scale)
    y_a = arb_matrix(np.asarray(y, float).reshape(-1, 1))
    diff = lam_a * t - y_a
    value = arb_sum_squares_arb(y_a) / 2 - arb_sum_squares_arb(diff) / 2
    return DualBound(value=value, scale=scale, worst_ratio=math.sqrt(float(worst.mid())),
                     patterns=len(patterns))


def _diag_times(pat: tuple[int, ...], col: flint.arb_mat) -> flint.arb_mat:
    out = flint.arb_mat(col.nrows(), 1)
    for i, b in enumerate(pat):
        out[i, 0] = col[i, 0] if b else flint.arb(0)
    return out


def arb_sum_squares_arb(M: flint.arb_mat) -> flint.arb:
    total = flint.arb(0)
    for i in range(M.nrows()):
        for j in range(M.ncols()):
            total += M[i, j] * M[i, j]  # not ** 2: arb pow of a ball around 0 is inf
    return total


@dataclass
class Network:
    U: np.ndarray  # (p, m) first-layer weights (columns u_j)
    a: np.ndarray  # (m,) output weights

    @property
    def width(self) -> int:
        return self.U.shape[1]

    def hidden(self, X: np.ndarray) -> np.ndarray:
        return np.maximum(np.asarray(X) @ self.U, 0)

    def objective(self, X: np.ndarray, y: np.ndarray, beta: float) -> float:
        r = self.hidden(X) @ self.a - y
        return 0.5 * r @ r + beta / 2 * ((self.U**2).sum() + (self.a**2).sum())


def network_of(sol: ConvexSolution, rel_cut: float = 1e-7) -> Network:
    """u = v/sqrt|v|, a = +sqrt|v| (and -sqrt|w| for w): balanced layers, same output."""
    cols, outs = [], []
    norms = np.concatenate([np.linalg.norm(sol.V, axis=1), np.linalg.norm(sol.Wn, axis=1)])
    cut = rel_cut * max(1e-300, norms.max(initial=0.0))
    for M, sign in ((sol.V, 1.0), (sol.Wn, -1.0)):
        for v in M:
            nv = np.linalg.norm(v)
            if nv > cut:
                cols.append(v / math.sqrt(nv))
                outs.append(sign * math.sqrt(nv))
    p = sol.V.shape[1]
    U = np.array(cols).T if cols else np.zeros((p, 0))
    return Network(U=U, a=np.array(outs))


def prune_network(net: Network, X: np.ndarray, rel_tol: float = 1e-10) -> Network:
    """Caratheodory pruning (Pilanci & Ergen 2020, proof of m* <= n + 1) without raising
    the cost: with directions fixed, neuron j contributes t_j s_j, s_j = sign(a_j)
    max(X u_j/|u_j|, 0), at cost beta t_j (t_j = |u_j||a_j|, balanced layers).  While the
    s_j are (numerically) dependent, S c = 0 with sum c >= 0, t <- t - eps c (eps = the
    largest step keeping t >= 0) keeps the prediction, does not raise sum t, and zeroes a
    neuron.  Floating point: the caller must re-evaluate the result (e.g. in intervals)."""
    X = np.asarray(X, float)
    norms = np.linalg.norm(net.U, axis=0)
    keep = (norms > 0) & (net.a != 0)
    U, a = net.U[:, keep], net.a[keep]
    unit = U / np.linalg.norm(U, axis=0)
    t = np.linalg.norm(U, axis=0) * np.abs(a)
    sgn = np.sign(a)
    S = np.maximum(X @ unit, 0) * sgn
    while t.size > 1:
        _, sv, Vt = np.linalg.svd(S, full_matrices=True)
        if t.size <= sv.size and sv[-1] > rel_tol * sv[0]:
            break  # independent columns: nothing to prune
        c = Vt[-1]
        if c.sum() < 0:
            c = -c
        pos = c > 0
        if not pos.any():
            break
        ratios = np.where(pos, t / np.where(pos, c, 1.0), np.inf)
        j = int(np.argmin(ratios))
        t = np.maximum(t - ratios[j] * c, 0.0)
        t[j] = 0.0
        alive = t > 0
        unit, t, sgn, S = unit[:, alive], t[alive], sgn[alive], S[:, alive]
    root = np.sqrt(t)
    return Network(U=unit * root, a=sgn * root)


def interval_network_objective(net: Network, X: np.ndarray, y: np.ndarray,
                               beta: Fraction) -> flint.arb:
    """Rigorous enclosure of the nonconvex objective of an explicit network."""
    Hid = arb_relu(arb_matrix(np.asarray(X, float)) * arb_matrix(net.U))
    out = Hid * arb_matrix(net.a.reshape(-1, 1)) - arb_matrix(np.asarray(y, float).reshape(-1, 1))
    value = arb_sum_squares_arb(out) / 2
    return value + arb_of(beta) / 2 * (arb_sum_squares(net.U) + arb_sum_squares(net.a))


# --------------------------------------------------------------------------- torch training


@dataclass
class TrainResult:
    values: list[float]
    best: float
    grad_norm: float
    seconds: float
    iterations: int
    width: int
    device: str
    params: dict[str, np.ndarray] = field(default_factory=dict)


def train_torch(X: np.ndarray, y: np.ndarray, beta: float, width: int, starts: int,
                seed: int, device: str = "cpu", tol: float = 1e-10) -> TrainResult:
    """Batched multi-start L-BFGS on the nonconvex network (same objective)."""
    import torch

    from .lbfgs import minimize_multistart, resolve_device

    dev = resolve_device(device)
    Xt = torch.tensor(np.asarray(X, float), device=dev)
    yt = torch.tensor(np.asarray(y, float), device=dev)
    gen = torch.Generator().manual_seed(seed)
    p = Xt.shape[1]
    init = {"U": (torch.randn(starts, p, width, generator=gen, dtype=torch.float64)
                  / math.sqrt(p)).to(dev),
            "a": (torch.randn(starts, width, generator=gen, dtype=torch.float64)
                  / math.sqrt(width)).to(dev)}

    def objective(q: dict[str, torch.Tensor]) -> torch.Tensor:
        Hid = torch.relu(Xt @ q["U"])  # (S, n, m)
        r = (Hid * q["a"][:, None, :]).sum(-1) - yt
        return 0.5 * r.pow(2).sum(-1) + beta / 2 * (q["U"].pow(2).sum((-2, -1))
                                                    + q["a"].pow(2).sum(-1))

    res = minimize_multistart(objective, init, tol=tol, max_iter=1000)
    i = res.best
    return TrainResult(values=[float(v) for v in res.values], best=float(res.values[i]),
                       grad_norm=float(res.grad_norms[i]), seconds=res.seconds,
                       iterations=res.iterations, width=width, device=res.device,
                       params={k: v[i].cpu().numpy() for k, v in res.params.items()})
