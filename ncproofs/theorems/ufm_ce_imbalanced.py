r"""Imbalanced CE: no closed form, but a certified global optimum via the convex relaxation.

Papers: C. Fang, H. He, Q. Long, W. J. Su, "Exploring Deep Neural Networks via Layer-Peeled
Model: Minority Collapse in Imbalanced Training", PNAS 2021 (minority collapse); the
relaxation is the one of Zhu et al. 2021 (class-mean logits + factorization identity).

Symbol map (paper -> ours).  Fang et al. use norm *constraints* (layer-peeled model) rather
than weight decay; we certify the weight-decay model of our convention (DESIGN.md section 1)
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
from typing import Any

import numpy as np
import sympy as sp
import torch

from ..certify.certificate import Certificate, decide
from ..certify.dual import CEDual, softmax_columns
from ..certify.relaxation import solve_relaxation
from ..derive.reduction import DerivationStep
from ..losses import get_loss
from ..solve.lbfgs import minimize_multistart
from ..spec import UFMSpec
from ._plain import PlainUFMTheorem, collapsed_point
from .base import ClosedForm, register

ASSUMPTIONS = [
    "CE is convex in the logits, so class-mean features are optimal (Jensen)",
    "min{lam_W/2|W|^2 + lam_H/2|H|^2 : W H = Z} = sqrt(lam_W lam_H)|Z D|_* "
    "(factorization identity), valid for every d",
]
RELAXATION_CROSS_CHECK_MAX_K = 12


@dataclasses.dataclass
class ClassMeanSolution:
    W: np.ndarray
    H: np.ndarray  # d x K class means
    b: np.ndarray | None
    value: float
    grad_norm: float
    seconds: float

    @property
    def logits(self) -> np.ndarray:
        Z = self.W @ self.H
        return Z if self.b is None else Z + self.b[:, None]


def solve_class_means(
    counts: tuple[float, ...], d: int, lam_W: float, lam_H: float, lam_b: float = 0.0,
    bias: bool = False, starts: int = 4, seed: int = 0,
) -> ClassMeanSolution:
    """min sum_k w_k CE(W h_k + b, k) + lam_W/2|W|^2 + lam_H/2 sum_k n_k |h_k|^2
    + lam_b/2|b|^2 over W (K x d), h_k, b; ``counts`` may be real (for bisection)."""
    K = len(counts)
    n = torch.tensor(counts, dtype=torch.float64)
    w = n / n.sum()
    y = torch.arange(K)
    loss = get_loss("ce")
    gen = torch.Generator().manual_seed(seed)
    init = {"W": torch.randn(starts, K, d, generator=gen, dtype=torch.float64) / np.sqrt(d),
            "H": torch.randn(starts, d, K, generator=gen, dtype=torch.float64) / np.sqrt(d)}
    if bias:
        init["b"] = torch.zeros(starts, K, 1, dtype=torch.float64)

    def objective(p: dict[str, torch.Tensor]) -> torch.Tensor:
        Z = p["W"] @ p["H"]
        if "b" in p:
            Z = Z + p["b"]
        val = (loss.torch(Z, y) * w).sum(dim=-1)
        val = val + lam_W / 2 * p["W"].pow(2).sum(dim=(-2, -1))
        val = val + lam_H / 2 * (p["H"].pow(2) * n).sum(dim=(-2, -1))
        if "b" in p and lam_b:
            val = val + lam_b / 2 * p["b"].pow(2).sum(dim=(-2, -1))
        return val

    res = minimize_multistart(objective, init, tol=1e-14)
    best = res.best_params()
    return ClassMeanSolution(
        W=best["W"].numpy(), H=best["H"].numpy(),
        b=best["b"].numpy().ravel() if bias else None,
        value=float(res.values[res.best]), grad_norm=float(res.grad_norms[res.best]),
        seconds=res.seconds,
    )


def minority_spread(sol: ClassMeanSolution, minority: list[int]) -> float:
    """max_{i,j minority} |w_i - w_j| / max_k |w_k| (0: minority collapse)."""
    W = sol.W
    scale = max(1e-300, float(np.linalg.norm(W, axis=1).max()))
    return max(float(np.linalg.norm(W[i] - W[j])) for i in minority for j in minority) / scale


def minority_collapse_threshold(
    K_major: int, K_minor: int, n_major: int, lam_W: float, lam_H: float,
    R_max: float = 1e3, tol: float = 1e-6, steps: int = 16,
) -> dict[str, Any]:
    """Bisection (on log R) for the smallest imbalance ratio R = n_major/n_minor at which the
    minority classifiers coincide (spread < ``tol``).  Numeric, not rigorous."""
    K = K_major + K_minor
    minority = list(range(K_major, K))

    def spread(R: float) -> float:
        counts = tuple([float(n_major)] * K_major + [n_major / R] * K_minor)
        return minority_spread(solve_class_means(counts, K, lam_W, lam_H), minority)

    lo, hi = 0.0, float(np.log(R_max))
    if spread(np.exp(hi)) >= tol:
        return {"threshold": None, "reason": f"no minority collapse up to R = {R_max:g}",
                "rigorous": False}
    if spread(1.0) < tol:
        return {"threshold": 1.0, "reason": "collapsed already at R = 1", "rigorous": False}
    for _ in range(steps):
        mid = (lo + hi) / 2
        if spread(np.exp(mid)) < tol:
            hi = mid
        else:
            lo = mid
    return {"threshold": float(np.exp(hi)), "bracket": [float(np.exp(lo)), float(np.exp(hi))],
            "spread_tol": tol, "rigorous": False}


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
        ]

    def _solution(self, spec: UFMSpec) -> ClassMeanSolution:
        return solve_class_means(spec.n, spec.d, float(spec.lam_W), float(spec.lam_H),
                                 float(spec.lam_b), spec.bias)

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        sol = self._solution(spec)
        Z = sol.logits
        sv = np.linalg.svd((Z - (0 if sol.b is None else sol.b[:, None]))
                           * np.sqrt(np.asarray(spec.n, float))[None, :], compute_uv=False)
        summary: dict[str, Any] = {
            "class_mean_logits": Z.tolist(), "b": None if sol.b is None else sol.b.tolist(),
            "w_lengths": np.linalg.norm(sol.W, axis=1).tolist(),
            "h_lengths": np.linalg.norm(sol.H, axis=0).tolist(),
            "singular_values_MD": sv.tolist(),
            "class_mean_solve": {"value": sol.value, "grad_norm": sol.grad_norm,
                                 "seconds": sol.seconds, "rigorous": False},
        }
        point = collapsed_point(sol.W, sol.H, sol.b, spec.n)
        closed = ClosedForm(objective=sp.Float(repr(sol.value), 17),
                            regime="no closed form: optimum of the relaxation (numeric, "
                                   "certified below)",
                            minimizer=summary, point=point,
                            steps=[DerivationStep("class-mean logits Z*", sp.Matrix(Z.round(
                                8)))])
        closed.class_means = sol  # type: ignore[attr-defined]
        return closed

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        method = ("nuclear-norm relaxation + dense exact CE dual at softmax(Z*) (lower); interval "
                  "objective at the class-mean point of size d (upper)")
        sol: ClassMeanSolution = closed.class_means  # type: ignore[attr-defined]
        dual = CEDual(spec.n, spec.lam_W, spec.lam_H, spec.bias, spec.lam_b)
        lower = dual.dense_bound(softmax_columns(sol.logits))
        details: dict[str, Any] = {"dual": lower.details, "lower_method": lower.method}
        if spec.K <= RELAXATION_CROSS_CHECK_MAX_K:
            relax = solve_relaxation(self.loss(spec), spec.n, spec.lam_W, spec.lam_H,
                                     spec.lam_b, spec.bias)
            details["relaxation"] = {"value": relax.value, "solver": relax.solver,
                                     "status": relax.status, "seconds": relax.seconds,
                                     "rigorous": False}
        upper = self.upper_bound(spec, closed.point)
        cert = decide(method=method, lower=lower.value, upper=upper, claimed=None,
                      assumptions=ASSUMPTIONS, details=details)
        if cert.status != "certified" and spec.d < spec.K:
            cert.reason += (f"; d = {spec.d} < K = {spec.K}: the relaxation may need rank > d "
                            "(then it is not attained in R^d)")
        return cert


