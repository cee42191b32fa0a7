"""Shared machinery for theorems about the plain model f(W, H, b) (one weight layer):
the numeric solve, the rigorous value of an explicit point and the curvature report."""

from __future__ import annotations

from typing import Any

import flint
import numpy as np

from .._lazy import torch
from ..certify.certificate import Certificate
from ..certify.frames import FramePoint
from ..certify.structure import (
    MAX_STRUCTURE_K,
    ClaimedLogits,
    StructureBound,
    plain_model_bound,
)
from ..certify.upper import interval_objective
from ..losses import Loss, get_loss
from ..solve.landscape import min_curvature
from ..solve.ufm import UFMObjective, labels_of, solve_ufm
from ..spec import UFMSpec
from .base import ClosedForm, ExplicitPoint, NumericResult, Theorem


def collapsed_point(
    W: np.ndarray, H_means: np.ndarray, b: np.ndarray | None, counts: tuple[int, ...]
) -> ExplicitPoint:
    """A point whose class-k features all equal column k of ``H_means``."""
    arrays = {"W": np.asarray(W, float), "H": np.asarray(H_means, float)}
    if b is not None:
        arrays["b"] = np.asarray(b, float)
    return ExplicitPoint(arrays=arrays, labels=tuple(range(len(counts))), counts=counts)


def factor_point(
    M: np.ndarray, b: np.ndarray | None, counts: tuple[int, ...], lam_W: float, lam_H: float,
    d: int, rank_tol: float = 1e-12,
) -> ExplicitPoint | None:
    r"""The balanced factorization of class-mean logits M (K x K) into a point of size d.

    With D = diag(sqrt n_k) and M D = U S V^T (rank r), W = c U_r S_r^{1/2} and
    Hbar = c^{-1} S_r^{1/2} V_r^T D^{-1}, c = (lam_H/lam_W)^{1/4}, attain
    lam_W/2 |W|^2 + lam_H/2 |Hbar D|^2 = sqrt(lam_W lam_H) |M D|_* with W Hbar = M.
    Returns None when r > d (the logits do not fit in R^d)."""
    M = np.asarray(M, dtype=np.float64)
    K = M.shape[0]
    sq = np.sqrt(np.asarray(counts, dtype=np.float64))
    U, S, Vt = np.linalg.svd(M * sq[None, :])
    r = int(np.sum(S > rank_tol * max(1.0, S[0] if S.size else 0.0)))
    if r > d:
        return None
    c = (lam_H / lam_W) ** 0.25
    W = np.zeros((K, d))
    H = np.zeros((d, K))
    W[:, :r] = c * U[:, :r] * np.sqrt(S[:r])[None, :]
    H[:r, :] = (np.sqrt(S[:r])[:, None] * Vt[:r, :]) / sq[None, :] / c
    return collapsed_point(W, H, b, counts)


def nc_summary(H: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray | None,
               target: str) -> dict[str, Any] | None:
    """NC1-NC4 of a solution (features H are d x N here; the metrics take N x d)."""
    try:
        from ..metrics import nc_metrics
    except ImportError:  # pragma: no cover - metrics module not installed
        return None
    return nc_metrics(H.T, y, W, b, target=target)


class PlainUFMTheorem(Theorem):
    """A theorem whose problem is f(W, H, b) with one loss."""

    loss_name: str = "ce"
    metric_target: str = "etf"

    def loss(self, spec: UFMSpec) -> Loss:
        return get_loss(self.loss_name)

    def target_for(self, spec: UFMSpec) -> Any:
        """The NC2 target of this spec ("etf", "orthogonal" or a K x K Gram matrix)."""
        return self.metric_target

    def objective(self, spec: UFMSpec, device: torch.device | str = "cpu") -> UFMObjective:
        return UFMObjective(spec, self.loss(spec), labels_of(spec.n, torch.device(device)))

    def upper_bound(self, spec: UFMSpec, point: ExplicitPoint | FramePoint) -> flint.arb:
        if isinstance(point, FramePoint):  # O(K): never a dense K x d product
            return point.interval_objective(self.loss(spec), spec.lam_W, spec.lam_H,
                                            spec.lam_b)
        a = point.arrays
        return interval_objective(
            self.loss(spec), a["W"], a["H"], a.get("b"), point.labels, point.counts,
            spec.lam_W, spec.lam_H, spec.lam_b,
        )

    def solve(self, spec: UFMSpec, *, device: str = "auto", starts: int = 8,
              seed: int = 0) -> NumericResult:
        result, _ = solve_ufm(spec, self.loss(spec), starts=starts, seed=seed, device=device)
        best = {k: v.cpu().numpy() for k, v in result.best_params().items()}
        summary = result.summary()
        if self.loss(spec).convex:  # solve_ufm ran on class means: say so next to NC1 = 0
            summary["features"] = ("class means (Jensen reduction of the full problem): "
                                   "NC1 = 0 by construction, not a finding")
        y = labels_of(spec.n).numpy()
        b = best["b"].ravel() if "b" in best else None
        summary["metrics"] = nc_summary(best["H"], y, best["W"], b, self.target_for(spec))
        return NumericResult(summary=summary, point=best)

    def numeric_upper_bound(self, spec: UFMSpec, point: dict[str, np.ndarray]) -> flint.arb:
        """The objective at a numeric solution (every sample column), in intervals."""
        y = labels_of(spec.n).numpy()
        b = point["b"].ravel() if "b" in point else None
        return interval_objective(
            self.loss(spec), point["W"], point["H"], b, [int(v) for v in y], [1] * spec.N,
            spec.lam_W, spec.lam_H, spec.lam_b,
        )

    def full_point(self, spec: UFMSpec, point: ExplicitPoint) -> dict[str, torch.Tensor]:
        """Batched (S = 1) torch tensors of an explicit point, each class column repeated."""
        a = point.arrays
        H = np.repeat(a["H"], point.counts, axis=1)
        out = {"W": torch.tensor(a["W"])[None], "H": torch.tensor(H)[None]}
        if spec.bias:
            b = a.get("b", np.zeros(spec.K))
            out["b"] = torch.tensor(np.asarray(b, float).reshape(-1, 1))[None]
        return out

    def origin(self, spec: UFMSpec) -> dict[str, torch.Tensor]:
        out = {
            "W": torch.zeros(1, spec.K, spec.d, dtype=torch.float64),
            "H": torch.zeros(1, spec.d, spec.N, dtype=torch.float64),
        }
        if spec.bias:
            out["b"] = torch.zeros(1, spec.K, 1, dtype=torch.float64)
        return out

    def landscape(self, spec: UFMSpec, closed: ClosedForm) -> dict[str, Any] | None:
        objective = self.objective(spec)
        report: dict[str, Any] = {"origin": min_curvature(objective, self.origin(spec)).as_dict()}
        if closed.point is not None:
            at_min = min_curvature(objective, self.full_point(spec, closed.point))
            report["closed_form"] = at_min.as_dict()
        return report

    # ------------------------------------------------------------------ certified geometry

    #: "softmax" (log-sum-exp losses) or "quadratic" (MSE): which curvature bound applies
    structure_kind: str | None = None

    def claimed_logits(self, spec: UFMSpec, closed: ClosedForm) -> ClaimedLogits | None:
        """The closed form's class-mean logits z_k = M e_k + b as exact balls, or None
        (no certified geometry for this theorem)."""
        return None

    def structure_bound(self, spec: UFMSpec, closed: ClosedForm,
                        cert: Certificate) -> StructureBound | dict[str, Any] | None:
        """:func:`ncproofs.certify.structure.plain_model_bound` at the explicit point."""
        if self.structure_kind is None or closed.point is None:
            return None
        if cert.lower_bound is None or cert.upper_bound is None:
            return None
        if spec.K > MAX_STRUCTURE_K:
            return {"status": "not-computed",
                    "reason": f"K = {spec.K} > {MAX_STRUCTURE_K}: the dense interval logits "
                              "would cost O(K^2 d)"}
        claim = self.claimed_logits(spec, closed)
        if claim is None:
            return None
        arrays = closed.point.arrays
        return plain_model_bound(
            kind=self.structure_kind, W=arrays["W"], H=arrays["H"], b=arrays.get("b"),
            counts=closed.point.counts, lam_W=spec.lam_W, lam_H=spec.lam_H,
            lam_b=spec.lam_b, claim=claim, lower=cert.lower_bound, upper=cert.upper_bound,
        )
