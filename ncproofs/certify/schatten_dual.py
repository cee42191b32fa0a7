r"""The reduced deep-linear CE problem (K = 3), decided over a variational matrix B.

The reduced problem (docs/certificates.md, "Branch and bound"; :mod:`.schatten_ce`) is

    min_X g(X) = (1/K) sum_k CE(Q x_k, k) + C tr(S^q),   S = X X^T,  q = 1/(L+1),

with X in R^{(K-1) x K}.  Its Schatten term is not convex (q < 1), and branch and bound in
X is hopeless: g is very flat there.  Two lemmas move the search to a 3-dimensional space
where it is not (docs/certificates.md, lemmas L16-L17):

* **L16 (variational form).**  t -> t^q is operator concave, so tr S^q lies below its
  tangent at any W > 0; with B = W^(1-q)/(C q) this reads, for every B > 0,

      C tr S^q <= tr(B^-1 S) + kappa tr B^(1/L),   kappa = C (1-q) (C q)^(1/L),

  with equality at B = S^(1-q)/(C q) (for singular S: B^-1 on the range of B, the limit
  B -> S^(1-q)/(Cq) + eps I).  Hence min_X g = min_B Phi(B) with

      Phi(B) = sum_k h_k(B) + kappa tr B^(1/L),   h_k(B) = min_x (1/K) lse(0, D_k x) + x^T B^-1 x,

  (D_k: rows q_j - q_k of Q, j != k).  If g(X) <= U then sigma_1(X)^(2q) <= U/C, so the
  optimal B of X has 0 <= B <= b_max I with b_max = (U/C)^L / (C q): every X gives
  g(X) >= min(U, min_{0 <= B <= b_max I} Phi(B)).
* **L17 (dual bound on h_k).**  Fenchel-Young for lse: for every probability vector
  pi = (pi_k, pi_{j != k}), lse(0, z) >= pi_{-k}^T z + Ent(pi); minimizing the quadratic in x,

      h_k(B) >= Ent(pi)/K - y^T B y,   y = D_k^T pi_{-k} / (2K),

  linear in B and exact at the softmax of h_k's minimizer.  h_k is also non-increasing in
  B (Loewner order), and tr B^(1/L) is concave and non-decreasing.

Coordinates: B = b0 (I + R(r)), R(r) = [[r1, r2], [r2, -r1]] (eigenvalues b0 (1 +- |r|)).
A box of (b0, r1, r2) maps onto the polytope spanned by its 8 corner matrices, so on a
box inside the PSD cone (|r| <= 1)

* tangent rule: Phi >= sum_k Ent(pi_k)/K + min over the corners of (-<Y, B> + kappa tr B^(1/L))
  (linear plus concave: its minimum over a polytope is at a vertex), pi_k the softmax at
  the box centre -- tangent to Phi there, so it loses only O(width^2);
* monotone rule: Phi >= H(B_hi) + min over corners of kappa tr B^(1/L), B_hi = hi_0 (I +
  R(r_c) + rho I) >= every B of the box (rho = |r - r_c| max), H(B_hi) by L17 at B_hi's own
  softmax -- first order, but robust near the boundary |r| = 1 (rank-one S), where the
  tangent rule's slopes are large.

Symmetry: a class permutation maps X to P_Q X Pi and B to P_Q B P_Q^T; on (r1, r2) this is
the dihedral group of order 6 (reflection r2 -> -r2, rotation by 120 degrees), so the
wedge 0 <= r2 <= sqrt(3) r1 meets every orbit.  Domain: b0 in [0, b_max], r in the wedge
inside the unit disk, b0 (1 + |r|) <= b_max.
"""

from __future__ import annotations

import math
from itertools import product

import flint
import numpy as np

from .bnb import Problem
from .certificate import lower_end, upper_end
from .dual import _round_to_simplex
from .intervals import arb_entropy, arb_of
from .schatten_ce import helmert_arb

#: r at a box centre is pulled inside this radius before the inner solve
CENTRE_RADIUS = 0.999


def inner_softmax(D: np.ndarray, Binv: np.ndarray, K: int) -> np.ndarray:
    """Softmax (pi_k first, then pi_{j != k}) at the minimizer of
    (1/K) lse(0, D x) + x^T Binv x: damped Newton from x = 0 (strongly convex)."""
    def parts(x: np.ndarray) -> tuple[float, np.ndarray]:
        z = np.concatenate(([0.0], D @ x))
        m = z.max()
        e = np.exp(z - m)
        return (m + math.log(e.sum())) / K + x @ Binv @ x, e / e.sum()

    x = np.zeros(D.shape[1])
    f, pi = parts(x)
    for _ in range(100):
        v = pi[1:]
        grad = D.T @ v / K + 2 * Binv @ x
        hess = D.T @ (np.diag(v) - np.outer(v, v)) @ D / K + 2 * Binv
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:
            f_new, pi_new = parts(x - t * step)
            if f_new <= f or t < 1e-12:
                break
            t /= 2
        x = x - t * step
        done = f - f_new <= 1e-16 * max(1.0, abs(f))
        f, pi = f_new, pi_new
        if done:
            break
    return pi


def _power_nonneg(x: flint.arb, s: flint.arb) -> flint.arb:
    """x^s for x >= 0 (a ball reaching below 0 is clipped at 0)."""
    if x > 0:
        return x ** s
    hi = upper_end(x)
    return flint.arb(0) if hi <= 0 else flint.arb(0).union(flint.arb(hi) ** s)


class SchattenDualProblem(Problem):
    """min over 0 <= B <= b_max I of Phi(B) (module docstring), for K = 3; x = (b0, r1, r2)."""

    dim = 3

    def __init__(self, L: int, C: flint.arb, upper: float, K: int = 3,
                 starts: list[np.ndarray] = ()) -> None:
        if K != 3:
            raise ValueError(f"SchattenDualProblem supports K = 3 only, got K = {K}")
        if L < 1:
            raise ValueError(f"L must be >= 1, got {L}")
        self.K, self.L, self.C = K, L, C
        self.name = f"schatten-dual K={K} L={L}"
        self.q = flint.arb(1) / (L + 1)
        self.s = flint.arb(1) / L
        self.kappa = C * (1 - self.q) * (C * self.q) ** self.s
        self.upper_for_domain = upper
        self.b_max = upper_end((flint.arb(upper) / C) ** L / (C * self.q))
        Q = helmert_arb(K)
        self.D_arb = [[[Q[j][m] - Q[k][m] for m in range(K - 1)] for j in range(K) if j != k]
                      for k in range(K)]
        self.D = [np.array([[float(v.mid()) for v in row] for row in Dk]) for Dk in self.D_arb]
        self.sqrt3 = flint.arb(3).sqrt()
        self._starts = [np.asarray(x, dtype=float) for x in starts]

    def starts(self) -> list[np.ndarray]:
        return list(self._starts)

    # geometry ------------------------------------------------------------------
    @staticmethod
    def matrix(b0: float, r1: float, r2: float) -> np.ndarray:
        return b0 * np.array([[1 + r1, r2], [r2, 1 - r1]])

    @staticmethod
    def point_of_scale_for(L: int, C: flint.arb, a: float) -> np.ndarray:
        """Coordinates of B = S^(1-q)/(Cq) for deep collapse X = a Q^T (S = a^2 I)."""
        q = 1 / (L + 1)
        return np.array([a ** (2 * (1 - q)) / (float(C.mid()) * q), 0.0, 0.0])

    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(3), np.array([self.b_max, 1.0, 1.0])

    def domain_proof(self) -> str:
        return (f"L16: g(X) <= U = {self.upper_for_domain!r} forces B <= b_max I, "
                f"b_max = (U/C)^L/(Cq) = {self.b_max!r}; symmetry: 0 <= r2 <= sqrt(3) r1")

    def outside_fundamental_domain(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        if flint.arb(lo[2]) > self.sqrt3 * flint.arb(hi[1]):  # no point of the wedge
            return True
        r_min = (flint.arb(lo[1]) ** 2 + flint.arb(lo[2]) ** 2).sqrt()
        if r_min > 1:  # no PSD matrix
            return True
        return bool(flint.arb(lo[0]) * (1 + r_min) > self.b_max)  # lambda_max > b_max

    # bounds --------------------------------------------------------------------
    def dual_data(self, B: np.ndarray) -> tuple[flint.arb, flint.arb_mat]:
        """(sum_k Ent(pi_k)/K, Y = sum_k y_k y_k^T) at the softmax of h_k's minimizers at B
        (rounded to exact rationals on the simplex)."""
        Binv = np.linalg.inv(B)
        const = flint.arb(0)
        Y = flint.arb_mat(2, 2)
        for k in range(self.K):
            pi = _round_to_simplex(inner_softmax(self.D[k], Binv, self.K))
            const += arb_entropy(pi) / self.K
            y = [sum((self.D_arb[k][j][m] * arb_of(pi[j + 1]) for j in range(self.K - 1)),
                     flint.arb(0)) / (2 * self.K) for m in range(2)]
            for a in range(2):
                for b in range(2):
                    Y[a, b] += y[a] * y[b]
        return const, Y

    def trace_power(self, b0: flint.arb, r: flint.arb) -> flint.arb:
        """kappa tr B^(1/L) at eigenvalues b0 (1 +- r)."""
        return self.kappa * (_power_nonneg(b0 * (1 + r), self.s)
                             + _power_nonneg(b0 * (1 - r), self.s))

    def box_bound(self, lo: np.ndarray, hi: np.ndarray,
                  ) -> tuple[float, np.ndarray | None]:
        corners = [(flint.arb(b0), flint.arb(r1), flint.arb(r2))
                   for b0, r1, r2 in product(*zip(lo, hi))]
        radii = [(r1 * r1 + r2 * r2).sqrt() for _, r1, r2 in corners]
        inside = all(r <= 1 for r in radii)
        if inside:
            traces = [self.trace_power(b0, r) for (b0, _, _), r in zip(corners, radii)]
            t_low = min(lower_end(t) for t in traces)
        else:  # eigenvalue lower ends over the box's PSD part
            r_min = (flint.arb(lo[1]) ** 2 + flint.arb(lo[2]) ** 2).sqrt()
            r_max = (flint.arb(hi[1]) ** 2 + flint.arb(hi[2]) ** 2).sqrt()
            t_low = lower_end(self.kappa * (
                _power_nonneg(flint.arb(lo[0]) * (1 + r_min), self.s)
                + _power_nonneg(flint.arb(lo[0]) * (1 - r_max), self.s)))
            traces = None

        def linear(Y: flint.arb_mat, b0: flint.arb, r1: flint.arb, r2: flint.arb):
            return b0 * ((Y[0, 0] + Y[1, 1]) + r1 * (Y[0, 0] - Y[1, 1]) + 2 * r2 * Y[0, 1])

        # tangent rule at the centre
        c = 0.5 * (lo + hi)
        rc = c[1:].copy()
        norm = math.hypot(*rc)
        if norm > CENTRE_RADIUS:
            rc *= CENTRE_RADIUS / norm
        const, Y = self.dual_data(self.matrix(c[0], *rc))
        values = [const - linear(Y, *v) for v in corners]
        if traces is not None:
            tangent = min(lower_end(v + t) for v, t in zip(values, traces))
        else:
            tangent = min(lower_end(v) for v in values) + t_low
        # monotone rule at the Loewner upper bound B_hi = h ((1 + rho) I + R(c))
        h, rho = self.loewner_upper(lo, hi, c)
        monotone = -math.inf
        if h > 0 and math.hypot(c[1], c[2]) < (1 + rho) * (1 - 1e-9):  # B_hi > 0
            # B_hi = b0' (I + R(r')) with b0' = h (1 + rho), r' = c / (1 + rho)
            scale = 1 + flint.arb(rho)
            const_m, Y_m = self.dual_data(self.matrix(h * (1 + rho), c[1] / (1 + rho),
                                                      c[2] / (1 + rho)))
            bound = const_m - linear(Y_m, flint.arb(h) * scale, flint.arb(c[1]) / scale,
                                     flint.arb(c[2]) / scale)
            monotone = lower_end(bound) + t_low
        return max(tangent, monotone), self.split_scores(lo, hi)

    @staticmethod
    def split_scores(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """b0 is a scale: its width counts as log(hi/lo) (8 for a box down to 0); r1, r2
        count their widths."""
        scale = math.log(hi[0] / lo[0]) if lo[0] > 0 else 8.0
        return np.array([scale, hi[1] - lo[1], hi[2] - lo[2]])

    def split_point(self, lo: np.ndarray, hi: np.ndarray, i: int) -> float:
        """b0 is bisected geometrically, sqrt(lo hi) (hi/8 for a box down to 0); r at the
        midpoint.  The checker of a proof file replays this rule."""
        if i == 0:
            return math.sqrt(lo[0] * hi[0]) if lo[0] > 0 else hi[0] / 8
        return 0.5 * (lo[i] + hi[i])

    @staticmethod
    def loewner_upper(lo: np.ndarray, hi: np.ndarray, c: np.ndarray) -> tuple[float, float]:
        """(h, rho) with B <= h ((1 + rho) I + R(c)) for every PSD B of the box: b0 <= h =
        hi_0 and R(r) <= R(c) + |r - c| I (R's eigenvalues are +-|r|), rho >= |r - c|."""
        rho = max(upper_end(((flint.arb(r1) - c[1]) ** 2 + (flint.arb(r2) - c[2]) ** 2).sqrt())
                  for r1 in (lo[1], hi[1]) for r2 in (lo[2], hi[2]))
        return float(hi[0]), rho

    def value(self, x: np.ndarray) -> flint.arb:
        """Rigorous upper bound on Phi(B(x)): the L16 right-hand side at the inner Newton
        points (any x_k bounds the inner minimum from above); +inf off the PSD cone."""
        b0, r1, r2 = (float(v) for v in x)
        if b0 <= 0 or math.hypot(r1, r2) >= 1:
            return flint.arb("inf")
        B = self.matrix(b0, r1, r2)
        Ba = flint.arb_mat([[flint.arb(v) for v in row] for row in B])
        Binv = Ba.inv()
        total = self.trace_power(flint.arb(b0), (flint.arb(r1) ** 2 + flint.arb(r2) ** 2).sqrt())
        Bf = np.linalg.inv(B)
        for k in range(self.K):
            xk = self._inner_point(self.D[k], Bf)
            xa = [flint.arb(v) for v in xk]
            z = [sum((self.D_arb[k][j][m] * xa[m] for m in range(2)), flint.arb(0))
                 for j in range(self.K - 1)]
            shift = max(0.0, *(float(v.mid()) for v in z))
            lse = (sum(((v - shift).exp() for v in z), (-flint.arb(shift)).exp())).log() + shift
            quad = sum((xa[a] * Binv[a, b] * xa[b] for a in range(2) for b in range(2)),
                       flint.arb(0))
            total += lse / self.K + quad
        return total

    def _inner_point(self, D: np.ndarray, Binv: np.ndarray) -> np.ndarray:
        """The inner minimizer x: from the softmax, x = -B D^T pi_{-k} / (2K)."""
        pi = inner_softmax(D, Binv, self.K)
        return -np.linalg.solve(Binv, D.T @ pi[1:]) / (2 * self.K)

    def float_value_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError("SchattenDualProblem is searched without local polishing")

