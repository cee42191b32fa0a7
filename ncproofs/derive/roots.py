r"""Rigorous isolation of every real root of a smooth scalar function on an interval.

Given interval extensions f(X) and f'(X) (python-flint ``arb`` balls in, balls out) on
[lo, hi], the search keeps a list of subintervals and for each X:

* if 0 is not in f(X), X holds no root (discarded);
* if 0 is not in f'(X), f is strictly monotone on X, so X holds at most one root, and
  exactly one iff f has strictly opposite signs at the two (exact) endpoints; the root is
  then refined by bisection on certified signs;
* otherwise X is split in two, down to ``min_width``; a subinterval that cannot be
  decided (a double root, a root on a split point, too little precision) is returned in
  ``unresolved`` and the caller must not certify.

The result therefore encloses *all* roots on [lo, hi], each simple root in its own ball
-- the "compare every stationary point" step for nonconvex scalar reductions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import flint

ArbFunction = Callable[[flint.arb], flint.arb]


@dataclass
class RootIsolation:
    roots: list[flint.arb] = field(default_factory=list)  # one simple root in each ball
    unresolved: list[tuple[Fraction, Fraction]] = field(default_factory=list)
    boxes: int = 0  # subintervals examined

    @property
    def complete(self) -> bool:
        return not self.unresolved


def _ball(lo: Fraction, hi: Fraction) -> flint.arb:
    """An arb ball containing [lo, hi]."""
    mid = (lo + hi) / 2
    rad = (hi - lo) / 2
    return flint.arb(flint.fmpq(mid.numerator, mid.denominator)).union(
        flint.arb(flint.fmpq(lo.numerator, lo.denominator))
    ).union(flint.arb(flint.fmpq(hi.numerator, hi.denominator))) if rad else flint.arb(
        flint.fmpq(mid.numerator, mid.denominator))


def _point(x: Fraction) -> flint.arb:
    return flint.arb(flint.fmpq(x.numerator, x.denominator))


def _sign(x: flint.arb) -> int:
    """+1 / -1 when the ball excludes 0, else 0 (undecided)."""
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0


def isolate_roots(
    f: ArbFunction,
    df: ArbFunction,
    lo: Fraction,
    hi: Fraction,
    *,
    min_width: Fraction = Fraction(1, 10**12),
    root_width: Fraction = Fraction(1, 10**28),
    max_boxes: int = 200_000,
    prec: int = 160,
) -> RootIsolation:
    """Enclose every root of f on [lo, hi] (see the module docstring)."""
    old = flint.ctx.prec
    flint.ctx.prec = prec
    try:
        out = RootIsolation()
        stack = [(Fraction(lo), Fraction(hi))]
        while stack:
            a, b = stack.pop()
            out.boxes += 1
            if out.boxes > max_boxes:
                out.unresolved.append((a, b))
                out.unresolved.extend(stack)
                break
            X = _ball(a, b)
            if not f(X).contains(0):
                continue
            if not df(X).contains(0):
                sa, sb = _sign(f(_point(a))), _sign(f(_point(b)))
                if sa and sb:
                    if sa != sb:
                        out.roots.append(_refine(f, a, b, sa, root_width))
                    continue
            if b - a <= min_width:
                out.unresolved.append((a, b))
                continue
            m = _split_point(a, b)
            stack.append((m, b))
            stack.append((a, m))
        out.roots.sort(key=lambda r: float(r.mid()))
        return out
    finally:
        flint.ctx.prec = old


def _split_point(a: Fraction, b: Fraction) -> Fraction:
    """A short dyadic-ish rational near the midpoint (keeps the rationals small)."""
    m = (a + b) / 2
    width = b - a
    den = 1
    while Fraction(1, den) > width / 64:
        den *= 2
    return Fraction(round(m * den), den) if a < Fraction(round(m * den), den) < b else m


def _refine(f: ArbFunction, a: Fraction, b: Fraction, sa: int, width: Fraction) -> flint.arb:
    """Bisection on certified signs; returns a ball containing the unique root in [a, b]."""
    while b - a > width:
        m = _split_point(a, b)
        sm = _sign(f(_point(m)))
        if sm == 0:
            break  # the sign is no longer decidable at this precision: stop here
        if sm == sa:
            a = m
        else:
            b = m
    return _ball(a, b)
