r"""Imbalanced CE: no closed form, but a certified global optimum via the convex relaxation.

Papers: C. Fang, H. He, Q. Long, W. J. Su, "Exploring Deep Neural Networks via Layer-Peeled
Model: Minority Collapse in Imbalanced Training", PNAS 2021 (minority collapse); the
relaxation is the one of Zhu et al. 2021 (class-mean logits + factorization identity).

Symbol map (paper -> ours).  Fang et al. use norm *constraints* (layer-peeled model) rather
than weight decay; we certify the weight-decay model of our convention (docs/conventions.md)
with n = (n_1, ..., n_K) and report their phenomenon (the minority classifiers w_k becoming
identical) as the imbalance ratio R = n_majority / n_minority grows.

Method.  CE is convex in the logits, so class-mean features are optimal and
min f >= min_{M, b} sum_k w_k CE(M e_k + b, k) + sqrt(lam_W lam_H) |M D|_* + lam_b/2 |b|^2
for every d.  We solve the class-mean problem (one feature per class, weighted by n_k) with
torch L-BFGS + Newton-CG polish to a gradient norm ~1e-13, then
* lower bound: the dual point P = softmax(Z*) through :meth:`CEDual.dense_bound` (rational
  simplex rounding, exact bias repair, exact PSD check) -- rigorous for every d;
* upper bound: the interval objective of the full problem at that point (features repeated
  n_k times) of the stated size d -- rigorous.
Certified when they meet.  If d < rank(M*) the point of size d cannot reach the relaxation
and the certificate is (honestly) inconclusive.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import flint
import numpy as np
import sympy as sp

from .._lazy import torch
from ..certify.certificate import Certificate, decide, lower_end
from ..certify.dual import MAX_DENSE_DUAL_K, CEDual, softmax_columns
from ..certify.intervals import arb_matrix
from ..certify.provenance import EXACT_DUAL, EXPLICIT_POINT, FACTORIZATION, WEAK_DUALITY, jensen
from ..certify.relaxation import solve_relaxation
from ..certify.structure import ClaimedLogits
from ..derive.reduction import DerivationStep
from ..geometry import helmert_basis
from ..losses import get_loss
from ..solve.lbfgs import minimize_multistart
from ..spec import SpecError, UFMSpec
from ._plain import PlainUFMTheorem, collapsed_point
from .base import ClosedForm, register

ASSUMPTIONS = [jensen("CE"), FACTORIZATION, WEAK_DUALITY]
RELAXATION_CROSS_CHECK_MAX_K = 12


@dataclasses.dataclass
class ClassMeanSolution:
    W: np.ndarray
    H: np.ndarray  # d x K class means
    b: np.ndarray | None
    value: float
    grad_norm: float
    seconds: float
    #: how the point was found (the candidate search's starts; None for a plain solve)
    search: dict[str, Any] | None = None
    #: the objective reached from every start (the search counts its hits)
    start_values: np.ndarray | None = None
    #: d < K: the width-K relaxation solve the candidate search started from (dual bound)
    relaxation: ClassMeanSolution | None = None

    @property
    def logits(self) -> np.ndarray:
        Z = self.W @ self.H
        return Z if self.b is None else Z + self.b[:, None]


def solve_class_means(
    counts: tuple[float, ...], d: int, lam_W: float, lam_H: float, lam_b: float = 0.0,
    bias: bool = False, starts: int = 4, seed: int = 0,
    init: dict[str, np.ndarray] | None = None, centred: bool = False,
) -> ClassMeanSolution:
    """min sum_k w_k CE(W h_k + b, k) + lam_W/2|W|^2 + lam_H/2 sum_k n_k |h_k|^2
    + lam_b/2|b|^2 over W (K x d), h_k, b; ``counts`` may be real (for bisection).

    ``init``: start points ("W" S x K x d, "G" = H diag(sqrt n) S x d x K, optionally "b"
    S x K) used instead of ``starts`` random ones.  ``centred``: W = Q U and b = Q beta
    with Q an orthonormal basis of 1^perp -- no loss of optimality, since CE is invariant
    under adding a constant to a logit column and |P W| <= |W|, |P b| <= |b| for the
    centring projection P (so the search has K - 1 rows, not K, and no flat direction)."""
    K = len(counts)
    n = torch.tensor([float(c) for c in counts], dtype=torch.float64)
    w = n / n.sum()
    sqrt_n = n.sqrt()
    y = torch.arange(K)
    loss = get_loss("ce")
    Q = torch.tensor(helmert_basis(K) if centred else np.eye(K))
    gen = torch.Generator().manual_seed(seed)
    # variables W and G = H diag(sqrt n): the regularizer lam_W/2|W|^2 + lam_H/2|G|^2 is
    # isotropic, which conditions the problem far better when counts differ a lot
    if init is None:
        init_t = {"W": torch.randn(starts, K, d, generator=gen, dtype=torch.float64) / np.sqrt(d),
                  "G": torch.randn(starts, d, K, generator=gen, dtype=torch.float64) / np.sqrt(d)}
        if bias:
            init_t["b"] = torch.zeros(starts, K, 1, dtype=torch.float64)
    else:
        init_t = {"W": torch.as_tensor(init["W"], dtype=torch.float64),
                  "G": torch.as_tensor(init["G"], dtype=torch.float64)}
        if bias:
            b0 = init.get("b")
            init_t["b"] = (torch.zeros(init_t["W"].shape[0], K, 1, dtype=torch.float64)
                           if b0 is None else torch.as_tensor(b0, dtype=torch.float64)[..., None])
    # reduced coordinates (the identity when not centred): W = Q U, b = Q beta
    init_t = {("U" if k == "W" else "beta" if k == "b" else k): (Q.T @ v if k != "G" else v)
              for k, v in init_t.items()}

    def objective(p: dict[str, torch.Tensor]) -> torch.Tensor:
        Wp = Q @ p["U"]
        Z = Wp @ (p["G"] / sqrt_n)
        if "beta" in p:
            Z = Z + Q @ p["beta"]
        val = (loss.torch(Z, y) * w).sum(dim=-1)
        val = val + lam_W / 2 * p["U"].pow(2).sum(dim=(-2, -1))
        val = val + lam_H / 2 * p["G"].pow(2).sum(dim=(-2, -1))
        if "beta" in p and lam_b:
            val = val + lam_b / 2 * p["beta"].pow(2).sum(dim=(-2, -1))
        return val

    res = minimize_multistart(objective, init_t, tol=1e-14)
    best = res.best_params()
    return ClassMeanSolution(
        W=(Q @ best["U"]).numpy(), H=(best["G"] / sqrt_n).numpy(),
        b=(Q @ best["beta"]).numpy().ravel() if bias else None,
        value=float(res.values[res.best]), grad_norm=float(res.grad_norms[res.best]),
        seconds=res.seconds, start_values=res.values.numpy(),
    )


#: random starts of the d < K candidate search (seeded; the structured starts are not)
SEARCH_RANDOM_STARTS = 32
#: polygon starts are enumerated only while there are at most this many
MAX_POLYGON_STARTS = 96
#: a start "hits" the candidate when its value is within this relative distance
SEARCH_HIT_RTOL = 1e-9


def set_partitions(items: list[int]) -> list[list[list[int]]]:
    """Every partition of ``items`` into nonempty blocks (Bell(len) of them)."""
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for part in set_partitions(rest):
        out.append([[first], *part])
        for i in range(len(part)):
            out.append([*part[:i], [first, *part[i]], *part[i + 1:]])
    return out


def polygon_layouts(K: int, d: int) -> list[np.ndarray]:
    """Unit directions u_k in R^d (K x d) for the structured starts: for every partition of
    the classes into m >= 2 blocks and every cyclic order of the blocks up to reflection,
    the blocks on the vertices of a regular m-gon in the first coordinate plane (m = 2
    only when d = 1: antipodal).  Classes of one block share a direction (collapsed
    together, e.g. minority classes, or a minority class onto a majority one).  Empty
    when there would be more than :data:`MAX_POLYGON_STARTS`."""
    import itertools
    import math

    max_m = 2 if d == 1 else K
    parts = [p for p in set_partitions(list(range(K))) if 2 <= len(p) <= max_m]
    total = sum(max(1, math.factorial(len(p) - 1) // 2) for p in parts)
    if total > MAX_POLYGON_STARTS:
        return []
    out = []
    for part in parts:
        m = len(part)
        angles = 2 * np.pi * np.arange(m) / m
        vertices = np.zeros((m, d))
        vertices[:, 0] = np.cos(angles)
        if d > 1:
            vertices[:, 1] = np.sin(angles)
        seen = set()
        for order in itertools.permutations(range(1, m)):
            key = min(order, order[::-1])  # a cyclic order and its reflection
            if key in seen:
                continue
            seen.add(key)
            cyc = (0, *order)
            U = np.zeros((K, d))
            for pos, block in enumerate(cyc):
                U[part[block]] = vertices[pos]
            out.append(U)
    return out


def search_class_means(
    counts: tuple[float, ...], d: int, lam_W: float, lam_H: float, lam_b: float = 0.0,
    bias: bool = False, *, seed: int = 0, random_starts: int = SEARCH_RANDOM_STARTS,
    relaxation: ClassMeanSolution | None = None,
) -> ClassMeanSolution:
    r"""Numeric candidate for the class-mean problem at width d < K (no closed form).

    The problem is min over rank-<= d centred logits M = W Hbar (and b) of
    sum_k w_k CE(M e_k + b, k) + sqrt(lam_W lam_H) |M D|_* + lam_b/2 |b|^2, D = diag(sqrt n)
    (factorization identity), which is non-convex for d < rank(M*).  One batched L-BFGS
    run (centred coordinates, :func:`solve_class_means`) from
    * structured starts, independent of ``seed``: the relaxation optimum's centred M D
      truncated to its top d singular pairs (balanced factors), and
      :func:`polygon_layouts` (classes grouped into blocks on a regular polygon: minority
      collapse, minority-onto-majority, every order of which classes share a direction),
      each with per-class lengths |w_k|, |h_k| of the relaxation optimum and a fixed
      1e-3 perturbation (so no start sits exactly on a saddle);
    * ``random_starts`` Gaussian starts from ``seed``.
    Returns the best point (numeric: never a proof of global optimality) with a
    ``search`` summary (starts, how many reached the best value, the distinct values)."""
    K = len(counts)
    if relaxation is None:
        relaxation = solve_class_means(counts, K, lam_W, lam_H, lam_b, bias, starts=4)
    sq = np.sqrt(np.asarray(counts, dtype=np.float64))
    c = (lam_H / lam_W) ** 0.25  # balanced split for lam_W/2|W|^2 + lam_H/2|G|^2
    P = np.eye(K) - 1.0 / K
    Mr = P @ relaxation.W @ relaxation.H  # centred relaxation logits (no bias)
    U, S, Vt = np.linalg.svd(Mr * sq[None, :])
    r = min(d, K)
    W0 = np.zeros((K, d))
    G0 = np.zeros((d, K))
    W0[:, :r] = c * U[:, :r] * np.sqrt(S[:r])[None, :]
    G0[:r, :] = np.sqrt(S[:r])[:, None] * Vt[:r, :] / c
    Ws, Gs = [W0], [G0]
    w_len = np.linalg.norm(relaxation.W, axis=1)
    g_len = np.linalg.norm(relaxation.H, axis=0) * sq
    for dirs in polygon_layouts(K, d):
        Ws.append(w_len[:, None] * dirs)
        Gs.append((g_len[:, None] * dirs).T)
    structured = len(Ws)
    fixed = np.random.default_rng(20240531)  # the perturbation does not depend on seed
    Ws = np.stack(Ws) + 1e-3 * fixed.standard_normal((structured, K, d))
    Gs = np.stack(Gs) + 1e-3 * fixed.standard_normal((structured, d, K))
    gen = np.random.default_rng(seed)
    Ws = np.concatenate([Ws, gen.standard_normal((random_starts, K, d)) / np.sqrt(d)])
    Gs = np.concatenate([Gs, gen.standard_normal((random_starts, d, K)) / np.sqrt(d)])
    init: dict[str, np.ndarray] = {"W": Ws, "G": Gs}
    if bias:
        b0 = np.zeros((structured + random_starts, K))
        b0[:structured] = P @ relaxation.b
        init["b"] = b0
    sol = solve_class_means(counts, d, lam_W, lam_H, lam_b, bias, init=init, centred=True)
    values = sol.start_values
    hits = np.abs(values - sol.value) <= SEARCH_HIT_RTOL * abs(sol.value)
    sol.search = {
        "structured_starts": structured, "random_starts": random_starts, "seed": seed,
        "hits": {"structured": int(hits[:structured].sum()),
                 "random": int(hits[structured:].sum())},
        "local_values": sorted({float(f"{v:.10g}") for v in values})[:8],
        "rigorous": False,
    }
    sol.seconds += relaxation.seconds
    return sol


def minority_spread(sol: ClassMeanSolution, minority: list[int],
                    lam_W: float | None = None, lam_H: float | None = None) -> float:
    """max_{i,j minority} |w_i - w_j| / scale (0: minority collapse), scale = max_k |w_k|,
    or max(max_k |w_k|, (lam_H/lam_W)^(1/4)) when the weight decays are given (the natural
    length unit of W, so that W = 0 -- every class collapsed -- reads as spread ~ 0)."""
    W = sol.W
    scale = max(1e-300, float(np.linalg.norm(W, axis=1).max()))
    if lam_W is not None and lam_H is not None:
        scale = max(scale, (lam_H / lam_W) ** 0.25)
    return max(float(np.linalg.norm(W[i] - W[j])) for i in minority for j in minority) / scale


def minority_collapse_ratio(
    K_major: int, K_minor: int, n_minor: int | Fraction, lam_W: Fraction | str | float,
    lam_H: Fraction | str | float,
) -> sp.Expr:
    r"""Exact minority-collapse ratio R* = n_major/n_minor (SymPy, exact for rationals).

    Criterion (exact, from the KKT structure of the relaxation; every bias mode).  Let the
    K_minor >= 2 minority classes share the count n_B.  Permuting them is a symmetry, so an
    invariant optimum exists, with M_BB = eps I + zeta 11^T and equal minority rows
    elsewhere; all optima share the logit differences (CE is strictly convex in them), and
    rows i, j of W coincide iff rows i, j of M do, iff eps = 0.  The zero-sum minority
    subspace reduces M D with singular value |eps| sqrt(n_B) (multiplicity K_B - 1), so with
    zeta' = eps + K_B zeta the objective is g(x, eps) + s (K_B - 1) sqrt(n_B) |eps| + h(x),
    g smooth.  At eps = 0 the minority columns put equal mass q on every minority class,
    and d g/d eps = -(K_B - 1) n_B / N whatever x is.  Hence eps* = 0 iff
    (K_B - 1) n_B / N <= s (K_B - 1) sqrt(n_B), i.e.

        N^2 lam_W lam_H >= n_B         (the imbalanced-MSE threshold of Dang et al.)

    With N = K_A R n_B + K_B n_B:  R* = (1/sqrt(n_B lam_W lam_H) - K_B) / K_A; collapse iff
    R >= R*.  For K_B = K (balanced) it is Zhu et al.'s K t >= 1.  Needs d >= rank(M*)
    for the relaxation to be the optimum of the full problem."""
    s2 = sp.nsimplify(str(lam_W), rational=True) * sp.nsimplify(str(lam_H), rational=True)
    nB = sp.nsimplify(str(n_minor), rational=True)
    return (1 / sp.sqrt(nB * s2) - K_minor) / K_major


def minority_collapse_steps() -> list[DerivationStep]:
    """SymPy: d/d eps of the K_B minority CE terms at eps = 0 (zeta' fixed) is
    -(K_B - 1) w_B, whatever the other logits are; hence the collapse criterion."""
    # A = sum over the majority classes a of exp(c_a), c_a their (arbitrary, possibly all
    # different) logits in a minority column: every majority term shares the eps-dependence
    # exp(-(zeta' - eps)/K_B - eps), so one positive symbol covers any majority logits.
    A, KB, wB, zp, eps, s, nB, N = sp.symbols(
        "A K_B w_B zeta' epsilon s n_B N", positive=True)
    u = -(zp - eps) / KB - eps  # (majority logit - c_a) minus own logit, minority column
    ce = sp.log(A * sp.exp(u) + (KB - 1) * sp.exp(-eps) + 1)
    slope = sp.simplify(KB * wB * sp.diff(ce, eps).subs(eps, 0))
    return [
        DerivationStep("Minority columns (eps: own-logit excess, zeta' = eps + K_B zeta "
                       "fixed): slope of the minority loss at eps = 0", sp.Eq(
                           sp.Symbol("dL/deps"), slope)),
        DerivationStep("Minority collapse (eps* = 0) iff |slope| <= s (K_B - 1) sqrt(n_B) "
                       "with w_B = n_B/N", sp.Ge(N**2 * s**2, nB)),
    ]


def _certified_eval(
    K_major: int, K_minor: int, n_major: int, n_minor: int, lam_W: str, lam_H: str,
    bias: bool, lam_b: str, d: int, spread_tol: float,
) -> dict[str, Any]:
    """One bisection evaluation: the certified optimum of ufm-ce-imbalanced at these counts
    (dense exact dual + interval upper bound, no cvxpy cross-check) and its minority
    spread."""
    th = UFMCEImbalanced()
    params: dict[str, Any] = {
        "K": K_major + K_minor, "n": ",".join([str(n_major)] * K_major
                                              + [str(n_minor)] * K_minor),
        "d": d, "lam_W": lam_W, "lam_H": lam_H, "bias": "true" if bias else "false"}
    if bias:
        params["lam_b"] = lam_b
    spec = th.spec(params)
    sol = th._solution(spec, starts=1)
    cert = th._certify_solution(spec, sol, cross_check=False)
    spread = minority_spread(sol, list(range(K_major, K_major + K_minor)),
                             float(spec.lam_W), float(spec.lam_H))
    return {"n_major": n_major, "R": n_major / n_minor, "status": cert.status,
            "gap": cert.gap, "upper_bound": cert.upper_bound, "spread": spread,
            "collapsed": spread < spread_tol, "seconds": sol.seconds}


def minority_collapse_threshold(
    K_major: int, K_minor: int, n_minor: int, lam_W: float | str, lam_H: float | str, *,
    n_major_lo: int | None = None, n_major_hi: int | None = None, bias: bool = False,
    lam_b: float | str = 0, d: int | None = None, spread_tol: float = 1e-6,
) -> dict[str, Any]:
    r"""Bisection on the integer n_major (n_minor fixed, R = n_major/n_minor) for the
    smallest n_major whose certified optimum has identical minority classifiers.

    Collapse test at one evaluation: max_{i,j minority} |w_i - w_j| / max_k |w_k| <
    ``spread_tol`` at the certified optimum (the class-mean point, certified by the dense
    exact CE dual and the interval objective; each evaluation's status is returned).  The
    spread is measured on a float point, so the *test* is numeric: the rigorous part is the
    value certificate of each evaluation, and the exact threshold
    :func:`minority_collapse_ratio` (KKT criterion N^2 lam_W lam_H >= n_minor) is reported
    alongside for comparison.  Default bracket: n_major in [n_minor, 1000 n_minor]."""
    lam_W, lam_H, lam_b = str(lam_W), str(lam_H), str(lam_b)
    d = K_major + K_minor if d is None else d
    lo = n_minor if n_major_lo is None else n_major_lo
    hi = 1000 * n_minor if n_major_hi is None else n_major_hi
    if not (K_major >= 1 and K_minor >= 2):
        raise SpecError(f"K_major must be >= 1 and K_minor >= 2, got {K_major}, {K_minor}")
    if not (1 <= n_minor <= lo < hi):
        raise SpecError(f"need 1 <= n_minor <= n_major_lo < n_major_hi, got n_minor="
                        f"{n_minor}, n_major_lo={lo}, n_major_hi={hi}")
    evals: list[dict[str, Any]] = []

    def collapsed(n_major: int) -> bool:
        e = _certified_eval(K_major, K_minor, n_major, n_minor, lam_W, lam_H, bias, lam_b,
                            d, spread_tol)
        evals.append(e)
        return bool(e["collapsed"])

    exact = minority_collapse_ratio(K_major, K_minor, n_minor, lam_W, lam_H)
    out: dict[str, Any] = {
        "K_major": K_major, "K_minor": K_minor, "n_minor": n_minor, "lam_W": lam_W,
        "lam_H": lam_H, "bias": bias, "lam_b": lam_b, "d": d, "spread_tol": spread_tol,
        "exact_R": float(exact), "exact_R_expr": str(exact),
        "exact_criterion": "N^2 lam_W lam_H >= n_minor", "evaluations": evals}
    if collapsed(lo):
        out.update(bracket=None, reason=f"minority already collapsed at n_major = {lo}")
    elif not collapsed(hi):
        out.update(bracket=None, reason=f"no minority collapse up to n_major = {hi}")
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if collapsed(mid):
                hi = mid
            else:
                lo = mid
        out.update(bracket_n_major=[lo, hi], bracket=[lo / n_minor, hi / n_minor],
                   threshold=hi / n_minor,
                   exact_in_bracket=bool(lo / n_minor < exact <= hi / n_minor))
    out["all_certified"] = all(e["status"] == "certified" for e in evals)
    out["rigorous"] = False  # the spread test is numeric; the values are certified
    return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImbalancedCESpec(UFMSpec):
    """UFMSpec with the size the dense exact dual check handles (checked up front rather
    than after the class-mean solve)."""

    def _check(self) -> None:
        super()._check()
        if self.K > MAX_DENSE_DUAL_K:
            raise SpecError(f"K must be <= {MAX_DENSE_DUAL_K} for ufm-ce-imbalanced (the "
                            f"dense exact dual check), got K={self.K}")


@register
class UFMCEImbalanced(PlainUFMTheorem):
    id = "ufm-ce-imbalanced"
    title = "Imbalanced CE: certified relaxation optimum (no closed form), minority collapse"
    citation = (
        "C. Fang, H. He, Q. Long, W. J. Su, Exploring Deep Neural Networks via Layer-Peeled "
        "Model: Minority Collapse in Imbalanced Training, PNAS 2021; relaxation as in Zhu "
        "et al., NeurIPS 2021"
    )
    symbol_map = (
        "ours: n = (n_1..n_K), lam_W, lam_H, lam_b, bias, d (weight-decay model); Fang et al.'s "
        "norm-constrained layer-peeled model has no lambda: we report their minority collapse "
        "(identical minority w_k) against R = n_major/n_minor"
    )
    loss_name = "ce"
    metric_target = "etf"
    spec_type = ImbalancedCESpec
    default_cases = (
        {"params": {"K": 3, "n": "6,3,1", "d": 3, "lam_W": "5e-3", "lam_H": "5e-3",
                    "bias": "false"}, "expect": "certified"},
        {"params": {"K": 4, "n": "10,10,2,2", "d": 4, "lam_W": "2e-3", "lam_H": "3e-3",
                    "lam_b": "1e-2"}, "expect": "certified"},
    )

    def derive_general(self) -> list[DerivationStep]:
        s, lb = sp.symbols("s lambda_b", positive=True)
        return [
            DerivationStep("No closed form is known; the relaxation (convex, exact when "
                           "d >= rank M*)", sp.Symbol(
                               "min_{M,b} sum_k w_k CE(M e_k + b, k) + s|M D|_* + "
                               "lambda_b/2 |b|^2")),
            DerivationStep("Weak duality: for column-stochastic P, Y = (P - I) diag(w) with "
                           "s^2 diag(n) - Y^T Y PSD (and Y1 = 0 for a free bias)",
                           sp.Symbol("f* >= sum_k w_k Ent(p_k) - |Y 1|^2/(2 lambda_b)")),
            DerivationStep("Dual point: P = softmax of the optimal class-mean logits (torch "
                           "solve), rounded to rationals and checked exactly", s),
            *minority_collapse_steps(),
        ]

    def _solution(self, spec: UFMSpec, starts: int = 4, seed: int = 0) -> ClassMeanSolution:
        """The class-mean point: the relaxation solve at width d when d >= K (it reaches
        the relaxation), else :func:`search_class_means` (numeric candidate of width d,
        the relaxation optimum kept as ``sol.relaxation`` for the dual bound)."""
        args = (spec.n, spec.d, float(spec.lam_W), float(spec.lam_H), float(spec.lam_b),
                spec.bias)
        if spec.d >= spec.K:
            return solve_class_means(*args, starts=starts, seed=seed)
        relax = solve_class_means(spec.n, spec.K, *args[2:], starts=starts, seed=seed)
        sol = search_class_means(*args, seed=seed, relaxation=relax)
        sol.relaxation = relax
        return sol

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        sol = self._solution(spec)
        Z = sol.logits
        sv = np.linalg.svd((Z - (0 if sol.b is None else sol.b[:, None]))
                           * np.sqrt(np.asarray(spec.n, float))[None, :], compute_uv=False)
        solve_info: dict[str, Any] = {"value": sol.value, "grad_norm": sol.grad_norm,
                                      "seconds": sol.seconds, "rigorous": False}
        if sol.search is not None:
            solve_info["search"] = sol.search
        summary: dict[str, Any] = {
            "class_mean_logits": Z.tolist(), "b": None if sol.b is None else sol.b.tolist(),
            "w_lengths": np.linalg.norm(sol.W, axis=1).tolist(),
            "h_lengths": np.linalg.norm(sol.H, axis=0).tolist(),
            "singular_values_MD": sv.tolist(),
            "class_mean_solve": solve_info,
        }
        if sol.search is None:
            regime = ("no closed form: best class-mean point of width d (numeric candidate, "
                      "certified when the dual bound meets it)")
        else:
            regime = (f"no closed form: numeric candidate, best of "
                      f"{sol.search['structured_starts']} structured + "
                      f"{sol.search['random_starts']} random starts of the class-mean "
                      f"search at width d = {spec.d} < K (certified only when the dual "
                      "bound meets it)")
        point = collapsed_point(sol.W, sol.H, sol.b, spec.n)
        # kind "numeric": the best point of a local class-mean solve at width d, not a
        # formula; it equals the relaxation optimum only when the certificate closes the gap
        closed = ClosedForm(objective=sp.Float(repr(sol.value), 17),
                            regime=regime,
                            minimizer=summary, point=point, kind="numeric",
                            steps=[DerivationStep("class-mean logits Z*", sp.Matrix(Z.round(
                                8)))])
        closed.class_means = sol  # type: ignore[attr-defined]
        return closed

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        sol: ClassMeanSolution = closed.class_means  # type: ignore[attr-defined]
        return self._certify_solution(spec, sol)

    def _certify_solution(self, spec: UFMSpec, sol: ClassMeanSolution,
                          cross_check: bool = True) -> Certificate:
        method = ("nuclear-norm relaxation + dense exact CE dual at softmax(Z*) (lower); interval "
                  "objective at the class-mean point of size d (upper)")
        dual = CEDual(spec.n, spec.lam_W, spec.lam_H, spec.bias, spec.lam_b)
        lower = dual.dense_bound(softmax_columns(sol.logits))
        relax = sol.relaxation
        dual_point = "softmax of the candidate's logits"
        if relax is not None:
            # d < K: the candidate's logits are not the relaxation's, whose softmax is the
            # better dual point (every dual point is a valid bound: keep the larger)
            at_relax = dual.dense_bound(softmax_columns(relax.logits))
            if lower_end(at_relax.value) > lower_end(lower.value):
                lower, dual_point = at_relax, "softmax of the relaxation optimum's logits"
        details: dict[str, Any] = {"dual": lower.details, "lower_method": lower.method,
                                   "dual_point": dual_point}
        if cross_check and spec.K <= RELAXATION_CROSS_CHECK_MAX_K:
            relax = solve_relaxation(self.loss(spec), spec.n, spec.lam_W, spec.lam_H,
                                     spec.lam_b, spec.bias)
            details["relaxation"] = {"value": relax.value, "solver": relax.solver,
                                     "status": relax.status, "seconds": relax.seconds,
                                     "rigorous": False}
        point = collapsed_point(sol.W, sol.H, sol.b, spec.n)
        upper = self.upper_bound(spec, point)
        # claimed=None: the candidate is our own numeric point, never a claim to refute
        cert = decide(method=method, lower=lower.value, upper=upper, claimed=None,
                      assumptions=ASSUMPTIONS, details=details, lower_source=EXACT_DUAL,
                      upper_source=EXPLICIT_POINT + " (the class-mean solve's best point)",
                      proof={"lower": lower.proof, "point": point})
        if cert.status != "certified" and spec.d < spec.K:
            cert.reason += (f"; d = {spec.d} < K = {spec.K}: the relaxation may need rank > d "
                            "(then it is not attained in R^d)")
        return cert

    # ------------------------------------------------------------------ certified geometry

    structure_kind = "softmax"

    def claimed_logits(self, spec: UFMSpec, closed: ClosedForm) -> ClaimedLogits | None:
        """No closed form: the claim is the numeric class-mean point's own logits
        W Hbar + b 1^T (exact float entries), so the structure block proves that the
        relaxation's optimal centred logits are unique and lie within the radius of this
        numeric point (the minority-collapse geometry, certified around a number)."""
        if closed.point is None:
            return None
        arrays = closed.point.arrays
        Z = arb_matrix(arrays["W"]) * arb_matrix(arrays["H"])
        b = arrays.get("b")
        rows = [[Z[i, k] + (0 if b is None else flint.arb(float(b[i])))
                 for k in range(Z.ncols())] for i in range(Z.nrows())]
        bias = None if b is None else [flint.arb(float(v)) for v in b]
        return ClaimedLogits.from_matrix(rows, bias, "the numeric relaxation optimum's "
                                         "class-mean logits (no closed form)")
