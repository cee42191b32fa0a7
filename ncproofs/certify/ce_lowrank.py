r"""Interval branch and bound for weight-decayed CE with class-mean features at width d < K.

Problem (bias with lam_b > 0; docs/certificates.md, lemmas L13-L15):

    f* = min_{W, Hbar, b} sum_k w_k CE(W h_k + b, k) + lam_W/2 |W|^2
                          + lam_H/2 sum_k n_k |h_k|^2 + lam_b/2 |b|^2,   w_k = n_k / N.

Reduction to few variables (each step proved in docs/certificates.md):

* L13 (centring, rotation): W = B A with B = [I_{K-1}; -1^T] (a basis of 1^perp) and A
  ((K-1) x d) lower trapezoidal with a nonnegative diagonal (LQ decomposition) -- no loss:
  CE is invariant under a constant added to a logit column and |P W| <= |W|; the objective
  is invariant under W -> W R, Hbar -> R^T Hbar (R orthogonal).
* L14 (domain): some global minimizer has lam_W |W|^2 <= f* <= U (the scaling t W, Hbar/t
  is stationary at t = 1), and |A|_F <= |W|_F (B^T B = I + 11^T >= I), so every entry of A
  lies in [-sqrt(U/lam_W), sqrt(U/lam_W)].
* L15 (inner dual): for fixed W the problem in (Hbar, b) is convex; for any
  column-stochastic Q, with y_k = w_k (q_k - e_k) and Y = [y_1 .. y_K],

      min_{Hbar, b} (...) >= sum_k w_k Ent(q_k) - |Y 1|^2 / (2 lam_b)
                              - sum_k |W^T y_k|^2 / (2 lam_H n_k),

  so f(A) := min_{Hbar, b} f(B A, Hbar, b) >= c(Q) + 1/2 tr(A^T T(Q) A) with
  T(Q) = lam_W B^T B - B^T Y diag(1 / (lam_H n)) Y^T B, an exact rational matrix for a
  rational Q.  Per box we take Q = softmax of the inner optimum at the box centre (rounded
  to rationals on the simplex) and bound the quadratic over the box in interval
  arithmetic (exact Taylor expansion at the centre).  The bound is tangent to f at the
  centre (Danskin), so it loses only O(width^2).

:func:`ncproofs.certify.bnb.minimize` runs the search through ``Problem.box_bound``.
"""

from __future__ import annotations

from fractions import Fraction

import flint
import numpy as np

from ..losses import get_loss
from .bnb import Problem, _sq, ball
from .certificate import lower_end, upper_end
from .dual import _round_to_simplex, softmax_columns
from .intervals import arb_entropy, arb_of
from .upper import interval_objective


class LowRankCEProblem(Problem):
    """f(A) = min over class means and bias at W = B A (see the module docstring)."""

    name = "ce-class-means-low-rank"

    def __init__(self, counts: tuple[int, ...], d: int, lam_W: Fraction, lam_H: Fraction,
                 lam_b: Fraction, upper: float, starts: list[np.ndarray] | None = None,
                 dual_points: list[np.ndarray] = (),
                 ) -> None:
        if lam_b <= 0:
            raise ValueError("lam_b must be > 0 (the bias dual term |Y1|^2 / (2 lam_b))")
        self.K, self.d = len(counts), d
        if not 1 <= d < self.K:
            raise ValueError(f"d must be in [1, K - 1], got d={d}, K={self.K}")
        self.counts = tuple(int(c) for c in counts)
        self.lam_W, self.lam_H, self.lam_b = Fraction(lam_W), Fraction(lam_H), Fraction(lam_b)
        N = sum(self.counts)
        self.w = [Fraction(c, N) for c in self.counts]
        self.wf = np.array([float(x) for x in self.w])
        self.nf = np.asarray(self.counts, dtype=float)
        K1 = self.K - 1
        # free entries of A ((K-1) x d): lower trapezoidal, diagonal >= 0
        self.slots = [(i, j) for i in range(K1) for j in range(d) if j <= i]
        self.dim = len(self.slots)
        self.B = np.vstack([np.eye(K1), -np.ones((1, K1))])
        self.upper_value = float(upper)
        self.radius = float(np.nextafter(np.sqrt(upper / float(self.lam_W)), np.inf))
        self._starts = [] if starts is None else [np.asarray(x, float) for x in starts]
        #: fixed dual points tried on every box besides the centre's (e.g. the relaxation
        #: optimum's softmax: its bound is c(Q*) >= the relaxation value wherever T(Q*) >= 0)
        self.fixed_duals = [self.dual_data(P) for P in dual_points]

    # ------------------------------------------------------------------ coordinates
    def A_of(self, x: np.ndarray) -> np.ndarray:
        A = np.zeros((self.K - 1, self.d))
        for v, (i, j) in zip(x, self.slots):
            A[i, j] = v
        return A

    def x_of(self, A: np.ndarray) -> np.ndarray:
        """Coordinates of the orbit representative of A (LQ decomposition, diag >= 0)."""
        Qm, Rm = np.linalg.qr(A.T)  # A^T = Q R, A = R^T Q^T
        L = Rm.T
        signs = np.where(np.diag(L) < 0, -1.0, 1.0)
        L = L * signs[None, :]
        return np.array([L[i, j] for i, j in self.slots])

    def x_of_W(self, W: np.ndarray) -> np.ndarray:
        """Coordinates for a (centred) W: A = first K-1 rows of P W."""
        Wc = W - W.mean(axis=0, keepdims=True)
        return self.x_of(Wc[:-1])

    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.full(self.dim, -self.radius)
        for t, (i, j) in enumerate(self.slots):
            if i == j:
                lo[t] = 0.0
        return lo, np.full(self.dim, self.radius)

    def domain_proof(self) -> str:
        return (f"lemma L14: some global minimizer has lam_W |W|^2 <= f* <= U = "
                f"{self.upper_value!r}, and |A_ij| <= |A|_F <= |W|_F <= sqrt(U / lam_W); "
                "lemma L13: centring and the LQ form lose nothing")

    def starts(self) -> list[np.ndarray]:
        return list(self._starts)

    def outside_fundamental_domain(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        """True when every A in the box has lam_W |B A|_F^2 > U (lemma L14: the ball
        lam_W |W|^2 <= U holds a global minimizer in LQ form, so such a box holds none).
        |B A|^2 >= |A|^2 (B^T B >= I) and |A|^2 >= sum of each entry's min square."""
        low_sq = sum(0.0 if a <= 0 <= b else min(a * a, b * b) for a, b in zip(lo, hi))
        return float(self.lam_W) * low_sq * (1 - 1e-12) > self.upper_value

    # ------------------------------------------------------------------ inner problem
    def inner(self, W: np.ndarray, iters: int = 60) -> tuple[np.ndarray, np.ndarray, float]:
        """Newton's method for min over (Hbar, b) at fixed W (convex, float): returns
        (Hbar, b, value)."""
        K, d = self.K, self.d
        w, n = self.wf, self.nf
        lH, lb = float(self.lam_H), float(self.lam_b)
        H, b = np.zeros((d, K)), np.zeros(K)
        eye = np.eye(K)

        def value(H, b):
            Z = W @ H + b[:, None]
            m = Z.max(axis=0)
            lse = m + np.log(np.exp(Z - m).sum(axis=0))
            return float(w @ (lse - np.diag(Z)) + lH / 2 * (H**2 * n).sum() + lb / 2 * b @ b)

        f = value(H, b)
        for _ in range(iters):
            Z = W @ H + b[:, None]
            P = softmax_columns(Z)
            Y = (P - eye) * w
            gH = W.T @ Y + lH * H * n
            gb = Y.sum(axis=1) + lb * b
            g = np.concatenate([gH.T.ravel(), gb])  # h_1, ..., h_K, b
            size = K * d + K
            Hs = np.zeros((size, size))
            Sb = lb * np.eye(K)
            for k in range(K):
                S = w[k] * (np.diag(P[:, k]) - np.outer(P[:, k], P[:, k]))
                sl = slice(k * d, (k + 1) * d)
                Hs[sl, sl] = W.T @ S @ W + lH * n[k] * np.eye(d)
                Hs[sl, K * d:] = W.T @ S
                Hs[K * d:, sl] = S @ W
                Sb += S
            Hs[K * d:, K * d:] = Sb
            step = np.linalg.solve(Hs, -g)
            if -(g @ step) < 1e-24:  # Newton decrement: converged to float precision
                break
            t = 1.0
            while True:
                Hn = H + t * step[:K * d].reshape(K, d).T
                bn = b + t * step[K * d:]
                fn = value(Hn, bn)
                if fn <= f + 1e-4 * t * g @ step or t < 1e-10:
                    break
                t /= 2
            if fn > f:
                break
            H, b, f = Hn, bn, fn
        return H, b, f

    def _inner_at(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        return self.inner(self.B @ self.A_of(x))

    # ------------------------------------------------------------------ bounds
    def dual_data(self, P: np.ndarray) -> tuple[flint.arb, flint.arb_mat]:
        """(c(Q), T(Q)) of lemma L15 for the rational simplex rounding Q of P."""
        K = self.K
        cols = [_round_to_simplex(P[:, k]) for k in range(K)]
        const = flint.arb(0)
        for k in range(K):
            const += arb_of(self.w[k]) * arb_entropy(cols[k])
        Y = [[self.w[k] * (cols[k][j] - (1 if j == k else 0)) for k in range(K)]
             for j in range(K)]
        row = [sum(Y[j]) for j in range(K)]
        const -= arb_of(sum(r * r for r in row) / (2 * self.lam_b))
        Yq = flint.fmpq_mat(K, K, [flint.fmpq(v.numerator, v.denominator)
                                   for r in Y for v in r])
        Ninv = flint.fmpq_mat(K, K)
        for k in range(K):
            Ninv[k, k] = flint.fmpq(1) / (flint.fmpq(self.counts[k])
                                           * flint.fmpq(self.lam_H.numerator,
                                                        self.lam_H.denominator))
        Bq = flint.fmpq_mat(K, K - 1, [int(v) for v in self.B.ravel()])
        lw = flint.fmpq(self.lam_W.numerator, self.lam_W.denominator)
        T = Bq.transpose() * Bq * lw - Bq.transpose() * Yq * Ninv * Yq.transpose() * Bq
        return const, flint.arb_mat(T)

    def box_bound(self, lo: np.ndarray, hi: np.ndarray,
                  ) -> tuple[float, np.ndarray | None]:
        c = 0.5 * (lo + hi)
        A = self.A_of(c)
        H, b, _ = self.inner(self.B @ A)
        P = softmax_columns(self.B @ A @ H + b[:, None])
        bounds = [self._quadratic_bound(const, T, lo, hi) for const, T in
                  [self.dual_data(P), *self.fixed_duals]]
        return max(b_[0] for b_ in bounds), bounds[0][1]

    def _quadratic_bound(self, const: flint.arb, T: flint.arb_mat, lo: np.ndarray,
                         hi: np.ndarray) -> tuple[float, np.ndarray]:
        """Lower end of c + min over the box of 1/2 tr(A^T T A), and split scores."""
        c = 0.5 * (lo + hi)
        A = self.A_of(c)
        # 1/2 tr(A^T T A) = sum over columns a of 1/2 a^T T a, exact at the centre plus
        # the Taylor terms g.delta + 1/2 delta^T T delta with delta in the box
        K1 = self.K - 1
        total = const
        score = np.zeros(self.dim)
        index = {s: t for t, s in enumerate(self.slots)}
        for j in range(self.d):
            rows = [i for i in range(K1) if (i, j) in index]
            a0 = [flint.arb(A[i, j]) for i in range(K1)]
            delta = {i: ball(lo[index[i, j]] - c[index[i, j]], hi[index[i, j]] - c[index[i, j]])
                     for i in rows}
            Ta = [sum((T[i, m] * a0[m] for m in range(K1)), flint.arb(0)) for i in range(K1)]
            total += sum((a0[i] * Ta[i] for i in range(K1)), flint.arb(0)) / 2
            for i in rows:
                total += Ta[i] * delta[i]
                total += T[i, i] * _sq(delta[i]) / 2
                for m in rows:
                    if m < i:
                        total += T[i, m] * delta[i] * delta[m]
                # what this coordinate's width costs the bound: |g_i| w_i + sum_m |T_im|
                # w_i w_m / 2 (the quadratic's share matters on wide boxes)
                wi = hi[index[i, j]] - lo[index[i, j]]
                score[index[i, j]] = wi * (abs(float(Ta[i].mid())) + sum(
                    abs(float(T[i, m].mid())) * (hi[index[m, j]] - lo[index[m, j]]) / 2
                    for m in rows))
        return lower_end(total), score

    def value(self, x: np.ndarray) -> flint.arb:
        """Rigorous upper enclosure of f(x): the interval objective at (B A, Hbar, b) with
        the inner Newton point (any Hbar, b gives an upper bound on the inner minimum)."""
        W = self.B @ self.A_of(np.asarray(x, float))
        H, b, _ = self.inner(W)
        u = interval_objective(get_loss("ce"), W, H, b, list(range(self.K)), self.counts,
                               self.lam_W, self.lam_H, self.lam_b)
        return flint.arb(upper_end(u))

    def float_value_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """f(x) and its gradient (Danskin: d/dA of the Lagrangian at the inner optimum)."""
        A = self.A_of(np.asarray(x, float))
        W = self.B @ A
        H, b, f = self.inner(W)
        Y = (softmax_columns(W @ H + b[:, None]) - np.eye(self.K)) * self.wf
        gW = Y @ H.T + float(self.lam_W) * W
        gA = self.B.T @ gW
        return f + float(self.lam_W) / 2 * float((W**2).sum()), np.array(
            [gA[i, j] for i, j in self.slots])


