"""Interval (python-flint ``arb``) helpers shared by every rigorous check.

A float64 array is converted to ``arb`` exactly (floats are dyadic rationals), so an
interval evaluation at a floating-point matrix is a rigorous evaluation *at that exact
point*; the point is feasible whatever rounding produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import flint
import numpy as np


def arb_of(x: Fraction | int | float) -> flint.arb:
    """Exact ball for a rational or float (radius 0)."""
    if isinstance(x, Fraction):
        return flint.arb(flint.fmpq(x.numerator, x.denominator))
    return flint.arb(x)


def fmpq_of(x: Fraction) -> flint.fmpq:
    return flint.fmpq(x.numerator, x.denominator)


def arb_matrix(A: np.ndarray) -> flint.arb_mat:
    """Exact conversion of a float64 matrix."""
    A = np.asarray(A, dtype=np.float64)
    return flint.arb_mat(A.tolist())


def arb_sum_squares(A: np.ndarray) -> flint.arb:
    """Rigorous |A|_F^2 of a float array: one interval dot product (FLINT, in C) of the
    exactly converted nonzero entries with themselves."""
    values = np.asarray(A, dtype=np.float64).ravel()
    values = values[values != 0.0]
    if values.size == 0:
        return flint.arb(0)
    row = flint.arb_mat(1, values.size, values.tolist())
    return (row * row.transpose())[0, 0]


def arb_entropy(p: Sequence[Fraction]) -> flint.arb:
    """-sum p_j log p_j for exact nonnegative rationals (0 log 0 = 0)."""
    total = flint.arb(0)
    for pj in p:
        if pj < 0:
            raise ValueError("entropy of a negative probability")
        if pj != 0:
            x = arb_of(pj)
            total -= x * x.log()
    return total


def isqrt_fraction_below(r: Fraction, bits: int = 64) -> Fraction:
    """A rational q with q^2 <= r and relative error below 2^-bits (exact integer
    square root; the grid adapts to the size of r, so tiny r keep their precision)."""
    import math

    if r < 0:
        raise ValueError("square root of a negative number")
    if r == 0:
        return Fraction(0)
    # sqrt(r) >= 2^-(shift) roughly; refine the grid by that many extra bits
    shift = max(0, (r.denominator.bit_length() - r.numerator.bit_length()) // 2 + 1)
    scale = 1 << (bits + shift)
    # floor(sqrt(r) * scale) = isqrt(floor(r * scale^2))
    return Fraction(math.isqrt(r.numerator * scale * scale // r.denominator), scale)


def sympy_to_arb(expr) -> flint.arb:
    """Rigorous enclosure of a closed-form SymPy number built from rationals with
    +, *, powers, sqrt, exp and log (the shapes our derivations produce)."""
    import sympy as sp

    expr = sp.sympify(expr)
    if expr.is_Integer or expr.is_Rational:
        return flint.arb(flint.fmpq(int(expr.p), int(expr.q)))
    if expr is sp.pi:
        return flint.arb.pi()
    if expr is sp.E:
        return flint.arb(1).exp()
    if expr.is_Add:
        total = flint.arb(0)
        for term in expr.args:
            total += sympy_to_arb(term)
        return total
    if expr.is_Mul:
        total = flint.arb(1)
        for term in expr.args:
            total *= sympy_to_arb(term)
        return total
    if expr.is_Pow:
        base, exp = expr.args
        b = sympy_to_arb(base)
        if exp.is_Integer:
            # repeated products: python-flint's pow of a ball containing 0 is nan
            e = int(exp)
            result = flint.arb(1)
            for _ in range(abs(e)):
                result *= b
            return result if e >= 0 else 1 / result
        return b ** sympy_to_arb(exp)
    if isinstance(expr, sp.log):
        return sympy_to_arb(expr.args[0]).log()
    if isinstance(expr, sp.exp):
        return sympy_to_arb(expr.args[0]).exp()
    if isinstance(expr, sp.Abs):
        return abs(sympy_to_arb(expr.args[0]))
    if isinstance(expr, sp.cos):
        return sympy_to_arb(expr.args[0]).cos()
    if isinstance(expr, sp.sin):
        return sympy_to_arb(expr.args[0]).sin()
    raise TypeError(f"cannot enclose {expr!r} rigorously")
