r"""Zhu et al. (2021): the global minimizers of the CE unconstrained-features model.

Paper: Z. Zhu, T. Ding, J. Zhou, X. Li, C. You, J. Sulam, Q. Qu, "A Geometric Analysis of
Neural Collapse with Unconstrained Features", NeurIPS 2021, Theorem 3.1 (global
minimizers) and Theorem 3.2 (every other critical point is a strict saddle).

Symbol map (paper -> ours).  The paper writes the loss as (1/N) sum_k sum_i CE(W h_{k,i} + b,
y_k) + lambda_W/2 |W|^2 + lambda_H/2 |H|^2 + lambda_b/2 |b|^2 with N = nK and no 1/N on
the regularizers -- exactly our convention, so lambda_W = lam_W, lambda_H = lam_H,
lambda_b = lam_b, n = n, d = d.  Their c_1 relation |h| = sqrt(lambda_W/(n lambda_H)) |w|
is our beta/alpha.

Statement checked.  With t = sqrt(n lam_W lam_H), balanced classes and d >= K - 1:
if K t < 1 the class-mean logits are a*(I - 11^T/K) with a* = log(1/t - (K - 1)), the
rows of W form a simplex ETF, h_{k,i} = sqrt(lam_W/(n lam_H)) w_k, b* = 0 and

    f* = -log(1 - (K-1) t) + (K-1) t log((1 - (K-1) t)/t);

if K t >= 1 the only minimizer is W = H = 0, b = 0 with f* = log K.

Certificate.  Lower bound: the nuclear-norm relaxation on class-mean logits (valid for
every d) and its exact symmetric dual point q = min(t, 1/K) (module
:mod:`ncproofs.certify.dual`), O(1) for any K.  Upper bound: the objective at the explicit
ETF point of the stated d in interval arithmetic.  The cvxpy relaxation value is reported
as a non-rigorous cross-check for K <= 30.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import flint
import sympy as sp

from ..certify.certificate import NOT_APPLICABLE, Assumption, Certificate
from ..certify.dual import CEDual
from ..certify.frames import FramePoint
from ..certify.intervals import isqrt_fraction_below, sympy_to_arb
from ..certify.provenance import EXACT_DUAL, FACTORIZATION, WEAK_DUALITY, jensen
from ..certify.relaxation import solve_relaxation
from ..certify.structure import ClaimedLogits
from ..derive.reduction import DerivationStep, SymmetricReduction
from ..geometry import simplex_etf
from ..losses import get_loss
from ..spec import UFMSpec
from ._plain import PlainUFMTheorem, collapsed_point
from .base import ClosedForm, ExplicitPoint, register

RELAXATION_CROSS_CHECK_MAX_K = 30


@dataclass(frozen=True)
class ETFScales:
    """Exact scales of the ETF minimizer: logits a (I - 11^T/K), W = alpha P, Hbar = beta P^T."""

    a: sp.Expr
    alpha: sp.Expr
    beta: sp.Expr


def etf_scales(a: sp.Expr, n: int, lam_W: sp.Expr, lam_H: sp.Expr) -> ETFScales:
    """Balance lam_W |W|^2 = lam_H |H|^2 with alpha beta = a:
    alpha = sqrt(a) (n lam_H / lam_W)^(1/4),  beta = alpha sqrt(lam_W / (n lam_H))."""
    alpha = sp.sqrt(a) * (n * lam_H / lam_W) ** sp.Rational(1, 4)
    beta = alpha * sp.sqrt(lam_W / (n * lam_H))
    return ETFScales(a=a, alpha=alpha, beta=beta)


def etf_point(spec: UFMSpec, alpha: float, beta: float) -> ExplicitPoint | FramePoint:
    """W = alpha P, h_k = beta P^T e_k, b = 0 for a simplex ETF P of the stated d: stored by
    structure (the centred standard basis, O(K) to evaluate) when d >= K, else the dense
    Helmert frame (d = K - 1)."""
    K, d = spec.K, spec.d
    bias = 0.0 if spec.bias else None
    if d >= K:
        return FramePoint("centred-basis", K, d, alpha, beta, bias, spec.n)
    import numpy as np

    P = simplex_etf(K, d)
    return collapsed_point(alpha * P, beta * P.T, None if bias is None else np.zeros(K),
                           spec.n)


def etf_closed_form(spec: UFMSpec, margin: sp.Expr | None, steps=()) -> ClosedForm:
    """Closed form with class-mean logit margin ``margin`` (None or 0: the origin).

    Built as a function of the margin so that tests can feed a wrong margin (mutations).
    """
    K, n, d = spec.K, spec.n[0], spec.d
    lam_W, lam_H = sp.Rational(spec.lam_W), sp.Rational(spec.lam_H)
    t = sp.sqrt(n * lam_W * lam_H)
    reduction = SymmetricReduction(get_loss("ce"), sp.Integer(K), t)
    if margin is None or margin == 0:
        point = FramePoint("zero", K, d, 0.0, 0.0, 0.0 if spec.bias else None, spec.n)
        return ClosedForm(
            objective=sp.log(K), regime="zero (W = H = 0, K t >= 1)",
            minimizer={"geometry": "origin", "a": 0.0, "alpha": 0.0, "beta": 0.0, "b": 0.0},
            point=point, steps=list(steps),
        )
    scales = etf_scales(margin, n, lam_W, lam_H)
    value = reduction.value(margin)
    summary: dict[str, Any] = {
        "geometry": "simplex ETF (rows of W), features h_k = (beta/alpha) w_k",
        "a": float(margin), "alpha": float(scales.alpha), "beta": float(scales.beta),
        "h_over_w": float(scales.beta / scales.alpha),
        "b": "0" if spec.lam_b > 0 or not spec.bias else "c 1 (any c: CE ignores a common shift)",
        "a_exact": str(margin),
    }
    if d < K - 1:
        return ClosedForm(
            objective=value, regime="collapse (simplex ETF, K t < 1)", minimizer=summary,
            point=None, steps=list(steps), applicable=False,
            reason=f"d = {d} < K - 1 = {K - 1}: a simplex ETF does not fit in R^d",
        )
    point = etf_point(spec, float(scales.alpha), float(scales.beta))
    return ClosedForm(
        objective=value, regime="collapse (simplex ETF, K t < 1)", minimizer=summary,
        point=point, steps=list(steps),
    )


def certify_symmetric_ce(
    theorem: PlainUFMTheorem,
    spec: UFMSpec,
    closed: ClosedForm,
    *,
    smoothing: Fraction,
    method: str,
    assumptions: list[Assumption],
) -> Certificate:
    """The certificate of the balanced (label-smoothed) CE theorems (ufm-ce: alpha = 0,
    ufm-ls): the exact symmetric dual point q = alpha/K + t below the threshold
    K t + alpha < 1 and q = 1/K beyond it (t = sqrt(n lam_W lam_H), q <= t + alpha/K checked
    in rationals), the cvxpy relaxation as a non-rigorous cross-check for K <= 30, and the
    explicit point's interval value (:meth:`Theorem.conclude`)."""
    if not spec.balanced:
        return Certificate(method=method, status=NOT_APPLICABLE, rigorous=False,
                           reason=closed.reason, assumptions=assumptions)
    K, n = spec.K, spec.n[0]
    t_squared = n * spec.lam_W * spec.lam_H
    dual = CEDual(spec.n, spec.lam_W, spec.lam_H, spec.bias, spec.lam_b, smoothing=smoothing)
    if K * K * t_squared >= (1 - smoothing) ** 2:  # K t + alpha >= 1, exactly
        q = Fraction(1, K)
    else:
        q = smoothing / K + isqrt_fraction_below(t_squared)
    lower = dual.symmetric_bound(q)
    details: dict[str, Any] = {"dual": lower.details, "lower_method": lower.method}
    if K <= RELAXATION_CROSS_CHECK_MAX_K:
        relax = solve_relaxation(theorem.loss(spec), spec.n, spec.lam_W, spec.lam_H,
                                 spec.lam_b, spec.bias)
        details["relaxation"] = relax.as_details()
    return theorem.conclude(spec, closed, method=method, lower=lower.value,
                            assumptions=assumptions, details=details, lower_source=EXACT_DUAL,
                            proof={"lower": lower.proof})


def etf_logits_claim(K: int, margin: sp.Expr | None) -> ClaimedLogits:
    """Claimed class-mean logits a (I - 11^T/K), b = 0 (a = 0: the origin), exact balls."""
    a = flint.arb(0) if margin is None else sympy_to_arb(margin)
    Z = [[a * ((1 if i == k else 0) - flint.arb(1) / K) for k in range(K)] for i in range(K)]
    text = ("class-mean logits 0 (W = H = 0)" if margin is None else
            f"class-mean logits a* (I - 11^T/K), a* = {margin} (simplex ETF), b = 0")
    return ClaimedLogits.from_matrix(Z, [flint.arb(0)] * K, text, psd=True)  # a >= 0


def claimed_margin(closed: ClosedForm) -> sp.Expr | None:
    """The exact margin a* of a symmetric closed form (None: the origin)."""
    if closed.minimizer.get("geometry") == "origin":
        return None
    return sp.sympify(closed.minimizer["a_exact"])


@register
class UFMCrossEntropy(PlainUFMTheorem):
    frame_points = True
    id = "ufm-ce"
    title = "CE with weight decay: simplex ETF or zero (Zhu et al. 2021, Thm 3.1/3.2)"
    citation = (
        "Z. Zhu et al., A Geometric Analysis of Neural Collapse with Unconstrained Features, "
        "NeurIPS 2021, Theorems 3.1 and 3.2"
    )
    symbol_map = (
        "paper lambda_W, lambda_H, lambda_b, n, d, K = ours lam_W, lam_H, lam_b, n, d, K "
        "(same 1/N on the loss only); paper's c1 scale = beta/alpha = sqrt(lam_W/(n lam_H))"
    )
    loss_name = "ce"
    metric_target = "etf"
    default_cases = (
        {"params": {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1e-2"},
         "expect": "certified"},
        {"params": {"K": 3, "n": 5, "d": 2, "lam_W": "1e-3", "lam_H": "1e-3", "bias": "false"},
         "expect": "certified"},
        {"params": {"K": 10, "n": 6, "d": 12, "lam_W": "5e-4", "lam_H": "5e-4"},
         "expect": "certified"},
        {"params": {"K": 4, "n": 3, "d": 5, "lam_W": "0.3", "lam_H": "0.3"},
         "expect": "certified"},
        {"params": {"K": 6, "n": 2, "d": 3, "lam_W": "1e-3", "lam_H": "1e-3"},
         "expect": "not-applicable"},
    )

    # ------------------------------------------------------------------ derivation

    def derive_general(self) -> list[DerivationStep]:
        K, t = sp.symbols("K t", positive=True)
        red = SymmetricReduction(get_loss("ce"), K, t)
        (root,) = red.stationary_points()
        (thr,) = red.threshold()
        n, lW, lH = sp.symbols("n lambda_W lambda_H", positive=True)
        scales = etf_scales(sp.Symbol("a^*", positive=True), n, lW, lH)
        return [
            DerivationStep("Relaxation on class-mean logits M (Jensen + factorization "
                           "identity): min (1/K) sum_k CE(M e_k + b, k) + t |M|_*, with",
                           sp.Eq(sp.Symbol("t"), sp.sqrt(n * lW * lH))),
            DerivationStep("Symmetric reduction M = a (I - 11^T/K), b = 0: g(a)",
                           sp.simplify(red.objective)),
            DerivationStep("Stationarity g'(a) = 0", sp.Eq(red.stationarity, 0)),
            DerivationStep("Stationary point", sp.Eq(sp.Symbol("a^*"), root)),
            DerivationStep("Threshold g'(0) = 0 (a* > 0 iff K t < 1)", sp.Eq(t, thr)),
            DerivationStep("Optimal value for K t < 1", sp.Eq(sp.Symbol("f^*"),
                                                              sp.simplify(red.value(root)))),
            DerivationStep("Optimal value for K t >= 1 (W = H = 0)",
                           sp.Eq(sp.Symbol("f^*"), red.value(0))),
            DerivationStep("Explicit minimizer W = alpha P, h_k = beta p_k, P P^T = I - 11^T/K",
                           sp.Eq(sp.Symbol("alpha"), scales.alpha)),
            DerivationStep("Feature scale (balance lam_W |W|^2 = lam_H |H|^2, alpha beta = a*)",
                           sp.Eq(sp.Symbol("beta"), sp.simplify(scales.beta))),
        ]

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        if not spec.balanced:
            return ClosedForm(
                objective=None, regime="imbalanced", applicable=False,
                reason="Zhu et al.'s theorem assumes balanced classes (use ufm-ce-imbalanced)",
            )
        K, n = spec.K, spec.n[0]
        t = sp.sqrt(n * sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
        red = SymmetricReduction(get_loss("ce"), sp.Integer(K), t)
        steps = [
            DerivationStep("t = sqrt(n lam_W lam_H)", sp.Eq(sp.Symbol("t"), t)),
            DerivationStep("K t", sp.N(K * t, 15)),
            DerivationStep("g(a)", red.objective),
        ]
        if K * K * n * spec.lam_W * spec.lam_H >= 1:  # exact rational comparison of K t >= 1
            steps.append(DerivationStep("K t >= 1: the origin is optimal, f* = log K", sp.log(K)))
            return etf_closed_form(spec, None, steps)
        (root,) = [r for r in red.stationary_points() if r.is_real]
        steps.append(DerivationStep("a* = log(1/t - (K - 1))", root))
        steps.append(DerivationStep("f*", red.value(root)))
        return etf_closed_form(spec, root, steps)

    # ------------------------------------------------------------------ certificate

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        method = "nuclear-norm relaxation + exact symmetric dual (lower); interval objective " \
                 "at the explicit point (upper)"
        assumptions = [jensen("CE"), FACTORIZATION, WEAK_DUALITY]
        return certify_symmetric_ce(self, spec, closed, smoothing=Fraction(0), method=method,
                                    assumptions=assumptions)

    structure_kind = "softmax"

    def claimed_logits(self, spec: UFMSpec, closed: ClosedForm) -> ClaimedLogits:
        return etf_logits_claim(spec.K, claimed_margin(closed))
