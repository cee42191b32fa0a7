r"""Label smoothing with weight decay: a simplex ETF with a smaller margin, or zero.

Paper: J. Zhou, C. You, X. Li, K. Liu, S. Liu, Q. Qu, Z. Zhu, "Are All Losses Created
Equal: A Neural Collapse Perspective", NeurIPS 2022, Theorem 3.1 (global minimizers for
CE, focal and label-smoothing losses are simplex-ETF collapsed) -- the margin below is
derived here for the label-smoothed CE.

Symbol map (paper -> ours).  The paper's smoothing parameter alpha uses the target
(1 - alpha) e_y + alpha/K 1 (our convention, docs/conventions.md), lambda_W, lambda_H,
lambda_b, n, K, d = lam_W, lam_H, lam_b, n, K, d with the same 1/N on the loss only.

Statement.  With t = sqrt(n lam_W lam_H), balanced classes and d >= K - 1: if
K t + alpha < 1, the class-mean logits are a (I - 11^T/K) with the margin a* solving

    e^{-a}/(1 + (K-1) e^{-a}) = t + alpha/K,   i.e.  a* = log(1/(t + alpha/K) - (K - 1)),

W is a simplex ETF, h_k = sqrt(lam_W/(n lam_H)) w_k, b = 0; otherwise W = H = 0 and
f* = log K.  alpha = 0 is ufm-ce.

Certificate.  The smoothed CE is convex in the logits, so the nuclear-norm relaxation is
a lower bound for every d; its exact symmetric dual point (CEDual with smoothing alpha:
(q - alpha/K)^2 <= n lam_W lam_H in rationals) gives the rigorous lower bound; the
interval objective at the explicit ETF point gives the upper bound.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from ..certify.certificate import Certificate
from ..certify.provenance import FACTORIZATION, WEAK_DUALITY, jensen
from ..certify.structure import ClaimedLogits
from ..derive.reduction import DerivationStep, SymmetricReduction
from ..losses import LabelSmoothingCE, Loss
from ..spec import UFMSpec, param
from ._plain import PlainUFMTheorem, collapsed_point
from .base import ClosedForm, register
from .ufm_ce import certify_symmetric_ce, claimed_margin, etf_logits_claim, etf_point, etf_scales


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelSmoothingSpec(UFMSpec):
    alpha: Fraction = param("number", Fraction(1, 10), lower=0, upper=1, upper_open=True,
                            doc="label smoothing: target (1-alpha) e_y + alpha/K")


def ls_closed_form(spec: LabelSmoothingSpec, margin: sp.Expr | None) -> ClosedForm:
    """Closed form for a given margin (None: the origin); a wrong margin is a mutation."""
    K, n, d = spec.K, spec.n[0], spec.d
    lam_W, lam_H = sp.Rational(spec.lam_W), sp.Rational(spec.lam_H)
    t = sp.sqrt(n * lam_W * lam_H)
    loss = LabelSmoothingCE(alpha=spec.alpha)
    red = SymmetricReduction(loss, sp.Integer(K), t)
    if margin is None:
        zero_b = np.zeros(K) if spec.bias else None
        return ClosedForm(objective=sp.log(K), regime="zero (K t + alpha >= 1)",
                          minimizer={"geometry": "origin", "a": 0.0},
                          point=collapsed_point(np.zeros((K, d)), np.zeros((d, K)), zero_b,
                                                spec.n))
    scales = etf_scales(margin, n, lam_W, lam_H)
    value = red.value(margin)
    summary: dict[str, Any] = {
        "geometry": "simplex ETF (rows of W), features h_k = (beta/alpha) w_k",
        "a": float(margin), "a_exact": str(margin), "alpha_W": float(scales.alpha),
        "beta_H": float(scales.beta), "b": 0.0,
    }
    regime = "collapse (simplex ETF, K t + alpha < 1)"
    if d < K - 1:
        return ClosedForm(objective=value, regime=regime, minimizer=summary, point=None,
                          applicable=False,
                          reason=f"d = {d} < K - 1 = {K - 1}: a simplex ETF does not fit in R^d")
    point = etf_point(spec, float(scales.alpha), float(scales.beta))
    return ClosedForm(objective=value, regime=regime, minimizer=summary, point=point)


@register
class UFMLabelSmoothing(PlainUFMTheorem):
    frame_points = True
    id = "ufm-ls"
    title = "Label-smoothed CE: simplex ETF with margin log(1/(t+alpha/K) - (K-1)), or zero"
    citation = (
        "J. Zhou et al., Are All Losses Created Equal: A Neural Collapse Perspective, "
        "NeurIPS 2022, Theorem 3.1"
    )
    symbol_map = (
        "paper alpha, lambda_W, lambda_H, lambda_b, n, K, d = ours alpha, lam_W, lam_H, lam_b, "
        "n, K, d (target (1-alpha) e_y + alpha/K; 1/N on the loss only)"
    )
    spec_type = LabelSmoothingSpec
    loss_name = "ls"
    metric_target = "etf"
    default_cases = (
        {"params": {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "alpha": "0.1"},
         "expect": "certified"},
        {"params": {"K": 5, "n": 2, "d": 4, "lam_W": "1e-3", "lam_H": "2e-3", "alpha": "0.3",
                    "bias": "false"}, "expect": "certified"},
        {"params": {"K": 4, "n": 3, "d": 5, "lam_W": "0.1", "lam_H": "0.1", "alpha": "0.6"},
         "expect": "certified"},
    )

    def loss(self, spec: UFMSpec) -> Loss:
        return LabelSmoothingCE(alpha=spec.alpha)

    def derive_general(self) -> list[DerivationStep]:
        K, t, al = sp.symbols("K t alpha", positive=True)
        red = SymmetricReduction(_SymbolicLS(al), K, t)
        a = sp.Symbol("a")
        eq = red.stationarity.subs(red.a, a)
        (root,) = sp.solve(sp.Eq(eq, 0), a)
        slope0 = sp.simplify(eq.subs(a, 0))
        return [
            DerivationStep("Relaxation: min (1/K) sum_k LS(M e_k + b, k) + t|M|_*, LS(z, k) = "
                           "logsumexp(z) - ((1-alpha) e_k + alpha/K 1)^T z; symmetric M = a J",
                           sp.simplify(red.objective)),
            DerivationStep("Stationarity g'(a) = 0", sp.Eq(sp.simplify(eq), 0)),
            DerivationStep("equivalently e^-a/(1+(K-1)e^-a) = t + alpha/K; margin",
                           sp.Eq(sp.Symbol("a^*"), sp.simplify(root))),
            DerivationStep("g'(0) (a* > 0 iff it is negative, i.e. K t + alpha < 1)", slope0),
            DerivationStep("Optimal value for K t + alpha < 1",
                           sp.Eq(sp.Symbol("f^*"), sp.simplify(red.value(root)))),
            DerivationStep("Otherwise W = H = 0 and", sp.Eq(sp.Symbol("f^*"), sp.log(K))),
        ]

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        if not spec.balanced:
            return ClosedForm(objective=None, regime="imbalanced", applicable=False,
                              reason="ufm-ls assumes balanced classes")
        K, n = spec.K, spec.n[0]
        t2 = n * spec.lam_W * spec.lam_H
        if K * K * t2 >= (1 - spec.alpha) ** 2:  # K t + alpha >= 1, exactly
            return ls_closed_form(spec, None)
        t = sp.sqrt(sp.Rational(t2))
        c = t + sp.Rational(spec.alpha) / K
        return ls_closed_form(spec, sp.log(1 / c - (K - 1)))

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        method = ("nuclear-norm relaxation + exact symmetric smoothed-CE dual (lower); interval "
                  "objective at the explicit point (upper)")
        assumptions = [jensen("label-smoothed CE"), FACTORIZATION, WEAK_DUALITY]
        return certify_symmetric_ce(self, spec, closed, smoothing=spec.alpha, method=method,
                                    assumptions=assumptions)


    structure_kind = "softmax"

    def claimed_logits(self, spec: UFMSpec, closed: ClosedForm) -> ClaimedLogits:
        return etf_logits_claim(spec.K, claimed_margin(closed))


@dataclasses.dataclass(frozen=True)
class _SymbolicLS(Loss):
    """The symmetric label-smoothed CE with a *symbolic* alpha (for the general derivation;
    :class:`LabelSmoothingCE` holds an exact number)."""

    alpha_symbol: sp.Expr = sp.Symbol("alpha")
    name: str = "ls-symbolic"

    def sympy_symmetric(self, z_true, z_other, K):
        m = z_true - z_other
        return sp.log(1 + (K - 1) * sp.exp(-m)) + self.alpha_symbol * (K - 1) / K * m
