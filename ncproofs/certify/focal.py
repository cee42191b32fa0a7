r"""A convex minorant of the focal loss, exact where the ETF optimum sits (lemma L12).

The focal loss is not convex in the logits, so Jensen's inequality does not apply to it
directly.  It is, however, a function of one convex quantity:

    FL(z, y) = -(1 - p_y)^gamma log p_y = h(u),   u = LSE_{j != y}(z_j - z_y),
    h(u) = r^gamma (-log(1 - r)),                 r = 1 - p_y = e^u / (1 + e^u),

and, with L(r) = -log(1 - r)/r (positive, increasing on (0, 1)),

    h'(u) = D(r) = r^(gamma+1) (1 + gamma (1 - r) L(r)),
    dD/dr = r^gamma E(r),   E(r) = 2 gamma + 1 + gamma L(r) (gamma - (gamma + 1) r).

E > 0 for r <= gamma/(gamma + 1); beyond, L and the bracket (gamma + 1) r - gamma are
positive and increasing, so E decreases.  Hence D (the slope of h) increases up to the
unique zero of E and then decreases, to D(1^-) = 1.

**Lemma (L12).**  Let r_c in (0, 1) with E(r_c) >= 0 and D(r_c) <= 1, u_c = log(r_c/(1 -
r_c)).  Then g = h on (-inf, u_c] continued by its tangent line at u_c is convex,
nondecreasing and g <= h, so ``FL >= g(LSE_{j != y}(z_j - z_y))``, a convex function of the
logits.  *Proof.*  On (-inf, u_c], h'' = r^gamma E(r) dr/du >= 0 because E >= E(r_c) >= 0
there (E is positive up to gamma/(gamma+1) and decreasing after); so g is convex there
and its slope D(r_c) is the largest on (-inf, u_c].  For u >= u_c, D is unimodal with
D(1^-) = 1 >= D(r_c), so h'(u) >= D(r_c) and h(u) - g(u) = int_{u_c}^u (h' - D(r_c)) >= 0.
g is nondecreasing since D > 0.  A convex nondecreasing function of the convex LSE is
convex.

**The bound.**  With the minorant in place of FL, the CE argument applies verbatim (Jensen
for class means, the factorization inequality, averaging over class relabellings): for
balanced n,

    f >= min_{a >= 0} psi_g(a),   psi_g(a) = g(log(K-1) - a) + t (K-1) a,
    t = sqrt(n lam_W lam_H),

psi_g is convex and equals the focal reduction psi (the value of the ETF point of margin
a) for a >= a_c = log(K-1) - u_c.  If psi'(a_lo) <= 0 (or a_lo = 0) and psi'(a_hi) >= 0
with a_c = a_lo, the minimum of psi_g lies in [a_lo, a_hi], where psi_g = psi, so
``min psi_g >= psi(m) - |psi'(m)| (a_hi - a_lo)`` (convexity, any m in [a_lo, a_hi]).
The ETF point of margin m attains psi(m): the two bounds meet to the width of the bracket.
When E(r_c) < 0 or D(r_c) > 1 at the candidate (e.g. K = 20, gamma = 3 with the origin
optimal: E(19/20) < 0) no such minorant exists there and the certificate stays
conditional on the paper's theorem.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import flint

from .certificate import lower_end, upper_end
from .intervals import arb_of


def focal_value(p: flint.arb, gamma: flint.arb) -> flint.arb:
    """FL = -(1 - p)^gamma log p at the true-class probability p."""
    return -((1 - p) ** gamma) * p.log()


def focal_slope(p: flint.arb, gamma: flint.arb) -> flint.arb:
    """h'(u) = D(r) at r = 1 - p, in p: (1 - p)^gamma ((1 - p) - gamma p log p)."""
    q = 1 - p
    return q ** gamma * (q - gamma * p * p.log())


def focal_slope_derivative(p: flint.arb, gamma: flint.arb) -> flint.arb:
    """d/dp of :func:`focal_slope`."""
    q = 1 - p
    lg = p.log()
    qg = q ** gamma
    out = -(gamma + 1) * qg - gamma * qg * lg - gamma * qg
    if gamma != 0:
        out += gamma * gamma * p * q ** (gamma - 1) * lg
    return out


def slope_terms(r: flint.arb, gamma: flint.arb) -> tuple[flint.arb, flint.arb]:
    """(D(r), E(r)) of the module docstring, enclosed in arb (0 < r < 1)."""
    L = -(1 - r).log() / r
    E = 2 * gamma + 1 + gamma * L * (gamma - (gamma + 1) * r)
    return focal_slope(1 - r, gamma), E


def minorant_holds(r_c: flint.arb, gamma: flint.arb) -> bool:
    """Lemma L12's hypotheses E(r_c) >= 0 and D(r_c) <= 1, decided rigorously."""
    D, E = slope_terms(r_c, gamma)
    return bool(E >= 0) and bool(D <= 1)


@dataclass(frozen=True)
class FocalReduction:
    """psi(a) = FL at the ETF logits of margin a + t (K-1) a, t = sqrt(n lam_W lam_H)."""

    K: int
    n: int
    lam_W: Fraction
    lam_H: Fraction
    gamma: Fraction

    def _p(self, a: flint.arb) -> flint.arb:
        """The true-class probability at margin a: 1/(1 + (K-1) e^(-a))."""
        return 1 / (1 + (self.K - 1) * (-a).exp())

    @property
    def slope(self) -> flint.arb:
        return arb_of(self.n * self.lam_W * self.lam_H).sqrt() * (self.K - 1)

    def psi(self, a: flint.arb) -> flint.arb:
        return focal_value(self._p(a), arb_of(self.gamma)) + self.slope * a

    def dpsi(self, a: flint.arb) -> flint.arb:
        return self.slope - focal_slope(self._p(a), arb_of(self.gamma))

    def lemma_bound(self, margin: flint.arb | None) -> tuple[flint.arb, dict[str, Any]] | None:
        """Lemma L12's lower bound around the candidate margin (None: origin), or None when
        the hypotheses fail there.  Returns (bound, proof-file data)."""
        if margin is None:
            a_lo = a_hi = Fraction(0)
        else:
            width = (abs(Fraction(float(margin.mid()))) + 1) * Fraction(1, 2**60)
            a_lo = Fraction(lower_end(margin)) - width
            a_hi = Fraction(upper_end(margin)) + width
            if a_lo <= 0:
                return None
        lo, hi = arb_of(a_lo), arb_of(a_hi)
        if not (a_lo == 0 or self.dpsi(lo) <= 0) or not self.dpsi(hi) >= 0:
            return None
        if not minorant_holds(1 - self._p(lo), arb_of(self.gamma)):
            return None
        mid = arb_of((a_lo + a_hi) / 2)
        bound = self.psi(mid) - abs(self.dpsi(mid)) * arb_of(a_hi - a_lo)
        return bound, {"kind": "focal-minorant", "a_lo": str(a_lo), "a_hi": str(a_hi)}
