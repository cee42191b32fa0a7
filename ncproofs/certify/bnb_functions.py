"""Classical global-optimization test functions as branch-and-bound problems.

Written once for the tests and ``benchmarks/bench_bnb.py``; their published global minima
(six-hump camel -1.0316284534898774 at (+-0.0898, -+0.7126); Branin 5/(4 pi) at three
points) are stated by the tests, not here.  The functions take a vector of arb balls or
:class:`~ncproofs.certify.bnb.Jet` objects (anything with ``square``, ``cos``, +, *).
"""

from __future__ import annotations

import math
from typing import Any

from .bnb import FunctionProblem


def camel(v: Any) -> Any:
    """Six-hump camel: (4 - 2.1 x^2 + x^4/3) x^2 + x y + (-4 + 4 y^2) y^2."""
    x, y = v
    x2, y2 = x.square(), y.square()
    return (4 - 2.1 * x2 + x2.square() * (1 / 3)) * x2 + x * y + (-4 + 4 * y2) * y2


def branin(v: Any) -> Any:
    """Branin: (y - b x^2 + c x - 6)^2 + 10 (1 - t) cos x + 10, b = 5.1/(4 pi^2),
    c = 5/pi, t = 1/(8 pi)."""
    x, y = v
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x.square() + c * x - 6).square() + 10 * (1 - t) * x.cos() + 10


def camel_problem() -> FunctionProblem:
    return FunctionProblem(camel, [-3, -2], [3, 2], name="six-hump camel")


def branin_problem() -> FunctionProblem:
    return FunctionProblem(branin, [-5, 0], [10, 15], name="Branin")
