r"""Tirer & Bruna (2022): the extended unconstrained-features model, linear and ReLU.

Paper: T. Tirer, J. Bruna, "Extended Unconstrained Features Model for Exploring Deep
Neural Collapse", ICML 2022: Section 3 (MSE UFM), Section 4 (an extra weight layer:
the linear extended model and the model with a ReLU between the two layers).

Problem (our convention, docs/conventions.md, MSE, no bias, balanced n per class, N = K n):

    f(W2, W1, H) = (1/N) sum_i 1/2 |W2 s(W1 h_i) - e_{y_i}|^2
                   + lam_W/2 |W2|^2 + lam_W1/2 |W1|^2 + lam_H/2 |H|^2,

W2 in R^{K x d}, W1 in R^{d x d}, H in R^{d x N}, s = identity (``relu=false``) or
s = max(., 0) (``relu=true``).

Symbol map (paper -> ours).  The paper writes 1/(2Kn) |W2 s(W1 H) - Y|_F^2 +
lambda_{W2}/2 |W2|^2 + lambda_{W1}/2 |W1|^2 + lambda_H/2 |H|^2: the same scaling as ours
(N = Kn, no 1/N on the regularizers), so lambda_{W2} = lam_W (alias lam_W2),
lambda_{W1} = lam_W1, lambda_H = lam_H, n = n, K = K, d = d.

Statement checked.  With rho = (n lam_W lam_W1 lam_H)^(1/3), the optimum is
f* = K min_{x >= 0} [ (1/(2K)) (x - 1)^2 + (3/2) rho x^(2/3) ]: features collapse, the
class-mean logits are x* I (an orthogonal frame, not a simplex ETF), W1 H is nonnegative,
and x* = 0 (everything zero) beyond the threshold K rho = 2^(2/3)/4 ~ 0.397 (derived
below; x* jumps from 1/2 to 0 there, a discontinuous transition).  The paper's claim for
the ReLU model: the nonlinearity does not change the minimizers/optimal value.

Certificate.
* relu=false: lower bound = K x (certified global minimum of the scalar problem by exact
  root isolation, :mod:`ncproofs.certify.power_scalar`); it rests on Jensen (class means),
  the depth-3 factorization identity min{sum lam_l/2 |W_l|^2 : W2 W1 H = Z} =
  (3/2)(lam_W lam_W1 lam_H)^(1/3) sum sigma_i(Z)^(2/3) and von Neumann's trace inequality.
  Upper bound = interval objective of the explicit orthogonal point of size d (d >= K).
* relu=true: the same explicit point has W1 H >= 0, so ReLU changes nothing there: the
  ReLU optimum is <= the linear one (rigorous).  The reverse inequality is the paper's
  claim.  It does NOT follow pointwise from the linear bound, because the ReLU can raise
  the nuclear norm (|max(Z,0)|_* > |Z|_* happens, e.g. by 0.25% on random 5 x 5 Z).
  For K = 2 we take it from Súkeník, Mondelli & Lampert (2023), Theorem 3.1 (the binary
  deep UFM with L = 2 is exactly this model) and say so in ``assumptions``; for K >= 3 we
  search for a lower point with a seeded multi-start and report ``refuted`` with the
  point if one is found, else ``inconclusive``.  (Near the zero threshold with K = 6 a
  lower, low-rank point exists: see derivations/relu_eufm_claim.py and docs/relu.md.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import sympy as sp

from ..certify.certificate import INCONCLUSIVE, NOT_APPLICABLE, Certificate, decide
from ..certify.intervals import sympy_to_arb
from ..certify.power_scalar import PowerScalar
from ..certify.provenance import (
    DEPTH_FACTORIZATION,
    EXACT_ROOTS,
    SUKENIK_BINARY,
    VON_NEUMANN,
    jensen,
)
from ..derive.reduction import DerivationStep
from ..losses import get_loss
from ..spec import UFMSpec, bias_free, param
from ._deep_relu import (
    arb_to_sympy,
    deep_solve,
    explicit_deep_point,
    rigorous_value,
    scalar_roots_proof,
)
from .base import ClosedForm, ExplicitPoint, NumericResult, Theorem, register


@dataclasses.dataclass(frozen=True, kw_only=True)
class EUFMSpec(UFMSpec):
    """Extended UFM: W2 (K x d, decay lam_W), W1 (d x d, decay lam_W1), H (decay lam_H)."""

    lam_W1: Fraction = param("number", lower=0, lower_open=True,
                             doc="weight decay on the extra layer W1 (d x d)")
    relu: bool = param("bool", True, doc="ReLU between W1 and W2 (false: linear model)")
    bias: bool = param("bool", False, doc="must be false: the extended model has no bias")

    aliases: ClassVar[dict[str, str]] = {"lam_W2": "lam_W"}
    fixed: ClassVar[Mapping[str, tuple[Any, str]]] = bias_free(
        "Tirer & Bruna's extended model is bias-free")


def scalar_problem(spec: EUFMSpec) -> PowerScalar:
    """(1/(2K))(x-1)^2 + C x^(2/3), C^3 = (27/8) n lam_W lam_W1 lam_H."""
    n = spec.n[0]
    R = Fraction(27, 8) * n * spec.lam_W * spec.lam_W1 * spec.lam_H
    return PowerScalar(w=Fraction(1, spec.K), R=R, m=3)


def orthogonal_point(spec: EUFMSpec, x: float) -> ExplicitPoint:
    """Balanced orthogonal-frame point with class-mean logits x I (d >= K)."""
    return explicit_deep_point(K=spec.K, d=spec.d, n=spec.n[0], x=x,
                               lams=[spec.lam_W1, spec.lam_W], lam_H=spec.lam_H,
                               first_layer="orthogonal")


@register
class ExtendedUFM(Theorem):
    id = "eufm-relu"
    title = "Extended UFM, MSE, extra layer with/without ReLU (Tirer & Bruna 2022)"
    citation = ("T. Tirer and J. Bruna, Extended Unconstrained Features Model for Exploring "
                "Deep Neural Collapse, ICML 2022, Sections 3-4")
    symbol_map = ("paper lambda_{W2}, lambda_{W1}, lambda_H, K, n, d = ours lam_W (alias "
                  "lam_W2), lam_W1, lam_H, K, n, d; paper 1/(2Kn)|.|_F^2 = our (1/N) sum 1/2|.|^2")
    spec_type = EUFMSpec
    default_cases = (
        {"params": {"K": 3, "n": 2, "d": 4, "lam_W": "5e-3", "lam_W1": "5e-3",
                    "lam_H": "5e-3", "relu": "false"}, "expect": "certified"},
        {"params": {"K": 3, "n": 2, "d": 4, "lam_W": "0.2", "lam_W1": "0.2",
                    "lam_H": "0.2", "relu": "false"}, "expect": "certified"},
        # ReLU, K = 2: the lower bound rests on Súkeník et al.'s Theorem 3.1 (a reduction)
        {"params": {"K": 2, "n": 3, "d": 3, "lam_W": "1e-2", "lam_W1": "2e-2",
                    "lam_H": "1e-2", "relu": "true"}, "expect": "conditional"},
        {"params": {"K": 3, "n": 1, "d": 3, "lam_W": "1e-2", "lam_W1": "1e-2",
                    "lam_H": "1e-2", "relu": "true"}, "expect": "inconclusive"},
        {"params": {"K": 4, "n": 2, "d": 3, "lam_W": "1e-2", "lam_W1": "1e-2",
                    "lam_H": "1e-2", "relu": "false"}, "expect": "not-applicable"},
    )

    # ------------------------------------------------------------------ derivation

    def derive_general(self) -> list[DerivationStep]:
        x, K, n, l2, l1, lh = sp.symbols("x K n lambda_W2 lambda_W1 lambda_H", positive=True)
        rho = (n * l2 * l1 * lh) ** sp.Rational(1, 3)
        g = (x - 1) ** 2 / (2 * K) + sp.Rational(3, 2) * rho * x ** sp.Rational(2, 3)
        u = sp.Symbol("u", positive=True)
        stat = sp.expand(sp.diff(g.subs(x, u**3), u) * K / (3 * u))
        ps = PowerScalar(Fraction(1), Fraction(1), 3)
        xthr = ps.threshold_x(3)
        Cthr = sp.Symbol("C")
        return [
            DerivationStep("Jensen + depth-3 factorization identity on Z = W2 W1 H "
                           "(class means M, sigma_i(Z) = sqrt(n) sigma_i(M)), von Neumann: "
                           "per singular value x of M the scalar problem g(x)", g),
            DerivationStep("f* = K min_{x>=0} g(x) (every singular value solves the same "
                           "problem); with x = u^3, g'(u) = 0 <=> u = 0 or", sp.Eq(stat, 0)),
            DerivationStep("Threshold: g(x) = g(0) and g'(x) = 0 give x_thr",
                           sp.Eq(sp.Symbol("x_thr"), xthr)),
            DerivationStep("and K rho at the threshold (jump of x* from 1/2 to 0)",
                           sp.Eq(K * rho, sp.nsimplify(
                               sp.solve(sp.Eq((xthr - 1) / K + sp.Rational(2, 3) * Cthr
                                              * xthr ** sp.Rational(-1, 3) * 1, 0), Cthr)[0]
                               * K * sp.Rational(2, 3)))),
            DerivationStep("Minimizer: h_{k,i} = a e_k, W1 = c1 I_K (+0), W2 = c2 [I_K 0], "
                           "a c1 c2 = x*, lam_H n a^2 = lam_W1 c1^2 = lam_W2 c2^2 = rho x*^(2/3)",
                           sp.Eq(sp.Symbol("tau"), rho * sp.Symbol("x^*") ** sp.Rational(2, 3))),
            DerivationStep("W1 H = c1 a [I_K; 0] >= 0 entrywise, so ReLU(W1 H) = W1 H and the "
                           "ReLU model attains the same value (upper bound)", sp.S.true),
        ]

    def closed_form(self, spec: EUFMSpec, *, regime_override: str | None = None,
                    scale: float = 1.0) -> ClosedForm:
        """``regime_override`` ("zero"/"positive") and ``scale`` exist for mutation tests."""
        if not spec.balanced:
            return ClosedForm(objective=None, regime="imbalanced", applicable=False,
                              reason="Tirer & Bruna's theorem assumes balanced classes")
        ps = scalar_problem(spec)
        K = spec.K
        x = sp.Symbol("x", nonnegative=True)
        g = ps.sympy_g(x)
        res = ps.certified_minimum()
        thr = ps.threshold_C()
        zero = ps.C > thr if regime_override is None else regime_override == "zero"
        steps = [
            DerivationStep("g(x)", g),
            DerivationStep("C = (3/2) (n lam_W lam_W1 lam_H)^(1/3)", ps.C),
            DerivationStep("C_thr (x* jumps from 1/2 to 0)", thr),
        ]
        if zero:
            value = sp.Rational(1, 2)
            xstar = 0.0
            regime = "zero (W = H = 0)"
            steps.append(DerivationStep("C >= C_thr: origin optimal, f* = K g(0)", value))
        else:
            if res.positive_root is None:
                return ClosedForm(objective=None, regime="no positive stationary point",
                                  applicable=False, reason="no positive stationary point")
            xstar = float(res.positive_root.mid()) * scale
            value = K * arb_to_sympy(res.value_at_root) if scale == 1.0 else \
                K * g.subs(x, sp.Float(xstar, 30))
            regime = "orthogonal frame (M = x* I)"
            steps.append(DerivationStep("x* (root of u^4 - u + K rho = 0, x = u^3)",
                                        sp.Float(xstar, 20)))
            steps.append(DerivationStep("f* = K g(x*)", value))
        summary: dict[str, Any] = {"geometry": regime, "x": xstar, "C": float(ps.C),
                                   "C_threshold": float(thr), "relu": spec.relu}
        if spec.d < K:
            return ClosedForm(objective=value, regime=regime, minimizer=summary, steps=steps,
                              applicable=False,
                              reason=f"d = {spec.d} < K = {K}: the orthogonal frame does not "
                                     "fit (the theorem assumes d >= K)")
        point = orthogonal_point(spec, xstar)
        summary["claimed_enclosure"] = str(res.value) if scale == 1.0 else None
        return ClosedForm(objective=value, regime=regime, minimizer=summary, point=point,
                          steps=steps)

    # ------------------------------------------------------------------ certificate

    def _activation(self, spec: EUFMSpec) -> str:
        return "relu" if spec.relu else "linear"

    def upper_bound(self, spec: EUFMSpec, point: ExplicitPoint):
        return rigorous_value(point, get_loss("mse"), [spec.lam_W1, spec.lam_W], spec.lam_H,
                              self._activation(spec))

    def certify(self, spec: EUFMSpec, closed: ClosedForm) -> Certificate:
        from .dufm_lowrank import DeepReLUModel, decide_deep_relu

        method = ("exact root isolation of the scalar reduction (lower); interval objective "
                  "at the explicit orthogonal point (upper)")
        # linear model: Jensen, the depth-3 factorization inequality (L = 2 weight layers
        # and H) and von Neumann -- all lemmas
        assumptions = [jensen("MSE"), DEPTH_FACTORIZATION, VON_NEUMANN]
        if not closed.applicable or closed.point is None:
            return Certificate(method=method, status=NOT_APPLICABLE, rigorous=False,
                               reason=closed.reason, assumptions=assumptions)
        ps = scalar_problem(spec)
        res = ps.certified_minimum()
        lower = res.value * spec.K
        upper = self.upper_bound(spec, closed.point)
        claimed = sympy_to_arb(closed.objective) if closed.objective.is_Rational else \
            _float_claim(closed.objective)
        details: dict[str, Any] = {"scalar_minimum": str(res.value),
                                   "rho_K": float(ps.C) * 2 / 3 * spec.K,
                                   "zero_wins": res.zero_wins}
        model = DeepReLUModel(spec.K, tuple(spec.n), spec.d, 2, (spec.lam_W1, spec.lam_W),
                              spec.lam_H)
        proof = {"lower": scalar_roots_proof(model, "per-class")}
        if not spec.relu:
            return decide(method=method, lower=lower, upper=upper, claimed=claimed,
                          assumptions=assumptions, details=details, lower_source=EXACT_ROOTS,
                          proof=proof)
        details["linear_lower_bound_for_relu"] = {
            "value": float(lower.mid()), "rigorous": False,
            "why": "valid for the linear model; for the ReLU model it is the claim itself"}
        if spec.K == 2:
            # for the ReLU model the scalar bound IS the claim: it rests on Súkeník et al.'s
            # Theorem 3.1 (the binary deep UFM with L = 2 is this model) -> conditional
            return decide(method=method + "; ReLU lower bound from Súkeník et al.'s "
                          "reduction (assumption)", lower=lower, upper=upper,
                          claimed=claimed, assumptions=[SUKENIK_BINARY, *assumptions],
                          details=details, lower_source=EXACT_ROOTS + " (under the reduction)",
                          proof=proof)
        # K >= 3: the same model as dufm-lowrank at L = 2 (lams = (lam_W1, lam_W)): one
        # shared verdict (Frobenius zero regime, staged search), so the two theorems agree
        cert = decide_deep_relu(model, claimed, float(sp.N(closed.objective)), upper,
                                method=method + "; the deep ReLU UFM verdict shared with "
                                "dufm-lowrank (L = 2): Frobenius bound, staged search",
                                details=details)
        if cert.status == INCONCLUSIVE:
            cert.reason = ("ReLU model, K >= 3: rigorous upper bound only (the ReLU optimum "
                           "is <= the linear one); the reverse inequality is the paper's "
                           "claim; " + cert.reason)
        return cert

    # ------------------------------------------------------------------ numeric

    def solve(self, spec: EUFMSpec, *, device: str = "auto", starts: int = 8,
              seed: int = 0) -> NumericResult:
        best = deep_solve(K=spec.K, n=spec.n[0], d=spec.d, L=2, lams=[spec.lam_W1, spec.lam_W],
                          lam_H=spec.lam_H, activation=self._activation(spec), starts=starts,
                          seed=seed, device=device, rigorous=False)
        return NumericResult(summary=best.summary, point=best.arrays())


def _float_claim(expr: sp.Expr):
    """Claimed value as an arb ball of its 30-digit decimal (the closed form is the root
    enclosure's midpoint; the certified enclosure is checked separately)."""
    import flint

    return flint.arb(str(sp.N(expr, 30)))


__all__ = ["EUFMSpec", "ExtendedUFM", "scalar_problem", "orthogonal_point"]
