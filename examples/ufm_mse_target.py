r"""A theorem that is not in the package: MSE with scaled targets c e_k (docs/extending.md).

Problem (bias-free, balanced classes, N = nK samples, targets c e_{y_i} with c > 0):

    f_c(W, H) = (1/N) sum_i 1/2 |W h_i - c e_{y_i}|^2 + lam_W/2 |W|^2 + lam_H/2 |H|^2.

Claim.  With t = sqrt(n lam_W lam_H) and kappa = K t,

    f_c* = c kappa - kappa^2 / 2   if kappa < c   (class-mean logits (c - kappa) I:
                                                   an orthogonal frame, needs d >= K),
    f_c* = c^2 / 2                 if kappa >= c  (W = H = 0).

Derivation (the scaling lemma, exact).  Put W = sqrt(c) W', H = sqrt(c) H'.  Then
|W h - c e|^2 = c^2 |W' h' - e|^2 and lam/2 |W|^2 = c (lam/2) |W'|^2, so

    f_c(W, H; lam_W, lam_H) = c^2 f_1(W', H'; lam_W / c, lam_H / c)

for every point, a bijection between the two problems.  Hence f_c* = c^2 f_1*(lam/c), and
ufm-mse (bias-free) gives f_1* = kappa' - kappa'^2/2 with kappa' = K sqrt(n lam_W lam_H)/c
= kappa/c, i.e. the formula above.  c = 1 is ufm-mse itself.

Certificate.  Lower bound: c^2 times ufm-mse's rigorous dual bound at (lam_W/c, lam_H/c)
(an exact rational dual point, :mod:`ncproofs.certify.dual_mse`), so the certificate
rests on the scaling lemma (proved above: a LEMMA) and on ufm-mse's own assumptions.
Upper bound: the interval value of an explicit point of the stated d in *this* problem's
objective (the loss below), computed independently of the lemma.

Use it without installing anything:

    ncproofs verify --module examples/ufm_mse_target.py ufm-mse-target \
        -p K=4 -p n=3 -p d=5 -p lam_W=3e-3 -p lam_H=7e-3 -p c=2

or register it for good through the entry-point group ``ncproofs.theorems`` of your own
package (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import flint
import numpy as np
import sympy as sp

from ncproofs._lazy import torch
from ncproofs.certify.certificate import LEMMA, NOT_APPLICABLE, Assumption, Certificate
from ncproofs.certify.dual_mse import MSEDual
from ncproofs.certify.intervals import arb_of
from ncproofs.derive.reduction import DerivationStep
from ncproofs.losses import Loss
from ncproofs.spec import UFMSpec, bias_free, param
from ncproofs.theorems._plain import PlainUFMTheorem, factor_point
from ncproofs.theorems.base import ClosedForm, register
from ncproofs.theorems.ufm_mse import MSE_ASSUMPTIONS

SCALING_LEMMA = Assumption(
    "scaling: f_c(W, H; lam_W, lam_H) = c^2 f_1(W/sqrt c, H/sqrt c; lam_W/c, lam_H/c) for "
    "every point (substitute W = sqrt(c) W', H = sqrt(c) H'), so f_c* = c^2 f_1*(lam/c)",
    LEMMA,
    "examples/ufm_mse_target.py (module docstring)",
)


@dataclass(frozen=True, kw_only=True)
class TargetMSESpec(UFMSpec):
    """The UFM parameters plus the target scale c; bias-free."""

    c: Fraction = param("number", Fraction(1), lower=0, lower_open=True,
                        doc="target scale: sample i's target is c e_{y_i}")
    bias: bool = param("bool", False, doc="no bias (the theorem is bias-free)")

    fixed: ClassVar[Mapping[str, tuple[Any, str]]] = bias_free(
        "the scaled-target theorem is bias-free")


@dataclass(frozen=True)
class TargetSquaredError(Loss):
    r"""loss(z, k) = 1/2 |z - c e_k|^2 (c exact: a Fraction)."""

    name: str = "mse-target"
    c: Fraction = Fraction(1)

    def sympy(self, z: list[sp.Expr], k: int) -> sp.Expr:
        c = sp.Rational(self.c.numerator, self.c.denominator)
        return sp.Rational(1, 2) * sum((zj - (c if j == k else 0)) ** 2 for j, zj in enumerate(z))

    def torch(self, Z: Any, y: Any) -> Any:
        target = torch.nn.functional.one_hot(y, Z.shape[-2]).T.to(Z.dtype) * float(self.c)
        return 0.5 * ((Z - target) ** 2).sum(dim=-2)

    def arb(self, z: list[flint.arb], k: int) -> flint.arb:
        c = arb_of(self.c)
        total = flint.arb(0)
        for j, zj in enumerate(z):
            r = zj - c if j == k else zj
            total += r * r  # not r ** 2: arb's power of a ball containing 0 is nan
        return total / 2


def claimed_value(K: int, n: int, lam_W: Fraction, lam_H: Fraction, c: Fraction) -> sp.Expr:
    """f_c* of the module docstring, exact (a SymPy expression)."""
    c_ = sp.Rational(c.numerator, c.denominator)
    kappa = K * sp.sqrt(n * sp.Rational(lam_W) * sp.Rational(lam_H))
    if K * K * n * lam_W * lam_H >= c * c:  # kappa >= c, compared exactly in rationals
        return c_**2 / 2
    return c_ * kappa - kappa**2 / 2


@register
class TargetMSE(PlainUFMTheorem):
    id = "ufm-mse-target"
    title = "MSE with targets c e_k (bias-free): scaled orthogonal frame or zero (example)"
    citation = ("derived in examples/ufm_mse_target.py from ufm-mse (Zhou et al., ICML 2022, "
                "Theorem 3.1) by an exact change of variables")
    symbol_map = "as ufm-mse, plus c: the target of class k is c e_k"
    spec_type = TargetMSESpec
    loss_name = "mse-target"
    metric_target = "orthogonal"
    default_cases = (
        {"params": {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "c": "2"},
         "expect": "certified"},
        {"params": {"K": 3, "n": 2, "d": 3, "lam_W": "0.3", "lam_H": "0.4", "c": "0.5"},
         "expect": "certified"},
    )

    def loss(self, spec: TargetMSESpec) -> Loss:  # type: ignore[override]
        return TargetSquaredError(c=spec.c)

    def derive_general(self) -> list[DerivationStep]:
        c, kappa, s = sp.symbols("c kappa s", positive=True)
        g = (s - c) ** 2 / 2 + kappa * s
        (root,) = sp.solve(sp.diff(g, s), s)
        return [
            DerivationStep("Class-mean logits s I; per sample 1/2 (s - c)^2, regularizer "
                           "kappa s (factorization identity): g(s)", g),
            DerivationStep("Stationary point (positive iff kappa < c)", sp.Eq(s, root)),
            DerivationStep("f* for kappa < c", sp.simplify(g.subs(s, root))),
            DerivationStep("f* for kappa >= c (W = H = 0)", g.subs(s, 0)),
        ]

    def closed_form(self, spec: TargetMSESpec) -> ClosedForm:  # type: ignore[override]
        if not spec.balanced:
            return ClosedForm(objective=None, regime="imbalanced", applicable=False,
                              reason="the claim assumes balanced classes")
        K, n, d = spec.K, spec.n[0], spec.d
        value = claimed_value(K, n, spec.lam_W, spec.lam_H, spec.c)
        kappa = K * float(np.sqrt(n * float(spec.lam_W) * float(spec.lam_H)))
        scale = max(float(spec.c) - kappa, 0.0)
        if K * K * n * spec.lam_W * spec.lam_H >= spec.c * spec.c:
            scale = 0.0
        M = scale * np.eye(K)
        regime = "zero (kappa >= c)" if scale == 0 else "orthogonal frame (c - kappa) I"
        summary = {"class_mean_logits": M.tolist(), "s": scale, "kappa": kappa}
        steps = [DerivationStep("kappa = K sqrt(n lam_W lam_H)", sp.N(kappa, 15)),
                 DerivationStep("f*", value)]
        if scale > 0 and d < K:
            return ClosedForm(objective=value, regime=regime, minimizer=summary, steps=steps,
                              applicable=False,
                              reason=f"d = {d} < K = {K}: an orthogonal frame needs d >= K")
        point = factor_point(M, None, spec.n, float(spec.lam_W), float(spec.lam_H), d)
        return ClosedForm(objective=value, regime=regime, minimizer=summary, point=point,
                          steps=steps)

    def certify(self, spec: TargetMSESpec, closed: ClosedForm) -> Certificate:  # type: ignore[override]
        method = ("c^2 x ufm-mse's exact rational dual at lam/c (scaling lemma; lower); "
                  "interval objective of the explicit point (upper)")
        assumptions = [SCALING_LEMMA, *MSE_ASSUMPTIONS]
        if not closed.applicable or closed.point is None:
            return Certificate(method=method, status=NOT_APPLICABLE, rigorous=False,
                               reason=closed.reason)
        c = spec.c
        dual = MSEDual(spec.n, spec.lam_W / c, spec.lam_H / c, False, Fraction(0))
        # ufm-mse's optimal logits at lam/c are the c-problem's divided by c
        Z1 = np.asarray(closed.minimizer["class_mean_logits"]) / float(c)
        lower_1 = dual.bound_from_logits(Z1)
        lower = arb_of(c) * arb_of(c) * lower_1.value
        return self.conclude(spec, closed, method=method, lower=lower,
                             assumptions=assumptions,
                             details={"dual_at_lam_over_c": lower_1.details},
                             lower_source="c^2 x exact MSE dual (scaling lemma)")


if __name__ == "__main__":  # `python examples/ufm_mse_target.py`: one case, as a script
    import ncproofs

    report = ncproofs.verify("ufm-mse-target", K=4, n=3, d=5, lam_W="3e-3", lam_H="7e-3",
                             c=2, solve=False, landscape=False)
    print(f"ufm-mse-target f* = {report['closed_form']['objective']:.15g}: "
          f"{report['certificate']['status']}")
