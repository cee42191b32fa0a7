r"""Rigorous interval branch and bound for small smooth problems (a few to ~15 variables).

No well-kept Python library does rigorous global optimization (pyibex, the Python binding
of IBEX, last released in 2020 and does not build on current Python; pyinterval is
unmaintained since 2017), so this is a compact engine on python-flint ``arb`` balls.

Split of responsibilities (as in pymanopt: problem objects are separate from the solver):

* a :class:`Problem` states its objective once, in :class:`Jet` arithmetic (value, interval
  gradient and interval Hessian by forward-mode differentiation over ``arb``), a box
  ``domain()`` *proved* to contain a global minimizer (from coercivity: every point outside
  has a value above a known feasible value), and optionally a symmetry hook
  (:meth:`Problem.outside_fundamental_domain`) and start points;
* :func:`minimize` runs the search.  Per box B (center c, radii r):

  - natural extension: the Jet value over B encloses f(B);
  - mean-value form: f(x) >= f(c) + sum_i g_i(B) (x_i - c_i), g(B) the interval gradient;
  - monotonicity: if g_i(B) > 0 (< 0) on B, no global minimizer of the domain lies in B
    unless on the face x_i = lo_i (hi_i) of the domain: the box is dropped, or shrunk to
    that face;
  - second order (small boxes): f(x) >= f(c) + g(c).(x - c) + 1/2 (x - c)^T H(B) (x - c)
    evaluated in intervals; and convexity: if every symmetric matrix of the interval
    Hessian H(B) - mu I passes an interval Cholesky factorization (mu > 0), then
    f(x) >= f(x0) + g(x0).(x - x0) + mu/2 |x - x0|^2 on B for any x0 in B; with x0 a
    Newton-polished local minimizer the bound is tight to rounding, and the box is closed
    (no further splitting: this removes the cluster effect around a nondegenerate minimum);
  - value pruning: a box whose lower bound is >= the best rigorous upper bound (the arb
    value of the objective at an evaluated float point) is dropped.

  The global lower bound is min(upper, lower bounds of live and closed boxes): every
  dropped box either contains no global minimizer of the fundamental domain or has bound
  >= upper >= f*.  The search stops at a relative gap, when the lower bound passes
  ``stop_above`` or the upper bound goes below ``stop_below`` (deciding a comparison), or
  at a time/box budget; it then reports both bounds, boxes processed and the largest live
  box.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import flint
import numpy as np

from .certificate import lower_end, upper_end

INF_BALL = flint.arb(0, math.inf)


def ball(lo: float, hi: float) -> flint.arb:
    """An arb ball containing the closed float interval [lo, hi]."""
    if lo == hi:
        return flint.arb(lo)
    return flint.arb(lo).union(flint.arb(hi))


def is_finite(x: flint.arb) -> bool:
    return x.is_finite()


# ------------------------------------------------------------------------------- Jets


class Jet:
    """Second-order forward-mode jet over arb: value v, gradient (n x 1) and Hessian
    (n x n) as python-flint ``arb_mat`` (C-level arithmetic), None at lower order; ``g``
    and ``h`` give them as numpy object arrays of arb.

    Evaluated on balls that enclose a box, every component encloses the corresponding
    derivative of the function over the whole box (chain rule in interval arithmetic)."""

    __slots__ = ("v", "dg", "dh")

    def __init__(self, v: flint.arb, g: Any = None, h: Any = None) -> None:
        self.v = v
        self.dg = _as_mat(g, column=True)
        self.dh = _as_mat(h, column=False)

    # constructors
    @staticmethod
    def variables(balls: Sequence[flint.arb], order: int) -> list[Jet]:
        n = len(balls)
        out = []
        for i, b in enumerate(balls):
            g = h = None
            if order >= 1:
                g = flint.arb_mat(n, 1)
                g[i, 0] = 1
            if order >= 2:
                h = flint.arb_mat(n, n)
            out.append(Jet(b, g, h))
        return out

    @property
    def g(self) -> np.ndarray | None:
        if self.dg is None:
            return None
        return np.array([self.dg[i, 0] for i in range(self.dg.nrows())], dtype=object)

    @property
    def h(self) -> np.ndarray | None:
        if self.dh is None:
            return None
        n = self.dh.nrows()
        return np.array([[self.dh[i, k] for k in range(n)] for i in range(n)], dtype=object)

    @property
    def order(self) -> int:
        return 0 if self.dg is None else (1 if self.dh is None else 2)

    # arithmetic
    def __add__(self, other: Any) -> Jet:
        if isinstance(other, Jet):
            return Jet(self.v + other.v,
                       None if self.dg is None else self.dg + other.dg,
                       None if self.dh is None else self.dh + other.dh)
        return Jet(self.v + other, self.dg, self.dh)

    __radd__ = __add__

    def __neg__(self) -> Jet:
        m1 = flint.arb(-1)
        return Jet(-self.v, None if self.dg is None else self.dg * m1,
                   None if self.dh is None else self.dh * m1)

    def __sub__(self, other: Any) -> Jet:
        return self + (-other)

    def __rsub__(self, other: Any) -> Jet:
        return (-self) + other

    def __mul__(self, other: Any) -> Jet:
        if isinstance(other, Jet):
            g = h = None
            if self.dg is not None:
                g = self.dg * other.v + other.dg * self.v
            if self.dh is not None:
                cross = self.dg * other.dg.transpose()
                h = self.dh * other.v + other.dh * self.v + cross + cross.transpose()
            return Jet(self.v * other.v, g, h)
        other = other if isinstance(other, flint.arb) else flint.arb(other)
        return Jet(self.v * other, None if self.dg is None else self.dg * other,
                   None if self.dh is None else self.dh * other)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Jet:
        if isinstance(other, Jet):
            return self * other.reciprocal()
        other = other if isinstance(other, flint.arb) else flint.arb(other)
        return self * (1 / other)

    def __rtruediv__(self, other: Any) -> Jet:
        return self.reciprocal() * other

    def unary(self, f0: flint.arb, f1: flint.arb | None, f2: flint.arb | None) -> Jet:
        """Compose with a scalar function u given enclosures f0, f1, f2 of u, u', u'' over
        this jet's value ball (chain rule: g' = u' g, h' = u' h + u'' g g^T)."""
        g = h = None
        if self.dg is not None:
            g = self.dg * f1
        if self.dh is not None:
            h = self.dh * f1 + (self.dg * self.dg.transpose()) * f2
        return Jet(f0, g, h)

    def reciprocal(self) -> Jet:
        v = self.v
        if v.contains(0):
            return self.unary(INF_BALL, INF_BALL, INF_BALL)
        return self.unary(_monotone(lambda u: 1 / u, v), _monotone(lambda u: -1 / (u * u), v),
                          _monotone(lambda u: 2 / (u * u * u), v))

    def square(self) -> Jet:
        v = self.v
        return self.unary(_sq(v), 2 * v, flint.arb(2))

    def exp(self) -> Jet:
        e = _monotone(flint.arb.exp, self.v)
        return self.unary(e, e, e)

    def log(self) -> Jet:
        v = self.v
        if not v > 0:
            return self.unary(INF_BALL, INF_BALL, INF_BALL)
        return self.unary(_monotone(flint.arb.log, v), _monotone(lambda u: 1 / u, v),
                          _monotone(lambda u: -1 / (u * u), v))

    def log1p(self) -> Jet:
        v = self.v
        w = 1 + v
        if not w > 0:
            return self.unary(INF_BALL, INF_BALL, INF_BALL)
        return self.unary(_monotone(flint.arb.log1p, v), _monotone(lambda u: 1 / u, w),
                          _monotone(lambda u: -1 / (u * u), w))

    def cos(self) -> Jet:
        c, sn = self.v.cos(), self.v.sin()
        return self.unary(c, -sn, -c)

    def sin(self) -> Jet:
        c, sn = self.v.cos(), self.v.sin()
        return self.unary(sn, c, -sn)

    def power(self, q: flint.arb) -> Jet:
        """x^q for x > 0, 0 < q < 1 (non-finite derivative enclosures when the ball
        reaches 0)."""
        v = self.v
        if not v > 0:
            hi = v.upper()
            val = ball(0.0, upper_end(hi ** q)) if hi > 0 else flint.arb(0)
            return self.unary(val, INF_BALL, INF_BALL)
        return self.unary(_monotone(lambda u: u ** q, v),
                          _monotone(lambda u: q * u ** (q - 1), v),
                          _monotone(lambda u: q * (q - 1) * u ** (q - 2), v))


def _as_mat(x: Any, column: bool) -> flint.arb_mat | None:
    """arb_mat from None, an arb_mat, or a numpy object array of arb."""
    if x is None or isinstance(x, flint.arb_mat):
        return x
    arr = np.asarray(x, dtype=object)
    if column:
        return flint.arb_mat([[v] for v in arr.ravel()])
    return flint.arb_mat([list(row) for row in arr])


def log1p_sum_exp(ds: Sequence[Jet]) -> Jet:
    """log(1 + sum_j exp(d_j)) (the CE of one sample, d_j = logit differences).

    Increasing in every d_j, so its value is enclosed exactly by the two corner points;
    its gradient is the softmax p_j = e^(d_j) / (1 + sum_i e^(d_i)), increasing in d_j and
    decreasing in the others (corner points again); its Hessian is diag(p) - p p^T."""

    def lse(values: list[flint.arb]) -> flint.arb:
        m = max([flint.arb(0)] + values, key=lambda a: float(a.mid()))
        total = (-m).exp()
        for v in values:
            total += (v - m).exp()
        return m + total.log()

    lows = [d.v.lower() for d in ds]
    highs = [d.v.upper() for d in ds]
    value = lse(lows).union(lse(highs))
    first = ds[0]
    if first.dg is None:
        return Jet(value)

    def softmax_j(j: int, point: list[flint.arb]) -> flint.arb:
        return (point[j] - lse(point)).exp()

    probs = []
    for j in range(len(ds)):
        up = [highs[i] if i == j else lows[i] for i in range(len(ds))]
        down = [lows[i] if i == j else highs[i] for i in range(len(ds))]
        probs.append(softmax_j(j, down).union(softmax_j(j, up)))
    g = first.dg * probs[0]
    for d, pj in zip(ds[1:], probs[1:]):
        g = g + d.dg * pj
    h = None
    if first.dh is not None:
        h = first.dh * probs[0]
        for d, pj in zip(ds[1:], probs[1:]):
            h = h + d.dh * pj
        for i, di in enumerate(ds):
            for j, dj in enumerate(ds):
                coef = (probs[i] - probs[i] * probs[i]) if i == j else -(probs[i] * probs[j])
                if i == j:  # p - p^2 in [0, 1/4]
                    coef = coef.intersection(ball(0.0, 0.25))
                h = h + (di.dg * dj.dg.transpose()) * coef
    return Jet(value, g, h)


def _monotone(fn: Callable[[flint.arb], flint.arb], v: flint.arb) -> flint.arb:
    """Enclosure of a monotone fn over the ball v from its two endpoints (mid-radius
    evaluation of a wide ball loses signs, e.g. exp([-1000, 1000]) would contain
    negatives)."""
    if v.is_exact():
        return fn(v)
    return fn(v.lower()).union(fn(v.upper()))


def _sq(v: flint.arb) -> flint.arb:
    """Tight enclosure of v^2 (not v*v: a ball around 0 stays >= 0)."""
    if v.contains(0) and not v.is_exact():
        hi = abs(v).upper()
        return flint.arb(0).union(hi * hi)
    return v * v


# ----------------------------------------------------------------------------- problems


class Problem:
    """A minimization problem for :func:`minimize`.

    Subclasses set ``dim`` and implement :meth:`objective` (Jet arithmetic) and
    :meth:`domain`; optionally :meth:`outside_fundamental_domain` (symmetry: True only if
    the box contains no point of a closed set that meets every orbit of a symmetry of the
    objective) and :meth:`starts` (float points for the incumbent)."""

    dim: int
    name: str = "problem"

    def objective(self, x: Sequence[Jet]) -> Jet:
        raise NotImplementedError

    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        """Box [lo, hi] containing a global minimizer, with the proof in ``domain_proof``."""
        raise NotImplementedError

    def domain_proof(self) -> str:
        return ""

    def outside_fundamental_domain(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        return False

    def starts(self) -> list[np.ndarray]:
        return []

    def box_bound(self, lo: np.ndarray, hi: np.ndarray,
                  ) -> tuple[float, np.ndarray | None] | None:
        """Optional bounding rule for an objective without a Jet form (e.g. a minimum over
        eliminated inner variables, bounded below by duality): (a rigorous lower bound on
        f over the box, split scores or None).  None (the default): the Jet rules.  A
        problem that overrides it must also override :meth:`value` (a rigorous upper
        bound on f at a float point) and :meth:`float_value_grad`."""
        return None

    def split_point(self, lo: np.ndarray, hi: np.ndarray, i: int) -> float:
        """Where a box is bisected along axis i: the float midpoint (a problem may split a
        scale variable geometrically; a proof file's checker replays the same rule)."""
        return 0.5 * (lo[i] + hi[i])

    # derived evaluations
    def jet(self, lo: np.ndarray, hi: np.ndarray, order: int) -> Jet:
        return self.objective(Jet.variables([ball(a, b) for a, b in zip(lo, hi)], order))

    def value(self, x: np.ndarray) -> flint.arb:
        """Rigorous value at the exact float point x."""
        return self.jet(x, x, 0).v

    def float_value_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        j = self.jet(x, x, 1)
        return float(j.v.mid()), np.array([float(gi.mid()) for gi in j.g])


class FunctionProblem(Problem):
    """A problem from a Jet-arithmetic function and a box that is the problem's domain (or
    proved to contain a global minimizer: say why in ``proof``)."""

    def __init__(self, f: Callable[[Sequence[Jet]], Jet], lo: Sequence[float],
                 hi: Sequence[float], *, name: str = "function", proof: str = "",
                 starts: Sequence[Sequence[float]] = ()) -> None:
        self.f, self.name = f, name
        self.lo, self.hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        self.dim = len(self.lo)
        self._proof = proof or "the box is the problem's feasible set"
        self._starts = [np.asarray(x, dtype=float) for x in starts]

    def objective(self, x: Sequence[Jet]) -> Jet:
        return self.f(x)

    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lo, self.hi

    def domain_proof(self) -> str:
        return self._proof

    def starts(self) -> list[np.ndarray]:
        return list(self._starts)


# ------------------------------------------------------------------------------ engine


@dataclass
class BnBResult:
    lower: float  # rigorous lower bound on the minimum over the domain
    upper: float  # rigorous upper bound: value at ``point``
    point: np.ndarray
    boxes: int  # boxes processed
    live: int  # boxes still open when the search stopped
    closed: int  # boxes closed by the convexity rule
    largest_live_width: float
    seconds: float
    converged: bool  # relative gap reached
    reason: str
    history: list[tuple[int, float, float]] = field(default_factory=list)
    #: the few lowest live boxes (bound, lo, hi): where the gap is left
    lowest_live: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return self.upper - self.lower

    def as_dict(self) -> dict[str, Any]:
        return {"lower": self.lower, "upper": self.upper, "gap": self.gap,
                "point": [float(v) for v in self.point], "boxes": self.boxes,
                "live": self.live, "closed_by_convexity": self.closed,
                "largest_live_width": self.largest_live_width, "seconds": self.seconds,
                "converged": self.converged, "reason": self.reason}


def interval_cholesky_pd(H: np.ndarray, shift: float) -> bool:
    """True only if every symmetric matrix in the interval matrix H - shift I is positive
    definite: an interval Cholesky factorization with all pivots > 0 proves it."""
    n = H.shape[0]
    A = [[H[i, j] - (shift if i == j else 0) for j in range(n)] for i in range(n)]
    Lm = [[flint.arb(0)] * n for _ in range(n)]
    for j in range(n):
        s = A[j][j]
        for k in range(j):
            s -= Lm[j][k] * Lm[j][k]
        if not s > 0:
            return False
        Lm[j][j] = s.sqrt()
        for i in range(j + 1, n):
            t = A[i][j]
            for k in range(j):
                t -= Lm[i][k] * Lm[j][k]
            Lm[i][j] = t / Lm[j][j]
    return True


def _all_finite(arr: np.ndarray | None) -> bool:
    return arr is not None and all(x.is_finite() for x in arr.ravel())


class _Search:
    def __init__(self, problem: Problem, *, second_order_width: float, rel_gap: float,
                 polish: bool, mutation: dict[str, float] | None) -> None:
        self.p = problem
        self.rel_gap = rel_gap
        self.dom_lo, self.dom_hi = (np.asarray(a, dtype=float) for a in problem.domain())
        self.second_order_width = second_order_width
        # deliberately broken enclosures, for mutation tests only (never in production)
        mutation = mutation or {}
        self.gradient_scale = flint.arb(mutation.get("gradient_scale", 1.0))
        self.hessian_scale = flint.arb(mutation.get("hessian_scale", 1.0))
        self.polish_enabled = polish
        self.upper = math.inf
        self.best = 0.5 * (self.dom_lo + self.dom_hi)
        self.closed: list[float] = []

    # incumbent -----------------------------------------------------------------
    def offer(self, x: np.ndarray, polish: bool = False) -> None:
        x = np.clip(np.asarray(x, dtype=float), self.dom_lo, self.dom_hi)
        if polish and self.polish_enabled:
            x = self.local_polish(x)
        u = upper_end(self.p.value(x))
        if u < self.upper:
            self.upper, self.best = u, x

    def local_polish(self, x0: np.ndarray) -> np.ndarray:
        from scipy.optimize import minimize as sp_minimize

        try:
            res = sp_minimize(self.p.float_value_grad, x0, jac=True, method="L-BFGS-B",
                              bounds=list(zip(self.dom_lo, self.dom_hi)),
                              options={"maxiter": 200, "ftol": 1e-15, "gtol": 1e-12})
            return np.asarray(res.x, dtype=float)
        except (ValueError, ArithmeticError):
            return x0

    def newton_point(self, lo: np.ndarray, hi: np.ndarray, x: np.ndarray) -> np.ndarray:
        """A few Newton steps (float) from x, kept in the box."""
        for _ in range(8):
            j = self.p.jet(x, x, 2)
            if not (_all_finite(j.g) and _all_finite(j.h)):
                break
            g = np.array([float(v.mid()) for v in j.g])
            H = np.array([[float(v.mid()) for v in row] for row in j.h])
            try:
                step = np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                break
            x_new = np.clip(x - step, lo, hi)
            if np.array_equal(x_new, x):
                break
            x = x_new
        return x

    # bounds --------------------------------------------------------------------
    def bound(self, lo: np.ndarray, hi: np.ndarray, prune: bool = True,
              ) -> tuple[float, np.ndarray | None, bool]:
        """(lower bound on the box, smear scores for splitting, closed?).  With ``prune``,
        math.inf means the box holds no global minimizer (symmetry, monotonicity)."""
        p = self.p
        if prune and p.outside_fundamental_domain(lo, hi):
            return math.inf, None, False
        custom = p.box_bound(lo, hi)
        if custom is not None:
            return custom[0], custom[1], False
        c = 0.5 * (lo + hi)
        widths = hi - lo
        use_second = float(np.max(widths)) <= self.second_order_width
        jc = p.jet(c, c, 1 if use_second else 0)  # f(c) (and g(c) for the second order)
        fc = jc.v
        fc_up = upper_end(fc)
        if fc_up < self.upper:
            self.upper, self.best = fc_up, c.copy()
        j = p.jet(lo, hi, 2 if use_second else 1)
        best = lower_end(j.v)
        g = None if j.g is None else j.g * self.gradient_scale
        score = None
        if _all_finite(g):
            for i, gi in enumerate(g if prune else ()):  # monotonicity
                if widths[i] == 0:
                    continue
                if gi > 0:
                    if lo[i] > self.dom_lo[i]:
                        return math.inf, None, False
                    hi = hi.copy()
                    hi[i] = lo[i]
                    return self.bound(lo, hi, prune)
                if gi < 0:
                    if hi[i] < self.dom_hi[i]:
                        return math.inf, None, False
                    lo = lo.copy()
                    lo[i] = hi[i]
                    return self.bound(lo, hi, prune)
            deltas = [ball(a - ci, b - ci) for a, b, ci in zip(lo, hi, c)]
            mv = fc
            for gi, di in zip(g, deltas):
                mv += gi * di
            best = max(best, lower_end(mv))
            score = np.array([float(abs(gi).upper()) for gi in g]) * widths
            if use_second and _all_finite(j.h):
                Hs = j.h * self.hessian_scale
                if _all_finite(jc.g):
                    second = jc.v
                    for i in range(len(deltas)):
                        second += jc.g[i] * deltas[i]
                        quad = Hs[i, i] * _sq(deltas[i]) / 2
                        for k in range(i):
                            quad += Hs[i, k] * deltas[i] * deltas[k]
                        second += quad
                    best = max(best, lower_end(second))
                curv = self.convex_bound(lo, hi, Hs, jc)
                if curv is not None:
                    best = max(best, curv[0])
                    # final only for a convex box meeting the target gap; else keep splitting
                    final = curv[1] and self.upper - best <= self.rel_gap * abs(self.upper)
                    return best, score, final
        return best, score, False

    def convex_bound(self, lo: np.ndarray, hi: np.ndarray, H: np.ndarray,
                     jet_center: Jet) -> tuple[float, bool] | None:
        """Curvature bound.  If an interval Cholesky factorization proves every symmetric
        matrix of H(B) - mu I positive definite (mu may be negative: then it bounds the
        negative curvature), f(x) >= f(x0) + g(x0).(x - x0) + mu/2 |x - x0|^2 on B for a
        Newton point x0 in B, and the separable quadratic's minimum over the box is a
        lower bound (convex per coordinate when mu > 0: endpoints and the vertex; concave
        otherwise: endpoints).  Returns (bound, mu > 0) or None."""
        Hmid = np.array([[float(v.mid()) for v in row] for row in H])
        Hrad = np.array([[float(v.rad()) for v in row] for row in H])
        try:
            lam_min = float(np.linalg.eigvalsh(0.5 * (Hmid + Hmid.T))[0])
        except np.linalg.LinAlgError:
            return None
        if not (math.isfinite(lam_min) and np.all(np.isfinite(Hrad))):
            return None
        # Weyl: lambda_min(H) >= lambda_min(Hmid) - |Hrad|_2; a guess, then proved below
        guess = lam_min - 1.01 * float(np.linalg.norm(Hrad)) - 1e-12 * abs(lam_min)
        # candidates from the largest down; the interval Cholesky is more pessimistic than
        # Weyl's bound (dependency in the elimination), so fall back to smaller shifts
        candidates = sorted({guess, 0.5 * lam_min, 0.5 * guess, 2 * guess - lam_min},
                            reverse=True)
        mu = next((m for m in candidates if m != 0 and interval_cholesky_pd(H, m)), None)
        if mu is None:
            return None
        c = 0.5 * (lo + hi)
        x0 = self.newton_point(lo, hi, c) if mu > 0 else c
        j0 = self.p.jet(x0, x0, 1) if mu > 0 else jet_center
        if not _all_finite(j0.g):
            return None
        u = upper_end(j0.v)
        if u < self.upper:
            self.upper, self.best = u, x0.copy()
        mu_b = flint.arb(mu)
        total = j0.v
        for i, gi in enumerate(j0.g):
            a, b = ball(lo[i] - x0[i], lo[i] - x0[i]), ball(hi[i] - x0[i], hi[i] - x0[i])
            cands = [gi * a + mu_b * a * a / 2, gi * b + mu_b * b * b / 2]
            if mu > 0:
                vertex = -gi / mu_b  # the unconstrained minimizer of g d + mu/2 d^2
                if not (vertex < a or vertex > b):  # convex: outside [a, b] -> an endpoint
                    cands.append(-gi * gi / (2 * mu_b))
            total += flint.arb(min(lower_end(cv) for cv in cands))
        return lower_end(total), mu > 0


def box_lower_bound(problem: Problem, lo: Sequence[float], hi: Sequence[float], *,
                    second_order: bool = True,
                    mutation: dict[str, float] | None = None) -> float:
    """The engine's lower bound on min f over the box [lo, hi], without the pruning rules
    (symmetry, monotonicity): a pure enclosure, for soundness tests against sampled
    values."""
    s = _Search(problem, second_order_width=math.inf if second_order else -1.0,
                rel_gap=0.0, polish=False, mutation=mutation)
    return s.bound(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), prune=False)[0]


def minimize(
    problem: Problem,
    *,
    rel_gap: float = 1e-9,
    abs_gap: float = 0.0,
    max_boxes: int = 200_000,
    max_seconds: float = 60.0,
    second_order_width: float = math.inf,
    stop_above: float | None = None,
    stop_below: float | None = None,
    polish: bool = True,
    mutation: dict[str, float] | None = None,
    leaves: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> BnBResult:
    """Rigorous enclosure [lower, upper] of min f over the problem's proved domain.

    Stops when upper - lower <= max(rel_gap * max(|lower|, |upper|), abs_gap); when
    lower > stop_above (a claimed minimum below it is refuted) or upper < stop_below (a
    point below a claimed minimum was found); or at ``max_boxes`` / ``max_seconds``.
    ``second_order_width``: boxes whose widest side is at most this get the interval
    Hessian (second-order form and the convexity rule).  ``mutation`` (tests only) scales
    the interval gradient ("gradient_scale") or Hessian ("hessian_scale") to check that
    the tests catch a broken bounding rule.  ``leaves``: a list that receives the final
    partition of the domain, every box (lo, hi) that left the search (pruned, closed or
    still live), for proof files whose checker re-bounds each box."""
    t0 = time.perf_counter()
    s = _Search(problem, second_order_width=second_order_width, rel_gap=rel_gap,
                polish=polish, mutation=mutation)
    for x in problem.starts():
        s.offer(x, polish=True)
    lo, hi = s.dom_lo.copy(), s.dom_hi.copy()
    counter = 0
    heap: list[tuple[float, int, np.ndarray, np.ndarray, np.ndarray | None]] = []
    boxes = 0

    def push(bound_: float, score: np.ndarray | None, closed: bool, lo_: np.ndarray,
             hi_: np.ndarray) -> None:
        nonlocal counter
        if leaves is not None and (closed or bound_ >= s.upper):
            leaves.append((lo_, hi_))
        if closed:
            s.closed.append(bound_)
        elif bound_ < s.upper:
            counter += 1
            heapq.heappush(heap, (bound_, counter, lo_, hi_, score))

    b, score0, closed0 = s.bound(lo, hi)
    push(b, score0, closed0, lo, hi)
    boxes = 1
    history: list[tuple[int, float, float]] = []
    reason = "gap reached"
    converged = False
    last_polish = math.inf

    def global_lower() -> float:
        return min([s.upper] + ([heap[0][0]] if heap else []) + s.closed)

    while True:
        low = global_lower()
        if math.isfinite(low) and s.upper - low <= max(
                rel_gap * max(abs(low), abs(s.upper)), abs_gap):
            converged = True
            break
        if stop_above is not None and low > stop_above:
            reason = "lower bound above the threshold"
            break
        if stop_below is not None and s.upper < stop_below:
            reason = "upper bound below the threshold"
            break
        if not heap:  # only closed boxes are left: their bounds are final
            reason = "every open box resolved; closed boxes keep the gap"
            break
        if boxes >= max_boxes:
            reason = f"box budget {max_boxes} exhausted"
            break
        if time.perf_counter() - t0 > max_seconds:
            reason = f"time budget {max_seconds:g} s exhausted"
            break
        bnd, _, lo, hi, score = heapq.heappop(heap)
        if bnd >= s.upper:
            if leaves is not None:
                leaves.append((lo, hi))
            continue
        widths = hi - lo
        if score is None or not np.all(np.isfinite(score)) or score.max() <= 0:
            score = widths / np.maximum(s.dom_hi - s.dom_lo, 1e-300)
        i = int(np.argmax(score))  # smear rule: split where |g_i| w_i is largest
        mid = problem.split_point(lo, hi, i)
        if not (lo[i] < mid < hi[i]):  # float resolution reached: keep the bound as final
            s.closed.append(bnd)
            if leaves is not None:
                leaves.append((lo, hi))
            continue
        for a, bb in ((lo[i], mid), (mid, hi[i])):
            clo, chi = lo.copy(), hi.copy()
            clo[i], chi[i] = a, bb
            cb, cscore, cclosed = s.bound(clo, chi)
            boxes += 1
            push(max(cb, bnd), cscore, cclosed, clo, chi)  # a child's min >= parent's bound
        if s.upper < last_polish:  # polish each new incumbent once
            s.offer(s.best, polish=True)
            last_polish = s.upper
        if boxes % 2000 < 2:
            history.append((boxes, global_lower(), s.upper))
    live_widths = [float(np.max(item[3] - item[2])) for item in heap]
    if leaves is not None:
        leaves.extend((item[2], item[3]) for item in heap)
    low = global_lower()
    return BnBResult(lower=low, upper=s.upper, point=s.best, boxes=boxes, live=len(heap),
                     closed=len(s.closed), largest_live_width=max(live_widths, default=0.0),
                     seconds=time.perf_counter() - t0, converged=converged, reason=reason,
                     history=history,
                     lowest_live=[(b_, lo_, hi_)
                                  for b_, _, lo_, hi_, _ in heapq.nsmallest(5, heap)])
