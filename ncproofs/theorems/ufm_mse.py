r"""Balanced MSE with weight decay, in all three bias modes.

Papers: J. Zhou, X. Li, T. Ding, C. You, Q. Qu, Z. Zhu, "On the Optimization Landscape of
Neural Collapse under MSE Loss: Global Optimality with Unconstrained Features", ICML 2022,
Theorem 3.1 (bias-free and unregularized bias); T. Tirer & J. Bruna, "Extended
Unconstrained Features Model for Exploring Deep Neural Collapse", ICML 2022, Theorem 3.1
(bias-free MSE: orthogonal frame) -- the regularized-bias case interpolates between them
and is derived here.

Symbol map (paper -> ours).  Zhou et al. write (1/(2N)) |W H + b 1^T - Y|_F^2 +
lambda_W/2 |W|^2 + lambda_H/2 |H|^2 + lambda_b/2 |b|^2 with N = nK: our convention with
lam_W = lambda_W, lam_H = lambda_H, lam_b = lambda_b.  Tirer & Bruna's (1/(2N)) |W H - Y|^2
+ lambda_W/2 |W|^2 + lambda_H/2 |H|^2 is the same.  We write t = sqrt(n lam_W lam_H),
kappa = K t; Zhou et al.'s threshold "sqrt(K lambda_W lambda_H ... )" is kappa < 1 here.

Statement (class-mean logits Z = M + b 1^T, J = I - 11^T/K):
* ``bias=false``: M = (1 - kappa)_+ I (orthogonal frame, needs d >= K when kappa < 1),
  f* = kappa - kappa^2/2 for kappa < 1, else 1/2 (W = H = 0).
* ``bias=true, lam_b=0``: M = (1 - kappa)_+ J (simplex ETF, d >= K - 1), b = 1/K,
  f* = (K-1)/K (kappa - kappa^2/2) for kappa < 1, else (K-1)/(2K).
* ``bias=true, lam_b>0``: M = (1 - kappa)_+ J + y 11^T/K, b = beta 1 with
  y = 0, beta = 1/(K(1+lam_b))           if lam_b <= kappa/(1-kappa) (ETF, rank K-1),
  y = 1 - kappa - kappa/lam_b, beta = kappa/(K lam_b)  otherwise (rank K: between the
  ETF and the orthogonal frame, reaching (1-kappa) I as lam_b -> infinity);
  the logits are Z = alpha I + ((mu - alpha)/K) 11^T with alpha = (1-kappa)_+, mu = y + K beta.

Certificate.  MSE is convex in the logits, so class-mean features are optimal (Jensen)
and the nuclear-norm relaxation (factorization identity) is a lower bound for every d.
Lower bound: the relaxation's dual point Y = (Z* - I) diag(w), rounded to rationals and
checked exactly (:mod:`ncproofs.certify.dual_mse`): g(Y) is an exact rational.  Upper
bound: interval objective at the balanced factorization of M* in R^d.  When d < rank(M*)
the relaxation is not attained in R^d: ``not-applicable`` (the rank-constrained optimum
is then reported, uncertified).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import flint
import numpy as np
import sympy as sp

from ..certify.certificate import NOT_APPLICABLE, Certificate
from ..certify.dual_mse import MSEDual
from ..certify.intervals import sympy_to_arb
from ..certify.provenance import EXACT_DUAL, FACTORIZATION, WEAK_DUALITY, jensen
from ..certify.relaxation import solve_relaxation
from ..certify.structure import ClaimedLogits
from ..derive.reduction import DerivationStep
from ..spec import UFMSpec
from ._plain import PlainUFMTheorem, factor_point
from .base import ClosedForm, register

RELAXATION_CROSS_CHECK_MAX_K = 30

MSE_ASSUMPTIONS = [jensen("MSE"), FACTORIZATION, WEAK_DUALITY]


@dataclass(frozen=True)
class MSESolution:
    """Eigen-decomposition of the balanced optimum: M = x J + y 11^T/K, b = beta 1."""

    x: sp.Expr
    y: sp.Expr
    beta: sp.Expr | None  # None: no bias
    value: sp.Expr
    regime: str

    def logits(self, K: int) -> tuple[np.ndarray, np.ndarray | None]:
        J = np.eye(K) - np.ones((K, K)) / K
        M = float(self.x) * J + float(self.y) * np.ones((K, K)) / K
        b = None if self.beta is None else np.full(K, float(self.beta))
        return M, b

    def residual(self, K: int) -> np.ndarray:
        """Z - I = (x - 1) J + (y - 1 + K beta) 11^T/K, cancelled exactly in SymPy before
        rounding (in floats Z ~ I loses it when kappa is tiny)."""
        J = np.eye(K) - np.ones((K, K)) / K
        shift = 0 if self.beta is None else K * self.beta
        return (float(sp.N(self.x - 1, 30)) * J
                + float(sp.N(self.y - 1 + shift, 30)) * np.ones((K, K)) / K)


def mse_rank(sol: MSESolution, K: int) -> int:
    return (K - 1 if sol.x != 0 else 0) + (1 if sol.y != 0 else 0)


def balanced_mse_solution(K: int, t: sp.Expr, bias: bool, lam_b: sp.Expr) -> MSESolution:
    """The closed form derived in :meth:`UFMMSE.derive_general`, for exact K, t, lam_b.

    Regime tests are exact: kappa < 1 and kappa < lam_b/(1+lam_b) are compared through
    squares of rationals by SymPy."""
    kappa = K * t
    below = bool(sp.simplify(kappa - 1) < 0)
    x = 1 - kappa if below else sp.Integer(0)
    perp = (K - 1) * (kappa - kappa**2 / 2) / K if below else sp.Rational(K - 1, 2 * K)
    if not bias:
        y = x
        value = kappa - kappa**2 / 2 if below else sp.Rational(1, 2)
        regime = "orthogonal frame, M = (1-kappa) I" if below else "zero (kappa >= 1)"
        return MSESolution(x, y, None, sp.nsimplify(value) if value.is_Rational else value,
                           regime)
    if lam_b == 0:
        regime = "simplex ETF, b = 1/K" if below else "zero M, b = 1/K (kappa >= 1)"
        return MSESolution(x, sp.Integer(0), sp.Rational(1, K), perp, regime)
    if below and bool(sp.simplify(kappa - lam_b / (1 + lam_b)) < 0):
        y = 1 - kappa - kappa / lam_b
        beta = kappa / (K * lam_b)
        value = perp + (kappa - kappa**2 / 2 - kappa**2 / (2 * lam_b)) / K
        regime = "between ETF and orthogonal frame (lam_b > kappa/(1-kappa))"
        return MSESolution(x, y, beta, value, regime)
    beta = 1 / (K * (1 + lam_b))
    value = perp + lam_b / (2 * K * (1 + lam_b))
    regime = ("simplex ETF, b = 1/(K(1+lam_b)) (lam_b <= kappa/(1-kappa))" if below
              else "zero M, b = 1/(K(1+lam_b)) (kappa >= 1)")
    return MSESolution(x, sp.Integer(0), beta, value, regime)


def certify_mse(
    theorem: PlainUFMTheorem, spec: UFMSpec, closed: ClosedForm, Z: np.ndarray,
    method_extra: str = "", details: dict[str, Any] | None = None,
    residual: np.ndarray | None = None,
) -> Certificate:
    """Dual lower bound from the claimed logits Z (``residual``: Z - I computed without
    cancellation, optional), interval upper bound at the closed form's explicit point,
    decided against the claimed value."""
    method = ("nuclear-norm relaxation + exact rational MSE dual (lower); interval objective "
              "at the explicit point (upper)" + method_extra)
    details = dict(details or {})
    dual = MSEDual(spec.n, spec.lam_W, spec.lam_H, spec.bias, spec.lam_b)
    lower = dual.bound_from_logits(Z, residual)
    details.update(dual=lower.details, lower_method=lower.method)
    if spec.K <= RELAXATION_CROSS_CHECK_MAX_K:
        relax = solve_relaxation(theorem.loss(spec), spec.n, spec.lam_W, spec.lam_H,
                                 spec.lam_b, spec.bias)
        details["relaxation"] = relax.as_details()
    return theorem.conclude(spec, closed, method=method, lower=lower.value,
                            assumptions=MSE_ASSUMPTIONS, details=details,
                            lower_source=EXACT_DUAL,
                            proof={"lower": lower.proof})


@register
class UFMMSE(PlainUFMTheorem):
    id = "ufm-mse"
    title = "Balanced MSE: orthogonal frame (no bias), ETF (free bias), in between (lam_b > 0)"
    citation = (
        "J. Zhou et al., On the Optimization Landscape of Neural Collapse under MSE Loss, "
        "ICML 2022, Theorem 3.1; T. Tirer & J. Bruna, Extended Unconstrained Features Model, "
        "ICML 2022, Theorem 3.1"
    )
    symbol_map = (
        "paper lambda_W, lambda_H, lambda_b, n, K, d = ours lam_W, lam_H, lam_b, n, K, d "
        "(1/(2N)|WH + b1^T - Y|^2 = our (1/N) sum 1/2|z - e_y|^2); kappa = K sqrt(n lam_W lam_H)"
    )
    loss_name = "mse"
    metric_target = "etf"
    default_cases = (
        {"params": {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "bias": "false"},
         "expect": "certified"},
        {"params": {"K": 4, "n": 3, "d": 3, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "0"},
         "expect": "certified"},
        {"params": {"K": 4, "n": 3, "d": 4, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1"},
         "expect": "certified"},
        {"params": {"K": 4, "n": 3, "d": 4, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "0.01"},
         "expect": "certified"},
        {"params": {"K": 4, "n": 3, "d": 3, "lam_W": "3e-3", "lam_H": "7e-3", "bias": "false"},
         "expect": "not-applicable"},
        # zero regime (kappa = 3 sqrt(2 * 0.12) >= 1): W = H = 0, f* = 1/2
        {"params": {"K": 3, "n": 2, "d": 2, "lam_W": "0.3", "lam_H": "0.4", "bias": "false"},
         "expect": "certified"},
    )

    def target_for(self, spec: UFMSpec) -> Any:
        return "etf" if spec.bias else "orthogonal"

    # ------------------------------------------------------------------ derivation

    def derive_general(self) -> list[DerivationStep]:
        K, t, lb = sp.symbols("K t lambda_b", positive=True)
        x, y, beta = sp.symbols("x y beta", real=True)
        kappa = sp.Symbol("kappa", positive=True)
        n, lW, lH = sp.symbols("n lambda_W lambda_H", positive=True)
        # M = x J + y 11^T/K has singular values |x| (K-1 times) and |y|; Z = M + beta 11^T
        perp = (K - 1) / (2 * K) * (x - 1) ** 2 + t * (K - 1) * x
        ones = (y + K * beta - 1) ** 2 / (2 * K) + t * y + lb * K * beta**2 / 2
        (x_star,) = sp.solve(sp.diff(perp, x), x)
        beta_y0 = sp.solve(sp.diff(ones.subs(y, 0), beta), beta)[0]
        # y = 0 is optimal iff |d/dy| <= t at y = 0 (subgradient of t|y|)
        slope_y = sp.simplify(sp.diff(ones, y).subs({y: 0, beta: beta_y0}))  # right slope
        lam_b_threshold = sp.solve(sp.Eq(slope_y, 0), lb)
        sol_pos = sp.solve([sp.diff(ones, y), sp.diff(ones, beta)], [y, beta], dict=True)[0]
        value_perp = sp.factor(perp.subs(x, x_star).subs(t, kappa / K))
        value_y0 = sp.simplify(ones.subs({y: 0, beta: beta_y0}))
        value_pos = sp.simplify(ones.subs(sol_pos).subs(t, kappa / K))
        return [
            DerivationStep("Relaxation on class-mean logits (Jensen + factorization identity): "
                           "min (1/(2K))|M + b1^T - I|_F^2 + t|M|_* + lam_b/2|b|^2, with",
                           sp.Eq(t, sp.sqrt(n * lW * lH))),
            DerivationStep("Symmetry: M = x J + y 11^T/K (J = I - 11^T/K), b = beta 1; the "
                           "problem splits into the 1-perp part", perp),
            DerivationStep("and the 1 part", ones),
            DerivationStep("1-perp part: stationary x (x* > 0 iff kappa = K t < 1)",
                           sp.Eq(sp.Symbol("x^*"), x_star)),
            DerivationStep("its value (times 1; kappa = K t)", value_perp),
            DerivationStep("No bias (beta = 0): y solves the same problem as x, "
                           "M = (1-kappa)_+ I, f* = kappa - kappa^2/2 for kappa < 1",
                           sp.simplify(K * perp.subs(x, x_star).subs(t, kappa / K) / (K - 1))),
            DerivationStep("Free bias (lam_b = 0): y = 0, beta = 1/K (M = (1-kappa)_+ J, ETF)",
                           sp.Eq(beta, sp.limit(beta_y0, lb, 0))),
            DerivationStep("Regularized bias, y = 0: optimal beta", sp.Eq(beta, beta_y0)),
            DerivationStep("its value", value_y0),
            DerivationStep("y = 0 stays optimal while |d/dy| <= t; boundary at",
                           sp.Eq(lb, lam_b_threshold[0].subs(t, kappa / K))),
            DerivationStep("Beyond it (lam_b > kappa/(1-kappa)): y and beta",
                           sp.Eq(sp.Tuple(y, beta),
                                 sp.Tuple(sp.simplify(sol_pos[y].subs(t, kappa / K)),
                                          sp.simplify(sol_pos[beta].subs(t, kappa / K))))),
            DerivationStep("its value", value_pos),
            DerivationStep("Explicit point: M D = U S V^T, W = c U S^(1/2), "
                           "Hbar = S^(1/2) V^T D^-1 / c, with",
                           sp.Eq(sp.Symbol("c"), (lH / lW) ** sp.Rational(1, 4))),
        ]

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        if not spec.balanced:
            return ClosedForm(objective=None, regime="imbalanced", applicable=False,
                              reason="ufm-mse assumes balanced classes (use "
                                     "ufm-mse-imbalanced for bias-free imbalanced MSE)")
        K, n = spec.K, spec.n[0]
        t = sp.sqrt(n * sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
        sol = balanced_mse_solution(K, t, spec.bias, sp.Rational(spec.lam_b))
        return mse_closed_form(spec, sol)

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        if not spec.balanced:
            return Certificate(method="nuclear-norm relaxation", status=NOT_APPLICABLE,
                               rigorous=False, reason=closed.reason,
                               assumptions=MSE_ASSUMPTIONS)
        Z = np.asarray(closed.minimizer["class_mean_logits"])
        R = closed.minimizer.get("class_mean_residual")
        return certify_mse(self, spec, closed, Z, residual=None if R is None else np.asarray(R))

    structure_kind = "quadratic"

    def claimed_logits(self, spec: UFMSpec, closed: ClosedForm) -> ClaimedLogits:
        """Z = x J + (y/K + beta) 11^T, b = beta 1 (exact, re-derived from the spec)."""
        t = sp.sqrt(spec.n[0] * sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
        sol = balanced_mse_solution(spec.K, t, spec.bias, sp.Rational(spec.lam_b))
        return mse_logits_claim(spec.K, sol)


def mse_logits_claim(K: int, sol: MSESolution) -> ClaimedLogits:
    """The claimed class-mean logits x J + y 11^T/K + beta 11^T as exact balls."""
    x, y = sympy_to_arb(sol.x), sympy_to_arb(sol.y)
    beta = flint.arb(0) if sol.beta is None else sympy_to_arb(sol.beta)
    Z = [[x * ((1 if i == k else 0) - flint.arb(1) / K) + y / K + beta for k in range(K)]
         for i in range(K)]
    text = (f"class-mean logits x J + y 11^T/K + b 1^T with x = {sol.x}, y = {sol.y}, "
            f"b = {sol.beta if sol.beta is not None else 0} ({sol.regime})")
    # x, y >= 0: M = x J + y 11^T/K is symmetric PSD
    return ClaimedLogits.from_matrix(Z, None if sol.beta is None else [beta] * K, text,
                                     psd=True)


def mse_closed_form(spec: UFMSpec, sol: MSESolution, value_scale: sp.Expr = 1) -> ClosedForm:
    """Closed form of a balanced MSE solution (``value_scale`` exists for mutation tests)."""
    K, d = spec.K, spec.d
    M, b = sol.logits(K)
    Z = M + (0 if b is None else b[:, None])
    rank = mse_rank(sol, K)
    summary: dict[str, Any] = {
        "x (eigenvalue on 1-perp)": float(sol.x), "y (eigenvalue on 1)": float(sol.y),
        "b": None if sol.beta is None else float(sol.beta),
        "alpha": float(sol.x), "mu": float(sol.y + (0 if sol.beta is None else K * sol.beta)),
        "rank": rank, "class_mean_logits": Z.tolist(),
        "class_mean_residual": sol.residual(K).tolist(),
        "x_exact": str(sol.x), "y_exact": str(sol.y),
    }
    value = sol.value * value_scale
    steps = [DerivationStep("regime", sol.regime), DerivationStep("f*", value)]
    if rank > d:
        rc = rank_constrained_note(sol, K, d, spec)
        summary["rank_constrained_value_uncertified"] = rc
        return ClosedForm(objective=value, regime=sol.regime, minimizer=summary, point=None,
                          steps=steps, applicable=False,
                          reason=f"d = {d} < rank(M*) = {rank}: the relaxation's optimum does "
                                 f"not fit in R^d (needs d >= {rank})")
    point = factor_point(M, b, spec.n, float(spec.lam_W), float(spec.lam_H), d)
    return ClosedForm(objective=value, regime=sol.regime, minimizer=summary, point=point,
                      steps=steps)


def rank_constrained_note(sol: MSESolution, K: int, d: int, spec: UFMSpec) -> float | None:
    """Bias-free only: keeping d of the K equal singular values (von Neumann) gives
    (K-d)/(2K) + d/K (kappa - kappa^2/2); reported, not certified."""
    if spec.bias:
        return None
    kappa = 1 - sol.x
    return float(Fraction(K - d, 2 * K) + d * (kappa - kappa**2 / 2) / K)
