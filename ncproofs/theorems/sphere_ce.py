r"""Yaras et al. (2022): normalized features and classifiers on the sphere collapse to a
simplex ETF.

Paper: C. Yaras, P. Wang, Z. Zhu, L. Balzano, Q. Qu, "Neural Collapse with Normalized
Features: A Geometric Analysis over the Riemannian Manifold", NeurIPS 2022 (arXiv
2209.09211), the global-optimality theorem of the spherical UFM (their Theorem 1; they
also show every other critical point is a strict saddle).

Problem (ours)::

    min  (1/N) sum_{k, i} CE(tau W h_{k,i}, k)   s.t.  |w_k| = 1,  |h_{k,i}| = 1,

K classes, n samples per class, W in R^{K x d} (rows w_k), features h in R^d, temperature
tau > 0, no bias and no weight decay (the sphere replaces it).

Symbol map (paper -> ours): the paper's W (d x K, columns w_k on the sphere) is our W^T;
its H (d x N) and temperature tau are ours; its n, K, d are ours; its loss is (1/N) sum
CE (the same scaling).  Weight decay lam_W = lam_H = 0 and bias = false are forced.

Statement checked.  If d >= K - 1 the minimizers are w_k = h_{k,i} forming a simplex ETF
(w_j^T w_k = -1/(K-1)), with value

    f* = log(1 + (K - 1) exp(-tau K/(K - 1))).

Derivation (``ncproofs derive sphere-ce``): CE is convex in the logits and the logits
tau M are a block of a PSD Gram matrix with unit diagonal; dropping rank(G) <= d gives a
convex relaxation whose symmetric dual point p = (pi, q, ..., q) gives the bound
Ent(p) - K tau q (module :mod:`ncproofs.certify.gram`); maximizing over q gives
q* = 1/(exp(tau K/(K-1)) + K - 1) and exactly the value above, which the ETF attains.

Certificate.  Lower: that symmetric dual point with a rational q near q*, exact (valid for
every d).  Upper: the CE objective at the exactly normalized ETF point of size d, in
interval arithmetic.  Cross-checks for K <= 12: the cvxpy value of the Gram relaxation
(not rigorous) and the VSDP bound from its solution (rigorous, reported).  Assumptions:
balanced classes; d >= K - 1 (for d < K - 1 see ``sphere-gnc``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from ..certify.certificate import NOT_APPLICABLE, Certificate
from ..certify.gram import GramCEDual, interval_sphere_objective, solve_gram_relaxation
from ..certify.provenance import EXACT_DUAL, GRAM_RELAXATION, WEAK_DUALITY
from ..certify.structure import MAX_STRUCTURE_K, StructureBound, plain_model_bound
from ..derive.reduction import DerivationStep
from ..geometry import simplex_etf
from ..losses import get_loss
from ..solve.sphere import solve_sphere
from ..solve.ufm import labels_of
from ..spec import SphereSpec
from ._plain import nc_summary
from .base import ClosedForm, ExplicitPoint, NumericResult, Theorem, register
from .ufm_ce import etf_logits_claim

CROSS_CHECK_MAX_K = 12


def etf_value(K: sp.Expr, tau: sp.Expr) -> sp.Expr:
    """f* = log(1 + (K-1) exp(-tau K/(K-1)))."""
    return sp.log(1 + (K - 1) * sp.exp(-tau * K / (K - 1)))


def dual_q_star(K: sp.Expr, tau: sp.Expr) -> sp.Expr:
    """The maximizing symmetric dual point q* = 1/(exp(tau K/(K-1)) + K - 1)."""
    return 1 / (sp.exp(tau * K / (K - 1)) + K - 1)


def sphere_etf_point(spec: SphereSpec, margin_scale: float = 1.0) -> ExplicitPoint:
    """W = rows of the simplex ETF (unit norm), h_k = w_k.  ``margin_scale`` != 1 gives a
    (feasible, suboptimal) mutation used by tests."""
    P = simplex_etf(spec.K, spec.d)
    W = P / np.linalg.norm(P, axis=1, keepdims=True)
    H = W.T.copy()
    if margin_scale != 1.0:
        H = H + (margin_scale - 1.0) * np.roll(W, 1, axis=0).T
    return ExplicitPoint(arrays={"W": W, "H": H}, labels=tuple(range(spec.K)), counts=spec.n)


@register
class SphereCrossEntropy(Theorem):
    id = "sphere-ce"
    title = "Normalized features on the sphere, CE with temperature: simplex ETF (Yaras 2022)"
    citation = (
        "C. Yaras, P. Wang, Z. Zhu, L. Balzano, Q. Qu, Neural Collapse with Normalized "
        "Features: A Geometric Analysis over the Riemannian Manifold, NeurIPS 2022, Theorem 1"
    )
    symbol_map = (
        "paper W (d x K, unit columns) = our W^T (unit rows); paper H, tau, n, K, d = ours; "
        "loss (1/N) sum CE(tau W^T h) as ours; no weight decay (lam_W = lam_H = 0), no bias"
    )
    spec_type = SphereSpec
    default_cases = (
        {"params": {"K": 4, "n": 2, "d": 3, "tau": "2"}, "expect": "certified"},
        {"params": {"K": 5, "n": 1, "d": 6, "tau": "0.5"}, "expect": "certified"},
        {"params": {"K": 3, "n": 2, "d": 2, "tau": "3"}, "expect": "certified"},
        {"params": {"K": 5, "n": 1, "d": 3, "tau": "2"}, "expect": "not-applicable"},
    )

    # ------------------------------------------------------------------ derivation

    def derive_general(self) -> list[DerivationStep]:
        K, tau = sp.symbols("K tau", positive=True)
        q = sp.Symbol("q", positive=True)
        pi = 1 - (K - 1) * q
        bound = -pi * sp.log(pi) - (K - 1) * q * sp.log(q) - K * tau * q
        q_star = sp.solve(sp.Eq(pi, sp.exp(K * tau / (K - 1)) * q), q)[0]
        value = sp.simplify(bound.subs(q, q_star))
        target = etf_value(K, tau)
        identity = sp.simplify(sp.expand_log(sp.simplify(value - target), force=True))
        return [
            DerivationStep("Relaxation: logits tau M, M = G[:K, K:], G PSD with diag(G) = 1 "
                           "(rank(G) <= d dropped); CE(z, k) = max_p <p - e_k, z> + Ent(p)",
                           sp.Symbol("R") <= sp.Symbol("f^*")),
            DerivationStep("Symmetric dual point p = (pi, q, ..., q), y = -(tau q/2) 1: "
                           "lower bound L(q) = Ent(p) - K tau q", bound),
            DerivationStep("dL/dq = 0", sp.Eq(sp.diff(bound, q), 0)),
            DerivationStep("i.e. pi/q = exp(tau K/(K-1)), so", sp.Eq(sp.Symbol("q^*"), q_star)),
            DerivationStep("L(q*) (simplified)", value),
            DerivationStep("L(q*) - log(1 + (K-1) exp(-tau K/(K-1))) (SymPy simplifies to 0)",
                           identity),
            DerivationStep("The simplex ETF (w_k = h_k, w_j^T w_k = -1/(K-1), needs d >= K-1) "
                           "has margin tau K/(K-1) and value", sp.Eq(sp.Symbol("f^*"), target)),
        ]

    def closed_form(self, spec: SphereSpec) -> ClosedForm:
        K, tau = sp.Integer(spec.K), sp.Rational(spec.tau)
        value = etf_value(K, tau)
        steps = [
            DerivationStep("margin tau K/(K-1)", tau * K / (K - 1)),
            DerivationStep("q* = 1/(exp(tau K/(K-1)) + K - 1)", dual_q_star(K, tau)),
            DerivationStep("f* = log(1 + (K-1) exp(-tau K/(K-1)))", value),
        ]
        summary: dict[str, Any] = {
            "geometry": "simplex ETF rows of W, h_{k,i} = w_k (unit norm)",
            "inner_product": -1.0 / (spec.K - 1), "margin": float(tau * K / (K - 1)),
        }
        if not spec.balanced:
            return ClosedForm(objective=None, regime="imbalanced", minimizer=summary,
                              steps=steps, applicable=False,
                              reason="Yaras et al.'s theorem assumes balanced classes")
        if spec.d < spec.K - 1:
            return ClosedForm(
                objective=value, regime="simplex ETF", minimizer=summary, steps=steps,
                applicable=False,
                reason=f"d = {spec.d} < K - 1 = {spec.K - 1}: a simplex ETF does not fit in "
                       "R^d (generalized collapse: see sphere-gnc)")
        return ClosedForm(objective=value, regime="simplex ETF", minimizer=summary,
                          point=sphere_etf_point(spec), steps=steps)

    # ------------------------------------------------------------------ certificate

    def upper_bound(self, spec: SphereSpec, point: ExplicitPoint):
        return interval_sphere_objective(get_loss("ce"), spec.tau, point.arrays["W"],
                                         point.arrays["H"], point.labels, point.counts)

    def certify(self, spec: SphereSpec, closed: ClosedForm) -> Certificate:
        method = ("PSD-Gram relaxation (unit diagonal, rank dropped) + exact symmetric dual "
                  "(lower); interval objective at the normalized ETF point (upper)")
        assumptions = [GRAM_RELAXATION, WEAK_DUALITY]
        details: dict[str, Any] = {}
        if not spec.balanced:
            return Certificate(method=method, status=NOT_APPLICABLE, rigorous=False,
                               reason=closed.reason, assumptions=assumptions)
        dual = GramCEDual(spec.tau, spec.n)
        q_star = float(dual_q_star(sp.Integer(spec.K), sp.Rational(spec.tau)))
        q = Fraction(q_star).limit_denominator(1 << 62)
        lower = dual.symmetric_bound(min(q, Fraction(1, spec.K - 1)))
        details["dual"] = lower.details | {"method": lower.method}
        if spec.K <= CROSS_CHECK_MAX_K:
            relax = solve_gram_relaxation(spec.tau, spec.n)
            dense = dual.dense_bound(relax.G)
            details["relaxation"] = {"value": relax.value, "solver": relax.solver,
                                     "status": relax.status, "seconds": relax.seconds,
                                     "rigorous": False}
            details["vsdp_dense_bound"] = {"value": float(dense.value.lower()),
                                           "rigorous": True, **dense.details}
        return self.conclude(spec, closed, method=method, lower=lower.value,
                             assumptions=assumptions, details=details,
                             lower_source=EXACT_DUAL,
                             proof={"lower": lower.proof})

    # ------------------------------------------------------------------ numeric

    def solve(self, spec: SphereSpec, *, device: str = "auto", starts: int = 8,
              seed: int = 0) -> NumericResult:
        y = labels_of(spec.n)
        result, _ = solve_sphere(get_loss("ce"), y, float(spec.tau), spec.K, spec.d,
                                 starts=starts, seed=seed, device=device)
        i = result.best
        best = {k: v[i].cpu().numpy() for k, v in result.params.items()}
        summary = {
            "objective": float(result.values[i]),
            "grad_norm": float(result.grad_norms[i]),
            "grad_norm_kind": "Riemannian",
            "iterations": result.iterations, "seconds": result.seconds,
            "device": result.device, "starts": starts, "converged": result.converged,
            "start_objectives": [float(v) for v in result.values],
        }
        summary["metrics"] = nc_summary(best["H"], y.numpy(), best["W"], None, "etf")
        return NumericResult(summary=summary, point=best)

    # ------------------------------------------------------------------ certified geometry

    structure_kind = "softmax"

    def structure_bound(self, spec: SphereSpec, closed: ClosedForm,
                        cert: Certificate) -> StructureBound | dict[str, Any] | None:
        """CE is strictly convex in the centred logits tau P W Hbar and the Gram set is
        convex: the engine of ncproofs.certify.structure with the temperature as logit
        scale; the claim is the ETF Gram, centred logits tau K/(K-1) (I - 11^T/K)."""
        if closed.point is None or cert.lower_bound is None or cert.upper_bound is None:
            return None
        if spec.K > MAX_STRUCTURE_K:
            return {"status": "not-computed",
                    "reason": f"K = {spec.K} > {MAX_STRUCTURE_K}: the dense interval logits "
                              "would cost O(K^2 d)"}
        K = spec.K
        claim = etf_logits_claim(K, sp.Rational(spec.tau) * K / (K - 1))
        arrays = closed.point.arrays
        return plain_model_bound(
            kind="softmax", W=arrays["W"], H=arrays["H"], b=None, counts=closed.point.counts,
            lam_W=0, lam_H=0, lam_b=0, claim=claim, lower=cert.lower_bound,
            upper=cert.upper_bound, logit_scale=spec.tau)
