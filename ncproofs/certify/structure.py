r"""Certified geometry: uniqueness of the optimal class-mean logits and a rigorous radius
r(eps) around them for every eps-optimal point (docs/certificates.md, "Certified geometry").

Setting (paper-agnostic).  A certified value comes with a rigorous lower bound L on the
optimum g* of a convex relaxation and the rigorous value U >= f(P0) of an explicit point
P0, with g* <= f* <= U.  The relaxation is

    g(x) = phi(Z(x)) + psi(x),

where x holds the relaxation's variables (class-mean logits M, bias b, or a Gram matrix),
Z(x) is linear (the class-mean logits, one column z_k per class), phi(Z) =
sum_k w_k loss(z_k, k) is smooth and psi is convex (nuclear norm, lam_b/2|b|^2, the
indicator of a convex set).  Every point P of the original problem maps to x(P) with
g(x(P)) + slack(P) <= f(P), slack >= 0 (Jensen + the factorization identity); for the
plain model slack >= lam_H/2 * (within-class scatter of the features).

The theorem supplies a curvature bound: on the convex set S_rho = {x : |Z(x) - Z0|_w <=
rho} (a ball around the explicit point's logits Z0 in the seminorm |Delta|_w^2 =
sum_k w_k |P Delta_k|^2, P the projection onto the directions in which the loss is
strictly convex), phi has second derivative >= mu(rho) |Delta|_w^2 along every segment.

Lemma (growth between two near-optimal points).  If x, y lie in S_rho with
g(x) <= g* + delta and g(y) <= g* + delta0, then for theta in (0, 1)

    g* <= g(theta x + (1-theta) y) <= theta g(x) + (1-theta) g(y)
                                       - theta (1-theta) mu/2 |Z(x) - Z(y)|_w^2,

and optimizing theta gives  |Z(x) - Z(y)|_w <= R(mu) = sqrt(2/mu) (sqrt(delta) + sqrt(delta0)).
Strongly convex parts of psi (lam_b/2 |b|^2) add theta(1-theta) lam_b/2 |b(x) - b(y)|^2 and
give the same bound with mu replaced by lam_b.

Localization.  If rho > R(mu(rho)), every x with g(x) <= g* + delta (delta >= delta0)
lies in S_rho: otherwise the segment from x(P0) to x leaves S_rho at a point x' with
|Z(x') - Z0|_w = rho and g(x') <= g* + delta (convexity), and the lemma gives
rho <= R(mu(rho)).  No minimizer needs to exist and none is assumed.  Where no such rho
is found, :meth:`StructureBound.path_bound` integrates the curvature along the segment
instead and gives a (coarser) radius directly.

Radius.  For P with f(P) <= f* + eps: delta = g(x(P)) - g* <= U + eps - L and
delta0 = g(x(P0)) - g* <= U - L, hence

    |Z(P) - Z0|_w <= sqrt(2/mu) (sqrt(U - L + eps) + sqrt(U - L)),

and the distance to the claimed logits adds |Z0 - Z_claim|_w (computed in intervals).
Uniqueness: two minimizers of g (delta = delta0 = 0) in S_rho have the same P Z.
Within-class scatter: lam_H/2 S_W <= f(P) - g(x(P)) <= U + eps - L.

Everything is evaluated in python-flint ``arb`` balls and reported through the outward
rounded upper end, so each reported radius is a rigorous upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import flint

from .certificate import lower_end, upper_end

#: eps values reported besides the certified gap
REPORTED_EPS = (1e-6,)
#: the claimed geometry counts as certified when every global minimizer lies within this
#: fraction of max(1, |claimed logits|_F) of the claim
GEOMETRY_REL_TOL = 1e-3
#: localization: the ball radius is grown by this factor until rho > R(mu(rho))
_GROWTH = 1.25
_MAX_STEPS = 200

CERTIFIED = "certified"
INCONCLUSIVE = "inconclusive"


class Curvature:
    """A lower bound mu(rho) on the curvature of phi on S_rho, in the seminorm |.|_w."""

    description: str = ""

    def modulus(self, rho: flint.arb) -> flint.arb:
        raise NotImplementedError

    @property
    def global_bound(self) -> bool:
        """True when mu(rho) does not depend on rho (no localization needed)."""
        return False


@dataclass(frozen=True)
class QuadraticCurvature(Curvature):
    """phi is exactly quadratic with Hessian ``value`` times the identity per column
    (MSE: 1/2|z - y|^2 has Hessian I)."""

    value: flint.arb
    description: str = "exact quadratic: Hessian of 1/2|z - y|^2 is the identity"

    def modulus(self, rho: flint.arb) -> flint.arb:
        return self.value

    @property
    def global_bound(self) -> bool:
        return True


def softmax_min_probability(column: Sequence[flint.arb]) -> flint.arb:
    """An exact lower bound on min_j softmax(z)_j (exp(z_j - logsumexp z), computed after
    subtracting the largest midpoint so that exp cannot overflow)."""
    top = max(float(z.mid()) for z in column)
    shifted = [z - top for z in column]
    lse = sum((z.exp() for z in shifted), flint.arb(0)).log()
    return flint.arb(min(lower_end((z - lse).exp()) for z in shifted))


@dataclass(frozen=True)
class SoftmaxCurvature(Curvature):
    r"""Log-sum-exp losses (CE, label-smoothed CE: loss(z) = logsumexp(z) - t^T z).

    Hessian diag(p) - p p^T with p = softmax(z); for v orthogonal to 1,
    v^T (diag p - p p^T) v = Var_p(v) >= p_min |v - mean(v)|^2 = p_min |v|^2.  On S_rho
    the centred column k moves by v with |v| <= rho / sqrt(w_k), each log p_j by at most
    max v - min v <= sqrt(2) |v|, so p_min >= pi_k exp(-sqrt(2) rho / sqrt(w_k)) with
    pi_k = min_j softmax(z0_k)_j at the explicit point."""

    pi: tuple[flint.arb, ...]  # min softmax probability of each centre column
    weights: tuple[flint.arb, ...]
    description: str = ("log-sum-exp: Hessian on 1-perp >= min softmax probability, "
                        "bounded on the ball around the explicit point")

    @classmethod
    def at_columns(cls, columns: Sequence[Sequence[flint.arb]],
                   weights: Sequence[flint.arb],
                   factors: Sequence[int] | None = None) -> SoftmaxCurvature:
        """``factors[k]``: column k's loss is factors[k] logsumexp(z) + linear."""
        factors = [1] * len(columns) if factors is None else list(factors)
        return cls(tuple(softmax_min_probability(c) * f for c, f in zip(columns, factors)),
                   tuple(weights))

    def modulus(self, rho: flint.arb) -> flint.arb:
        sqrt2 = flint.arb(2).sqrt()
        return flint.arb(min(lower_end(p * (-sqrt2 * rho / w.sqrt()).exp())
                             for p, w in zip(self.pi, self.weights)))

    def exponential_form(self) -> tuple[flint.arb, flint.arb]:
        """(pi, beta) with mu(rho) >= pi exp(-beta rho) for every rho >= 0."""
        pi = flint.arb(min(lower_end(p) for p in self.pi))
        w_min = min(self.weights, key=lambda w: float(w.lower()))
        return pi, flint.arb(2).sqrt() / w_min.sqrt()


@dataclass(frozen=True)
class StrongTerm:
    """A strongly convex part of psi (e.g. lam_b/2 |b|^2) with the distance of the
    explicit point's value of that variable from the claim."""

    name: str
    modulus: flint.arb
    offset: flint.arb  # |b0 - b_claim| (upper bound)


@dataclass
class StructureBound:
    """The data of the argument above; :meth:`radius` and :meth:`as_dict` evaluate it."""

    identified: str          # the unique quantity, e.g. "centred class-mean logits P Z"
    claim: str               # the closed form's geometry, in words
    lower: flint.arb         # L (rigorous lower bound on g*)
    upper: flint.arb         # U (rigorous value of the explicit point, >= f*)
    weights: tuple[flint.arb, ...]
    curvature: Curvature
    offset_w: flint.arb      # |Z0 - Z_claim|_w
    offset_frobenius: flint.arb  # |P (Z0 - Z_claim)|_F
    claim_norm: flint.arb    # |P Z_claim|_F
    strong_terms: tuple[StrongTerm, ...] = ()
    scatter_modulus: flint.arb | None = None   # lam_H / 2 (None: no feature slack)
    feature_energy: flint.arb | None = None    # sum_k n_k |h_k|^2 of the explicit point
    notes: list[str] = field(default_factory=list)
    #: further rigorous bounds derived from eps and the radii (e.g. the uncentred logits
    #: of a shift-invariant loss); returns entries added to :meth:`radius`
    extra: Callable[[flint.arb, dict[str, flint.arb]], dict[str, flint.arb]] | None = None
    #: the radius entry that decides whether the claimed geometry is certified
    criterion: str = "logits_frobenius"

    @property
    def gap(self) -> flint.arb:
        """U - L, rounded up (a larger gap only enlarges every radius)."""
        return flint.arb(max(0.0, upper_end(self.upper - self.lower)))

    def _growth(self, eps: float, modulus: flint.arb) -> flint.arb:
        """R = sqrt(2/mu) (sqrt(gap + eps) + sqrt(gap))."""
        gap = self.gap
        return (2 / modulus).sqrt() * ((gap + flint.arb(eps)).sqrt() + gap.sqrt())

    def localize(self, eps: float) -> tuple[flint.arb, flint.arb] | None:
        """(rho, mu) with rho > R(mu(rho)): every (U - L + eps)-suboptimal point of the
        relaxation lies in S_rho, where the curvature is >= mu.  None if none is found."""
        if self.curvature.global_bound:
            mu = self.curvature.modulus(flint.arb(0))
            return (flint.arb(math.inf), mu) if float(mu.lower()) > 0 else None
        mu0 = self.curvature.modulus(flint.arb(0))
        if not float(mu0.lower()) > 0:
            return None
        rho = flint.arb(upper_end(self._growth(eps, mu0)) * _GROWTH)
        for _ in range(_MAX_STEPS):
            mu = self.curvature.modulus(rho)
            if not float(mu.lower()) > 0:
                return None
            needed = self._growth(eps, mu)
            if needed < rho:
                return rho, mu
            rho = flint.arb(upper_end(needed) * _GROWTH)
            if not math.isfinite(float(rho.mid())):
                return None
        return None

    def path_bound(self, eps: float) -> flint.arb | None:
        r"""A radius D_hat with |Z(x) - Z0|_w < D_hat for every (U - L + eps)-suboptimal x,
        from the curvature integrated along the segment x0 -> x (used when the ball
        argument does not localize).

        On the segment x(s) = x0 + s (x - x0), D = |Z(x) - Z0|_w, h(s) = g(x(s)) is convex
        with h'' >= D^2 mu(s D) >= D^2 pi exp(-beta s D), so for every s in (0, 1)
        (Green's function of the segment, dropping its part on (s, 1), which is >= 0)

            g* <= h(s) <= (1-s) h(0) + s h(1) - (1-s) pi int_0^{sD} v e^{-beta v} dv,

        i.e. D is excluded when (1-s) pi (1 - (1 + beta s D) e^{-beta s D}) / beta^2 >
        (1-s) delta0 + s delta.  The left side increases with D, so once D_hat is excluded
        by some s every larger D is too."""
        if not isinstance(self.curvature, SoftmaxCurvature):
            return None
        pi, beta = self.curvature.exponential_form()
        if not float(pi.lower()) > 0:
            return None
        delta0, delta = self.gap, self.gap + flint.arb(eps)
        grid = [flint.arb(k) / 64 for k in range(1, 64)]
        D = flint.arb(upper_end(self._growth(eps, pi)))
        for _ in range(_MAX_STEPS):
            for s in grid:
                x = beta * s * D
                gain = (1 - s) * pi * (1 - (1 + x) * (-x).exp()) / (beta * beta)
                if gain > (1 - s) * delta0 + s * delta:
                    return D
            D = D * _GROWTH
        return None

    def radius(self, eps: float) -> dict[str, float] | None:
        """Rigorous upper bounds for every point P with f(P) <= f* + eps: distance of its
        identified logits from the claim (weighted and Frobenius), of each strongly
        convex variable, and its within-class scatter.  None if localization fails."""
        located = self.localize(eps)
        if located is not None:
            rho, mu = located
            spread = self._growth(eps, mu)
        else:  # the ball argument failed: the path bound is itself a radius
            spread = self.path_bound(eps)
            if spread is None:
                return None
            rho, mu = spread, self.curvature.modulus(spread)
        min_weight = min(self.weights, key=lambda w: float(w.lower()))
        balls: dict[str, flint.arb] = {
            "logits_weighted": spread + self.offset_w,
            "logits_frobenius": spread / min_weight.sqrt() + self.offset_frobenius,
        }
        scale = self.claim_norm if float(self.claim_norm.lower()) >= 1 else flint.arb(1)
        balls["logits_relative"] = balls["logits_frobenius"] / scale
        for term in self.strong_terms:
            balls[term.name] = self._growth(eps, term.modulus) + term.offset
        if self.scatter_modulus is not None:
            scatter = (self.gap + flint.arb(eps)) / self.scatter_modulus
            balls["within_class_scatter"] = scatter
            if self.feature_energy is not None and float(self.feature_energy.lower()) > 0:
                balls["within_class_scatter_relative"] = scatter / flint.arb(
                    self.feature_energy.lower())
        if self.extra is not None:
            balls.update(self.extra(flint.arb(eps), balls))
        out: dict[str, Any] = {
            "eps": eps,
            "modulus": float(mu.lower()),
            "ball_radius": upper_end(rho) if rho.is_finite() else None,
        }
        out.update({name: upper_end(value) for name, value in balls.items()})
        return out

    def minimizer_radius(self) -> float | None:
        """Every global minimizer P of f (f(P) = f*, so eps = 0) lies this close (Frobenius)
        to the claimed logits."""
        r = self.radius(0.0)
        return None if r is None else r[self.criterion]

    def as_dict(self, eps_values: Sequence[float] = REPORTED_EPS) -> dict[str, Any]:
        gap = upper_end(self.gap)
        radii = [self.radius(e) for e in (gap, *eps_values)]
        r_min = self.minimizer_radius()
        scale = max(1.0, float(self.claim_norm.lower()))
        out: dict[str, Any] = {
            "identified": self.identified,
            "claim": self.claim,
            "curvature": self.curvature.description,
            "gap": gap,
            "offset_from_claim": upper_end(self.offset_frobenius),
        }
        if r_min is None:
            out.update(status=INCONCLUSIVE, unique=None,
                       reason="no ball around the explicit point with enough curvature was "
                              "found (localization failed)")
            return out
        # far from the optimum the curvature bound may not localize: no radius for that eps
        radii = [r if r is not None else
                 {"eps": e, "localized": False,
                  "reason": "no ball with enough curvature contains every eps-optimal point"}
                 for e, r in zip((gap, *eps_values), radii)]
        ok = r_min <= GEOMETRY_REL_TOL * scale
        out.update(
            status=CERTIFIED if ok else INCONCLUSIVE,
            unique=True,
            uniqueness=(f"strictly convex in the {self.identified} on a ball containing every "
                        "(gap + eps)-optimal point: the minimizers share one value"),
            minimizer_radius=r_min,
            radii=radii,
            criterion=self.criterion,
            reason=(f"every global minimizer lies within {r_min:.3e} (Frobenius) of the claim"
                    if ok else f"the certified radius {r_min:.3e} around the claim exceeds "
                    f"{GEOMETRY_REL_TOL:g} x {scale:.3g}: the claimed geometry is not "
                    "certified"),
        )
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def weighted_norm(delta: Sequence[Sequence[flint.arb]],
                  weights: Sequence[flint.arb]) -> tuple[flint.arb, flint.arb]:
    """(|Delta|_w, |Delta|_F) of a list of columns: sqrt(sum_k w_k |Delta_k|^2)."""
    weighted = flint.arb(0)
    plain = flint.arb(0)
    for column, w in zip(delta, weights):
        sq = sum((x * x for x in column), flint.arb(0))
        weighted += w * sq
        plain += sq
    return _sqrt_nonneg(weighted), _sqrt_nonneg(plain)


def _sqrt_nonneg(x: flint.arb) -> flint.arb:
    """sqrt of a ball known to enclose a nonnegative number (a sum of squares)."""
    upper = flint.arb(x.upper())
    return flint.arb(0).union(upper.sqrt()) if float(x.lower()) <= 0 else x.sqrt()


def _square(x: flint.arb) -> flint.arb:
    """x^2 (python-flint's pow of a ball containing 0 is nan, so multiply)."""
    return x * x


def centre(column: Sequence[flint.arb]) -> list[flint.arb]:
    """P v = v - mean(v) 1 (the component seen by a shift-invariant loss)."""
    mean = sum(column, flint.arb(0)) / len(column)
    return [x - mean for x in column]


#: the dense K x K interval logits cost O(K^2 d); beyond this K the block is not computed
MAX_STRUCTURE_K = 300


@dataclass(frozen=True)
class ClaimedLogits:
    """A closed form's geometry as exact class-mean logits: columns z_k = M e_k + b
    (balls of exact expressions), the claimed bias (or None) and the claim in words."""

    columns: tuple[tuple[flint.arb, ...], ...]
    bias: tuple[flint.arb, ...] | None
    text: str
    #: True when the theorem knows M_claim D to be symmetric positive semidefinite
    #: (a (I - 11^T/K) with a >= 0, x J + y 11^T/K with x, y >= 0, diag(x_k >= 0)): then
    #: the self-duality (NC3) bound applies
    psd: bool = False

    @classmethod
    def from_matrix(cls, Z: Sequence[Sequence[flint.arb]], bias: Sequence[flint.arb] | None,
                    text: str, psd: bool = False) -> ClaimedLogits:
        """From a K x m row-major matrix of balls."""
        m = len(Z[0])
        return cls(tuple(tuple(row[k] for row in Z) for k in range(m)),
                   None if bias is None else tuple(bias), text, psd)


def plain_model_bound(
    *,
    kind: str,
    W: Any,
    H: Any,
    b: Any | None,
    counts: Sequence[int],
    lam_W: Any,
    lam_H: Any,
    lam_b: Any,
    claim: ClaimedLogits,
    lower: float,
    upper: float,
    logit_scale: Any = 1,
    curvature_factors: Sequence[int] | None = None,
) -> StructureBound:
    r"""The argument for the plain model f(W, H, b) = sum_k (n_k/N) loss(W h + b) + weight
    decay, at a certified explicit collapsed point (W, H: one column per class, b).

    ``kind`` "softmax" (CE, label smoothing: the centred logits P Z are identified) or
    "quadratic" (MSE: Z itself).  With lam_b > 0 the bias is identified too.  The logits
    are ``logit_scale`` W h + b (a temperature for models on the sphere, where lam_W =
    lam_H = 0: no scatter or uncentred bound then).  ``curvature_factors[k]`` multiplies
    column k's Hessian bound (pick-all-label CE over a label set S is |S| logsumexp(z) -
    sum_{k in S} z_k: factor |S|)."""
    import numpy as np

    from .intervals import arb_matrix, arb_of

    if kind not in ("softmax", "quadratic"):
        raise ValueError(f"kind must be 'softmax' or 'quadratic', got {kind!r}")
    N = sum(counts)
    weights = tuple(arb_of(n) / N for n in counts)
    Z0 = arb_matrix(W) * arb_matrix(H) * arb_of(logit_scale)
    K, m = Z0.nrows(), Z0.ncols()
    b_arb = None if b is None else [flint.arb(float(v)) for v in np.ravel(b)]
    columns0 = [[Z0[i, k] + (0 if b_arb is None else b_arb[i]) for i in range(K)]
                for k in range(m)]
    project = centre if kind == "softmax" else list
    identified0 = [project(c) for c in columns0]
    identified_claim = [project(list(c)) for c in claim.columns]
    delta = [[x - y for x, y in zip(c0, c1)] for c0, c1 in zip(identified0, identified_claim)]
    offset_w, offset_f = weighted_norm(delta, weights)
    _, claim_norm = weighted_norm(identified_claim, weights)
    if kind == "softmax":
        curvature: Curvature = SoftmaxCurvature.at_columns(identified0, weights,
                                                           curvature_factors)
        identified = "centred class-mean logits P Z (P = I - 11^T/K, Z = W Hbar + b 1^T)"
    else:
        curvature = QuadraticCurvature(flint.arb(1))
        identified = "class-mean logits Z = W Hbar + b 1^T"
    strong: list[StrongTerm] = []
    if b is not None and lam_b != 0:
        claimed_b = claim.bias if claim.bias is not None else [flint.arb(0)] * K
        offset_b = _sqrt_nonneg(sum(((x - y) * (x - y) for x, y in zip(b_arb, claimed_b)),
                                    flint.arb(0)))
        strong.append(StrongTerm("bias", arb_of(lam_b), offset_b))
    H_arr = np.asarray(H, dtype=np.float64)
    energy = flint.arb(0)
    for k, n in enumerate(counts):
        energy += sum((flint.arb(float(x)) * float(x) for x in H_arr[:, k]), flint.arb(0)) * n
    bound = StructureBound(
        identified=identified, claim=claim.text, lower=flint.arb(lower),
        upper=flint.arb(upper), weights=weights, curvature=curvature, offset_w=offset_w,
        offset_frobenius=offset_f, claim_norm=claim_norm, strong_terms=tuple(strong),
        scatter_modulus=arb_of(lam_H) / 2 if lam_H != 0 else None, feature_energy=energy,
    )
    if lam_W == 0 or lam_H == 0:
        bound.notes.append("no weight decay: within-class scatter and M = W Hbar itself are "
                           "not bounded")
    elif kind == "quadratic" and (b is None or lam_b != 0):
        bound.extra = _uncentred_quadratic(m, b is not None, claim)
        bound.criterion = "class_mean_logits_M"
    elif kind == "quadratic":
        bound.notes.append("free bias (lam_b = 0): Z = M + b 1^T is identified, M and b "
                           "separately are not certified")
    elif b is None or lam_b != 0:
        bound.extra = _uncentred_softmax(K, m, min(counts), arb_of(lam_W), arb_of(lam_H),
                                         bound.upper, bound.gap, b is not None, claim)
        bound.criterion = "class_mean_logits_M"
    else:
        bound.notes.append("free bias (lam_b = 0): only the centred logits P Z are "
                           "identified; M = W Hbar itself is not certified")
    if bound.extra is not None and claim.psd and m == K:
        bound.extra = _with_self_duality(bound.extra, counts, arb_of(lam_W), arb_of(lam_H),
                                         bound.gap, claim)
    return bound


def _with_self_duality(extra, counts: Sequence[int], lam_W: flint.arb, lam_H: flint.arb,
                       gap: flint.arb, claim: ClaimedLogits):
    r"""NC3 from the slack of the factorization identity.  With A = sqrt(lam_W) W,
    B = sqrt(lam_H) Hbar D, c = sqrt(lam_W lam_H), X = A B = c M D:

        s = |A|^2/2 + |B|^2/2 - |X|_* <= f(P) - g - lam_H/2 S_W <= U + eps - L,
        |A^T - B|_F^2 = 2 s + 2 (|X|_* - tr X),

    and for X_c = c M_claim D symmetric PSD (|X_c|_* = tr X_c),
    |X|_* - tr X <= |X - X_c|_* - tr(X - X_c) <= 2 sqrt(K) |X - X_c|_F
    <= 2 sqrt(K) c sqrt(n_max) |M - M_claim|_F.  Normalizing (|u/|u| - v/|v|| <=
    2 |u - v| / max(|u|, |v|), and max(|A|, |B|)^2 >= |X|_* >= |X_c|_* - |X - X_c|_*)
    bounds NC3 = |W^T/|W|_F - Hbar D/|Hbar D|_F|_F."""
    K = len(claim.columns)
    c = (lam_W * lam_H).sqrt()
    root_n_max = flint.arb(max(counts)).sqrt()
    columns = _claim_without_bias(claim)
    trace_claim = c * sum((columns[k][k] * flint.arb(counts[k]).sqrt() for k in range(K)),
                          flint.arb(0))  # |X_c|_* = tr X_c

    def with_nc3(eps: flint.arb, r: dict[str, flint.arb]) -> dict[str, flint.arb]:
        out = extra(eps, r)
        x_dist = c * root_n_max * out["class_mean_logits_M"]
        delta_sq = 2 * (gap + eps) + 4 * flint.arb(K).sqrt() * x_dist
        delta = delta_sq.sqrt()
        out["self_duality"] = delta  # |sqrt(lam_W) W^T - sqrt(lam_H) Hbar D|_F
        floor = trace_claim - flint.arb(K).sqrt() * x_dist  # <= max(|A|, |B|)^2
        if float(floor.lower()) > 0:
            out["nc3"] = 2 * delta / flint.arb(floor.lower()).sqrt()
        return out

    return with_nc3


def _claim_without_bias(claim: ClaimedLogits) -> list[list[flint.arb]]:
    """Columns of M_claim = Z_claim - b_claim 1^T."""
    b = claim.bias
    return [[z - (0 if b is None else b[i]) for i, z in enumerate(col)]
            for col in claim.columns]


def _uncentred_quadratic(m: int, bias: bool, claim: ClaimedLogits):
    """MSE: M = Z - b 1^T (m columns), so |M - M_claim|_F <= |Z - Z_claim|_F
    + sqrt(m) |b - b_claim|."""

    def extra(eps: flint.arb, r: dict[str, flint.arb]) -> dict[str, flint.arb]:
        dist = r["logits_frobenius"] + (flint.arb(m).sqrt() * r["bias"] if bias else 0)
        return {"class_mean_logits_M": dist}

    return extra


def _uncentred_softmax(K: int, m: int, n_min: int, lam_W: flint.arb, lam_H: flint.arb,
                       upper: flint.arb, gap: flint.arb, bias: bool, claim: ClaimedLogits):
    r"""Shift-invariant losses see only P W; the mean classifier row wbar costs
    lam_W K |wbar|^2 / 2 and nothing else (f(PW, H, b) = f(W, H, b) - lam_W K |wbar|^2/2
    >= f* >= L), so K |wbar|^2 <= 2 (U + eps - L) / lam_W.  The loss is >= 0, so
    lam_H/2 n_min |Hbar|_F^2 <= U + eps.  Hence, with M = W Hbar,

        |11^T M / K|_F = sqrt(K) |wbar^T Hbar| <= sqrt(K) |wbar| |Hbar|_F,

    and |P (M - M_claim)|_F <= |P (Z - Z_claim)|_F + sqrt(m) |b - b_claim| (m columns)."""
    columns = _claim_without_bias(claim)
    mean_claim = _sqrt_nonneg(sum((_square(sum(col, flint.arb(0))) for col in columns),
                                  flint.arb(0)) / K)  # |11^T M_claim / K|_F

    def extra(eps: flint.arb, r: dict[str, flint.arb]) -> dict[str, flint.arb]:
        row_mean = (2 * (gap + eps) / (lam_W * K)).sqrt()
        features = (2 * (upper + eps) / (lam_H * n_min)).sqrt()
        centred = r["logits_frobenius"] + (flint.arb(m).sqrt() * r["bias"] if bias else 0)
        uncentred = flint.arb(K).sqrt() * row_mean * features + mean_claim
        return {"classifier_row_mean": row_mean,
                "class_mean_logits_M": centred + uncentred}

    return extra
