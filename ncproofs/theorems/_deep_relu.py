r"""Shared pieces of the deep (linear / ReLU) MSE theorems (eufm-relu, dufm-binary,
dufm-lowrank): the explicit orthogonal-frame point, its rigorous value, and a multi-start
search whose best point is re-evaluated in interval arithmetic.

Model (bias-free MSE, L weight layers, s = identity or ReLU after every layer but the last):

    f = (1/N) sum_i 1/2 |W_L s(W_{L-1} ... s(W_1 h_i)) - e_{y_i}|^2
        + sum_l lam_l/2 |W_l|^2 + lam_H/2 |H|^2.

Orthogonal point with class-mean logits x I: h_{k,i} = a e_k, W_l = c_l [I_K 0; 0 0],
a prod c_l = x and lam_H n a^2 = lam_l c_l^2 = tau = (n lam_H prod lam_l)^(1/(L+1)) x^(2/(L+1))
(the balanced scales of the depth-(L+1) factorization identity).  All entries are >= 0, so
the point has the same value with and without ReLU.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

import flint
import numpy as np
import sympy as sp

from .._lazy import torch
from ..certify.certificate import Certificate, decide
from ..certify.deep import interval_objective_deep
from ..certify.power_scalar import PowerScalar
from ..certify.provenance import EXACT_ROOTS, FROBENIUS_RELU
from ..losses import Loss, get_loss
from ..solve.deep import solve_deep
from ..spec import SpecError, bias_free, param
from .base import ExplicitPoint
from .deep_linear_mse import DeepLinearSpec


def explicit_deep_point(*, K: int, d: int, n: int, x: float, lams: Sequence[Fraction],
                        lam_H: Fraction, first_layer: str = "orthogonal") -> ExplicitPoint:
    """The balanced orthogonal-frame point (d >= K); x = 0 gives the origin."""
    L = len(lams)
    prod = float(lam_H) * n * math.prod(float(v) for v in lams)
    tau = prod ** (1 / (L + 1)) * x ** (2 / (L + 1)) if x > 0 else 0.0
    a = math.sqrt(tau / (float(lam_H) * n))
    arrays: dict[str, np.ndarray] = {"H": np.zeros((d, K))}
    arrays["H"][:K, :K] = a * np.eye(K)
    for layer, lam in enumerate(lams, start=1):
        rows = K if layer == L else d
        W = np.zeros((rows, d))
        W[:K, :K] = math.sqrt(tau / float(lam)) * np.eye(K)
        arrays[f"W{layer}"] = W
    return ExplicitPoint(arrays=arrays, labels=tuple(range(K)), counts=(n,) * K)


def arb_to_sympy(x: flint.arb) -> sp.Float:
    """The midpoint of a ball as a 30-digit SymPy float (display / claimed value)."""
    return sp.Float(x.mid().str(35, radius=False), 30)


def weights_of(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    L = sum(1 for k in arrays if k.startswith("W"))
    return [arrays[f"W{layer}"] for layer in range(1, L + 1)]


def rigorous_value(point: ExplicitPoint, loss: Loss, lams: Sequence[Fraction],
                   lam_H: Fraction, activation: str) -> flint.arb:
    return interval_objective_deep(loss, weights_of(point.arrays), point.arrays["H"], None,
                                   point.labels, point.counts, lams, lam_H,
                                   activation=activation)


@dataclass
class DeepPoint:
    """Best point of a multi-start search, with its rigorous value when requested."""

    params: dict[str, np.ndarray]
    K: int
    n: int
    activation: str
    value: flint.arb | None  # rigorous enclosure of f at ``params`` (None if not computed)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def point(self) -> ExplicitPoint:
        return ExplicitPoint(arrays=self.params, labels=tuple(np.repeat(np.arange(self.K),
                                                                        self.n)),
                             counts=(1,) * (self.K * self.n))

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(self.params)

    def layer_features(self) -> list[np.ndarray]:
        """Class-mean features after each layer but the last (d x K), then the logits."""
        return layer_class_means(self.params, self.K, self.n, self.activation)

    def structure(self, claimed: float | None = None) -> dict[str, Any]:
        """Rank and singular values of the class means per layer (and improvement %)."""
        out: dict[str, Any] = {"layers": []}
        for i, M in enumerate(self.layer_features()):
            s = np.linalg.svd(M, compute_uv=False)
            rank = int((s > 1e-6 * max(1e-300, s.max())).sum())
            out["layers"].append({"layer": i + 1, "rank": rank,
                                  "singular_values": [float(v) for v in s]})
        if claimed is not None and self.value is not None:
            v = float(self.value.mid())
            out["improvement_percent"] = 100 * (claimed - v) / abs(claimed)
        return out


def layer_class_means(params: dict[str, np.ndarray], K: int, n: int,
                      activation: str) -> list[np.ndarray]:
    H = params["H"]
    Ws = weights_of(params)
    A = H
    means = [A.reshape(A.shape[0], K, n).mean(axis=2)]
    for layer, W in enumerate(Ws):
        A = W @ A
        if activation == "relu" and layer < len(Ws) - 1:
            A = np.maximum(A, 0)
        means.append(A.reshape(A.shape[0], K, n).mean(axis=2))
    return means


def deep_solve(*, K: int, n: int, d: int, L: int, lams: Sequence[Fraction], lam_H: Fraction,
               activation: str, starts: int, seed: int, device: str = "cpu",
               rigorous: bool = False, init: dict[str, torch.Tensor] | None = None,
               tol: float = 1e-10, max_iter: int = 3000) -> DeepPoint:
    """Seeded multi-start L-BFGS on the full model (one feature column per sample) through
    :func:`ncproofs.solve.deep.solve_deep`; the best start is returned (and evaluated in
    interval arithmetic when ``rigorous``)."""
    res = solve_deep("mse", [n] * K, d, [float(v) for v in lams], float(lam_H),
                     activation=activation, features="full", starts=starts, seed=seed,
                     device=device, init=init, tol=tol, max_iter=max_iter)
    params = res.best_point()
    N = K * n
    value = None
    if rigorous:
        value = interval_objective_deep(get_loss("mse"), weights_of(params), params["H"],
                                        None, tuple(np.repeat(np.arange(K), n)), (1,) * N,
                                        lams, lam_H, activation=activation)
    summary = res.summary()
    if value is not None:
        summary["rigorous_value"] = [float(value.lower()), float(value.upper())]
    point = DeepPoint(params=params, K=K, n=n, activation=activation, value=value,
                      summary=summary)
    summary["structure"] = point.structure()
    return point


# --------------------------------------------------------------------------- deep ReLU UFM


@dataclasses.dataclass(frozen=True, kw_only=True)
class DUFMSpec(DeepLinearSpec):
    """Súkeník et al.'s deep UFM: L >= 2 weight matrices (ReLU after W_1..W_{L-1}), one
    weight decay ``lam_W`` for every layer, bias-free MSE, d >= K."""

    L: int = param("int", lower=2, doc="number of weight matrices (ReLU after all but W_L)")
    bias: bool = param("bool", False, doc="must be false: the deep UFM is bias-free")

    fixed: ClassVar[Mapping[str, tuple[Any, str]]] = bias_free(
        "the deep UFM of Súkeník et al. is bias-free")

    def _check(self) -> None:
        super()._check()
        # flint's complex_roots of the stationary polynomial never returned (uninterruptible
        # C code) at lam_W = lam_H = 1e-300 (CLI fuzz); 1e-100 takes ~2 s
        if min(self.n) * self.lam_H * self.lam_W ** self.L < MIN_PRODUCT:
            raise SpecError(
                "n * lam_H * lam_W^L must be >= 1e-100 for the certified root isolation "
                f"(lam_W={float(self.lam_W):g}, lam_H={float(self.lam_H):g}, L={self.L})")


#: below this product the exact root isolation of the scalar problem does not finish
MIN_PRODUCT = Fraction(1, 10**100)


def depth_power(L: int, n: int, lams: Sequence[Fraction], lam_H: Fraction,
                samples: int) -> Fraction:
    """R = ((L+1)/2)^(L+1) * samples * lam_H * prod lam_l (exact)."""
    prod = Fraction(lam_H)
    for v in lams:
        prod *= Fraction(v)
    return Fraction(L + 1, 2) ** (L + 1) * samples * prod


def dnc_scalar(spec: DUFMSpec) -> PowerScalar:
    r"""The deep-collapse (orthogonal frame) scalar problem, f_DNC = K min_x g(x):

        g(x) = (1/(2K)) (x - 1)^2 + C x^(2/(L+1)),  C = ((L+1)/2)(n lam_H lam_W^L)^(1/(L+1)).
    """
    return PowerScalar(w=Fraction(1, spec.K),
                       R=depth_power(spec.L, spec.n[0], spec.lams, spec.lam_H, spec.n[0]),
                       m=spec.L + 1)


def frobenius_scalar(spec: DUFMSpec) -> PowerScalar:
    r"""A rigorous lower bound for the ReLU model at *any* point, any d:
    |Z|_F <= |H|_F prod |W_l|_F (|max(A,0)|_F <= |A|_F, submultiplicativity), AM-GM on the
    L+1 penalties and |Z - Y|_F >= | |Z|_F - sqrt(N) | give, with |Z|_F = sqrt(N) y,

        f >= min_y (1/2)(y - 1)^2 + ((L+1)/2)(N lam_H lam_W^L)^(1/(L+1)) y^(2/(L+1)).

    When y = 0 wins, f* = 1/2 (W = H = 0) is certified without any reduction theorem."""
    return PowerScalar(w=Fraction(1),
                       R=depth_power(spec.L, spec.n[0], spec.lams, spec.lam_H, spec.N),
                       m=spec.L + 1)


FROBENIUS_ASSUMPTIONS = [FROBENIUS_RELU]


def frobenius_certificate(model: Any, claimed: flint.arb, upper: flint.arb,
                          details: dict[str, Any]) -> Certificate | None:
    """W = H = 0 certified by the Frobenius/AM-GM bound (lemma L9: any point, any d, no
    reduction) when the origin wins its scalar problem; None otherwise.  ``details`` gets
    the bound either way."""
    fro = frobenius_scalar(model).certified_minimum()
    zero_wins = bool(fro.zero_wins and fro.decided)
    details.update(frobenius_lower_bound=str(fro.value), frobenius_bound_zero_wins=zero_wins)
    if not zero_wins:
        return None
    return decide(method="Frobenius/AM-GM lower bound (any point, any d); interval "
                  "objective of W = H = 0", lower=fro.value, upper=upper, claimed=claimed,
                  assumptions=FROBENIUS_ASSUMPTIONS, details=details,
                  lower_source=EXACT_ROOTS + " (Frobenius bound)",
                  proof={"lower": scalar_roots_proof(model, "frobenius")})


def scalar_roots_proof(model: Any, bound: str) -> dict[str, Any]:
    """Lower-bound data of a proof file (kind ``deep-scalar-roots``, re-checked by
    :mod:`ncproofs.check`) for a model with ``L``, ``lams``, ``lam_H`` and class counts
    ``n``: the isolating intervals of the positive stationary roots of each scalar term
    phi(x) = A (x - 1)^2 + ((L+1)/2) kappa^(1/(L+1)) x^(2/(L+1)): one term A = 1/2,
    kappa = N lam_H prod lam_l (``bound="frobenius"``, :func:`frobenius_scalar`), or one
    per class A = n_k/(2N), kappa = n_k lam_H prod lam_l (``"per-class"``, the scalar
    reduction of :func:`dnc_scalar`)."""
    from ..derive.deep_scalar import DeepScalar

    N, decay = sum(model.n), Fraction(model.lam_H) * math.prod(map(Fraction, model.lams))
    terms = [(Fraction(1, 2), N * decay)] if bound == "frobenius" else [
        (Fraction(n_k, 2 * N), n_k * decay) for n_k in model.n]
    return {"kind": "deep-scalar-roots", "bound": bound,
            "stationary_intervals": [DeepScalar(model.L, A, kappa).proof_intervals()
                                     for A, kappa in terms]}
