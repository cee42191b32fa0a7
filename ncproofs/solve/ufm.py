r"""The plain unconstrained-features model in torch (docs/conventions.md):

    f(W, H, b) = (1/N) sum_i loss(W h_i + b, y_i) + lam_W/2 |W|^2 + lam_H/2 |H|^2
                 + lam_b/2 |b|^2,

batched over starts: W (S, K, d), H (S, d, N), b (S, K, 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .._lazy import torch
from ..losses import Loss
from ..spec import UFMSpec
from .deep import solve_deep
from .lbfgs import MultiStartResult, minimize_multistart, resolve_device


def labels_of(counts: tuple[int, ...], device: torch.device | None = None) -> torch.Tensor:
    """y = (0,...,0, 1,...,1, ...) with n_k copies of class k."""
    return torch.repeat_interleave(
        torch.arange(len(counts), device=device), torch.tensor(counts, device=device)
    )


@dataclass(frozen=True)
class UFMObjective:
    """f for a spec and a loss; call with a dict of batched parameters."""

    spec: UFMSpec
    loss: Loss
    y: torch.Tensor

    def __call__(self, p: dict[str, torch.Tensor]) -> torch.Tensor:
        s = self.spec
        Z = p["W"] @ p["H"]
        if "b" in p:
            Z = Z + p["b"]
        data = self.loss.torch(Z, self.y).mean(dim=-1)
        reg = float(s.lam_W) / 2 * p["W"].pow(2).sum(dim=(-2, -1))
        reg = reg + float(s.lam_H) / 2 * p["H"].pow(2).sum(dim=(-2, -1))
        if "b" in p and s.lam_b != 0:
            reg = reg + float(s.lam_b) / 2 * p["b"].pow(2).sum(dim=(-2, -1))
        return data + reg


def random_init(
    spec: UFMSpec, starts: int, seed: int, device: torch.device, scale: float = 1.0
) -> dict[str, torch.Tensor]:
    gen = torch.Generator(device="cpu").manual_seed(seed)
    K, d, N = spec.K, spec.d, spec.N

    def normal(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).to(device)

    init = {"W": normal(starts, K, d) / np.sqrt(d), "H": normal(starts, d, N) / np.sqrt(d)}
    if spec.bias:
        init["b"] = normal(starts, K, 1) * 0.1
    return init


def solve_ufm(
    spec: UFMSpec,
    loss: Loss,
    *,
    starts: int = 8,
    seed: int = 0,
    device: str = "auto",
    tol: float = 1e-10,
    max_iter: int = 5000,
) -> tuple[MultiStartResult, UFMObjective]:
    """Minimize f from ``starts`` random starts; returns the result (every start, one
    feature column per sample) and the objective.

    For a loss convex in the logits the features are reduced first
    (:func:`~ncproofs.solve.deep.solve_deep` with L = 1): for fixed W and b, averaging the
    features of a class never increases f (Jensen), so some minimizer has collapsed
    features and L-BFGS runs on the K class means (multiplicities n_k) -- with MSE on W
    alone, H and b eliminated as a ridge solution.  The reduced solution is expanded to
    one column per sample, a point of the original problem with the same value; the
    reported gradient norms are those of the reduced problem."""
    dev = resolve_device(device)
    objective = UFMObjective(spec, loss, labels_of(spec.n, dev))
    if not loss.convex:
        result = minimize_multistart(
            objective, random_init(spec, starts, seed, dev), tol=tol, max_iter=max_iter
        )
        return result, objective
    reduced = solve_deep(loss, spec.n, spec.d, [float(spec.lam_W)], float(spec.lam_H),
                         lam_b=float(spec.lam_b), bias=spec.bias, starts=starts, seed=seed,
                         device=str(dev), tol=tol, max_iter=max_iter)
    point = {"W": reduced.points["W1"], "H": reduced.points["H"][..., objective.y]}
    if spec.bias:
        point["b"] = reduced.points["b"]
    with torch.no_grad():
        values = objective(point)
    return replace(reduced.result, params=point, values=values), objective
