r"""Focal loss with weight decay: compare every stationary margin and the origin.

Paper: J. Zhou, C. You, X. Li, K. Liu, S. Liu, Q. Qu, Z. Zhu, "Are All Losses Created
Equal: A Neural Collapse Perspective", NeurIPS 2022, Theorem 3.1: for the focal loss (among
others) every global minimizer of the UFM with weight decay is collapsed onto a simplex ETF
with h_k = sqrt(lam_W/(n lam_H)) w_k and a constant bias, so the problem reduces to the
scalar margin a >= 0 of the class-mean logits a (I - 11^T/K).

Symbol map (paper -> ours).  FL(z, y) = -(1 - p_y)^gamma log p_y, p = softmax(z): the
paper's gamma is ours; lambda_W, lambda_H, lambda_b, n, K, d = lam_W, lam_H, lam_b, n, K, d
(1/N on the loss only, as in our convention).

Reduction.  With t = sqrt(n lam_W lam_H) and p = 1/(1 + (K-1) e^{-a}) (the softmax
probability of the true class), g(a) = FL + t (K-1) a and

    g'(a) = t (K-1) - phi(p),   phi(p) = (1-p)^gamma [(1 - p) - gamma p log p].

phi is not monotone for large K and gamma (e.g. K = 100, gamma = 3), so g'(a) = 0 can have
two roots: a local maximum and a local minimum of g, and the local minimum can lose to the
origin a = 0.  No closed form: every root of phi(p) = t (K-1) on [1/K, 1) is enclosed
rigorously (:func:`ncproofs.derive.roots.isolate_roots`, arb interval arithmetic; no root
lies in [1 - delta, 1) because phi(p) <= (1 + gamma)(1 - p)^(gamma+1)), g is enclosed at
every root and at a = 0, and the smallest is the optimum of the reduced problem (g is
continuous and coercive on [0, inf); a < 0 is never better since FL decreases in p).

Certificate.  The focal loss is not convex in the logits, but it is a function h of the
convex u = LSE_{j != y}(z_j - z_y), and where two interval-checked inequalities hold at the
candidate, h has a convex minorant that equals it up to the candidate
(:mod:`ncproofs.certify.focal`, lemma L12).  With it the CE argument bounds f by a convex
1-D problem whose minimum a bracket around the candidate margin encloses: lemmas only,
status ``certified``.  Where the hypotheses fail (e.g. K = 20, gamma = 3 with the origin
optimal) the lower bound is the smallest enclosure among the candidates -- rigorous *for
the reduced problem*, i.e. it assumes Zhou et al.'s Theorem 3.1 (``conditional``).  Upper
bound: the interval objective of the full problem at the explicit ETF point of the chosen
margin (rigorous without assumptions).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import flint
import numpy as np
import sympy as sp

from ..certify.certificate import (
    INCONCLUSIVE,
    NOT_APPLICABLE,
    REFUTED,
    Certificate,
    decide,
)
from ..certify.focal import (
    FocalReduction,
    focal_slope,
    focal_slope_derivative,
    focal_value,
)
from ..certify.intervals import arb_of
from ..certify.provenance import (
    EXACT_ROOTS,
    FACTORIZATION,
    FOCAL_MINORANT,
    PERMUTATION_AVERAGING,
    ZHOU_FOCAL,
    jensen,
)
from ..derive.reduction import DerivationStep
from ..derive.roots import RootIsolation, isolate_roots
from ..geometry import simplex_etf
from ..losses import FocalLoss, Loss
from ..solve.lbfgs import minimize_multistart, resolve_device
from ..solve.ufm import labels_of, random_init
from ..spec import UFMSpec, param
from ._plain import PlainUFMTheorem, collapsed_point, nc_summary
from .base import ClosedForm, NumericResult, register
from .ufm_ce import etf_scales

LANDSCAPE_MAX_PARAMS = 400

#: where lemma L12 fails, the lower bound is rigorous for the reduced problem g only: it
#: assumes the paper's own main theorem (every global minimizer is simplex-ETF collapsed),
#: so that certificate is at most ``conditional`` (the upper bound needs no assumption)
ASSUMPTIONS = [ZHOU_FOCAL]
LOWER_SOURCE = EXACT_ROOTS + " (every stationary margin, interval arithmetic)"
#: where lemma L12 applies at the candidate, the lower bound rests on lemmas only
LEMMA_ASSUMPTIONS = [FOCAL_MINORANT, jensen("the convex minorant of the focal loss"),
                     FACTORIZATION, PERMUTATION_AVERAGING]
LEMMA_METHOD = ("convex minorant of the focal loss exact at the candidate (interval-checked "
                "hypotheses) + convex 1-D bracket of the ETF margin (lower); interval "
                "objective at the explicit ETF point (upper)")
LEMMA_SOURCE = "convex 1-D bracket under an interval-verified convex minorant (lemmas only)"



@dataclasses.dataclass(frozen=True, kw_only=True)
class FocalSpec(UFMSpec):
    gamma: Fraction = param("number", Fraction(2), lower=0,
                            doc="focusing parameter of -(1-p)^gamma log p")


@dataclasses.dataclass
class FocalCandidates:
    """Candidates of the reduced problem: a = 0 and every stationary margin."""

    c: Fraction | flint.arb  # t (K - 1)
    isolation: RootIsolation
    p_roots: list[flint.arb]
    a_values: list[flint.arb]  # margins, a[0] = 0 (the origin)
    g_values: list[flint.arb]
    kinds: list[str]

    @property
    def best(self) -> int:
        return min(range(len(self.g_values)), key=lambda i: float(self.g_values[i].mid()))

    def lower(self) -> flint.arb:
        """The enclosure with the smallest lower end (exact comparisons of the exact lower
        ends; a union of the balls would lose precision in its radius)."""
        best = self.g_values[0]
        for g in self.g_values[1:]:
            if g.lower() < best.lower():
                best = g
        return best


def _g_of_p(p: flint.arb, gamma: flint.arb, c: flint.arb, K: int) -> flint.arb:
    """g at the margin a = log((K-1) p/(1-p)): -(1-p)^gamma log p + c a."""
    return focal_value(p, gamma) + c * ((K - 1) * p / (1 - p)).log()


def focal_candidates(K: int, n: int, lam_W: Fraction, lam_H: Fraction,
                     gamma: Fraction) -> FocalCandidates:
    """Enclose every stationary point of g and compare with the origin (prec 160 bits)."""
    old = flint.ctx.prec
    flint.ctx.prec = 160
    try:
        gm = arb_of(gamma)
        c = (arb_of(n * lam_W * lam_H)).sqrt() * (K - 1)
        # no root in [1 - delta, 1): (1 + gamma) delta^(gamma+1) < c
        delta = Fraction(float((float(c.mid()) / (2 * (1 + float(gamma))))
                               ** (1 / (1 + float(gamma))))).limit_denominator(10**12)
        delta = min(delta, Fraction(K - 1, 2 * K))
        while not ((1 + gm) * arb_of(delta) ** (gm + 1) < c):
            delta /= 2
        lo, hi = Fraction(1, K), 1 - delta
        iso = isolate_roots(lambda p: focal_slope(p, gm) - c,
                            lambda p: focal_slope_derivative(p, gm), lo, hi)
        p0 = arb_of(Fraction(1, K))
        a_values, g_values, kinds = [flint.arb(0)], [_g_of_p(p0, gm, c, K)], ["origin"]
        for r in iso.roots:
            a_values.append(((K - 1) * r / (1 - r)).log())
            g_values.append(_g_of_p(r, gm, c, K))
            # g'(a) = c - phi(p): a sign change from - to + is a local minimum of g
            dphi = focal_slope_derivative(r, gm)
            kinds.append("local min" if dphi < 0 else "local max" if dphi > 0
                         else "stationary")
        return FocalCandidates(c=c, isolation=iso, p_roots=list(iso.roots),
                               a_values=a_values, g_values=g_values, kinds=kinds)
    finally:
        flint.ctx.prec = old


def focal_closed_form(spec: FocalSpec, choose: int | None = None) -> ClosedForm:
    """The best candidate (or candidate ``choose``: a mutation for tests)."""
    K, n, d = spec.K, spec.n[0], spec.d
    cand = focal_candidates(K, n, spec.lam_W, spec.lam_H, spec.gamma)
    i = cand.best if choose is None else choose
    a = cand.a_values[i]
    summary: dict[str, Any] = {
        "candidates": [
            {"kind": k, "a": float(av.mid()), "a_radius": float(av.rad()),
             "g": float(g.mid()), "g_radius": float(g.rad())}
            for k, av, g in zip(cand.kinds, cand.a_values, cand.g_values)
        ],
        "chosen": i, "a": float(a.mid()), "roots_complete": cand.isolation.complete,
        "isolation_boxes": cand.isolation.boxes, "t(K-1)": float(cand.c.mid()),
    }
    value = sp.Float(cand.g_values[i].mid().str(40, radius=False), 40)
    regime = ("zero (W = H = 0 beats every stationary margin)" if i == 0 else
              f"simplex ETF with margin a = {float(a.mid()):.12g} ({cand.kinds[i]})")
    steps = [DerivationStep("t (K-1)", sp.Float(float(cand.c.mid()))),
             DerivationStep("candidates (a, g(a))", str(
                 [(c["kind"], c["a"], c["g"]) for c in summary["candidates"]]))]
    closed = ClosedForm(objective=value, regime=regime, minimizer=summary, steps=steps)
    closed.focal = (cand, cand.g_values[i])  # type: ignore[attr-defined]  # for certify
    if d < K - 1:
        closed.applicable, closed.point = False, None
        closed.reason = f"d = {d} < K - 1 = {K - 1}: a simplex ETF does not fit in R^d"
        return closed
    if i == 0:
        zero_b = np.zeros(K) if spec.bias else None
        closed.point = collapsed_point(np.zeros((K, d)), np.zeros((d, K)), zero_b, spec.n)
        return closed
    a_float = float(a.mid())
    scales = etf_scales(sp.Float(a_float, 30), n, sp.Rational(spec.lam_W),
                        sp.Rational(spec.lam_H))
    P = simplex_etf(K, d)
    closed.point = collapsed_point(float(scales.alpha) * P, float(scales.beta) * P.T,
                                   np.zeros(K) if spec.bias else None, spec.n)
    return closed


def focal_minorant_steps() -> list[DerivationStep]:
    """Lemma L12 (docs/certificates.md) derived symbolically: FL = h(u) with
    u = LSE_{j != y}(z_j - z_y), h'(u) = D(r) and dD/dr = r^gamma E(r), r = 1 - p_y; SymPy
    checks both identities (a step raises if either fails to simplify to 0)."""
    r, gm, u = sp.symbols("r gamma u", positive=True)
    r_of_u = sp.exp(u) / (1 + sp.exp(u))
    h = r_of_u**gm * sp.log(1 + sp.exp(u))
    L = -sp.log(1 - r) / r
    D = r ** (gm + 1) * (1 + gm * (1 - r) * L)
    E = 2 * gm + 1 + gm * L * (gm - (gm + 1) * r)
    if sp.simplify(sp.diff(h, u) - D.subs(r, r_of_u)) != 0 or \
            sp.simplify(sp.diff(D, r) - r**gm * E) != 0:  # pragma: no cover - a SymPy bug
        raise ArithmeticError("the focal minorant identities did not simplify")
    return [
        DerivationStep("Lemma L12: FL = h(u), u = LSE_{j != y}(z_j - z_y) (convex), "
                       "r = 1 - p_y = e^u/(1 + e^u)", sp.Eq(sp.Symbol("h(u)"), h)),
        DerivationStep("h'(u) = D(r) (SymPy: diff(h, u) - D = 0)",
                       sp.Eq(sp.Symbol("D(r)"), D)),
        DerivationStep("dD/dr = r^gamma E(r) (SymPy-checked); E decreases past "
                       "gamma/(gamma+1), so D has one peak and tends to 1",
                       sp.Eq(sp.Symbol("E(r)"), E)),
        DerivationStep("If E(r_c) >= 0 and D(r_c) <= 1 (interval-checked at the candidate), "
                       "h + its tangent beyond r_c is a convex minorant of FL exact at the "
                       "candidate: the certificate needs no reduction", sp.S.true),
    ]


@register
class UFMFocal(PlainUFMTheorem):
    id = "ufm-focal"
    title = "Focal loss: ETF margin from rigorously isolated stationary points vs the origin"
    citation = (
        "J. Zhou et al., Are All Losses Created Equal: A Neural Collapse Perspective, "
        "NeurIPS 2022, Theorem 3.1"
    )
    symbol_map = (
        "paper gamma, lambda_W, lambda_H, lambda_b, n, K, d = ours gamma, lam_W, lam_H, lam_b, "
        "n, K, d; FL = -(1-p_y)^gamma log p_y; 1/N on the loss only"
    )
    spec_type = FocalSpec
    loss_name = "focal"
    metric_target = "etf"
    # certified where lemma L12 (convex minorant) holds at the candidate; otherwise the lower
    # bound assumes Zhou et al.'s Theorem 3.1 (conditional)
    default_cases = (
        {"params": {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "gamma": "2"},
         "expect": "certified"},
        {"params": {"K": 3, "n": 2, "d": 2, "lam_W": "0.5", "lam_H": "0.5", "gamma": "1",
                    "bias": "false"}, "expect": "certified"},
        # two stationary margins (local max, local min); the origin still wins, and no
        # convex minorant is exact there (E(19/20) < 0): conditional
        {"params": {"K": 20, "n": 1, "d": 19, "lam_W": "0.06322", "lam_H": "0.06322",
                    "gamma": "3", "bias": "false"}, "expect": "conditional"},
    )

    def loss(self, spec: UFMSpec) -> Loss:
        return FocalLoss(gamma=spec.gamma)

    def solve(self, spec: UFMSpec, *, device: str = "auto", starts: int = 8,
              seed: int = 0) -> NumericResult:
        """Random starts at two scales: half at scale 1, half at scale 1e-2.  The reduced
        problem is nonconvex (the origin can be a local minimum that beats a positive
        margin), so starts near the origin are part of an honest multi-start."""
        dev = resolve_device(device)
        objective = self.objective(spec, dev)
        big = max(1, starts - starts // 2)
        runs = [minimize_multistart(objective, random_init(spec, big, seed, dev, 1.0)),
                minimize_multistart(objective, random_init(spec, max(1, starts // 2),
                                                           seed + 1, dev, 1e-2))]
        result = min(runs, key=lambda r: float(r.values[r.best]))
        best = {k: v.cpu().numpy() for k, v in result.best_params().items()}
        summary = result.summary()
        summary["starts"] = starts  # both runs together
        summary["seconds"] = sum(r.seconds for r in runs)
        summary["start_objectives"] = [float(v) for r in runs for v in r.values]
        summary["init_scales"] = [1.0] * big + [1e-2] * max(1, starts // 2)
        y = labels_of(spec.n).numpy()
        b = best["b"].ravel() if "b" in best else None
        summary["metrics"] = nc_summary(best["H"], y, best["W"], b, self.target_for(spec))
        return NumericResult(summary=summary, point=best)

    def landscape(self, spec: UFMSpec, closed: ClosedForm) -> dict[str, Any] | None:
        size = spec.K * spec.d + spec.d * spec.N + (spec.K if spec.bias else 0)
        if size > LANDSCAPE_MAX_PARAMS:
            return {"skipped": f"{size} parameters > {LANDSCAPE_MAX_PARAMS}: the focal-loss "
                               "Hessian takes minutes on 2 CPU cores (call "
                               "ncproofs.solve.landscape.min_curvature directly)"}
        return super().landscape(spec, closed)

    def derive_general(self) -> list[DerivationStep]:
        K, t, gm = sp.symbols("K t gamma", positive=True)
        p = sp.Symbol("p", positive=True)
        a = sp.Symbol("a", nonnegative=True)
        fl = -(1 - p) ** gm * sp.log(p)
        g_p = fl + t * (K - 1) * sp.log((K - 1) * p / (1 - p))
        dg_da = sp.simplify(sp.diff(g_p, p) * p * (1 - p))
        phi = sp.simplify(t * (K - 1) - dg_da)
        return [
            DerivationStep("Reduction (Zhou et al. 2022, Thm 3.1): M = a J, h = c w; "
                           "p = softmax true-class probability", sp.Eq(p, 1 / (1 + (K - 1)
                                                                             * sp.exp(-a)))),
            DerivationStep("g as a function of p (a = log((K-1)p/(1-p)))", g_p),
            DerivationStep("g'(a) = (dg/dp) p (1-p)", sp.Eq(sp.Symbol("g'(a)"), dg_da)),
            DerivationStep("Stationarity: phi(p) = t (K-1) with", sp.Eq(sp.Symbol("phi(p)"),
                                                                       sp.factor(phi))),
            DerivationStep("phi is not monotone (e.g. K = 100, gamma = 3): every root of "
                           "phi(p) = t(K-1) on [1/K, 1) is enclosed in interval arithmetic "
                           "and g is compared at every root and at a = 0, where",
                           sp.Eq(sp.Symbol("g(0)"), (1 - 1 / K) ** gm * sp.log(K))),
        ] + focal_minorant_steps()

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        if not spec.balanced:
            return ClosedForm(objective=None, regime="imbalanced", applicable=False,
                              reason="ufm-focal assumes balanced classes")
        return focal_closed_form(spec)

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        method = ("rigorous isolation of every stationary margin + interval comparison with the "
                  "origin (lower, for the reduced problem); interval objective at the explicit "
                  "ETF point (upper)")
        if not spec.balanced or not hasattr(closed, "focal"):
            return Certificate(method=method, status=NOT_APPLICABLE, rigorous=False,
                               reason=closed.reason, assumptions=ASSUMPTIONS)
        cand, claimed = closed.focal
        details: dict[str, Any] = {"candidates": closed.minimizer["candidates"],
                                   "isolation_boxes": cand.isolation.boxes}
        if not cand.isolation.complete:
            return Certificate(method=method, status=INCONCLUSIVE, rigorous=False,
                               reason="root isolation left undecided intervals " + str(
                                   [(float(a), float(b)) for a, b in cand.isolation.unresolved]),
                               assumptions=ASSUMPTIONS, details=details)
        lower = cand.lower()
        if closed.point is None:
            cert = decide(method=method, lower=lower, upper=None, claimed=claimed,
                          assumptions=ASSUMPTIONS, details=details, lower_source=LOWER_SOURCE)
            if cert.status == REFUTED:  # a rigorous refutation is never lost
                cert.reason += f"; also not applicable: {closed.reason}"
            else:
                cert.status, cert.reason = NOT_APPLICABLE, closed.reason
            return cert
        upper = self.upper_bound(spec, closed.point)
        chosen = closed.minimizer["chosen"]
        reduction = FocalReduction(spec.K, spec.n[0], spec.lam_W, spec.lam_H, spec.gamma)
        found = reduction.lemma_bound(None if chosen == 0 else cand.a_values[chosen])
        details["convex_minorant"] = found is not None
        if found is not None:  # lemma L12: no reduction theorem needed
            bound, data = found
            return decide(method=LEMMA_METHOD, lower=bound, upper=upper, claimed=claimed,
                          assumptions=LEMMA_ASSUMPTIONS, details=details,
                          lower_source=LEMMA_SOURCE, proof={"lower": data})
        cert = decide(method=method, lower=lower, upper=upper, claimed=claimed,
                      assumptions=ASSUMPTIONS, details=details, lower_source=LOWER_SOURCE)
        cert.reason += ("; no convex minorant of the focal loss is exact at this candidate "
                        "(lemma L12's hypotheses fail), so the lower bound rests on the "
                        "paper's theorem")
        return cert
