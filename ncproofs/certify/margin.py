r"""Rigorous bounds on the one-vs-rest margin of codes on the sphere.

    rho(d, K) = max_{W, H}  min_k min_{j != k} (w_k - w_j)^T h_k,   |w_k| = |h_k| = 1,

(Jiang et al.'s Softmax Code; for unit h the inner minimum is at most
dist(w_k, conv{w_j : j != k}), with equality at the best h_k.)

Lower bounds: the margin of an explicit code, evaluated in interval arithmetic at the
*exact* normalization of float rows (:func:`code_margin`).

Upper bounds (each a theorem, proved in the docstring of the function):

* :func:`gram_margin_upper` -- the PSD-Gram SDP relaxation (rank dropped) and its exact
  dual: rho <= K/(K-1) for every d.  It forgets d (docs/known_results.md, "Pitfalls"), so
  it is tight only when K <= d + 1 (simplex).
* :func:`radon_margin_upper` -- knows d: for K >= d + 2, rho <= 2 (1 - 1/floor((d+2)/2))
  (Radon partition argument).  It equals 1 for d = 2, 3.
* :func:`polygon_margin_upper` -- d = 2: rho <= 1 - cos(2 pi/K) for K >= 4.
* :func:`radon_convexity_margin_upper` -- every d, K >= d + 2: rho <= 1 (Radon partition
  plus an averaging identity; supersedes :func:`radon_margin_upper`, which it equals for
  d = 2, 3 and beats for d >= 4).  With the cross-polytope code this settles the
  orthoplex regime d + 2 <= K <= 2d, as Alcala, Andreeva, Kobzar, Mixon, Na, Sule, Xie,
  "Neural collapse in the orthoplex regime" (arXiv 2603.20587) state via "Radon's theorem
  and convexity"; the proof below is ours.
"""

from __future__ import annotations

from fractions import Fraction

import flint
import numpy as np

from .certificate import lower_end, upper_end
from .dual import _charpoly_nonnegative_roots
from .gram import arb_unit_rows, off_diagonal_block

MAX_EXACT_GRAM_K = 30


def gram_margin_dual_matrix(K: int) -> list[list[Fraction]]:
    """C = [[0, B/2], [B/2, 0]] with B = (K I - 11^T)/(K (K-1)): the uniform average of the
    K(K-1) margin constraints, <C, G> = mean_{k, j != k} (M_kk - M_jk), M = G[:K, K:]."""
    B = [[Fraction((K if i == j else 0) - 1, K * (K - 1)) for j in range(K)] for i in range(K)]
    return off_diagonal_block(B)


def gram_margin_upper(K: int) -> tuple[Fraction, bool]:
    """rho <= K/(K-1) for every d, and whether the PSD check was done exactly.

    Proof: the margin is at most the uniform average of the K(K-1) constraint values,
    <C, G> with G the Gram matrix of (W; H) (PSD, unit diagonal, trace 2K).  For
    y = 1/(2(K-1)) (all i), y I - C is PSD (C has eigenvalues +-1/(2(K-1)) and 0), so
    <C, G> <= y tr G = 2K y = K/(K-1).  The PSD claim is checked exactly in rationals
    (characteristic polynomial sign pattern) for K <= 30; beyond, the eigenvalue
    argument above is the proof."""
    y = Fraction(1, 2 * (K - 1))
    exact = False
    if K <= MAX_EXACT_GRAM_K:
        C = gram_margin_dual_matrix(K)
        n = 2 * K
        A = flint.fmpq_mat(n, n, [_fq((y if i == j else 0) - C[i][j])
                                  for i in range(n) for j in range(n)])
        if not _charpoly_nonnegative_roots(A):  # pragma: no cover - would be a bug
            raise RuntimeError("Gram margin dual infeasible")
        exact = True
    return 2 * K * y, exact


def _fq(x: Fraction) -> flint.fmpq:
    return flint.fmpq(x.numerator, x.denominator)


def radon_margin_upper(d: int) -> Fraction:
    r"""rho(d, K) <= 2 (1 - 1/floor((d+2)/2)) for K >= d + 2.

    Proof.  Take d + 2 of the w's; they are affinely dependent: sum c_j w_j = 0,
    sum c_j = 0, c != 0 (Radon).  With B_jk = w_j^T h_k and margin t, write
    B_jk = B_kk - t - e_jk (e_jk >= 0, j != k).  Then 0 = sum_j c_j B_jk gives
    t c_k = sum_{j != k} c_j e_jk.  Normalize sum_{c_j > 0} c_j = 1 (P = {c_j > 0}) and take
    k in P with c_k >= 1/|P|; dropping the negative c_j and using e_jk <= 2 - t
    (|B| <= 1): t c_k <= (2 - t)(1 - c_k), i.e. t <= 2 (1 - c_k) <= 2 (1 - 1/|P|).  The same
    with -c bounds t by 2 (1 - 1/|N|), and min(|P|, |N|) <= floor((d + 2)/2).  A sub-code
    keeps (at least) the margin, so this holds for every K >= d + 2.
    """
    m = (d + 2) // 2
    return 2 * (1 - Fraction(1, m))


def radon_convexity_margin_upper(K: int, d: int) -> Fraction:
    r"""rho(d, K) <= 1 for every d >= 1 and K >= d + 2.

    Proof.  Take d + 2 of the w's; Radon: sum c_j w_j = 0, sum c_j = 0, c != 0.  With
    P = {c_j > 0}, N = {c_j < 0} (both non-empty, disjoint) and a_j = c_j / sum_P c_i,
    the point x = sum_{j in P} a_j w_j lies in conv{w_j : j in N}.  For k in P,
    conv{w_j : j in N} is in conv{w_j : j != k}, so for unit h_k the margin t of class k
    satisfies t <= min_{j in N} (w_k - w_j)^T h_k <= (w_k - x)^T h_k <= |w_k - x|.  Since
    |w_k| = 1 and sum_P a_k w_k = x, the a-weighted average of |w_k - x|^2 over k in P is
    1 - 2|x|^2 + |x|^2 = 1 - |x|^2 <= 1, so some k in P has |w_k - x| <= 1, and the
    margin (a minimum over all classes; a sub-code keeps at least the margin) is <= 1.
    """
    if K < d + 2:
        raise ValueError(f"the Radon-convexity bound needs K >= d + 2, got K={K}, d={d}")
    return Fraction(1)


def polygon_margin_upper(K: int) -> flint.arb:
    r"""d = 2, K >= 4: rho <= 1 - cos(2 pi/K) = 2 sin^2(pi/K).

    Proof.  Order the w's by angle, gaps theta_1..theta_K (sum 2 pi; a zero gap means
    margin 0).  Some k has neighbour gaps alpha + beta <= 4 pi/K <= pi (their average is
    4 pi/K).  The chord between w_k's two neighbours lies in conv{w_j : j != k}, and the
    foot of the perpendicular from w_k (on the minor arc between them) is on the chord, so
    dist(w_k, conv) <= cos((beta - alpha)/2) - cos((alpha + beta)/2) = 2 sin(alpha/2)
    sin(beta/2) <= 2 sin^2((alpha + beta)/4) (log sin is concave on (0, pi)) <= 2 sin^2(pi/K).
    The margin is at most this distance for every unit h_k.
    """
    if K < 4:
        raise ValueError("the polygon bound needs K >= 4")
    s = (flint.arb.pi() / K).sin()
    return 2 * s * s


def code_margin(W: np.ndarray, H: np.ndarray) -> flint.arb:
    """Enclosure of min_k min_{j != k} (w_k - w_j)^T h_k at the exact normalizations of the
    rows of W (K x d) and the columns of H (d x K): a rigorous lower bound on rho(d, K)."""
    Wn = arb_unit_rows(W)
    Hn = arb_unit_rows(np.asarray(H).T)
    K = len(Wn)
    values = [sum(((a - b) * c for a, b, c in zip(Wn[k], Wn[j], Hn[k])), flint.arb(0))
              for k in range(K) for j in range(K) if j != k]
    return min_enclosure(values)


def min_enclosure(values: list[flint.arb]) -> flint.arb:
    """A ball containing min(values): from the least lower end to the least upper end
    (outward-rounded floats)."""
    lo = min(lower_end(v) for v in values)
    hi = min(upper_end(v) for v in values)
    rad = (hi - lo) / 2 * (1 + 2**-40) + 5e-324
    return (flint.arb(lo) + flint.arb(hi)) / 2 + flint.arb(0, rad)
