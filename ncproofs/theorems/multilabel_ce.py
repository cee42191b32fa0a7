r"""Li et al.: multi-label neural collapse under the pick-all-label CE loss.

Paper: P. Li, X. Li, Y. Wang, Q. Qu, "Neural Collapse in Multi-label Learning with
Pick-all-label Loss", ICML 2024 (arXiv 2310.15903), the global-optimality theorem of
the multi-label UFM ("MLab NC": ETF classifier, tag-wise average features).

Problem (ours, docs/conventions.md with a multi-label loss)::

    f(W, H, b) = (1/N) sum_i PAL(W h_i + b, S_i) + lam_W/2 |W|^2 + lam_H/2 |H|^2
                 + lam_b/2 |b|^2,        PAL(z, S) = sum_{k in S} CE(z, k).

Data: every label set S subset {1..K} with 1 <= |S| <= m carries n_{|S|} samples (``n``
is one int, or m ints: one per set size), N = sum_s n_s C(K, s).

Symbol map (paper -> ours): the paper's K, d, lambda_W, lambda_H, lambda_b, W, H, b are
ours; its loss is (1/N) sum_i L_PAL with the regularizers not divided by N, as ours (our
reading of their Eq. for the multi-label UFM); its multiplicity / maximal label-set size
is our m; its per-set sample counts are our n_s.

Statement checked (derived here).  By Jensen and the factorization identity the problem
is bounded below, for every d, by the convex relaxation on per-label-set mean logits
(module :mod:`ncproofs.certify.pal_dual`).  It is invariant under relabelling the classes,
so it has an equivariant minimizer z_S = a_s 1_S + const (s = |S|), and the constant is 0
(|M D|_* only grows).  With r^2 = sum_s n_s C(K-2, s-1) a_s^2 and t = sqrt(lam_W lam_H):

    F(a) = (1/N) sum_s n_s C(K,s) s [log(s e^{a_s} + K - s) - a_s] + t (K - 1) r.

Stationarity gives, for every size s, the *same* equation in one scalar mu:

    a_s (s e^{a_s} + K - s) = mu,      mu = K r / (N t),

which has a unique positive root iff sum_s n_s C(K-2, s-1) > N^2 lam_W lam_H (else a = 0,
W = H = 0).  For m = 1 it is Zhu et al.'s a* = log(1/t' - (K-1)), t' = sqrt(n lam_W lam_H).
Minimizer: b = 0; W = rho Q with Q Q^T = I - 11^T/K (a simplex ETF, d >= K - 1),
rho^2 = sqrt(lam_H/lam_W) r; the feature of label set S is h_S = (a_s/rho^2) sum_{k in S}
w_k -- a scaled sum of its classifier rows with a scale depending on |S| only.

Certificate.  Lower: the exact symmetric dual point q_s = 1/(s e^{a_s} + K - s), rounded to
rationals, feasibility checked exactly (any d).  Upper: the objective at the explicit
point of size d in interval arithmetic.  The cvxpy value of the relaxation is reported
(not rigorous) for small problems.  Assumptions: every label set of sizes 1..m present
with a count depending on its size only; d >= K - 1 for the explicit point.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from math import comb
from typing import Any

import flint
import mpmath
import numpy as np
import sympy as sp

from ..certify.certificate import Certificate
from ..certify.intervals import sympy_to_arb
from ..certify.pal_dual import pal_spectral_norm_sq, pal_symmetric_bound
from ..certify.provenance import EXACT_DUAL, FACTORIZATION, WEAK_DUALITY, jensen
from ..certify.relaxation import solve_relaxation
from ..certify.structure import (
    MAX_STRUCTURE_K,
    ClaimedLogits,
    StructureBound,
    plain_model_bound,
)
from ..certify.upper import interval_objective
from ..derive.reduction import DerivationStep
from ..geometry import etf_gram, simplex_etf
from ..losses import get_loss
from ..losses_multilabel import label_sets, multi_hot
from ..solve.lbfgs import minimize_multistart, resolve_device
from ..solve.ufm import UFMObjective, random_init
from ..spec import SpecError, UFMSpec, _to_int, param
from .base import ClosedForm, ExplicitPoint, NumericResult, Theorem, register

RELAXATION_MAX_COLUMNS = 40
_DIGITS = 60


@dataclasses.dataclass(frozen=True, kw_only=True)
class MultiLabelSpec(UFMSpec):
    """K classes, label sets of sizes 1..m, ``n`` samples per label set (one int, or m
    ints: per set size)."""

    n: tuple[int, ...] = param(
        "counts", range_text="int >= 1 or m ints",
        doc="samples per label set: an int, or m comma-separated ints (per set size)")
    m: int = param("int", 2, lower=1, range_text=">= 1 and <= K - 1",
                   doc="largest label-set size (label sets of sizes 1..m)")

    def _coerce_counts(self, raw: Any) -> tuple[int, ...]:
        K = _to_int("K", self.K)
        if K < 2:
            raise SpecError(f"K must be >= 2, got {K}")
        m = _to_int("m", self.m)
        if m < 1:
            raise SpecError(f"m must be >= 1 (label sets are nonempty: sizes 1..m), got {m}")
        if m > K - 1:
            raise SpecError(f"m must be <= K - 1 = {K - 1} (a set of all K labels carries no "
                            f"information), got {m}")
        if isinstance(raw, str):
            items = [s for s in raw.replace(" ", "").split(",") if s != ""]
            raw = items[0] if len(items) == 1 else items
        if isinstance(raw, (list, tuple)):
            counts = tuple(_to_int("n", x) for x in raw)
            if len(counts) != m:
                raise SpecError(f"n must be one int or a list of m = {m} ints (one per label-set "
                                f"size), got a list of {len(counts)}")
        else:
            counts = (_to_int("n", raw),) * m
        for c in counts:
            if c < 1:
                raise SpecError(f"n must be >= 1 for every label-set size, got {c}")
        return counts

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(range(1, self.m + 1))

    @property
    def sets(self) -> list[tuple[int, ...]]:
        return label_sets(self.K, self.sizes)

    @property
    def set_counts(self) -> tuple[int, ...]:
        return tuple(self.n[len(S) - 1] for S in self.sets)

    @property
    def N(self) -> int:
        return sum(ns * comb(self.K, s) for s, ns in zip(self.sizes, self.n))


# --------------------------------------------------------------------------- the reduction


def reduced_objective(spec: MultiLabelSpec, a: list) -> sp.Expr:
    """F(a) as an exact SymPy expression of the margins a_s (exact numbers)."""
    K, N = spec.K, spec.N
    t = sp.sqrt(sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
    data = sum(sp.Rational(ns * comb(K, s) * s, N) * (sp.log(s * sp.exp(a_s) + K - s) - a_s)
               for s, ns, a_s in zip(spec.sizes, spec.n, a))
    r = sp.sqrt(sum(ns * comb(K - 2, s - 1) * a_s**2 for s, ns, a_s in zip(spec.sizes, spec.n, a)))
    return data + t * (K - 1) * r


def collapse_condition(spec: MultiLabelSpec) -> bool:
    """True iff a* != 0:  sum_s n_s C(K-2, s-1) > N^2 lam_W lam_H (exact rationals)."""
    lhs = sum(ns * comb(spec.K - 2, s - 1) for s, ns in zip(spec.sizes, spec.n))
    return lhs > spec.N**2 * spec.lam_W * spec.lam_H


def solve_margins(spec: MultiLabelSpec, digits: int = _DIGITS) -> list[mpmath.mpf]:
    """The margins a_s at high precision: the root mu of
    mu = K sqrt(sum_s n_s C(K-2,s-1) a_s(mu)^2)/(N t), a_s(mu) = root of a(s e^a + K - s) = mu."""
    K, N = spec.K, spec.N
    with mpmath.workdps(digits + 20):
        t = mpmath.sqrt(mpmath.mpf(spec.lam_W.numerator) / spec.lam_W.denominator
                        * mpmath.mpf(spec.lam_H.numerator) / spec.lam_H.denominator)

        def a_of(mu, s):
            # f(a) = a (s e^a + K - s) - mu is increasing and convex on a >= 0: Newton from
            # a point with f >= 0 decreases monotonically to the root (never overshoots)
            a = mpmath.mpf(1)
            while a * (s * mpmath.exp(a) + K - s) < mu:
                a *= 2
            for _ in range(10000):
                e = s * mpmath.exp(a)
                fa = a * (e + K - s) - mu
                if fa <= 0:
                    break
                nxt = a - fa / (e * (1 + a) + K - s)
                if not nxt < a:
                    break
                a = nxt
            return a

        def G(u):
            # F(mu)/mu at mu = e^u: mu/r(mu) grows (a_s(mu) is concave with a_s(0) = 0), so
            # G increases from 1 - sqrt(sum n_s C(K-2,s-1))/(N t) < 0 (collapse) to 1
            mu = mpmath.exp(u)
            r = mpmath.sqrt(sum(ns * comb(K - 2, s - 1) * a_of(mu, s) * a_of(mu, s)
                                for s, ns in zip(spec.sizes, spec.n)))
            return 1 - K * r / (N * t * mu)

        lo, hi, step = mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(1)
        for _ in range(64):
            if G(lo) < 0:
                break
            lo -= step
            step *= 2
        else:
            raise ArithmeticError("no mu with F(mu) < 0: the collapse condition fails")
        step = mpmath.mpf(1)
        while G(hi) < 0:
            hi += step
            step *= 2
        mu = mpmath.exp(_increasing_root(G, lo, hi))
        return [a_of(mu, s) for s in spec.sizes]


def _increasing_root(f, lo: mpmath.mpf, hi: mpmath.mpf, max_iter: int = 4000) -> mpmath.mpf:
    """The root of an increasing f with f(lo) < 0 <= f(hi), to the working precision:
    Illinois (regula falsi with halving), a bisection step every third iteration; the
    bracket never loses the root, unlike mpmath's anderson (which raised at lam ~ 1e-6)."""
    flo, fhi = f(lo), f(hi)
    side = 0
    tol = 16 * mpmath.eps
    for i in range(max_iter):
        if hi - lo <= tol * max(abs(lo), abs(hi)) or hi - lo <= tol * tol:
            break
        x = (lo * fhi - hi * flo) / (fhi - flo) if fhi != flo else (lo + hi) / 2
        if i % 3 == 2 or not lo < x < hi:
            x = (lo + hi) / 2
        fx = f(x)
        if fx == 0:
            return x
        if fx < 0:
            lo, flo = x, fx
            if side == -1:
                fhi /= 2
            side = -1
        else:
            hi, fhi = x, fx
            if side == 1:
                flo /= 2
            side = 1
    return (lo + hi) / 2


def _rational(x: mpmath.mpf, digits: int = _DIGITS) -> sp.Rational:
    return sp.Rational(mpmath.nstr(x, digits, strip_zeros=False))


def explicit_point(spec: MultiLabelSpec, a: list[float]) -> ExplicitPoint:
    """W = rho Q (simplex ETF), h_S = (a_s/rho^2) sum_{k in S} w_k, b = 0."""
    K = spec.K
    lam_W, lam_H = float(spec.lam_W), float(spec.lam_H)
    r = float(np.sqrt(sum(ns * comb(K - 2, s - 1) * a_s**2
                          for s, ns, a_s in zip(spec.sizes, spec.n, a))))
    if r == 0:  # the origin: optimal in the zero regime for every d (no ETF needed)
        W, H = np.zeros((K, spec.d)), np.zeros((spec.d, len(spec.sets)))
    else:
        Q = simplex_etf(K, spec.d)
        rho2 = np.sqrt(lam_H / lam_W) * r
        W = np.sqrt(rho2) * Q
        H = np.stack([(a[len(S) - 1] / rho2) * W[list(S)].sum(axis=0) for S in spec.sets],
                     axis=1)
    arrays = {"W": W, "H": H}
    if spec.bias:
        arrays["b"] = np.zeros(K)
    return ExplicitPoint(arrays=arrays, labels=tuple(spec.sets), counts=spec.set_counts)


@register
class MultiLabelCrossEntropy(Theorem):
    id = "multilabel-ce"
    title = "Multi-label pick-all-label CE: ETF classifier, tag-wise average features (Li et al.)"
    citation = (
        "P. Li, X. Li, Y. Wang, Q. Qu, Neural Collapse in Multi-label Learning with "
        "Pick-all-label Loss, ICML 2024 (arXiv 2310.15903), global-optimality theorem"
    )
    symbol_map = (
        "paper K, d, lambda_W, lambda_H, lambda_b, W, H, b = ours; paper's maximal label-set "
        "size = our m; samples per label set of size s = our n_s; loss (1/N) sum L_PAL"
    )
    spec_type = MultiLabelSpec
    default_cases = (
        {"params": {"K": 4, "m": 2, "n": 2, "d": 3, "lam_W": "1e-3", "lam_H": "1e-3"},
         "expect": "certified"},
        {"params": {"K": 4, "m": 2, "n": "3,1", "d": 5, "lam_W": "5e-3", "lam_H": "2e-3",
                    "lam_b": "1e-2"}, "expect": "certified"},
        {"params": {"K": 3, "m": 1, "n": 4, "d": 2, "lam_W": "1e-2", "lam_H": "1e-2",
                    "bias": "false"}, "expect": "certified"},
        {"params": {"K": 4, "m": 2, "n": 1, "d": 3, "lam_W": "0.2", "lam_H": "0.2"},
         "expect": "certified"},
        {"params": {"K": 3, "m": 2, "n": 1, "d": 1, "lam_W": "1e-3", "lam_H": "1e-3"},
         "expect": "not-applicable"},
    )

    # ------------------------------------------------------------------ derivation

    def derive_general(self) -> list[DerivationStep]:
        a, s, K, N, mu, r = sp.symbols("a_s s K N mu r", positive=True)
        t, n_s = sp.symbols("t n_s", positive=True)
        loss = get_loss("pal-ce")
        ell = loss.sympy_set_margin(a, s, K)
        C = sp.Function("C")
        F_term = n_s * C(K, s) * ell / N
        dF = sp.simplify(sp.diff(ell, a))
        # d/da_s of t (K-1) r with r^2 = sum n_s C(K-2,s-1) a_s^2
        stat = sp.Eq(n_s * C(K, s) * dF / N + t * (K - 1) * n_s * C(K - 2, s - 1) * a / r, 0)
        # C(K,s) s (K-s) = K (K-1) C(K-2, s-1)
        reduced = sp.Eq(a * (s * sp.exp(a) + K - s), mu)
        return [
            DerivationStep("Relaxation on per-label-set mean logits z_S = M e_S (Jensen + "
                           "factorization identity, any d): sum_S w_S PAL(z_S, S) + t |M D|_*, "
                           "t = sqrt(lam_W lam_H), D = diag(sqrt n_S)", sp.Symbol("F(M)")),
            DerivationStep("Equivariant minimizer z_S = a_s 1_S (+ const, which only raises "
                           "|M D|_*): the PAL loss of a set of size s", ell),
            DerivationStep("|P E A D|_* = (K-1) r, since sum_{|S|=s} P 1_S 1_S^T P = "
                           "C(K-2, s-1) P", sp.Eq(r**2, sp.Sum(n_s * C(K - 2, s - 1) * a**2,
                                                              (s, 1, sp.Symbol("m"))))),
            DerivationStep("Reduced objective term for size s", F_term),
            DerivationStep("Stationarity in a_s", stat),
            DerivationStep("With C(K,s) s (K-s) = K (K-1) C(K-2,s-1) this is, for every s, "
                           "one equation with a common mu = K r/(N t)", reduced),
            DerivationStep("Collapse (a != 0) iff the slope at 0 exceeds the norm's "
                           "subgradient: sum_s n_s C(K-2,s-1) > N^2 lam_W lam_H",
                           sp.Symbol("condition")),
            DerivationStep("m = 1 check: a (e^a + K - 1) = a/t' gives Zhu et al.'s margin",
                           sp.Eq(sp.Symbol("a^*"),
                                 sp.log(1 / sp.Symbol("t'") - (K - 1)))),
            DerivationStep("Minimizer: b = 0, W = rho Q (Q Q^T = I - 11^T/K), rho^2 = "
                           "sqrt(lam_H/lam_W) r, features", sp.Eq(
                               sp.Symbol("h_S"),
                               a / sp.Symbol("rho") ** 2 * sp.Symbol("sum_{k in S} w_k"))),
        ]

    def _margins(self, spec: MultiLabelSpec) -> tuple[list, list[float]]:
        """(exact margins as SymPy numbers, floats)."""
        if not collapse_condition(spec):
            return [sp.Integer(0)] * spec.m, [0.0] * spec.m
        if spec.m == 1:
            t = sp.sqrt(spec.n[0] * sp.Rational(spec.lam_W) * sp.Rational(spec.lam_H))
            a = sp.log(1 / t - (spec.K - 1))
            return [a], [float(a)]
        roots = solve_margins(spec)
        return [_rational(x) for x in roots], [float(x) for x in roots]

    def closed_form(self, spec: MultiLabelSpec) -> ClosedForm:
        exact, a = self._margins(spec)
        value = reduced_objective(spec, exact)
        collapsed = any(x != 0 for x in a)
        regime = ("collapse (ETF classifier, tag-wise average features)" if collapsed
                  else "zero (W = H = 0)")
        r = float(np.sqrt(sum(ns * comb(spec.K - 2, s - 1) * x**2
                              for s, ns, x in zip(spec.sizes, spec.n, a))))
        rho2 = float(np.sqrt(float(spec.lam_H) / float(spec.lam_W))) * r
        summary: dict[str, Any] = {
            "geometry": "W rows a simplex ETF (scale rho); h_S = c_|S| sum_{k in S} w_k; b = 0",
            "margins": {str(s): x for s, x in zip(spec.sizes, a)},
            "feature_scales": {str(s): (x / rho2 if rho2 else 0.0)
                               for s, x in zip(spec.sizes, a)},
            "rho": float(np.sqrt(rho2)), "label_sets": len(spec.sets), "N": spec.N,
            "margins_exact": "closed form" if spec.m == 1 else
                             f"rational to {_DIGITS} digits (root of a(s e^a + K - s) = mu)",
        }
        steps = [
            DerivationStep("collapse condition sum n_s C(K-2,s-1) > N^2 lam_W lam_H",
                           sp.Symbol(str(collapse_condition(spec)))),
            DerivationStep("margins a_s", sp.Matrix([sp.N(x, 20) for x in exact])),
            DerivationStep("f* = F(a*)", sp.N(value, 20)),
        ]
        if collapsed and spec.d < spec.K - 1:
            return ClosedForm(objective=value, regime=regime, minimizer=summary, steps=steps,
                              applicable=False,
                              reason=f"d = {spec.d} < K - 1 = {spec.K - 1}: the ETF classifier "
                                     "does not fit in R^d (the relaxation is not tight)")
        return ClosedForm(objective=value, regime=regime, minimizer=summary,
                          point=explicit_point(spec, a), steps=steps)

    # ------------------------------------------------------------------ certificate

    def dual_q(self, spec: MultiLabelSpec, a: list[float]) -> list[Fraction]:
        """Rational q_s = 1/(s e^{a_s} + K - s), shrunk until exactly feasible."""
        K = spec.K
        if all(x == 0 for x in a):
            return [Fraction(1, K)] * spec.m
        exact, _ = self._margins(spec)
        q = [Fraction(str(sp.N(1 / (s * sp.exp(x) + K - s), 40)))
             for s, x in zip(spec.sizes, exact)]
        shrink = Fraction(1) - Fraction(1, 10**30)
        for _ in range(200):
            if pal_spectral_norm_sq(K, spec.sizes, spec.n, q) <= spec.lam_W * spec.lam_H:
                return q
            q = [x * shrink for x in q]
            shrink = 1 - 2 * (1 - shrink)
        return [Fraction(0)] * spec.m  # pragma: no cover - the trivial (weak) dual point

    def certify(self, spec: MultiLabelSpec, closed: ClosedForm) -> Certificate:
        method = ("relaxation on per-label-set mean logits + exact symmetric PAL dual (lower); "
                  "interval objective at the explicit point (upper)")
        # (every label set of size 1..m present, count by size: the problem's data, fixed
        # by the spec -- a hypothesis of the theorem, not an assumption of the bound)
        assumptions = [jensen("PAL (pick-all-label CE)"), FACTORIZATION, WEAK_DUALITY]
        _, a = self._margins(spec)
        q = self.dual_q(spec, a)
        lower = pal_symmetric_bound(spec.K, spec.sizes, spec.n, q, spec.lam_W, spec.lam_H)
        details: dict[str, Any] = {"dual": lower.details | {"method": lower.method}}
        if len(spec.sets) <= RELAXATION_MAX_COLUMNS:
            relax = solve_relaxation(get_loss("pal-ce"), spec.set_counts, spec.lam_W,
                                     spec.lam_H, spec.lam_b, spec.bias, solver="CLARABEL",
                                     labels=spec.sets, K=spec.K)
            details["relaxation"] = {"value": relax.value, "solver": relax.solver,
                                     "status": relax.status, "seconds": relax.seconds,
                                     "rigorous": False,
                                     "rank": int(np.linalg.matrix_rank(relax.M, tol=1e-6))}
        return self.conclude(spec, closed, method=method, lower=lower.value,
                             assumptions=assumptions, details=details,
                             lower_source=EXACT_DUAL,
                             proof={"lower": lower.proof})

    def upper_bound(self, spec: MultiLabelSpec, point: ExplicitPoint) -> Any:
        a = point.arrays
        return interval_objective(get_loss("pal-ce"), a["W"], a["H"], a.get("b"),
                                  point.labels, point.counts, spec.lam_W, spec.lam_H,
                                  spec.lam_b)

    # ------------------------------------------------------------------ certified geometry

    def structure_bound(self, spec: MultiLabelSpec, closed: ClosedForm,
                        cert: Certificate) -> StructureBound | dict[str, Any] | None:
        """PAL over S is |S| logsumexp(z) - sum_{k in S} z_k: strictly convex in the centred
        per-label-set logits with Hessian >= |S| p_min on 1-perp; the claim is
        M e_S = a_|S| (1_S - |S|/K 1) (ETF classifier, tag-wise average features), b = 0."""
        if closed.point is None or cert.lower_bound is None or cert.upper_bound is None:
            return None
        if max(spec.K, len(spec.sets)) > MAX_STRUCTURE_K:
            return {"status": "not-computed",
                    "reason": f"{len(spec.sets)} label sets > {MAX_STRUCTURE_K}: the dense "
                              "interval logits would cost too much"}
        exact, _ = self._margins(spec)
        K = spec.K
        margins = [sympy_to_arb(x) for x in exact]
        columns = [[margins[len(S) - 1] * ((1 if k in S else 0) - flint.arb(len(S)) / K)
                    for k in range(K)] for S in spec.sets]
        claim = ClaimedLogits(tuple(tuple(c) for c in columns),
                              tuple([flint.arb(0)] * K) if spec.bias else None,
                              "per-label-set mean logits a_|S| (1_S - |S|/K 1), b = 0 (ETF "
                              "classifier, tag-wise average features)")
        arrays = closed.point.arrays
        return plain_model_bound(
            kind="softmax", W=arrays["W"], H=arrays["H"], b=arrays.get("b"),
            counts=closed.point.counts, lam_W=spec.lam_W, lam_H=spec.lam_H, lam_b=spec.lam_b,
            claim=claim, lower=cert.lower_bound, upper=cert.upper_bound,
            curvature_factors=[len(S) for S in spec.sets])

    # ------------------------------------------------------------------ numeric

    def solve(self, spec: MultiLabelSpec, *, device: str = "auto", starts: int = 8,
              seed: int = 0) -> NumericResult:
        dev = resolve_device(device)
        Y = multi_hot(spec.sets, spec.set_counts, spec.K).to(dev)
        objective = UFMObjective(spec, get_loss("pal-ce"), Y)
        result = minimize_multistart(objective, random_init(spec, starts, seed, dev), tol=1e-10)
        i = result.best
        best = {k: v[i].cpu().numpy() for k, v in result.params.items()}
        summary: dict[str, Any] = {
            "objective": float(result.values[i]), "grad_norm": float(result.grad_norms[i]),
            "iterations": result.iterations, "seconds": result.seconds,
            "device": result.device, "starts": starts, "converged": result.converged,
            "start_objectives": [float(v) for v in result.values],
        }
        summary["metrics"] = multilabel_metrics(spec, best["W"], best["H"])
        return NumericResult(summary=summary, point=best)


def multilabel_metrics(spec: MultiLabelSpec, W: np.ndarray, H: np.ndarray) -> dict[str, float]:
    """Collapse diagnostics of a numeric solution (H is d x N, sets in ``spec.sets`` order):
    within-set spread (max |h_i - mean_S|/|mean_S|), NC2_W (Frobenius distance of the
    normalized W W^T to the ETF Gram) and the tag-wise residual (relative distance of the
    set means to the best fit c_|S| sum_{k in S} w_k, one c per size)."""
    counts = spec.set_counts
    starts = np.concatenate([[0], np.cumsum(counts)])
    means = np.stack([H[:, starts[j]:starts[j + 1]].mean(axis=1) for j in range(len(counts))],
                     axis=1)
    spread = max(float(np.linalg.norm(H[:, starts[j]:starts[j + 1]] - means[:, [j]], axis=0).max()
                       / max(np.linalg.norm(means[:, j]), 1e-300)) for j in range(len(counts)))
    G = W @ W.T
    target = etf_gram(spec.K)
    nc2 = float(np.linalg.norm(G / np.linalg.norm(G) - target / np.linalg.norm(target)))
    resid, scale = 0.0, 0.0
    for s in spec.sizes:
        cols = [j for j, S in enumerate(spec.sets) if len(S) == s]
        B = np.stack([W[list(spec.sets[j])].sum(axis=0) for j in cols], axis=1)
        Mj = means[:, cols]
        c = float((B * Mj).sum() / max((B * B).sum(), 1e-300))
        resid += float(np.linalg.norm(Mj - c * B) ** 2)
        scale += float(np.linalg.norm(Mj) ** 2)
    return {"within_set_spread": spread, "NC2_W": nc2,
            "tagwise_residual": float(np.sqrt(resid / max(scale, 1e-300)))}

