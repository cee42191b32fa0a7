r"""Jiang et al.: generalized neural collapse (K > d + 1) on the sphere.

Paper: J. Jiang, J. Zhou, P. Wang, Q. Qu, D. Mixon, C. You, Z. Zhu, "Generalized Neural
Collapse for a Large Number of Classes", ICML 2024 (arXiv 2310.05351): in the spherical
UFM (``sphere-ce``) with K > d + 1, as tau -> infinity the classifier tends to a
*Softmax Code*, a maximizer of the minimal one-vs-rest distance.

Problem (ours): the one-vs-rest margin

    rho(d, K) = max_{W, H} min_k min_{j != k} (w_k - w_j)^T h_k,  |w_k| = |h_k| = 1,

reported, to keep our minimization convention, as the objective f = -rho (lower bound on
f = -(upper bound on rho); upper bound on f = -(margin of an explicit code)).  For unit
h_k the inner minimum is at most dist(w_k, conv{w_j : j != k}) (the paper's one-vs-rest
distance), with equality at the best h_k, so rho(d, K) is the optimal Softmax-Code value.

Symbol map (paper -> ours): the paper's W (d x K, unit columns) is our W^T; its
one-vs-rest distance rho_{one-vs-rest}(W, k) is our per-class margin; K, d ours; the
temperature tau of the spherical CE model is sent to infinity (no parameter here).

Known exact answers (the claimed value; each certified by the bounds named):

* K <= d + 1: simplex, rho = K/(K-1)  (upper: Gram SDP with exact dual, forgets d);
* d = 2, K >= 4: regular K-gon, rho = 1 - cos(2 pi/K)  (upper: polygon lemma);
* d + 2 <= K <= 2d ("orthoplex regime"): rho = 1, attained by K vertices of the
  cross-polytope  (upper: Radon-convexity lemma rho <= 1 for every K >= d + 2, so the
  claim is certified for every d; the older Radon lemma 2(1 - 1/floor((d+2)/2)) is kept
  in :mod:`ncproofs.certify.margin` but is weaker for d >= 4);
* (d, K) = (3, 6): the octahedron, rho = 1 (a case of the previous line);
* K > 2d, d >= 3: no closed form; we report the best code found numerically (a rigorous
  lower bound), the best upper bound we have (Radon-convexity, 1), and the gap.

Certificate assumptions: none beyond the lemmas proved in :mod:`ncproofs.certify.margin`
(Gram dual, Radon-convexity, polygon); the finite-tau CE problem is not certified
here.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import flint
import numpy as np
import sympy as sp

from ..certify.certificate import Certificate, decide
from ..certify.intervals import arb_of, sympy_to_arb
from ..certify.margin import (
    code_margin,
    gram_margin_upper,
    polygon_margin_upper,
    radon_convexity_margin_upper,
)
from ..certify.provenance import EXACT_LEMMA, EXPLICIT_POINT, MARGIN_LEMMAS, SEARCH_POINT
from ..derive.reduction import DerivationStep
from ..geometry import simplex_etf
from ..solve.sphere import best_features, better_columns, solve_margin_code
from ..spec import MarginCodeSpec
from .base import ClosedForm, ExplicitPoint, NumericResult, Theorem, register

#: the spec of this theorem (the old name of spec.MarginCodeSpec)
MarginSpec = MarginCodeSpec


def cross_polytope_code(K: int, d: int) -> np.ndarray:
    """The first K of e_1, -e_1, e_2, -e_2, ... (needs K <= 2d)."""
    W = np.zeros((K, d))
    for i in range(K):
        W[i, i // 2] = 1.0 if i % 2 == 0 else -1.0
    return W


def polygon_code(K: int) -> np.ndarray:
    angles = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def known_code(K: int, d: int) -> tuple[str, sp.Expr | None, np.ndarray | None]:
    """(regime, claimed margin, explicit code W) of the known exact answers."""
    if K <= d + 1:
        P = simplex_etf(K, d)
        return "simplex (K <= d + 1)", sp.Rational(K, K - 1), P / np.linalg.norm(
            P, axis=1, keepdims=True)
    if d == 2:
        return "regular K-gon (d = 2)", 1 - sp.cos(2 * sp.pi / K), polygon_code(K)
    if K <= 2 * d:
        return "cross-polytope subset (d + 2 <= K <= 2d)", sp.Integer(1), cross_polytope_code(K, d)
    return "K > 2d: no closed form known", None, None


#: the margin lemmas by name, with the key a proof file uses for each
MARGIN_LEMMA_KEYS = {"Gram SDP exact dual K/(K-1) (forgets d)": "gram",
                     "Radon-convexity lemma rho <= 1 (K >= d + 2)": "radon-convexity",
                     "polygon lemma 1 - cos(2 pi/K)": "polygon"}
_GRAM, _RADON, _POLYGON = MARGIN_LEMMA_KEYS


def margin_upper(K: int, d: int) -> tuple[flint.arb, str]:
    """The best rigorous upper bound on rho(d, K) we have, and its name."""
    gram, _ = gram_margin_upper(K)
    best, name = arb_of(gram), _GRAM
    if K >= d + 2:
        radon = arb_of(radon_convexity_margin_upper(K, d))
        if radon.upper() < best.lower():
            best, name = radon, _RADON
    if d == 2 and K >= 4:
        poly = polygon_margin_upper(K)
        if poly.upper() < best.upper():
            best, name = poly, _POLYGON
    return best, name


def claimed_margin_arb(K: int, d: int) -> flint.arb | None:
    """Enclosure of the claimed optimal margin of :func:`known_code` (None if unknown)."""
    if K <= d + 1:
        return arb_of(Fraction(K, K - 1))
    if d == 2:
        return 1 - (2 * flint.arb.pi() / K).cos()
    if K <= 2 * d:
        return flint.arb(1)
    return None


def claimed_objective_arb(objective: sp.Expr) -> flint.arb:
    """Enclosure of the claimed objective f* = -rho as given by the closed form (so a
    perturbed closed form is checked as perturbed); SymPy Floats are read as the exact
    binary rationals they store."""
    expr = sp.sympify(objective)
    expr = expr.xreplace({f: sp.Rational(f) for f in expr.atoms(sp.Float)})
    return sympy_to_arb(expr)


@register
class SphereGeneralizedCollapse(Theorem):
    id = "sphere-gnc"
    title = "Generalized collapse K > d + 1: max-min one-vs-rest margin codes (Jiang et al.)"
    citation = (
        "J. Jiang, J. Zhou, P. Wang, Q. Qu, D. Mixon, C. You, Z. Zhu, Generalized Neural "
        "Collapse for a Large Number of Classes, ICML 2024 (arXiv 2310.05351)"
    )
    symbol_map = (
        "paper W (d x K, unit columns) = our W^T; paper one-vs-rest distance = our per-class "
        "margin max_h min_j (w_k - w_j)^T h; tau -> infinity; objective f = -margin"
    )
    spec_type = MarginSpec
    default_cases = (
        {"params": {"K": 5, "d": 2}, "expect": "certified"},
        {"params": {"K": 4, "d": 3}, "expect": "certified"},
        {"params": {"K": 6, "d": 3}, "expect": "certified"},
        {"params": {"K": 5, "d": 3}, "expect": "certified"},
        {"params": {"K": 6, "d": 4}, "expect": "certified"},
        {"params": {"K": 8, "d": 3}, "expect": "inconclusive"},
    )

    def derive_general(self) -> list[DerivationStep]:
        K, d = sp.symbols("K d", positive=True, integer=True)
        return [
            DerivationStep("tau -> infinity: CE(tau z, k) ~ exp(-tau min_j (z_k - z_j)), so the "
                           "loss is governed by the smallest one-vs-rest margin",
                           sp.Symbol("rho(d,K) = max_{W,H} min_k min_{j!=k} (w_k-w_j)^T h_k")),
            DerivationStep("For unit h: max_h min_j (w_k - w_j)^T h = dist(w_k, conv{w_j}_{j!=k})",
                           sp.Symbol("minimax")),
            DerivationStep("Gram SDP (rank dropped) + uniform dual: rho <= (every d)",
                           K / (K - 1)),
            DerivationStep("Radon-convexity lemma (K >= d + 2, every d): rho <=",
                           sp.Integer(1)),
            DerivationStep("d = 2, K >= 4 (polygon lemma; the regular K-gon attains it): rho =",
                           1 - sp.cos(2 * sp.pi / K)),
            DerivationStep("d + 2 <= K <= 2d: K vertices of the cross-polytope have rho =",
                           sp.Integer(1)),
        ]

    def closed_form(self, spec: MarginSpec) -> ClosedForm:
        K, d = spec.K, spec.d
        regime, margin, W = known_code(K, d)
        steps = [DerivationStep(f"regime: {regime}", sp.Symbol("rho") if margin is None
                                else sp.Eq(sp.Symbol("rho"), margin))]
        if margin is None:
            return ClosedForm(objective=None, regime=regime, steps=steps,
                              minimizer={"geometry": "unknown (best numeric code reported)"})
        point = ExplicitPoint(arrays={"W": W, "H": W.T.copy()}, labels=tuple(range(K)),
                              counts=(1,) * K)
        return ClosedForm(objective=-margin, regime=regime, point=point, steps=steps,
                          minimizer={"geometry": regime, "margin": float(margin),
                                     "margin_exact": str(margin)})

    def certify(self, spec: MarginSpec, closed: ClosedForm) -> Certificate:
        K, d = spec.K, spec.d
        method = ("upper bound on the margin from exact lemmas (Gram SDP dual / "
                  "Radon-convexity / polygon); lower bound: interval margin of an explicit code")
        # (the tau -> infinity limit only motivates the margin problem; the bounds are
        # about the margin problem itself and rest on nothing else)
        assumptions = [MARGIN_LEMMAS]
        upper_margin, upper_name = margin_upper(K, d)
        details: dict[str, Any] = {"margin_upper_bound": float(upper_margin.upper()),
                                   "margin_upper_method": upper_name}
        if closed.point is not None:
            W = closed.point.arrays["W"]
            source = "known code"
            upper_source = EXPLICIT_POINT + " (a known code, margin in interval arithmetic)"
        else:
            code, _ = solve_margin_code(K, d, starts=4, seed=0, device="cpu")
            W = code.W
            source = "best numeric code (4 starts)"
            upper_source = SEARCH_POINT + " (margin in interval arithmetic)"
            details["code"] = W.tolist()
        H = better_columns(W, W.T.copy(), best_features(W))
        lower_margin = code_margin(W, H)
        proof = {"lower": {"kind": "margin-lemma", "lemma": MARGIN_LEMMA_KEYS[upper_name]},
                 "point": ExplicitPoint(arrays={"W": W, "H": H}, labels=tuple(range(K)),
                                        counts=(1,) * K)}
        details["margin_lower_bound"] = float(lower_margin.lower())
        details["margin_code_source"] = source
        details["margin_gap"] = float((upper_margin - lower_margin).upper())
        claimed = None if closed.objective is None else claimed_objective_arb(closed.objective)
        return decide(method=method, lower=-upper_margin, upper=-lower_margin,
                      claimed=claimed, assumptions=assumptions, details=details,
                      lower_source=EXACT_LEMMA + f" ({upper_name})",
                      upper_source=upper_source, proof=proof)

    def solve(self, spec: MarginSpec, *, device: str = "auto", starts: int = 8,
              seed: int = 0) -> NumericResult:
        code, extra = solve_margin_code(spec.K, spec.d, starts=starts, seed=seed, device=device)
        G = code.W @ code.W.T
        summary = {
            "objective": -code.margin, "margin": code.margin,
            "grad_norm": None, "iterations": code.iterations, "seconds": code.seconds,
            "device": code.device, "starts": starts, "converged": True,
            "start_objectives": [-m for m in code.start_margins],
            "metrics": {"max_inner_product": float(np.max(G - 2 * np.eye(spec.K))),
                        "min_inner_product": float(np.min(G))},
            "method": "soft-min continuation (batched L-BFGS on the sphere) + SLSQP polish",
        } | extra
        return NumericResult(summary=summary, point={"W": code.W, "H": code.H})
