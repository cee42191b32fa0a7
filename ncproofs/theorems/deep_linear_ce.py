r"""Deep linear CE: is deep neural collapse (an ETF at every layer) the global optimum?

Claim tested: Dang et al. (2023), "Neural Collapse in Deep Linear Networks: From Balanced
to Imbalanced Data", ICML 2023 (arXiv 2301.00437), Theorem 3.2 (balanced, bias-free CE:
every global minimizer is collapsed with simplex-ETF class means and ETF-aligned layers).
Conflicting result: C. Garrod and J. P. Keating, "The Persistence of Neural Collapse Despite
Low-Rank Bias" (arXiv 2410.23169, NeurIPS 2025): for K >= 4 and L >= 3, or K >= 6 and
L = 2 (their depth counts weight matrices like ours), low-rank configurations have a lower
objective than deep collapse.  We decide by computation for the user's parameters.

Symbol map (paper -> ours): Dang et al.'s M weight matrices W_M ... W_1 = ours W_L ... W_1
(M = L); lambda_{W_m} = lam_W for every layer; lambda_H = lam_H; n, N, K, d unchanged; loss
(1/N) sum CE with weight decay not divided by N (our convention).  Garrod & Keating's
regularization strengths map the same way (one lambda per factor).

The deep-collapse candidate.  With class-mean logits Z = a (I - 11^T/K) (margin a) and
the balanced factorization (depth-L factorization identity, c = ((L+1)/2)(lam_H
lam_W^L)^(1/(L+1)), p = 2/(L+1)):

    psi(a) = log(1 + (K-1) e^(-a)) + (K-1) c (sqrt(n) a)^p,      a >= 0,

nonconvex for L >= 2 (a^p concave).  Its minimum over a >= 0 (a = 0 included: W = H = 0,
value log K) is enclosed rigorously by interval branch and bound; the explicit ETF point
of the stated d gives a rigorous upper bound.

Search.  The full problem (class-mean features, exact for a linear network and a convex
loss) is minimized from many random starts (batched L-BFGS).  The best point is
evaluated in interval arithmetic; if it is below the candidate's rigorous lower end by
more than the tolerance, the status is ``refuted``: the point is saved (npz), its rank
and singular values per layer and the improvement in percent are reported.  The
refutation is found from random starts, never planted.

What can be certified when the candidate is not refuted.  A rigorous lower bound on the
full problem: averaging over class permutations (CE is convex and permutation invariant),
the data term over a nuclear-norm ball |Z|_* <= tau is at least log(1 + (K-1)
e^(-tau/(K-1))), and sum sigma_i^p >= (sum sigma_i)^p for p <= 1, so

    f >= min_a log(1 + (K-1) e^(-a)) + c (K-1)^p (sqrt(n) a)^p.

For L = 1 (p = 1) this equals the candidate: certified (Zhu et al. 2021).  For L >= 2 it
is strictly weaker except where a = 0 wins in both (then W = H = 0 is certified).

Closing the gap.  K = 2: interval branch and bound on the reduced problem in X
(:mod:`ncproofs.certify.schatten_ce`).  K = 3: branch and bound over the variational
matrix B of the Schatten term (lemmas L16-L17, :mod:`ncproofs.certify.schatten_dual`),
which certifies deep collapse at every L tried, with a proof file that ``ncproofs check``
re-bounds leaf by leaf.  K >= 4 at L >= 2 when not refuted: ``inconclusive`` (the
candidate is an upper bound that random starts did not beat, nothing more).  Deep collapse
is never certified where it is not the optimum.
"""

from __future__ import annotations

import dataclasses
import math
import os
from fractions import Fraction
from typing import Any

import flint
import numpy as np
import sympy as sp

from ..certify.bnb import BnBResult
from ..certify.bnb import minimize as bnb_minimize
from ..certify.certificate import (
    INCONCLUSIVE,
    LEMMA,
    NOT_APPLICABLE,
    REFUTED,
    Assumption,
    Certificate,
    decide,
    lower_end,
    upper_end,
)
from ..certify.deep import (
    DEPTH_IDENTITY,
    balanced_factorization,
    interval_minimize_1d,
    interval_objective_deep,
)
from ..certify.intervals import arb_of
from ..certify.provenance import (
    PERMUTATION_AVERAGING,
    SEARCH_POINT,
    jensen_fixed_weights,
)
from ..certify.schatten_ce import SchattenCEProblem, schatten_constant
from ..certify.schatten_dual import SchattenDualProblem
from ..derive.reduction import DerivationStep
from ..geometry import helmert_basis
from ..losses import get_loss
from ..outputs import save_npz
from ..solve.deep import layer_metrics, layer_summary, solve_deep
from ..spec import SpecError, UFMSpec
from .base import ClosedForm, ExplicitPoint, NumericResult, Theorem, register
from .deep_linear_mse import DeepLinearSpec

#: random starts of the refutation search (certify) and its solver tolerance
SEARCH_STARTS = 24
SEARCH_TOL = 1e-9


def env_seconds(name: str, default: float) -> float:
    """A time budget from the environment variable ``name`` (a number >= 0), read when a
    certificate runs, so that a bad value is a one-line error naming it."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0:  # also rejects nan
        raise SpecError(f"{name} must be a number of seconds >= 0, got {text!r}")
    return value


#: time budget (s) of the branch and bound on the reduced problem inside ``certify``
#: (K = 2), environment NCPROOFS_BNB_SECONDS; the frontier script gives more
BNB_SECONDS = 5.0
#: time budget (s) of the K = 3 branch and bound over the variational matrix B, environment
#: NCPROOFS_DUAL_BNB_SECONDS (every K = 3 cell of the frontier table needs 5-70 s on one core)
DUAL_BNB_SECONDS = 300.0
#: smallest lam_H lam_W^L accepted (the margin search uses float endpoints, see _check)
MIN_DECAY_PRODUCT = Fraction(1, 10**200)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeepLinearCESpec(DeepLinearSpec):
    """Deep linear spec for CE: d >= K - 1 (the simplex ETF candidate must fit)."""

    def min_d(self) -> int:
        return self.K - 1

    def _check(self) -> None:
        super()._check()
        # the margin search (interval_minimize_1d) runs on float endpoints [0, a_max] with
        # a_max ~ (log K / B)^((L+1)/2) ~ (lam_H lam_W^L)^(-1/2): keep it far below 1e308
        if self.lam_H * self.lam_W ** self.L < MIN_DECAY_PRODUCT:
            def show(x: Fraction) -> str:
                return str(sp.N(sp.Rational(x.numerator, x.denominator), 3))

            raise SpecError(f"lam_H * lam_W^L must be >= 1e-200 for deep-linear-ce, got "
                            f"{show(self.lam_H * self.lam_W ** self.L)} (lam_W = "
                            f"{show(self.lam_W)}, lam_H = {show(self.lam_H)}, L = {self.L})")


@dataclasses.dataclass(frozen=True)
class ETFScalar:
    r"""psi(a) = log(1 + (K-1) e^(-a)) + B a^p over a >= 0, p = 2/(L+1), with
    B = ((L+1)/2) (K-1)^power (lam_H lam_W^L)^(1/(L+1)) n^(p/2): ``power = 1`` is the
    deep-collapse candidate, ``power = p`` the rigorous lower bound."""

    K: int
    L: int
    n: int
    lam_W: Fraction
    lam_H: Fraction
    power: Fraction

    @property
    def p(self) -> sp.Rational:
        return sp.Rational(2, self.L + 1)

    @property
    def B(self) -> sp.Expr:
        L = self.L
        lam = sp.Rational(self.lam_H.numerator, self.lam_H.denominator) * sp.Rational(
            self.lam_W.numerator, self.lam_W.denominator) ** L
        power = sp.Rational(self.power.numerator, self.power.denominator)
        return (sp.Rational(L + 1, 2) * sp.Integer(self.K - 1) ** power
                * lam ** sp.Rational(1, L + 1) * sp.Integer(self.n) ** (self.p / 2))

    def expr(self, a: sp.Expr) -> sp.Expr:
        return sp.log(1 + (self.K - 1) * sp.exp(-a)) + self.B * a**self.p

    def B_arb(self) -> flint.arb:
        L = self.L
        lam = arb_of(self.lam_H) * arb_of(self.lam_W) ** L
        km1 = flint.arb(self.K - 1)
        if self.power != 1:
            km1 = km1 ** arb_of(self.power)
        return flint.arb(L + 1) / 2 * km1 * lam.root(L + 1) * flint.arb(self.n).root(L + 1)

    def minimum(self, *, leaves: list[tuple[float, float]] | None = None
                ) -> tuple[flint.arb, float]:
        """Rigorous enclosure of min_{a >= 0} psi and an (approximate) minimizer.
        For a >= a_max = (log K / B)^(1/p), psi >= log K = psi(0).  ``leaves`` receives
        the partition of [0, a_max] the branch and bound ended with (see
        :func:`~ncproofs.certify.deep.interval_minimize_1d`)."""
        K, p_f = self.K, 2.0 / (self.L + 1)
        B = self.B_arb()
        p = flint.arb(2) / (self.L + 1)

        def dec(a: flint.arb) -> flint.arb:
            return (1 + (K - 1) * (-a).exp()).log()

        def inc(a: flint.arb) -> flint.arb:
            return flint.arb(0) if a == 0 else B * a**p

        def deriv(a: flint.arb) -> flint.arb:
            e = (-a).exp()
            return -(K - 1) * e / (1 + (K - 1) * e) + B * p * a ** (p - 1)

        a_max = (math.log(K) / float(B.lower())) ** (1 / p_f) * (1 + 1e-9)
        enclosure, a_best = interval_minimize_1d(dec, inc, deriv, 0.0, a_max, rel_tol=1e-13,
                                                 leaves=leaves)
        if a_best > 0:  # Newton polish of psi'(a) = 0 (mpmath), checked in intervals
            import mpmath

            Bf = mpmath.mpf(float(B.mid()))
            with mpmath.workdps(30):
                try:
                    a_new = float(mpmath.findroot(
                        lambda a: -(K - 1) / (mpmath.exp(a) + K - 1) + Bf * p_f * a ** (p_f - 1),
                        mpmath.mpf(a_best)))
                except (ValueError, ZeroDivisionError):
                    a_new = a_best
            if a_new > 0:
                val = dec(flint.arb(a_new)) + inc(flint.arb(a_new))
                if upper_end(val) < upper_end(enclosure):
                    enclosure = flint.arb(enclosure.lower()).union(val)
                    a_best = a_new
        return enclosure, a_best


def schatten_cover(leaves: list[tuple[float, float]]) -> dict[str, Any]:
    """Proof-file data (kind ``schatten-cover``, :mod:`ncproofs.check`): the breakpoints of
    the partition of [0, a_max] that :meth:`ETFScalar.minimum` ended with, on which the
    checker re-bounds psi from below."""
    breaks = sorted({Fraction(x) for leaf in leaves for x in leaf})
    return {"kind": "schatten-cover", "breaks": [str(x) for x in breaks]}


def candidate_scalar(spec: DeepLinearSpec) -> ETFScalar:
    return ETFScalar(spec.K, spec.L, spec.n[0], spec.lam_W, spec.lam_H, Fraction(1))


def lower_scalar(spec: DeepLinearSpec) -> ETFScalar:
    return ETFScalar(spec.K, spec.L, spec.n[0], spec.lam_W, spec.lam_H,
                     Fraction(2, spec.L + 1))


def etf_point(spec: DeepLinearSpec, a: float) -> ExplicitPoint:
    """The deep-collapse point with margin a: M = sqrt(n) a (I - 11^T/K), balanced."""
    K, n = spec.K, spec.n[0]
    Q = helmert_basis(K)
    M = math.sqrt(n) * a * Q @ Q.T
    L = spec.L
    if a == 0:
        Ws = [np.zeros((spec.d, spec.d)) for _ in range(L - 1)] + [np.zeros((K, spec.d))]
        G = np.zeros((spec.d, K))
    else:
        Ws, G = balanced_factorization(M, [float(spec.lam_W)] * L, float(spec.lam_H), spec.d)
    arrays = {f"W{l}": W for l, W in enumerate(Ws, start=1)} | {"H": G / math.sqrt(n)}
    return ExplicitPoint(arrays=arrays, labels=tuple(range(K)), counts=spec.n)


JENSEN_LEMMA = Assumption(
    "CE is convex in the logits and the logits are linear in the features for fixed weights, "
    "so replacing every feature by its class mean does not increase f (Jensen)", LEMMA,
    "docs/certificates.md, Branch and bound, (L1)")
SHIFT_LEMMA = Assumption(
    "CE(z + t 1, k) = CE(z, k), so only the centred class-mean logits P Z matter, and "
    "sigma_i(P Z) <= sigma_i(Z) for the orthogonal projection P = I - 11^T/K", LEMMA,
    "docs/certificates.md, Branch and bound, (L3)")
VARIATIONAL_LEMMA = Assumption(
    "t -> t^q is operator concave (0 < q < 1), so C tr S^q <= tr(B^-1 S) + kappa tr B^(1/L) "
    "for every B > 0 with equality at B = S^(1-q)/(Cq); and for any softmax vector pi, "
    "h_k(B) >= Ent(pi)/K - y^T B y (Fenchel-Young for log-sum-exp)", LEMMA,
    "docs/certificates.md, Branch and bound, (L16)-(L17)")


def reduced_problem(spec: DeepLinearSpec, a_star: float) -> SchattenCEProblem | None:
    """min over X of (1/K) sum_k CE(Q x_k, k) + C sum sigma_i(X)^(2/(L+1)) (K = 2, 3),
    started at the deep-collapse point X = a* Q^T and at X = 0; None for other K."""
    if spec.K not in (2, 3):
        return None
    C = schatten_constant(spec.L, spec.n[0], spec.lam_W, spec.lam_H)
    p = Fraction(2, spec.L + 1)
    base = SchattenCEProblem(spec.K, p, C)
    starts = [np.zeros(base.dim)] + ([base.etf_point(a_star)] if a_star > 0 else [])
    return SchattenCEProblem(spec.K, p, C, starts=starts)


def reduced_point(spec: DeepLinearSpec, problem: SchattenCEProblem,
                  x: np.ndarray) -> ExplicitPoint:
    """A point of the original problem whose value is g(x): class-mean logits Y = Q X,
    M = sqrt(n) Y balanced over the L layers (rank <= K - 1 <= d)."""
    n = spec.n[0]
    M = math.sqrt(n) * problem.logits(x)
    Ws, G = balanced_factorization(M, [float(spec.lam_W)] * spec.L, float(spec.lam_H), spec.d)
    arrays = {f"W{l}": W for l, W in enumerate(Ws, start=1)} | {"H": G / math.sqrt(n)}
    return ExplicitPoint(arrays=arrays, labels=tuple(range(spec.K)), counts=spec.n)


def run_bnb(spec: DeepLinearSpec, a_star: float, claimed: flint.arb, seconds: float,
            rel_gap: float = 1e-9) -> tuple[SchattenCEProblem, BnBResult] | None:
    """Branch and bound on the reduced problem, stopping once the claim is decided."""
    problem = reduced_problem(spec, a_star)
    if problem is None:
        return None
    stop_below = lower_end(claimed) * (1 - 2 * rel_gap)
    return problem, bnb_minimize(problem, rel_gap=rel_gap, max_seconds=seconds,
                                 stop_below=stop_below, second_order_width=math.inf)


def bnb_decision(res: BnBResult, lower: float, search: str, *, claimed: flint.arb,
                 **decide_args: Any) -> Certificate:
    """decide() on a branch-and-bound lower bound; an inconclusive result says where the
    search stopped."""
    cert = decide(lower=flint.arb(lower), claimed=claimed, **decide_args)
    if cert.status == INCONCLUSIVE:
        cert.reason = (f"{search} stopped ({res.reason}) after {res.boxes} boxes in "
                       f"{res.seconds:.1f} s with lower bound {cert.lower_bound:.12g} below "
                       f"the candidate {float(claimed.mid()):.12g} (largest live box width "
                       f"{res.largest_live_width:.3g})")
    return cert


@register
class DeepLinearCE(Theorem):
    id = "deep-linear-ce"
    title = "Deep linear CE: deep collapse vs low-rank minima (Dang et al. 2023 vs Garrod & " \
            "Keating 2024)"
    citation = (
        "H. Dang et al., Neural Collapse in Deep Linear Networks, ICML 2023 (arXiv 2301.00437), "
        "Theorem 3.2; C. Garrod and J. P. Keating, The Persistence of Neural Collapse Despite "
        "Low-Rank Bias, arXiv 2410.23169"
    )
    symbol_map = (
        "paper M (number of weight matrices) = ours L; lambda_{W_m} = lam_W (all layers); "
        "lambda_H = lam_H; n, N, K, d unchanged (1/N on the loss only)"
    )
    spec_type = DeepLinearCESpec
    default_cases = (
        {"params": {"K": 4, "n": 5, "d": 4, "lam_W": "5e-3", "lam_H": "5e-3", "L": 3},
         "expect": "refuted"},
        {"params": {"K": 3, "n": 5, "d": 3, "lam_W": "5e-3", "lam_H": "5e-3", "L": 1},
         "expect": "certified"},
        {"params": {"K": 3, "n": 5, "d": 3, "lam_W": "5e-3", "lam_H": "5e-3", "L": 2},
         "expect": "certified"},
    )

    def __init__(self) -> None:
        self._search_cache: dict[Any, Any] = {}

    # ------------------------------------------------------------------ derivation

    def derive_general(self) -> list[DerivationStep]:
        a, c, n = sp.symbols("a c n", positive=True)
        K, L = sp.symbols("K L", integer=True, positive=True)
        p = 2 / (L + 1)
        data = sp.log(1 + (K - 1) * sp.exp(-a))
        return [
            DerivationStep("c (depth-L factorization identity)", sp.Eq(c, (L + 1) / 2 * (
                sp.Symbol("lambda_H") * sp.Symbol("lambda_W") ** L) ** (1 / (L + 1)))),
            DerivationStep("Deep collapse candidate: psi(a), margin a, Z = a(I - 11^T/K)",
                           data + (K - 1) * c * (sp.sqrt(n) * a) ** p),
            DerivationStep("Stationarity psi'(a) = 0 (nonconvex for L >= 2: compare with a=0)",
                           sp.Eq(sp.diff(data + (K - 1) * c * (sp.sqrt(n) * a) ** p, a), 0)),
            DerivationStep("Rigorous lower bound (sum sigma^p >= (sum sigma)^p, permutation "
                           "averaging): phi_low(a)", data + c * ((K - 1) * sp.sqrt(n) * a) ** p),
            DerivationStep("The two coincide iff p = 1, i.e. L = 1 (Zhu et al.)",
                           sp.Eq((K - 1) ** p, K - 1)),
        ]

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        assert isinstance(spec, DeepLinearSpec)
        if not spec.balanced or spec.bias:
            why = "imbalanced classes" if not spec.balanced else "a bias"
            return ClosedForm(objective=None, regime="outside the theorem", applicable=False,
                              reason=f"the deep-collapse claim is for balanced, bias-free CE "
                                     f"(got {why})")
        psi = candidate_scalar(spec)
        enclosure, a_star = psi.minimum()
        a_float = a_star if float(enclosure.mid()) < math.log(spec.K) * (1 - 1e-15) else 0.0
        point = etf_point(spec, a_float)
        at = (float(psi.B_arb().mid()) * a_float ** (2 / (spec.L + 1))
              + math.log1p((spec.K - 1) * math.exp(-a_float))) if a_float > 0 else None
        value = sp.log(spec.K) if at is None else sp.Float(repr(at), 17)
        regime = "deep collapse (ETF at every layer)" if a_float > 0 else "zero (W = H = 0)"
        steps = [DerivationStep("psi(a)", psi.expr(sp.Symbol("a", nonnegative=True))),
                 DerivationStep("a* (interval branch and bound)", sp.Float(a_float, 15)),
                 DerivationStep("psi(a*) enclosure", sp.Symbol(str(enclosure)))]
        return ClosedForm(
            objective=value, regime=regime,
            minimizer={"geometry": regime, "a": a_float, "value_enclosure": str(enclosure),
                       "note": "candidate (a claim under test), not a proved optimum"},
            point=point, steps=steps)

    # ------------------------------------------------------------------ certificate

    def search(self, spec: DeepLinearSpec, starts: int = SEARCH_STARTS, seed: int = 0,
               device: str = "cpu"):
        """Random-start search of the full problem (cached per spec, starts, seed)."""
        key = (spec, starts, seed, device)
        if key not in self._search_cache:
            self._search_cache[key] = solve_deep(
                "ce", spec.n, spec.d, [float(spec.lam_W)] * spec.L, float(spec.lam_H),
                starts=starts, seed=seed, device=device, tol=SEARCH_TOL)
        return self._search_cache[key]

    def upper_bound(self, spec: DeepLinearSpec, point: ExplicitPoint) -> flint.arb:
        a = point.arrays
        Ws = [a[f"W{l}"] for l in range(1, spec.L + 1)]
        return interval_objective_deep(get_loss("ce"), Ws, a["H"], None, point.labels,
                                       point.counts, spec.lams, spec.lam_H)

    def certify(self, spec: UFMSpec, closed: ClosedForm, *, starts: int = SEARCH_STARTS,
                seed: int = 0, bnb_seconds: float | None = None) -> Certificate:
        assert isinstance(spec, DeepLinearSpec)
        method = ("deep-collapse candidate (interval branch and bound) vs random-start search "
                  "of the full problem (refutation); Schatten-p subadditivity lower bound")
        assumptions = [DEPTH_IDENTITY, jensen_fixed_weights("CE"), PERMUTATION_AVERAGING]
        if not closed.applicable:
            return Certificate(method=method, status=NOT_APPLICABLE, rigorous=False,
                               reason=closed.reason, assumptions=assumptions)
        if bnb_seconds is None:
            bnb_seconds = env_seconds("NCPROOFS_BNB_SECONDS", BNB_SECONDS)
        cand_enclosure, _ = candidate_scalar(spec).minimum()
        leaves: list[tuple[float, float]] = []
        low_enclosure, _ = lower_scalar(spec).minimum(leaves=leaves)
        lower = flint.arb(low_enclosure.lower())  # rigorous lower end
        cand_upper = self.upper_bound(spec, closed.point)
        res = self.search(spec, starts, seed)
        best = res.best_point()
        found = ExplicitPoint(arrays=best, labels=tuple(range(spec.K)), counts=spec.n)
        found_upper = self.upper_bound(spec, found)
        details: dict[str, Any] = {
            "candidate_value": str(cand_enclosure),
            "lower_bound_rigorous": float(low_enclosure.lower()),
            "search": {"starts": starts, "seed": seed,
                       "best_value": float(res.values[res.best]),
                       "start_values": [float(v) for v in res.values],
                       "rigorous_value_upper": upper_end(found_upper)},
        }
        # candidate vs the best point found: refuted when decide() says the found point is
        # lower (its own tolerance; no separate pre-check that could disagree with it)
        cert = decide(method=method, lower=None, upper=found_upper, claimed=cand_enclosure,
                      assumptions=assumptions, details=details, upper_source=SEARCH_POINT)
        if cert.status == REFUTED:  # interval value of the point vs the candidate's lower end
            layers = layer_metrics(res.objective, best, target="etf")
            gain = 100 * (float(cand_enclosure.mid()) - upper_end(found_upper)) / float(
                cand_enclosure.mid())
            path = self._save(spec, best, layers, found_upper, cand_enclosure)
            details.update(improvement_percent=gain, saved_point=str(path),
                           ranks=[e["rank"] for e in layers],
                           singular_values=[e["singular_values"] for e in layers])
            cert.details = details
            cert.reason = (f"a point found from random starts (rank {layers[-2]['rank']} "
                           f"features) is {gain:.3g}% below deep collapse; saved to {path}")
            return cert
        cert = decide(method=method, lower=lower, upper=cand_upper, claimed=cand_enclosure,
                      assumptions=assumptions, details=details,
                      lower_source="exact 1-D interval minimization (Schatten-p subadditivity)",
                      proof=({"lower": schatten_cover(leaves)}
                             if lower.upper() >= float(cand_enclosure.lower()) * (1 - 1e-9)
                             else None))
        if cert.status == INCONCLUSIVE and bnb_seconds > 0:
            run = self._certify_dual if spec.K == 3 else self._certify_bnb
            bnb_cert = run(spec, closed, cand_enclosure, cand_upper, lower, details,
                           bnb_seconds)
            if bnb_cert is not None:
                return bnb_cert
        lb, ub = cert.lower_bound, cert.upper_bound
        if (cert.status == INCONCLUSIVE and lb is not None and ub is not None
                and math.isfinite(lb) and math.isfinite(ub)
                and lb < float(cand_enclosure.lower())):
            # only the situation the text describes; otherwise keep decide()'s reason
            # (e.g. a non-finite upper bound)
            cert.reason = (f"deep collapse not beaten by {starts} random starts, but for "
                           f"L = {spec.L} the rigorous lower bound {cert.lower_bound:.12g} is "
                           f"below the candidate {float(cand_enclosure.mid()):.12g}: "
                           "not certified (only L = 1, or W = H = 0 optimal, can be)")
        return cert

    def _certify_bnb(self, spec: DeepLinearSpec, closed: ClosedForm, cand: flint.arb,
                     cand_upper: flint.arb, old_lower: flint.arb, details: dict[str, Any],
                     seconds: float) -> Certificate | None:
        """Branch and bound on the reduced problem (K = 2, 3): certified when its lower
        bound meets the candidate, refuted when it finds a lower point (mapped back to the
        original problem and evaluated there), else None (the caller keeps its reason)."""
        a_star = float(closed.minimizer.get("a", 0.0))
        run = run_bnb(spec, a_star, cand, seconds)
        if run is None:
            return None
        problem, res = run
        details = dict(details)
        details["branch_and_bound"] = res.as_dict() | {
            "problem": problem.name, "domain": problem.domain_proof(),
            "symmetry": "class permutations: diagonal of Y non-increasing"}
        method = ("interval branch and bound on the reduced problem min_X CE(Q X) + C sum "
                  "sigma_i(X)^(2/(L+1)) (Jensen, factorization identity, shift invariance)")
        assumptions: list[Assumption | str] = [
            JENSEN_LEMMA,
            DEPTH_IDENTITY,
            SHIFT_LEMMA,
        ]
        if res.upper < lower_end(cand):
            point = reduced_point(spec, problem, res.point)
            found_upper = self.upper_bound(spec, point)
            cert = decide(method=method, lower=None, upper=found_upper, claimed=cand,
                          assumptions=assumptions, details=details,
                          upper_source="interval value of an explicit point (found by branch "
                                       "and bound)")
            if cert.status == REFUTED:
                path = self._save(spec, point.arrays, [], found_upper, cand)
                cert.details["saved_point"] = str(path)
                cert.reason += f"; found by branch and bound, saved to {path}"
                return cert
            return None
        if res.lower <= lower_end(old_lower):  # the branch and bound did not improve it
            details["branch_and_bound"]["note"] = "lower bound below the 1-D bound: unused"
            return None
        return bnb_decision(res, res.lower, "branch and bound", method=method,
                            upper=cand_upper, claimed=cand, assumptions=assumptions,
                            details=details, lower_source="interval branch-and-bound")

    def _certify_dual(self, spec: DeepLinearSpec, closed: ClosedForm, cand: flint.arb,
                      cand_upper: flint.arb, old_lower: flint.arb, details: dict[str, Any],
                      seconds: float) -> Certificate | None:
        """K = 3: branch and bound over the variational matrix B of the Schatten term
        (lemmas L16-L17, :mod:`ncproofs.certify.schatten_dual`), for at least
        DUAL_BNB_SECONDS.  Its lower bound is min(U, min Phi) with U the candidate point's
        value; None when it does not improve the 1-D bound."""
        upper = upper_end(cand_upper)
        C = schatten_constant(spec.L, spec.n[0], spec.lam_W, spec.lam_H)
        a_star = float(closed.minimizer.get("a", 0.0))
        problem = SchattenDualProblem(spec.L, C, upper, starts=[
            SchattenDualProblem.point_of_scale_for(spec.L, C, a_star)] if a_star > 0 else [])
        leaves: list[tuple[np.ndarray, np.ndarray]] = []
        res = bnb_minimize(problem, rel_gap=5e-10, max_seconds=max(seconds, env_seconds(
                               "NCPROOFS_DUAL_BNB_SECONDS", DUAL_BNB_SECONDS)),
                           polish=False, leaves=leaves)
        details = dict(details)
        details["branch_and_bound"] = res.as_dict() | {
            "problem": problem.name, "domain": problem.domain_proof(),
            "symmetry": "class permutations: 0 <= r2 <= sqrt(3) r1"}
        low = min(res.lower, upper)  # L16: g >= min(U, min over the domain of Phi)
        if low <= lower_end(old_lower):
            details["branch_and_bound"]["note"] = "lower bound below the 1-D bound: unused"
            return None
        proof = {"lower": {
            "kind": "schatten-dual", "domain_upper": str(Fraction(upper)),
            "b": float.hex(problem.b_max),
            "leaves": [[float.hex(float(v)) for pair in zip(lo, hi) for v in pair]
                       for lo, hi in leaves]}} if res.converged else None
        method = ("branch and bound over the variational matrix B of the reduced problem "
                  "min_X CE(Q X) + C tr (X X^T)^(1/(L+1)) (Jensen, factorization identity, "
                  "shift invariance, operator concavity, Fenchel-Young)")
        return bnb_decision(res, low, "branch and bound over B", method=method,
                            upper=cand_upper, claimed=cand, details=details, proof=proof,
                            assumptions=[JENSEN_LEMMA, DEPTH_IDENTITY, SHIFT_LEMMA,
                                         VARIATIONAL_LEMMA],
                            lower_source="interval branch and bound over B (L16-L17)")

    def _save(self, spec: DeepLinearSpec, point: dict[str, np.ndarray], layers: list,
              value: flint.arb, candidate: flint.arb) -> str:
        """The refuting point as npz in the user's --save-dir (path), else NOT_SAVED."""
        n = spec.n[0]
        name = (f"deep-linear-ce_K{spec.K}_n{n}_d{spec.d}_L{spec.L}_lamW{float(spec.lam_W):g}"
                f"_lamH{float(spec.lam_H):g}.npz")
        return save_npz(name, **point, labels=np.arange(spec.K), counts=np.array(spec.n),
                        value_upper=upper_end(value), candidate=float(candidate.mid()),
                        ranks=np.array([e["rank"] for e in layers]))

    def solve(self, spec: UFMSpec, *, device: str = "auto", starts: int = 8,
              seed: int = 0) -> NumericResult:
        assert isinstance(spec, DeepLinearSpec)
        res = solve_deep("ce", spec.n, spec.d, [float(spec.lam_W)] * spec.L,
                         float(spec.lam_H), bias=spec.bias, starts=starts, seed=seed,
                         device=device)
        summary = res.summary()
        best = res.best_point()
        layers = layer_metrics(res.objective, best, target="etf")
        summary["metrics"] = layer_summary(layers)
        summary["layers"] = layers
        return NumericResult(summary=summary, point=best)
