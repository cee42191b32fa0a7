r"""The plain unconstrained-features model in torch (DESIGN.md section 1):

    f(W, H, b) = (1/N) sum_i loss(W h_i + b, y_i) + lam_W/2 |W|^2 + lam_H/2 |H|^2
                 + lam_b/2 |b|^2,

batched over starts: W (S, K, d), H (S, d, N), b (S, K, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import torch
from ..losses import Loss
from ..spec import UFMSpec
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
    dev = resolve_device(device)
    objective = UFMObjective(spec, loss, labels_of(spec.n, dev))
    result = minimize_multistart(
        objective, random_init(spec, starts, seed, dev), tol=tol, max_iter=max_iter
    )
    return result, objective
