r"""Scalar reduction of a permutation-symmetric relaxation.

For balanced classes the relaxation (docs/architecture.md, "Engines")

    min_M  (1/K) sum_k loss(M e_k, k) + t |M|_*,        t = sqrt(n lam_W lam_H),

is invariant under relabelling the classes.  When the loss is convex in the logits the
relaxation is convex, so averaging a minimizer over all K! permutations gives a
minimizer that commutes with every permutation, M = a T with a template T:

* ``"etf"``:         T = I - 11^T/K, |T|_* = K - 1, logits a(K-1)/K on the label, -a/K off it
                     (the class-mean logits of a simplex ETF; the bias-free shift 11^T is
                     ignored because softmax-type losses do not see it);
* ``"orthogonal"``:  T = I,          |T|_* = K,     logits a on the label, 0 off it.

The problem is then the scalar  g(a) = loss(a T e_1, 1) + t |T|_* a  over a >= 0.  This
module derives g, g', the stationary points and the threshold t at which g'(0) = 0 --
beyond it a = 0 (W = H = 0) is optimal for convex g.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..losses import Loss

TEMPLATES = {
    # name: (value on the label, value off the label, nuclear norm of T) as functions of K
    "etf": (lambda K: (K - 1) / K, lambda K: -1 / K, lambda K: K - 1),
    "orthogonal": (lambda K: sp.Integer(1), lambda K: sp.Integer(0), lambda K: K),
}


@dataclass(frozen=True)
class DerivationStep:
    """One displayed step: a title and a SymPy object (expression, equation, set)."""

    title: str
    expr: object

    def text(self) -> str:
        return f"{self.title}:\n    {sp.pretty(self.expr, use_unicode=False)}" if isinstance(
            self.expr, sp.Basic
        ) else f"{self.title}:\n    {self.expr}"

    def latex(self) -> str:
        body = sp.latex(self.expr) if isinstance(self.expr, sp.Basic) else str(self.expr)
        return f"% {self.title}\n\\[ {body} \\]"


@dataclass(frozen=True)
class SymmetricReduction:
    """g(a) = loss(a T e_1, 1) + t |T|_* a for a symmetric template T.

    ``K`` and ``t`` may be SymPy symbols (for the general derivation) or exact numbers
    (for a particular spec).
    """

    loss: Loss
    K: sp.Expr
    t: sp.Expr
    template: str = "etf"
    a: sp.Symbol = field(default_factory=lambda: sp.Symbol("a", nonnegative=True))

    @property
    def nuclear_norm(self) -> sp.Expr:
        return TEMPLATES[self.template][2](self.K)

    @property
    def data_term(self) -> sp.Expr:
        on, off, _ = TEMPLATES[self.template]
        return self.loss.sympy_symmetric(self.a * on(self.K), self.a * off(self.K), self.K)

    @property
    def objective(self) -> sp.Expr:
        return self.data_term + self.t * self.nuclear_norm * self.a

    @property
    def stationarity(self) -> sp.Expr:
        return sp.simplify(sp.diff(self.objective, self.a))

    def stationary_points(self) -> list[sp.Expr]:
        """Solutions of g'(a) = 0 (as SymPy finds them; may include a <= 0)."""
        a = sp.Symbol("a")  # unrestricted, so solve keeps every branch
        eq = self.stationarity.subs(self.a, a)
        return [sp.simplify(s) for s in sp.solve(sp.Eq(eq, 0), a)]

    def threshold(self) -> list[sp.Expr]:
        """Values of t where g'(0) = 0: for convex g the optimum leaves a = 0 below it."""
        t = sp.Symbol("t", positive=True)
        slope = sp.simplify(sp.diff(self.objective.subs(self.t, t), self.a).subs(self.a, 0))
        return sp.solve(sp.Eq(slope, 0), t)

    def value(self, a_value: sp.Expr) -> sp.Expr:
        """g(a_value), exact.  Simplified only while symbols remain: for numeric parameters
        ``simplify`` may factor huge integers inside ``logcombine`` (K = 9, lam = 0.0630957
        ran for minutes), and the unsimplified expression is just as exact."""
        value = self.objective.subs(self.a, a_value)
        return sp.simplify(value) if value.free_symbols else value
