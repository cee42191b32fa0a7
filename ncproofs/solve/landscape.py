"""Curvature at a point: the smallest Hessian eigenvalue of a torch objective.

Zhu et al. (2021, Theorem 3.2) show that every critical point of the CE model other than
the global minimizers is a strict saddle.  We report lambda_min of the Hessian (autograd,
float64) at a given point and the direction attaining it, plus how much the objective
drops along that direction -- a negative value at a critical point exhibits a descent
direction.  Dense Hessians for small problems, Lanczos (scipy ``eigsh`` on exact
Hessian-vector products) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._lazy import torch

DENSE_LIMIT = 2500


@dataclass
class Curvature:
    min_eigenvalue: float
    grad_norm: float
    value: float
    step: float
    value_along_direction: float  # f(x + step v) - f(x), v the unit eigenvector
    method: str

    def as_dict(self) -> dict[str, float | str]:
        return dict(self.__dict__)


def _flatten(params: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Callable]:
    keys = list(params)
    shapes = [params[k].shape for k in keys]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = torch.cat([params[k].reshape(-1) for k in keys]).detach()

    def unflatten(x: torch.Tensor) -> dict[str, torch.Tensor]:
        out, i = {}, 0
        for k, shp, sz in zip(keys, shapes, sizes):
            out[k] = x[i : i + sz].reshape(shp)
            i += sz
        return out

    return flat, unflatten


def min_curvature(
    objective: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    point: dict[str, torch.Tensor],
    step: float = 1e-3,
) -> Curvature:
    """lambda_min of the Hessian of a scalar objective (a batch of one) at ``point``."""
    x0, unflatten = _flatten(point)

    def f(x: torch.Tensor) -> torch.Tensor:
        return objective(unflatten(x)).sum()

    x = x0.clone().requires_grad_(True)
    value = f(x)
    (grad,) = torch.autograd.grad(value, x, create_graph=True)
    if x0.numel() <= DENSE_LIMIT:
        Hm = torch.autograd.functional.hessian(f, x0)
        evals, evecs = torch.linalg.eigh(Hm)
        lam, v = float(evals[0]), evecs[:, 0]
        method = "dense Hessian (autograd), eigh"
    else:
        from scipy.sparse.linalg import LinearOperator, eigsh

        def matvec(u: np.ndarray) -> np.ndarray:
            ut = torch.as_tensor(np.ascontiguousarray(u).ravel(), dtype=x.dtype, device=x.device)
            (hv,) = torch.autograd.grad(grad, x, ut, retain_graph=True)
            return hv.detach().cpu().numpy()

        op = LinearOperator((x0.numel(), x0.numel()), matvec=matvec, dtype=np.float64)
        evals, evecs = eigsh(op, k=1, which="SA", tol=1e-10, maxiter=5000)
        lam = float(evals[0])
        v = torch.as_tensor(evecs[:, 0], dtype=x.dtype, device=x.device)
        method = "Lanczos (scipy eigsh) on autograd Hessian-vector products"
    v = v / v.norm()
    with torch.no_grad():
        f0 = float(f(x0))
        drop = min(float(f(x0 + step * v)), float(f(x0 - step * v))) - f0
    return Curvature(
        min_eigenvalue=lam,
        grad_norm=float(grad.detach().norm()),
        value=f0,
        step=step,
        value_along_direction=drop,
        method=method,
    )
