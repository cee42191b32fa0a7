r"""Exact global minimum of the scalar problem of deep MSE models with power penalty.

Deep bias-free MSE models whose optimum is an orthogonal (or, for K = 2, DNC) frame
reduce, after the depth-L factorization identity, to the scalar problem

    g(x) = (w/2) (x - 1)^2 + C x^(2/m),      x >= 0,   w > 0, C > 0, m = L + 1 >= 2,

where C is irrational in general but C^m = R is rational.  With x = u^m,

    G(u) = (w/2) (u^m - 1)^2 + C u^2,
    G'(u) = u [ w m u^(m-2) (u^m - 1) + 2 C ],

so the stationary points are u = 0 and the u in (0, 1) with

    w m u^(m-2) (1 - u^m) = 2 C   <=>   P(u) := (w m u^(m-2) (1 - u^m))^m - 2^m R = 0

(on (0, 1) the base is positive and t -> t^m is injective there).  P has rational
coefficients: python-flint isolates *all* its complex roots in certified balls
(``fmpz_poly.complex_roots``), we keep the real ones in (0, 1), and evaluate G on each
ball and at u = 0 in interval arithmetic.  Since G -> infinity, its global minimum on
[0, inf) is attained at one of these candidates, so

    min_candidates lower(G(ball))  <=  min g  <=  min_candidates upper(G(ball))

is a rigorous enclosure ("exact root isolation of a scalar reduction", docs/certificates.md).

Threshold.  g(x) = w/2 = g(0) and g'(x) = 0 together give x_thr = (m - 2)/(m - 1) and
C_thr = (w m / 2) (1 - x_thr) x_thr^(1 - 2/m): for C < C_thr the positive stationary
point is the global minimizer, for C > C_thr it is x = 0.  For m >= 3 (L >= 2) the
minimizer jumps from x_thr > 0 to 0 (a discontinuous transition); for m = 2 it is
continuous (x_thr = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import flint
import sympy as sp

from .intervals import arb_of


@dataclass
class ScalarMinimum:
    """Certified global minimum of g on [0, inf)."""

    value: flint.arb  # encloses min g
    argmin: flint.arb  # encloses the minimizing x (0 when the origin wins)
    positive_root: flint.arb | None  # the positive stationary point x > 0 of least value
    value_at_root: flint.arb | None
    value_at_zero: flint.arb
    candidates: list[flint.arb] = field(default_factory=list)  # stationary x in (0, 1)
    decided: bool = True  # False when origin and root cannot be ranked rigorously

    @property
    def zero_wins(self) -> bool:
        return self.positive_root is None or bool(self.value_at_zero < self.value_at_root)


@dataclass(frozen=True)
class PowerScalar:
    """g(x) = (w/2)(x - 1)^2 + C x^(2/m) with C = R^(1/m); w, R exact rationals."""

    w: Fraction
    R: Fraction
    m: int

    def __post_init__(self) -> None:
        if self.m < 2:
            raise ValueError(f"m must be >= 2 (m = L + 1), got {self.m}")
        if self.w <= 0 or self.R <= 0:
            raise ValueError("w and R must be positive")

    # ---- SymPy

    @property
    def C(self) -> sp.Expr:
        return sp.Rational(self.R.numerator, self.R.denominator) ** sp.Rational(1, self.m)

    def sympy_g(self, x: sp.Symbol) -> sp.Expr:
        w = sp.Rational(self.w.numerator, self.w.denominator)
        return w / 2 * (x - 1) ** 2 + self.C * x ** sp.Rational(2, self.m)

    def stationary_polynomial(self) -> flint.fmpq_poly:
        """P(u) = (w m u^(m-2)(1 - u^m))^m - 2^m R with rational coefficients."""
        m = self.m
        base = flint.fmpq_poly([0] * (m - 2) + [1]) * (1 - flint.fmpq_poly([0] * m + [1]))
        base = base * flint.fmpq(self.w.numerator * m, self.w.denominator)
        return base ** m - flint.fmpq(2**m * self.R.numerator, self.R.denominator)

    def threshold_C(self) -> sp.Expr:
        """C_thr = (w m/2)(1 - x_thr) x_thr^(1 - 2/m), x_thr = (m-2)/(m-1)."""
        m = self.m
        w = sp.Rational(self.w.numerator, self.w.denominator)
        x = sp.Rational(m - 2, m - 1)
        return sp.nsimplify(w * m / 2 * (1 - x) * x ** (1 - sp.Rational(2, m)))

    @staticmethod
    def threshold_x(m: int) -> sp.Rational:
        return sp.Rational(m - 2, m - 1)

    # ---- intervals

    def G(self, u: flint.arb) -> flint.arb:
        C = arb_of(self.R).root(self.m)
        t = u**self.m - 1
        return arb_of(self.w) / 2 * (t * t) + C * (u * u)

    def certified_minimum(self, prec: int = 200) -> ScalarMinimum:
        old = flint.ctx.prec
        flint.ctx.prec = prec
        try:
            return self._minimum()
        finally:
            flint.ctx.prec = old

    def _minimum(self) -> ScalarMinimum:
        P = self.stationary_polynomial()
        num = P.numer()  # integer polynomial with the same roots
        roots: list[flint.arb] = []
        for r, _mult in flint.fmpz_poly(num).complex_roots():
            if not r.imag.is_zero():
                if r.imag.contains(0):  # pragma: no cover - cannot happen for simple roots
                    raise ArithmeticError("a root could not be classified as real or complex")
                continue
            u = r.real
            if u > 0 and u < 1:
                roots.append(u)
            elif not (u <= 0 or u >= 1):  # pragma: no cover - ball straddles 0 or 1
                raise ArithmeticError(f"root {u} straddles the boundary of (0, 1)")
        at_zero = arb_of(self.w) / 2
        best_root, best_val = None, None
        for u in roots:
            val = self.G(u)
            if best_val is None or float(val.mid()) < float(best_val.mid()):
                best_root, best_val = u, val
        candidates = [u**self.m for u in roots]
        if best_val is None:
            return ScalarMinimum(value=at_zero, argmin=flint.arb(0), positive_root=None,
                                 value_at_root=None, value_at_zero=at_zero,
                                 candidates=candidates)
        # each ball encloses G at a true stationary point, so the arb minimum of the
        # balls encloses the true global minimum
        value = at_zero
        for u in roots:
            value = value.min(self.G(u))
        x_root = best_root**self.m
        decided = not best_val.overlaps(at_zero)
        argmin = x_root if (decided and best_val < at_zero) else flint.arb(0)
        return ScalarMinimum(value=value, argmin=argmin, positive_root=x_root,
                             value_at_root=best_val, value_at_zero=at_zero,
                             candidates=candidates, decided=decided)
