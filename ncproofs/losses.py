"""Losses, each written once per backend.

A loss maps a logit vector z in R^K and a label k to a number.  Every loss offers

* ``sympy(z, k)``  -- a SymPy expression (derivations, LaTeX),
* ``torch(Z, y)``  -- per-sample values for logits ``Z`` of shape (..., K, N) and labels
  ``y`` of shape (N,) (numeric solvers; works on any device and batch shape),
* ``arb(z, k)``    -- a python-flint ``arb`` interval enclosure (rigorous upper bounds),
* ``cvxpy(z, k)``  -- a cvxpy expression, only for losses convex in the logits.

Select by name with :func:`get_loss`; parameters (smoothing, focusing) are fields of the
loss object, so a theorem never re-implements a loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import flint
import sympy as sp

from ._lazy import torch
from .spec import SpecError


def _arb(x: Fraction | int | float) -> flint.arb:
    if isinstance(x, Fraction):
        return flint.arb(flint.fmpq(x.numerator, x.denominator))
    return flint.arb(x)


def arb_logsumexp(z: list[flint.arb]) -> flint.arb:
    """Rigorous log(sum exp z_j), shifted by a midpoint maximum for stability."""
    shift = flint.arb(max(float(x.mid()) for x in z))
    total = flint.arb(0)
    for x in z:
        total += (x - shift).exp()
    return total.log() + shift


@dataclass(frozen=True)
class Loss:
    """Base class; ``name`` is the registry key and ``convex`` says whether the loss is
    convex in the logits (then the nuclear-norm relaxation is a convex program)."""

    name: str = "loss"
    convex: bool = True

    def sympy(self, z: list[sp.Expr], k: int) -> sp.Expr:
        raise NotImplementedError

    def sympy_symmetric(self, z_true: sp.Expr, z_other: sp.Expr, K: sp.Expr) -> sp.Expr:
        """The loss at a logit vector equal to ``z_true`` on the label and ``z_other`` on the
        K - 1 other classes; ``K`` may be a symbol.  Default: from :meth:`sympy` (int K)."""
        K = int(K)
        return self.sympy([z_true] + [z_other] * (K - 1), 0)

    def torch(self, Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def arb(self, z: list[flint.arb], k: int) -> flint.arb:
        raise NotImplementedError

    def cvxpy(self, z: Any, k: int) -> Any:
        raise NotImplementedError(f"loss {self.name} has no convex (cvxpy) form")

    def latex(self) -> str:
        z = sp.symbols("z_1:4")
        return sp.latex(self.sympy(list(z), 0))


@dataclass(frozen=True)
class CrossEntropy(Loss):
    r"""Cross-entropy  loss(z, k) = log sum_j exp(z_j) - z_k."""

    name: str = "ce"

    def sympy(self, z, k):
        return sp.log(sum(sp.exp(zj) for zj in z)) - z[k]

    def sympy_symmetric(self, z_true, z_other, K):
        # log(e^{z_t} + (K-1) e^{z_o}) - z_t, written in the margin m = z_t - z_o
        return sp.log(1 + (K - 1) * sp.exp(-(z_true - z_other)))

    def torch(self, Z, y):
        target = torch.nn.functional.one_hot(y, Z.shape[-2]).T.to(Z.dtype)
        return -(torch.log_softmax(Z, dim=-2) * target).sum(dim=-2)

    def arb(self, z, k):
        return arb_logsumexp(z) - z[k]

    def cvxpy(self, z, k):
        import cvxpy as cp

        return cp.log_sum_exp(z) - z[k]


@dataclass(frozen=True)
class SquaredError(Loss):
    r"""MSE  loss(z, k) = 1/2 |z - e_k|^2."""

    name: str = "mse"

    def sympy(self, z, k):
        return sp.Rational(1, 2) * sum((zj - (1 if j == k else 0)) ** 2 for j, zj in enumerate(z))

    def sympy_symmetric(self, z_true, z_other, K):
        return sp.Rational(1, 2) * ((z_true - 1) ** 2 + (K - 1) * z_other**2)

    def torch(self, Z, y):
        target = torch.nn.functional.one_hot(y, Z.shape[-2]).T.to(Z.dtype)
        return 0.5 * ((Z - target) ** 2).sum(dim=-2)

    def arb(self, z, k):
        total = flint.arb(0)
        for j, zj in enumerate(z):
            r = zj - (1 if j == k else 0)
            total += r * r  # not r ** 2: arb's power of a ball containing 0 is nan
        return total / 2

    def cvxpy(self, z, k):
        import cvxpy as cp
        import numpy as np

        return 0.5 * cp.sum_squares(z - np.eye(z.shape[0])[k])


@dataclass(frozen=True)
class LabelSmoothingCE(Loss):
    r"""Label-smoothed CE  loss(z, k) = log sum_j exp(z_j) - y^T z  with the smoothed target
    y = (1 - alpha) e_k + (alpha/K) 1,  0 <= alpha < 1 (alpha = 0 is plain CE).

    Convex in z; its conjugate is finite on {p - y : p in the simplex} (see
    :class:`ncproofs.certify.dual.CEDual` with ``smoothing=alpha``)."""

    name: str = "ls"
    alpha: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        a = Fraction(self.alpha) if not isinstance(self.alpha, float) else Fraction(
            repr(self.alpha))
        if not (0 <= a < 1):
            raise SpecError(f"alpha must be >= 0 and < 1, got {float(a)!r}")
        object.__setattr__(self, "alpha", a)

    def target(self, K: int, k: int) -> list[Fraction]:
        """The smoothed target vector y for label k (exact rationals)."""
        return [(1 - self.alpha) * (j == k) + self.alpha / K for j in range(K)]

    def _alpha_sympy(self) -> sp.Expr:
        return sp.Rational(self.alpha.numerator, self.alpha.denominator)

    def sympy(self, z, k):
        K, al = len(z), self._alpha_sympy()
        lse = sp.log(sum(sp.exp(zj) for zj in z))
        return lse - (1 - al) * z[k] - al / K * sum(z)

    def sympy_symmetric(self, z_true, z_other, K):
        # log(1 + (K-1) e^{-m}) + alpha (K-1)/K m with the margin m = z_true - z_other
        m = z_true - z_other
        return sp.log(1 + (K - 1) * sp.exp(-m)) + self._alpha_sympy() * (K - 1) / K * m

    def torch(self, Z, y):
        K = Z.shape[-2]
        target = torch.nn.functional.one_hot(y, K).T.to(Z.dtype)
        a = float(self.alpha)
        target = (1 - a) * target + a / K
        return -(torch.log_softmax(Z, dim=-2) * target).sum(dim=-2)

    def arb(self, z, k):
        total = arb_logsumexp(z)
        for zj, yj in zip(z, self.target(len(z), k)):
            if yj != 0:
                total -= _arb(yj) * zj
        return total

    def cvxpy(self, z, k):
        import cvxpy as cp
        import numpy as np

        K = z.shape[0]
        y = np.array([float(v) for v in self.target(K, k)])
        return cp.log_sum_exp(z) - y @ z


@dataclass(frozen=True)
class FocalLoss(Loss):
    r"""Focal loss  loss(z, k) = -(1 - p_k)^gamma log p_k,  p = softmax(z),  gamma >= 0
    (gamma = 0 is CE).  Not convex in z for gamma > 0, so no cvxpy form."""

    name: str = "focal"
    convex: bool = False
    gamma: Fraction = Fraction(1)

    def __post_init__(self) -> None:
        g = Fraction(self.gamma) if not isinstance(self.gamma, float) else Fraction(
            repr(self.gamma))
        if g < 0:
            raise SpecError(f"gamma must be >= 0, got {float(g)!r}")
        object.__setattr__(self, "gamma", g)

    def _gamma_sympy(self) -> sp.Expr:
        return sp.Rational(self.gamma.numerator, self.gamma.denominator)

    def sympy(self, z, k):
        p = sp.exp(z[k]) / sum(sp.exp(zj) for zj in z)
        return -((1 - p) ** self._gamma_sympy()) * sp.log(p)

    def sympy_symmetric(self, z_true, z_other, K):
        m = z_true - z_other
        p = 1 / (1 + (K - 1) * sp.exp(-m))
        return -((1 - p) ** self._gamma_sympy()) * sp.log(p)

    def torch(self, Z, y):
        logp = torch.log_softmax(Z, dim=-2).gather(-2, _label_index(Z, y)).squeeze(-2)
        one_minus_p = -torch.expm1(logp)
        g = float(self.gamma)
        weight = one_minus_p.clamp(min=0.0) ** g if g != 0 else torch.ones_like(logp)
        return -weight * logp

    def arb(self, z, k):
        lse = arb_logsumexp(z)
        logp = z[k] - lse
        rest = flint.arb(0)  # 1 - p_k as a sum of positive terms (no cancellation)
        for j, zj in enumerate(z):
            if j != k:
                rest += (zj - lse).exp()
        if self.gamma == 0:
            return -logp
        return -(rest ** _arb(self.gamma)) * logp


def _label_index(Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Index tensor of shape (..., 1, N) picking row y_i of column i of Z (..., K, N)."""
    return y.reshape(*([1] * (Z.dim() - 1)), -1).expand(*Z.shape[:-2], 1, Z.shape[-1])


LOSSES: dict[str, type[Loss]] = {
    "ce": CrossEntropy, "mse": SquaredError, "ls": LabelSmoothingCE, "focal": FocalLoss,
}


def register_loss(cls: type[Loss]) -> type[Loss]:
    """Class decorator used by modules that add losses (label smoothing, focal, ...)."""
    LOSSES[cls.name] = cls  # type: ignore[attr-defined]
    return cls


def get_loss(name: str, **params: Any) -> Loss:
    """The loss called ``name`` (one of :data:`LOSSES`) with its parameters."""
    try:
        cls = LOSSES[name]
    except KeyError:
        raise SpecError(f"loss must be one of {', '.join(sorted(LOSSES))}, got {name!r}") from None
    return cls(**params)
