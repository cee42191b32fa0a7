"""Batched multi-start L-BFGS (float64, strong Wolfe) for any smooth objective.

S starts are stacked along a leading batch dimension and solved together: the summed
objective sum_s f(x_s) has a block-diagonal Hessian, so one L-BFGS run on it solves all
starts at once (one kernel launch per operation on a GPU).  We stop when every start's
gradient norm is below ``tol`` (relative to max(1, |f|) when ``relative`` is true), or
when the objective has stopped moving (float64 noise), and report what was reached.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .._lazy import torch
from ..spec import SpecError

#: params -> (S,) values (a string alias: torch is imported on first use)
Objective = "Callable[[dict[str, torch.Tensor]], torch.Tensor]"


def resolve_device(device: str) -> torch.device:
    """"cpu", "cuda" or "auto" (CUDA when available)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise SpecError(
                "device must be cpu or auto on this machine: cuda requested but "
                "torch.cuda.is_available() is False (see README, 'CUDA')"
            )
        return torch.device("cuda")
    if device == "cpu":
        return torch.device("cpu")
    raise SpecError(f"device must be one of cpu, cuda, auto; got {device!r}")


#: below this many parameters a CPU solve runs on one thread: small kernels gain nothing
#: from two, and OpenMP's spin-waiting makes them 10-25x slower on a loaded machine.
SMALL_PROBLEM = 200_000


@contextlib.contextmanager
def cpu_threads_for(numel: int, device: torch.device) -> Iterator[None]:
    """Run small CPU problems single-threaded; restore the thread count afterwards."""
    if device.type != "cpu" or numel >= SMALL_PROBLEM:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class MultiStartResult:
    params: dict[str, torch.Tensor]  # every start, batch dimension first
    values: torch.Tensor  # (S,)
    grad_norms: torch.Tensor  # (S,)
    iterations: int
    seconds: float
    device: str
    converged: bool
    history: list[float] = field(default_factory=list)

    @property
    def best(self) -> int:
        return int(torch.argmin(self.values))

    def best_params(self) -> dict[str, torch.Tensor]:
        i = self.best
        return {k: v[i].detach() for k, v in self.params.items()}

    def summary(self, values: torch.Tensor | None = None) -> dict[str, Any]:
        """The JSON ``numeric`` block (docs/architecture.md) for the best start.

        ``values`` replaces the per-start objectives when the optimized objective is not
        the reported one (e.g. a deep solve with H eliminated, completed afterwards)."""
        values = self.values if values is None else values
        i = int(torch.argmin(values))
        return {
            "objective": float(values[i]),
            "grad_norm": float(self.grad_norms[i]),
            "iterations": self.iterations,
            "seconds": self.seconds,
            "device": self.device,
            "starts": int(values.shape[0]),
            "converged": self.converged,
            "start_objectives": [float(v) for v in values],
        }


def minimize_multistart(
    objective: Objective,
    init: dict[str, torch.Tensor],
    *,
    tol: float = 1e-10,
    max_iter: int = 5000,
    history_size: int = 50,
    chunk: int = 25,
    stall_chunks: int = 4,
    stop_when: Callable[[torch.Tensor], bool] | None = None,
    polish: bool = True,
) -> MultiStartResult:
    """Minimize each start of ``objective`` from ``init`` (tensors with batch dim S).

    ``stop_when(values)`` ends the run early (e.g. a benchmark's target gap); ``polish``
    enables the final Newton-CG phase."""
    first = next(iter(init.values()))
    with cpu_threads_for(sum(v.numel() for v in init.values()), first.device):
        return _minimize(objective, init, tol=tol, max_iter=max_iter,
                         history_size=history_size, chunk=chunk, stall_chunks=stall_chunks,
                         stop_when=stop_when, polish=polish)


def _minimize(objective, init, *, tol, max_iter, history_size, chunk, stall_chunks, stop_when,
              polish) -> MultiStartResult:
    params = {k: v.detach().clone().requires_grad_(True) for k, v in init.items()}
    device = next(iter(params.values())).device
    opt = torch.optim.LBFGS(
        list(params.values()),
        lr=1.0,
        max_iter=chunk,
        history_size=history_size,
        tolerance_grad=0.0,
        tolerance_change=0.0,
        line_search_fn="strong_wolfe",
    )
    count = {"evals": 0}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        total = objective(params).sum()
        total.backward()
        count["evals"] += 1
        return total

    def per_start() -> tuple[torch.Tensor, torch.Tensor]:
        vals = objective(params)
        grads = torch.autograd.grad(vals.sum(), list(params.values()))
        sq = sum(g.reshape(g.shape[0], -1).pow(2).sum(dim=1) for g in grads)
        return vals.detach(), sq.sqrt().detach()

    per_start.objective = objective  # type: ignore[attr-defined]

    start = time.perf_counter()
    iterations = 0
    best_total = float("inf")
    stalls = 0
    trace: list[float] = []
    values, gnorms = per_start()
    converged = bool((gnorms <= tol * values.abs().clamp(min=1.0)).all())
    while not converged and iterations < max_iter:
        opt.step(closure)
        iterations = opt.state[opt._params[0]].get("n_iter", iterations + chunk)
        values, gnorms = per_start()
        total = float(values.sum())
        trace.append(total)
        converged = bool((gnorms <= tol * values.abs().clamp(min=1.0)).all())
        if not torch.isfinite(values).all():
            break
        if stop_when is not None and stop_when(values):
            break
        if total < best_total - 1e-15 * max(1.0, abs(total)):
            best_total, stalls = total, 0
        else:
            stalls += 1
            if stalls >= stall_chunks:
                break
    stopped = stop_when is not None and stop_when(values)
    if polish and not converged and not stopped and bool(torch.isfinite(values).all()):
        # Function values can no longer rank steps (their differences are below float64
        # resolution), but gradients still carry information: take unit L-BFGS steps
        # without a line search and keep the iterate with the smallest gradient norms.
        iterations, converged, values, gnorms = _polish(
            params, per_start, tol, iterations, values, gnorms
        )
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return MultiStartResult(
        params={k: v.detach() for k, v in params.items()},
        values=values,
        grad_norms=gnorms,
        iterations=int(iterations),
        seconds=seconds,
        device=str(device),
        converged=converged,
        history=trace,
    )


def _polish(params, per_start, tol, iterations, values, gnorms,
            newton_steps: int = 8, cg_steps: int = 60):
    """Newton-CG with exact Hessian-vector products (autograd).  Needs no function
    values, so it keeps converging below the resolution of f; the summed objective's
    Hessian is block diagonal over starts, so one CG solve serves every start."""
    tensors = list(params.values())
    best = [v.detach().clone() for v in tensors]
    best_vals, best_g = values, gnorms
    for _ in range(newton_steps):
        total = per_start.objective(params).sum()
        grads = torch.autograd.grad(total, tensors, create_graph=True)
        g = [x.detach() for x in grads]

        def hvp(vs: list[torch.Tensor], grads=grads) -> list[torch.Tensor]:
            dot = sum((gi * vi).sum() for gi, vi in zip(grads, vs))
            return [h.detach() for h in torch.autograd.grad(dot, tensors, retain_graph=True)]

        # conjugate gradients for H x = -g
        x = [torch.zeros_like(t) for t in tensors]
        r = [-gi for gi in g]
        d = [ri.clone() for ri in r]
        rr = sum((ri * ri).sum() for ri in r)
        target = 1e-6 * rr
        for _ in range(cg_steps):
            Hd = hvp(d)
            curv = sum((di * hi).sum() for di, hi in zip(d, Hd))
            if curv <= 0:
                break
            alpha = rr / curv
            x = [xi + alpha * di for xi, di in zip(x, d)]
            r = [ri - alpha * hi for ri, hi in zip(r, Hd)]
            rr_new = sum((ri * ri).sum() for ri in r)
            if rr_new <= target:
                break
            d = [ri + (rr_new / rr) * di for ri, di in zip(r, d)]
            rr = rr_new
        with torch.no_grad():
            for t, xi in zip(tensors, x):
                t.add_(xi)
        iterations += 1
        vals, gn = per_start()
        if not bool(torch.isfinite(vals).all()):
            break
        if float(gn.max()) < float(best_g.max()):
            best = [v.detach().clone() for v in tensors]
            best_vals, best_g = vals, gn
        elif float(gn.max()) > 10 * float(best_g.max()):
            break
        if bool((best_g <= tol * best_vals.abs().clamp(min=1.0)).all()):
            break
    with torch.no_grad():
        for t, b in zip(tensors, best):
            t.copy_(b)
    converged = bool((best_g <= tol * best_vals.abs().clamp(min=1.0)).all())
    return iterations, converged, best_vals, best_g
