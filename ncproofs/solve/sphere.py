r"""Sphere-constrained (Riemannian) solvers: classifier rows and features on S^{d-1}.

Two problems, both batched over starts (leading dimension S):

* the normalized-features model (Yaras et al. 2022)::

      f(W, H) = (1/N) sum_i loss(tau W h_i, y_i),   |w_k| = |h_i| = 1;

* the one-vs-rest margin code (the tau -> infinity limit, Jiang et al.)::

      max_{W, H}  min_k min_{j != k} (w_k - w_j)^T h_k,   |w_k| = |h_k| = 1,

  smoothed by a soft-min with increasing sharpness (continuation).

The manifold is handled by the normalization retraction: the free parameters V (rows)
and U (columns) are mapped to V/|V| and U/|U| inside the objective.  At a point with
unit rows the Euclidean gradient of the composed map is the Riemannian gradient (the
projection of the ambient gradient onto the tangent space), so the reported gradient
norm, computed after renormalizing, is the Riemannian one.  The optimizer is the shared
batched L-BFGS + Newton-CG of :mod:`ncproofs.solve.lbfgs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._lazy import torch
from ..losses import Loss
from .lbfgs import MultiStartResult, minimize_multistart, resolve_device


def normalize_rows(V: torch.Tensor) -> torch.Tensor:
    """Rows of ``V`` (..., K, d) scaled to unit length."""
    return V / V.norm(dim=-1, keepdim=True)


def normalize_columns(U: torch.Tensor) -> torch.Tensor:
    """Columns of ``U`` (..., d, N) scaled to unit length."""
    return U / U.norm(dim=-2, keepdim=True)


@dataclass(frozen=True)
class SphereObjective:
    """f(W, H) = (1/N) sum_i loss(tau W h_i, y_i) with W = rows of V/|V|, H = U/|U|.

    ``y`` is whatever ``loss.torch`` takes (labels (N,) or a multi-hot (K, N) matrix).
    """

    loss: Loss
    y: torch.Tensor
    tau: float

    def __call__(self, p: dict[str, torch.Tensor]) -> torch.Tensor:
        W = normalize_rows(p["W"])
        H = normalize_columns(p["H"])
        return self.loss.torch(self.tau * (W @ H), self.y).mean(dim=-1)


def sphere_init(K: int, d: int, N: int, starts: int, seed: int,
                device: torch.device) -> dict[str, torch.Tensor]:
    """Uniform random points on the spheres (normalized Gaussians), seeded."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    W = torch.randn(starts, K, d, generator=gen, dtype=torch.float64)
    H = torch.randn(starts, d, N, generator=gen, dtype=torch.float64)
    return {"W": normalize_rows(W).to(device), "H": normalize_columns(H).to(device)}


def riemannian_grad_norms(objective, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per-start Riemannian gradient norm at the normalized point."""
    unit = {"W": normalize_rows(params["W"]).detach().requires_grad_(True),
            "H": normalize_columns(params["H"]).detach().requires_grad_(True)}
    vals = objective(unit)
    grads = torch.autograd.grad(vals.sum(), [unit["W"], unit["H"]])
    sq = sum(g.reshape(g.shape[0], -1).pow(2).sum(dim=1) for g in grads)
    return sq.sqrt().detach()


def solve_sphere(
    loss: Loss,
    y: torch.Tensor,
    tau: float,
    K: int,
    d: int,
    *,
    starts: int = 8,
    seed: int = 0,
    device: str = "auto",
    tol: float = 1e-10,
) -> tuple[MultiStartResult, SphereObjective]:
    """Batched multi-start minimization of the normalized-features objective.

    Returns the result with *normalized* parameters and Riemannian gradient norms.
    """
    dev = resolve_device(device)
    y = y.to(dev)
    N = y.shape[-1]
    objective = SphereObjective(loss, y, float(tau))
    result = minimize_multistart(objective, sphere_init(K, d, N, starts, seed, dev), tol=tol)
    result.params = {"W": normalize_rows(result.params["W"]),
                     "H": normalize_columns(result.params["H"])}
    result.values = objective(result.params).detach()
    result.grad_norms = riemannian_grad_norms(objective, result.params)
    return result, objective


# --------------------------------------------------------------------------- margin codes


def margins(W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """m[s, j, k] = (w_k - w_j)^T h_k for j != k (+inf on the diagonal); W (S,K,d), H (S,d,K)."""
    B = W @ H  # B[s, j, k] = w_j^T h_k
    diag = torch.diagonal(B, dim1=-2, dim2=-1)
    M = diag[..., None, :] - B
    eye = torch.eye(W.shape[-2], dtype=torch.bool, device=W.device)
    return M.masked_fill(eye, float("inf"))


@dataclass(frozen=True)
class SoftMarginObjective:
    """-softmin_beta of the one-vs-rest margins (a smooth surrogate of -margin):
    (1/beta) log sum_{k, j != k} exp(-beta m_jk)."""

    beta: float

    def __call__(self, p: dict[str, torch.Tensor]) -> torch.Tensor:
        m = margins(normalize_rows(p["W"]), normalize_columns(p["H"]))
        flat = (-self.beta * m).flatten(start_dim=-2)
        return torch.logsumexp(flat, dim=-1) / self.beta


def min_margin(W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """min_k min_{j != k} (w_k - w_j)^T h_k per start (W, H normalized inside)."""
    m = margins(normalize_rows(W), normalize_columns(H))
    return m.flatten(start_dim=-2).min(dim=-1).values


@dataclass
class MarginCodeResult:
    W: np.ndarray  # best code, K x d, unit rows
    H: np.ndarray  # its features, d x K, unit columns
    margin: float  # float margin of (W, H) (not rigorous)
    start_margins: list[float]
    seconds: float
    iterations: int
    device: str


def solve_margin_code(
    K: int,
    d: int,
    *,
    starts: int = 8,
    seed: int = 0,
    device: str = "auto",
    betas: tuple[float, ...] = (10.0, 40.0, 160.0, 640.0, 2560.0),
    polish: int = 3,
    max_iter: int = 300,
) -> tuple[MarginCodeResult, dict[str, Any]]:
    """Maximize the one-vs-rest margin by soft-min continuation over ``betas``.

    Each stage warm-starts from the previous one; the soft-min is within log(K(K-1))/beta
    of the true min, so the last stage is accurate to ~1e-3 before the features are
    re-optimized exactly per code (see :func:`best_features`).  The ``polish`` best
    starts are then solved as the exact max-min program (:func:`polish_margin_code`).
    """
    import time

    dev = resolve_device(device)
    params = sphere_init(K, d, K, starts, seed, dev)
    start = time.perf_counter()
    iterations = 0
    for beta in betas:
        res = minimize_multistart(SoftMarginObjective(beta), params, tol=1e-8, max_iter=max_iter)
        params = {"W": normalize_rows(res.params["W"]), "H": normalize_columns(res.params["H"])}
        iterations += res.iterations
    per_start = min_margin(params["W"], params["H"])
    order = torch.argsort(per_start, descending=True).tolist()
    W, H, best_margin = None, None, -np.inf
    for i in order[:polish]:  # exact max-min polish of the best few starts
        Wi, Hi = polish_margin_code(params["W"][i].cpu().numpy(), params["H"][i].cpu().numpy())
        Hi = better_columns(Wi, Hi, best_features(Wi))
        mi = code_margin_float(Wi, Hi)
        if mi > best_margin:
            W, H, best_margin = Wi, Hi, mi
    seconds = time.perf_counter() - start
    out = MarginCodeResult(
        W=W, H=H, margin=float(code_margin_float(W, H)),
        start_margins=[float(x) for x in per_start], seconds=seconds, iterations=iterations,
        device=str(dev),
    )
    return out, {"betas": list(betas)}


def polish_margin_code(W: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SLSQP on  max t  s.t.  (w_k - w_j)^T h_k >= t (j != k),  |w_k|^2 = |h_k|^2 = 1,
    from (W, H), with exact Jacobians.  Returns normalized (W, H) (the input if SLSQP
    fails to improve)."""
    from scipy.optimize import minimize

    K, d = W.shape
    pairs = [(k, j) for k in range(K) for j in range(K) if j != k]
    nW = K * d

    def unpack(x):
        return x[:nW].reshape(K, d), x[nW:2 * nW].reshape(K, d), x[-1]  # H stored as rows

    def ineq(x):
        Wx, Hx, t = unpack(x)
        return np.array([(Wx[k] - Wx[j]) @ Hx[k] - t for k, j in pairs])

    def ineq_jac(x):
        Wx, Hx, _ = unpack(x)
        J = np.zeros((len(pairs), x.size))
        for r, (k, j) in enumerate(pairs):
            J[r, k * d:(k + 1) * d] += Hx[k]
            J[r, j * d:(j + 1) * d] -= Hx[k]
            J[r, nW + k * d:nW + (k + 1) * d] = Wx[k] - Wx[j]
            J[r, -1] = -1.0
        return J

    def eq(x):
        Wx, Hx, _ = unpack(x)
        return np.concatenate([(Wx * Wx).sum(1) - 1, (Hx * Hx).sum(1) - 1])

    def eq_jac(x):
        Wx, Hx, _ = unpack(x)
        J = np.zeros((2 * K, x.size))
        for k in range(K):
            J[k, k * d:(k + 1) * d] = 2 * Wx[k]
            J[K + k, nW + k * d:nW + (k + 1) * d] = 2 * Hx[k]
        return J

    Hrows = np.asarray(H).T
    t0 = code_margin_float(W, H)
    x0 = np.concatenate([W.ravel(), Hrows.ravel(), [t0]])
    c = np.zeros(x0.size)
    c[-1] = -1.0
    res = minimize(lambda x: -x[-1], x0, jac=lambda x: c, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": ineq, "jac": ineq_jac},
                                {"type": "eq", "fun": eq, "jac": eq_jac}],
                   options={"ftol": 1e-15, "maxiter": 500})
    Wx, Hx, _ = unpack(res.x)
    Wn = Wx / np.linalg.norm(Wx, axis=1, keepdims=True)
    Hn = (Hx / np.linalg.norm(Hx, axis=1, keepdims=True)).T
    if code_margin_float(Wn, Hn) < t0:
        return W, np.asarray(H)
    return Wn, Hn


def nearest_in_hull(x: np.ndarray, V: np.ndarray, rho: float = 1e6) -> np.ndarray:
    """The point of conv(rows of V) nearest to x (non-negative least squares with the
    simplex constraint sum lambda = 1 enforced by a heavy penalty row)."""
    from scipy.optimize import nnls

    A = np.vstack([V.T, rho * np.ones((1, V.shape[0]))])
    rhs = np.concatenate([x, [rho]])
    lam, _ = nnls(A, rhs, maxiter=50 * V.shape[0])
    lam = lam / lam.sum()
    return lam @ V


def best_features(W: np.ndarray) -> np.ndarray:
    """For each k, h_k = (w_k - x_k)/|w_k - x_k| with x_k the point of conv{w_j: j != k}
    nearest to w_k: it maximizes min_{j != k} (w_k - w_j)^T h over unit h (minimax), so the
    margin of class k becomes dist(w_k, conv{w_j : j != k})."""
    K, d = W.shape
    H = np.zeros((d, K))
    for k in range(K):
        others = np.delete(W, k, axis=0)
        g = W[k] - nearest_in_hull(W[k], others)
        norm = np.linalg.norm(g)
        H[:, k] = g / norm if norm > 0 else W[k]
    return H


def better_columns(W: np.ndarray, H1: np.ndarray, H2: np.ndarray) -> np.ndarray:
    """Per class k, the column h_k (of H1 or H2) with the larger margin of class k."""
    H = np.array(H1, dtype=float, copy=True)
    for k in range(W.shape[0]):
        m1, m2 = (min((W[k] - W[j]) @ Hc[:, k] for j in range(W.shape[0]) if j != k)
                  for Hc in (H1, H2))
        if m2 > m1:
            H[:, k] = H2[:, k]
    return H


def code_margin_float(W: np.ndarray, H: np.ndarray) -> float:
    """Float min_k min_{j != k} (w_k - w_j)^T h_k."""
    B = W @ H
    K = W.shape[0]
    return float(min((B[k, k] - B[j, k]) for k in range(K) for j in range(K) if j != k))
