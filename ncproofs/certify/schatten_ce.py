r"""The reduced deep-linear CE problem, as a :class:`~ncproofs.certify.bnb.Problem`.

    g(X) = (1/K) sum_k CE(Q x_k, k) + C sum_i sigma_i(X)^p,      X in R^{(K-1) x K},

Q the K x (K-1) Helmert basis of 1^perp (so Y = Q X are centred class-mean logits with
sigma(Y) = sigma(X)), p = 2/(L+1), C = ((L+1)/2) (lam_H lam_W^L)^(1/(L+1)) n^(1/(L+1)).
The lemmas that reduce the deep problem to min g, and back (min g is attained by the
original problem), are in docs/certificates.md, section "Branch and bound".

The Schatten term in closed, smooth form (q = p/2, A = X X^T, t = tr A):

* K = 2: sum sigma^p = t^q;
* K = 3: with rho = 1 - 4 det A / t^2 = ((A_11 - A_22)^2 + 4 A_12^2) / t^2 in [0, 1],
  sigma_1^p + sigma_2^p = (t/2)^q Phi(rho),  Phi(rho) = (1 + sqrt rho)^q + (1 - sqrt rho)^q.
  Phi is even in sqrt(rho), hence analytic in rho on (-1, 1) (binomial series
  Phi = 2 sum_j binom(q, 2j) rho^j), and decreasing on [0, 1] (concavity of s^q): its value
  is enclosed exactly by the endpoints, its derivatives by the series near the ETF
  (rho = 0: equal singular values) and by the closed form away from it.

Other K are refused (ValueError): no smooth closed form of the Schatten term is
implemented for (K-1) x (K-1) Gram matrices with K >= 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import flint
import numpy as np

from .bnb import INF_BALL, Jet, Problem, ball, log1p_sum_exp
from .certificate import lower_end, upper_end
from .intervals import arb_of

SERIES_TERMS = 60
SERIES_RADIUS = 0.5


def helmert_arb(K: int) -> list[list[flint.arb]]:
    """Q (K x (K-1)) in arb: column j (1-based) is (1,..,1, -j, 0,..,0)/sqrt(j(j+1))."""
    Q = [[flint.arb(0) for _ in range(K - 1)] for _ in range(K)]
    for j in range(1, K):
        c = 1 / flint.arb(j * (j + 1)).sqrt()
        for i in range(j):
            Q[i][j - 1] = c
        Q[j][j - 1] = -j * c
    return Q


def helmert_float(K: int) -> np.ndarray:
    return np.array([[float(v.mid()) for v in row] for row in helmert_arb(K)])


class PhiSeries:
    """Phi(rho) = (1 + sqrt rho)^q + (1 - sqrt rho)^q and its first two derivatives,
    enclosed over a ball of rho."""

    def __init__(self, q: flint.arb) -> None:
        self.q = q
        coeffs = []  # b_j = binom(q, 2j), j = 0..SERIES_TERMS
        b = flint.arb(1)
        for m in range(2 * SERIES_TERMS + 1):
            if m % 2 == 0:
                coeffs.append(b)
            b = b * (q - m) / (m + 1)
        self.b = coeffs
        J, h = SERIES_TERMS, SERIES_RADIUS
        theta = ((J + 2) / (J + 1)) ** 2 * h
        # |b_j| <= 1; every tail (value, first, second derivative) after j = J is at most
        # sum_{j > J} 2 j^2 h^(j-2) <= 2 (J+1)^2 h^(J-1) / (1 - theta)
        tail = flint.arb(2 * (J + 1) ** 2) * flint.arb(h) ** (J - 1) / flint.arb(1 - theta)
        self.tail = flint.arb(0, upper_end(tail))

    def value_at(self, rho: float | flint.arb) -> flint.arb:
        """Phi at a point (or thin ball) rho in [0, 1]."""
        rho = flint.arb(rho)
        r = rho.sqrt() if rho > 0 else flint.arb(0)
        one_minus = 1 - r
        low = (one_minus ** self.q) if one_minus > 0 else flint.arb(0).union(
            flint.arb(max(0.0, upper_end(one_minus))) ** self.q)
        return (1 + r) ** self.q + low

    def enclose(self, rho: flint.arb) -> tuple[flint.arb, flint.arb, flint.arb]:
        """(Phi, Phi', Phi'') over the ball rho (the value over rho clipped to [0, 1])."""
        lo = min(max(lower_end(rho), 0.0), 1.0)
        hi = min(max(upper_end(rho), 0.0), 1.0)
        value = self.value_at(hi).union(self.value_at(lo))  # Phi decreasing on [0, 1]
        r_lo, r_hi = lower_end(rho), upper_end(rho)
        if -SERIES_RADIUS <= r_lo and r_hi <= SERIES_RADIUS:
            d1 = flint.arb(0)
            d2 = flint.arb(0)
            for j in range(SERIES_TERMS, 0, -1):  # Horner
                d1 = d1 * rho + 2 * j * self.b[j]
            for j in range(SERIES_TERMS, 1, -1):
                d2 = d2 * rho + 2 * j * (j - 1) * self.b[j]
            return value, d1 + self.tail, d2 + self.tail
        if r_lo > 0 and r_hi < 1:
            q = self.q
            r = rho.sqrt()
            a1, b1 = (1 + r) ** (q - 1), (1 - r) ** (q - 1)
            a2, b2 = (1 + r) ** (q - 2), (1 - r) ** (q - 2)
            d1 = q * (a1 - b1) / (2 * r)
            d2 = q / (4 * r) * ((q - 1) * (a2 + b2) / r - (a1 - b1) / (r * r))
            return value, d1, d2
        return value, INF_BALL, INF_BALL


def schatten_power_sum(X: Sequence[Sequence[Jet]], q: flint.arb,
                       phi: PhiSeries | None) -> Jet:
    """sum_i sigma_i(X)^(2q) for X with 1 or 2 rows (Jet entries)."""
    rows = len(X)
    t = None
    for row in X:
        for x in row:
            t = x.square() if t is None else t + x.square()
    assert t is not None
    lo_q = t.v ** q if t.v > 0 else flint.arb(0).union(flint.arb(upper_end(t.v)) ** q)
    if rows == 1:
        return t.power(q)
    if rows != 2 or phi is None:
        raise ValueError("the Schatten term is implemented for 1 or 2 rows (K = 2, 3)")
    # sum sigma^p lies in [t^q, 2^(1-q) t^q] (concavity of s^q); used when rho fails
    envelope = ball(lower_end(lo_q), upper_end(flint.arb(2) ** (1 - q) * lo_q))
    if not t.v > 0:
        return t.unary(envelope, INF_BALL, INF_BALL)
    # rho = 1 - 4 det A / t^2 = ((A11 - A22)^2 + 4 A12^2) / t^2: a sum of squares, which
    # stays thin near equal singular values (no cancellation in 1 - 4D/t^2)
    a11 = a22 = a12 = None
    for x0, x1 in zip(X[0], X[1]):
        a11 = x0.square() if a11 is None else a11 + x0.square()
        a22 = x1.square() if a22 is None else a22 + x1.square()
        a12 = x0 * x1 if a12 is None else a12 + x0 * x1
    assert a11 is not None and a22 is not None and a12 is not None
    rho = ((a11 - a22).square() + 4 * a12.square()) / t.square()
    f0, f1, f2 = phi.enclose(rho.v)
    half_t_q = (t * 0.5).power(q)
    result = half_t_q * rho.unary(f0, f1, f2)
    lo = max(lower_end(result.v), lower_end(envelope))
    hi = min(upper_end(result.v), upper_end(envelope))
    result.v = ball(lo, hi) if lo <= hi else result.v
    return result


class SchattenCEProblem(Problem):
    """min over X in R^{(K-1) x K} of (1/K) sum_k CE(Q x_k, k) + C sum_i sigma_i(X)^p.

    ``x`` is X flattened row-major.  Domain: with U = a rigorous upper bound on the
    minimum (the best of g(0) = log K and g at the start points), g(X) >= C |X|_F^p
    (CE >= 0, sum sigma^p >= (sum sigma^2)^(p/2) for p <= 2), so every X with
    |X|_F > R = (U/C)^(1/p) has g > U: the box [-R, R]^(K(K-1)) contains every global
    minimizer.  Symmetry: a class permutation P maps Y to P Y P^T and leaves g unchanged,
    so some global minimizer has a non-increasing diagonal y_11 >= ... >= y_KK."""

    def __init__(self, K: int, p: Fraction, C: flint.arb, starts: Sequence[np.ndarray] = (),
                 ) -> None:
        if K not in (2, 3):
            raise ValueError(f"SchattenCEProblem supports K = 2 or 3, got K = {K}")
        self.K, self.p, self.C = K, p, C
        self.dim = K * (K - 1)
        self.name = f"schatten-ce K={K} p={p}"
        self.q = arb_of(p) / 2
        self.phi = PhiSeries(self.q) if K == 3 else None
        Q = helmert_arb(K)
        self.Q = Q
        # logit difference y_jk - y_kk = sum_m (Q_jm - Q_km) X_mk
        self.diff = [[[Q[j][m] - Q[k][m] for m in range(K - 1)] for j in range(K)]
                     for k in range(K)]
        self._starts = [np.asarray(s, dtype=float).ravel() for s in starts]
        upper = flint.arb(K).log()
        for s in self._starts:
            v = self.value(s)
            if upper_end(v) < upper_end(upper):
                upper = v
        self.upper_for_domain = upper_end(upper)
        radius = (flint.arb(self.upper_for_domain) / C) ** (1 / arb_of(p))
        self.radius = upper_end(radius)

    def etf_point(self, a: float) -> np.ndarray:
        """X = a Q^T, i.e. Y = a (I - 11^T/K): the deep-collapse class-mean logits."""
        return (a * helmert_float(self.K).T).ravel()

    def objective(self, x: Sequence[Jet]) -> Jet:
        K = self.K
        X = [list(x[m * K:(m + 1) * K]) for m in range(K - 1)]
        ce = None
        for k in range(K):
            diffs = []
            for j in range(K):
                if j == k:
                    continue
                d = None
                for m in range(K - 1):
                    term = X[m][k] * self.diff[k][j][m]
                    d = term if d is None else d + term
                diffs.append(d)
            term = log1p_sum_exp(diffs)
            ce = term if ce is None else ce + term
        data = ce * (1 / flint.arb(K))
        return data + schatten_power_sum(X, self.q, self.phi) * self.C

    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        R = self.radius
        return np.full(self.dim, -R), np.full(self.dim, R)

    def domain_proof(self) -> str:
        return (f"g(X) >= C |X|_F^p > U = {self.upper_for_domain!r} >= min g whenever "
                f"|X|_F > R = (U/C)^(1/p) = {self.radius!r}")

    def outside_fundamental_domain(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        K = self.K
        boxes = [ball(a, b) for a, b in zip(lo, hi)]

        def diag(k: int) -> flint.arb:  # y_kk = sum_m Q_km X_mk
            total = flint.arb(0)
            for m in range(K - 1):
                total += self.Q[k][m] * boxes[m * K + k]
            return total

        values = [diag(k) for k in range(K)]
        return any(values[k] < values[k + 1] for k in range(K - 1))

    def starts(self) -> list[np.ndarray]:
        return list(self._starts)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Y = Q X (float), the centred class-mean logits of the point x."""
        return helmert_float(self.K) @ np.asarray(x, dtype=float).reshape(self.K - 1, self.K)


def schatten_constant(L: int, n: int, lam_W: Fraction, lam_H: Fraction) -> flint.arb:
    """C = ((L+1)/2) (lam_H lam_W^L)^(1/(L+1)) n^(1/(L+1))."""
    lam = arb_of(lam_H) * arb_of(lam_W) ** L
    return flint.arb(L + 1) / 2 * lam.root(L + 1) * flint.arb(n).root(L + 1)
