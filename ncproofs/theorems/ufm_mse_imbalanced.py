r"""Imbalanced bias-free MSE: orthogonal class means with lengths set by n_k.

Paper: H. Dang, T. Tran, T. Nguyen, N. Ho, "Neural Collapse for Cross-entropy Class-
Imbalanced Learning with Unconstrained ReLU Feature Model" / H. Dang, T. Tran, S. Osher,
H. Tran-The, N. Ho, T. Nguyen, "Neural Collapse in Deep Linear Networks: From Balanced to
Imbalanced Data", ICML 2023, Theorem 4.1 (imbalanced, bias-free MSE, one layer: M = 1).

Symbol map (paper -> ours).  Dang et al. minimize (1/(2N)) |W H - Y|_F^2 + lambda_W/2 |W|^2
+ lambda_H/2 |H|^2 with n_k samples of class k and N = sum n_k: our convention with
lam_W = lambda_W, lam_H = lambda_H, n = (n_1, ..., n_K), bias = false.  Their depth M = 1
is our L = 1.

Statement (derived here).  With s = sqrt(lam_W lam_H) and D = diag(sqrt n_k), the
relaxation on class-mean logits is (1/(2N)) |X - D|_F^2 + s |X|_*, X = M D, whose optimum
is singular-value soft-thresholding of the diagonal D:

    x_k = (sqrt(n_k) - N s)_+,      M* = diag(x_k / sqrt(n_k)),

so class k collapses to zero iff N^2 lam_W lam_H >= n_k; the surviving class means are
orthogonal with |w_k| = c sqrt(x_k), |h_k| = sqrt(x_k / n_k) / c, c = (lam_H/lam_W)^(1/4),
and f* = sum_{live} (s sqrt(n_k) - N s^2/2) + sum_{dead} n_k/(2N).

Certificate: as for ``ufm-mse`` (exact rational dual point Y = (Z* - I) diag(w), exact PSD
check; interval objective at the explicit orthogonal point).  It needs d >= the number r of
surviving classes; for d < r the answer is rank-constrained (keep the r' = d largest
x_k, by von Neumann's trace inequality) and is reported uncertified with status
``not-applicable``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import flint
import numpy as np
import sympy as sp

from ..certify.certificate import NOT_APPLICABLE, Certificate
from ..certify.intervals import sympy_to_arb
from ..certify.structure import ClaimedLogits
from ..derive.reduction import DerivationStep
from ..spec import UFMSpec, bias_free, param
from ._plain import PlainUFMTheorem, factor_point
from .base import ClosedForm, register
from .ufm_mse import MSE_ASSUMPTIONS, certify_mse


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImbalancedMSESpec(UFMSpec):
    """Bias-free model; ``n`` is a comma list n_1,...,n_K (an int means balanced)."""

    bias: bool = param("bool", False, doc="must be false (the theorem is bias-free)")

    fixed: ClassVar[Mapping[str, tuple[Any, str]]] = bias_free(
        "Dang et al.'s theorem is bias-free; use ufm-mse for a bias with balanced classes")


def survivors_of(spec: UFMSpec) -> list[bool]:
    """Class k survives iff n_k > N^2 lam_W lam_H (exact rationals)."""
    thr = spec.N**2 * spec.lam_W * spec.lam_H
    return [nk > thr for nk in spec.n]


def imbalanced_closed_form(
    spec: UFMSpec, survivors: list[bool] | None = None, length_scale: sp.Expr = 1
) -> ClosedForm:
    """The closed form; ``survivors`` and ``length_scale`` exist for mutation tests (a
    wrong threshold, perturbed lengths)."""
    K, N, d = spec.K, spec.N, spec.d
    s = sp.sqrt(sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
    live = survivors_of(spec) if survivors is None else list(survivors)
    xs = [(sp.sqrt(nk) - N * s) * length_scale if alive else sp.Integer(0)
          for nk, alive in zip(spec.n, live)]
    # value of the relaxation at X = diag(x): (1/2N)|X - D|^2 + s|X|_*
    value = sum((x - sp.sqrt(nk)) ** 2 / (2 * N) + s * sp.Abs(x) for x, nk in zip(xs, spec.n))
    value = sp.expand(value)
    c = float(spec.lam_H / spec.lam_W) ** 0.25
    xf = [float(x) for x in xs]
    M = np.diag([x / np.sqrt(nk) for x, nk in zip(xf, spec.n)])
    r = sum(1 for x in xs if x != 0)
    summary: dict[str, Any] = {
        "geometry": "orthogonal class means (W rows orthogonal), dead classes at 0",
        "threshold N^2 lam_W lam_H": float(N**2 * spec.lam_W * spec.lam_H),
        "survives": live, "rank": r,
        "w_lengths": [c * np.sqrt(max(x, 0.0)) for x in xf],
        "h_lengths": [np.sqrt(max(x, 0.0) / nk) / c for x, nk in zip(xf, spec.n)],
        "class_mean_logits": M.tolist(),
        "x_exact": [str(x) for x in xs],
    }
    steps = [
        DerivationStep("threshold N^2 lam_W lam_H", sp.Rational(N**2) * sp.Rational(
            spec.lam_W) * sp.Rational(spec.lam_H)),
        DerivationStep("x_k = (sqrt(n_k) - N s)_+", sp.Matrix(xs).T),
        DerivationStep("f*", value),
    ]
    regime = f"{r} of {K} classes survive (orthogonal), {K - r} collapse to 0"
    if r > d:
        order = sorted(range(K), key=lambda k: -xf[k])
        keep = set(order[:d])  # all alive since r > d
        rc = sum(float(s) * np.sqrt(spec.n[k]) - N * float(s) ** 2 / 2 if k in keep
                 else spec.n[k] / (2 * N) for k in range(K))
        summary["rank_constrained_value_uncertified"] = rc
        return ClosedForm(objective=value, regime=regime, minimizer=summary, point=None,
                          steps=steps, applicable=False,
                          reason=f"d = {d} < {r} surviving classes: orthogonal means do not fit "
                                 f"in R^d (the rank-{d} optimum is reported, uncertified)")
    point = factor_point(M, None, spec.n, float(spec.lam_W), float(spec.lam_H), d)
    return ClosedForm(objective=value, regime=regime, minimizer=summary, point=point,
                      steps=steps)


@register
class UFMMSEImbalanced(PlainUFMTheorem):
    id = "ufm-mse-imbalanced"
    title = "Imbalanced bias-free MSE: orthogonal means, class k dies iff N^2 lam_W lam_H >= n_k"
    citation = (
        "H. Dang et al., Neural Collapse in Deep Linear Networks: From Balanced to Imbalanced "
        "Data, ICML 2023, Theorem 4.1 (M = 1)"
    )
    symbol_map = (
        "paper lambda_W, lambda_H, n_k, N, K, d = ours lam_W, lam_H, n_k, N, K, d; "
        "(1/(2N))|WH - Y|^2 = our (1/N) sum 1/2|z - e_y|^2; no bias"
    )
    spec_type = ImbalancedMSESpec
    loss_name = "mse"
    metric_target = "orthogonal"
    default_cases = (
        {"params": {"K": 3, "n": "6,3,1", "d": 4, "lam_W": "2e-3", "lam_H": "5e-3"},
         "expect": "certified"},
        {"params": {"K": 4, "n": "8,4,2,1", "d": 3, "lam_W": "0.08", "lam_H": "0.08"},
         "expect": "certified"},
        {"params": {"K": 4, "n": "8,4,2,1", "d": 2, "lam_W": "2e-3", "lam_H": "5e-3"},
         "expect": "not-applicable"},
    )

    def derive_general(self) -> list[DerivationStep]:
        x = sp.Symbol("x_k", nonnegative=True)
        nk, N, s = sp.symbols("n_k N s", positive=True)
        lW, lH = sp.symbols("lambda_W lambda_H", positive=True)
        phi = (x - sp.sqrt(nk)) ** 2 / (2 * N) + s * x
        (root,) = sp.solve(sp.diff(phi, x), x)
        thr = sp.solve(sp.Eq(root, 0), nk)
        return [
            DerivationStep("Relaxation (X = M D, D = diag(sqrt n_k), s = sqrt(lam_W lam_H))",
                           sp.Symbol("min_X (1/(2N))|X - D|_F^2 + s|X|_*")),
            DerivationStep("D is diagonal, so the optimum is diagonal (soft-thresholding of "
                           "singular values); per class", phi),
            DerivationStep("Stationary point", sp.Eq(sp.Symbol("x_k^*"), root)),
            DerivationStep("Class k collapses (x_k^* <= 0) iff n_k <=",
                           thr[0].subs(s, sp.sqrt(lW * lH))),
            DerivationStep("Value of a surviving class",
                           sp.simplify(phi.subs(x, root))),
            DerivationStep("Value of a collapsed class", phi.subs(x, 0)),
            DerivationStep("Lengths |w_k| = c sqrt(x_k), |h_k| = sqrt(x_k/n_k)/c, with",
                           sp.Eq(sp.Symbol("c"), (lH / lW) ** sp.Rational(1, 4))),
        ]

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        return imbalanced_closed_form(spec)

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        if closed.objective is None:  # pragma: no cover - closed_form always has one
            return Certificate(method="nuclear-norm relaxation", status=NOT_APPLICABLE,
                               rigorous=False, reason=closed.reason,
                               assumptions=MSE_ASSUMPTIONS)
        Z = np.asarray(closed.minimizer["class_mean_logits"])
        return certify_mse(self, spec, closed, Z)

    structure_kind = "quadratic"

    def claimed_logits(self, spec: UFMSpec, closed: ClosedForm) -> ClaimedLogits:
        """M* = diag(x_k / sqrt(n_k)), x_k = (sqrt(n_k) - N s)_+ (exact balls)."""
        xs = [sympy_to_arb(sp.sympify(x)) for x in closed.minimizer["x_exact"]]
        K = spec.K
        Z = [[xs[k] / flint.arb(spec.n[k]).sqrt() if i == k else flint.arb(0)
              for k in range(K)] for i in range(K)]
        text = ("class-mean logits diag((sqrt(n_k) - N sqrt(lam_W lam_H))_+ / sqrt(n_k)) "
                "(orthogonal frame, dead classes at 0)")
        return ClaimedLogits.from_matrix(Z, None, text, psd=True)  # M D = diag(x_k >= 0)
