r"""The per-class scalar problem of deep linear MSE models, solved exactly.

For a deep linear model with L weight matrices and the MSE loss, every class (bias-free),
or every ETF direction (free bias, balanced), reduces to (Dang et al. 2023; derived in
:mod:`ncproofs.theorems.deep_linear_mse`)

    phi(x) = A (x - 1)^2 + ((L+1)/2) kappa^(1/(L+1)) x^(2/(L+1)),    x >= 0,

with A = n_k / (2N) and kappa = n_k lam_H prod_l lam_l (so the second term is
c (x sqrt(n_k))^(2/(L+1)) with c = ((L+1)/2) (lam_H prod lam_l)^(1/(L+1))).

Substituting x = s^(L+1) (s >= 0) gives the polynomial form
phi = A (s^(L+1) - 1)^2 + (L+1) A r s^2 with r = kappa^(1/(L+1)) / (2A), and

    phi'(s) = 2 (L+1) A s (r - g(s)),        g(s) = s^(L-1) (1 - s^(L+1)).

So the positive stationary points solve g(s) = r, equivalently (g >= 0 on [0, 1] and
g < 0 beyond) the *rational* polynomial equation

    P(s) = s^((L-1)(L+1)) (1 - s^(L+1))^(L+1) - R = 0,   R = r^(L+1) = kappa / (2A)^(L+1),

with s in (0, 1).  For L = 1, phi is convex and x* = 1 - sqrt(R) when R < 1, else 0.  For
L >= 2, g rises on [0, s_max] and falls on [s_max, 1] (s_max^(L+1) = (L-1)/(2L)), so for
r < g(s_max) there are two positive stationary points: the smaller a local maximum, the
larger s_2 a local minimum, and x = 0 is always a local minimum.  The two tie exactly when
x_2 = s_2^(L+1) = (L-1)/L, i.e. at

    R_tie = ((L-1)/L)^(L-1) / L^(L+1)      (rational),

so x* = s_2^(L+1) > (L-1)/L when R < R_tie and x* = 0 when R > R_tie -- including the window
R_tie < R < R_max = g(s_max)^(L+1) where a positive stationary point exists yet loses to 0.
Taking the largest stationary root and clamping negatives to zero (Dang et al.'s released
code) is wrong in that window.

Two independent exact routes:

* :meth:`DeepScalar.exact_minimizer` (SymPy): ``real_roots`` of P isolates every real root
  exactly (CRootOf); the minimizer is chosen by the rational threshold test R vs R_tie.
* :meth:`DeepScalar.certified_minimum` (python-flint): certified enclosures of every root
  of P (``fmpz_poly.complex_roots``; real roots come back with imaginary part exactly 0),
  phi evaluated in interval arithmetic at each positive real root and at 0; the minimum of
  the lower ends is a rigorous lower bound of min_{x >= 0} phi (the global minimizer is 0
  or a positive stationary point, and phi -> infinity).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import flint
import sympy as sp

from ..spec import SpecError


def _q(x: Fraction) -> sp.Rational:
    return sp.Rational(x.numerator, x.denominator)


@lru_cache(maxsize=256)
def _sympy_real_roots(L: int, R: Fraction) -> tuple[sp.Expr, ...]:
    s = sp.Symbol("s")
    P = sp.Poly(s ** ((L - 1) * (L + 1)) * (1 - s ** (L + 1)) ** (L + 1) - _q(R), s)
    return tuple(sp.real_roots(P))


def _in_open_unit_interval(root: sp.Expr) -> bool:
    """0 < root < 1 for a real root of P, decided from its rational isolating interval when
    that interval lies in [0, 1] or outside (0, 1): for L >= 2, P(0) = P(1) = -R != 0, so an
    endpoint 0 or 1 is never the root (for L = 1, P(0) = 1 - R; a root at 0 or 1 is rational
    and takes the exact ``bool`` fallback below).  ``bool(root > 0)`` refines the interval
    until it excludes 0, which takes minutes for the root s ~ R^(1/(L^2-1)) when
    R ~ 1e-100 (lam ~ 1e-300)."""
    try:
        iv = root._get_interval()  # CRootOf's exact isolating interval [a, b]
        a, b = sp.Rational(iv.a), sp.Rational(iv.b)
    except (AttributeError, TypeError):
        return bool(root > 0) and bool(root < 1)
    if a >= 0 and b <= 1:
        return True
    if b <= 0 or a >= 1:
        return False
    return bool(root > 0) and bool(root < 1)


def tie_ratio(L: int) -> Fraction:
    """R_tie = ((L-1)/L)^(L-1) / L^(L+1): x* = 0 for R > R_tie, x* > 0 for R < R_tie
    (L = 1: R_tie = 1, the convex threshold N^2 lam_W lam_H = n_k)."""
    if L < 1:
        raise SpecError(f"L must be >= 1, got {L}")
    return Fraction(L - 1, L) ** (L - 1) / Fraction(L) ** (L + 1)


def max_ratio(L: int) -> sp.Expr:
    """R_max = g(s_max)^(L+1): a positive stationary point exists iff R <= R_max."""
    if L == 1:
        return sp.Integer(1)
    u = sp.Rational(L - 1, 2 * L)  # s_max^(L+1)
    return u ** (L - 1) * (1 - u) ** (L + 1)


@dataclass(frozen=True)
class DeepScalar:
    """phi(x) = A (x-1)^2 + ((L+1)/2) kappa^(1/(L+1)) x^(2/(L+1)) over x >= 0 (exact A, kappa)."""

    L: int
    A: Fraction
    kappa: Fraction

    def __post_init__(self) -> None:
        if self.L < 1:
            raise SpecError(f"L must be >= 1, got {self.L}")
        if self.A <= 0 or self.kappa <= 0:
            raise SpecError("A and kappa must be > 0")

    # ---------------------------------------------------------------- symbolic objects

    @property
    def R(self) -> Fraction:
        """R = kappa / (2A)^(L+1) (rational)."""
        return self.kappa / (2 * self.A) ** (self.L + 1)

    def phi(self, x: sp.Expr) -> sp.Expr:
        L = self.L
        return (_q(self.A) * (x - 1) ** 2
                + sp.Rational(L + 1, 2) * _q(self.kappa) ** sp.Rational(1, L + 1)
                * x ** sp.Rational(2, L + 1))

    def phi_s(self, s: sp.Expr) -> sp.Expr:
        """phi(s^(L+1)) = A (s^(L+1) - 1)^2 + ((L+1)/2) kappa^(1/(L+1)) s^2."""
        L = self.L
        return (_q(self.A) * (s ** (L + 1) - 1) ** 2
                + sp.Rational(L + 1, 2) * _q(self.kappa) ** sp.Rational(1, L + 1) * s**2)

    def stationarity_poly(self, s: sp.Symbol | None = None) -> sp.Poly:
        s = s or sp.Symbol("s")
        L = self.L
        return sp.Poly(s ** ((L - 1) * (L + 1)) * (1 - s ** (L + 1)) ** (L + 1) - _q(self.R), s)

    # ---------------------------------------------------------------- exact (SymPy) route

    def positive_stationary_points(self) -> list[sp.Expr]:
        """Every s in (0, 1) with g(s) = r, as exact CRootOf objects, increasing."""
        roots = _sympy_real_roots(self.L, self.R)
        return [r for r in roots if _in_open_unit_interval(r)]

    def exact_minimizer(self) -> tuple[sp.Expr, str]:
        """(x*, regime) with x* exact: 0 when R >= R_tie (a tie R = R_tie is reported as 0,
        both are optimal), else s_2^(L+1) for the largest stationary s_2."""
        R, tie = self.R, tie_ratio(self.L)
        points = self.positive_stationary_points()
        if R >= tie:
            if self.L >= 2 and points:
                return sp.Integer(0), "zero (window: a positive stationary point exists but 0 wins)"
            return sp.Integer(0), "zero"
        if not points:  # impossible for R < R_tie; refuse rather than guess
            raise ArithmeticError("no stationary point below the tie ratio")
        return points[-1] ** (self.L + 1), "positive"

    def value(self, x: sp.Expr) -> sp.Expr:
        """phi(x) for x = 0 or x = s^(L+1) (then evaluated through s, exactly)."""
        if x == 0:
            return _q(self.A)
        base, exp = (x.args if isinstance(x, sp.Pow) else (x, 1))
        if exp == self.L + 1:
            return self.phi_s(base)
        return self.phi(x)

    # ---------------------------------------------------------------- certified (flint) route

    def positive_real_roots(self) -> list[flint.arb]:
        """Certified balls of the real roots s of P with s possibly > 0 (FLINT's
        ``fmpz_poly.complex_roots`` returns real roots with imaginary part exactly 0)."""
        P = self.stationarity_poly(sp.Symbol("s"))
        _, Pz = P.clear_denoms()
        coeffs = [int(c) for c in reversed(Pz.all_coeffs())]
        return [z.real for z, _mult in flint.fmpz_poly(coeffs).complex_roots()
                if z.imag == 0 and z.real.upper() > 0]

    def proof_intervals(self) -> list[list[str]]:
        """The positive real roots of P as exact rational intervals [lo, hi] (the ends of
        the balls), for a proof file."""
        out = []
        for root in self.positive_real_roots():
            ends = [e.man_exp() for e in (root.lower(), root.upper())]
            out.append([str(Fraction(int(m)) * Fraction(2) ** int(e)) for m, e in ends])
        return out

    def certified_minimum(self) -> tuple[flint.arb, list[tuple[flint.arb, flint.arb]]]:
        """A rigorous enclosure-based lower bound of min_{x >= 0} phi(x).

        Returns (lower, candidates): ``lower`` is an arb ball whose lower end is <= the
        true minimum (the minimum of the candidates' balls), ``candidates`` lists
        (x ball, phi ball) for x = 0 and every positive real root of P (spurious roots of
        P for s > 1 only add feasible points, which never invalidates a minimum)."""
        L = self.L
        A = flint.arb(flint.fmpq(self.A.numerator, self.A.denominator))
        kappa = flint.arb(flint.fmpq(self.kappa.numerator, self.kappa.denominator))
        q = kappa.root(L + 1)
        cands: list[tuple[flint.arb, flint.arb]] = [(flint.arb(0), A)]
        for sr in self.positive_real_roots():
            x = arb_ipow(sr, L + 1)
            val = A * ((x - 1) * (x - 1)) + flint.arb(L + 1) / 2 * q * (sr * sr)
            cands.append((x, val))
        return lowest_candidate(cands), cands


def arb_ipow(x: flint.arb, k: int) -> flint.arb:
    """x^k (k >= 0) by repeated products: python-flint 0.9's ``x ** k`` is nan when the ball
    x contains 0 (e.g. (x - 1) ** 2 for x ~ 1), which would silently drop a candidate."""
    out = flint.arb(1)
    for _ in range(k):
        out = out * x
    return out


def lowest_candidate(cands: list[tuple[flint.arb, flint.arb]]) -> flint.arb:
    """The candidate value with the lowest lower end -- or a non-finite ball (decide() reads
    it as inconclusive) when any candidate value is non-finite: min(key=float(lower)) would
    skip a nan and return a value above the true minimum."""
    if any(not v.is_finite() for _, v in cands):
        return flint.arb("nan")
    return min(cands, key=lambda c: float(c[1].lower()))[1]
