"""The certificate object and the rule that turns rigorous bounds into a status.

A certificate (docs/certificates.md) carries ``method, lower_bound, upper_bound, gap,
rigorous, status, assumptions``.  Bounds are python-flint ``arb`` balls; only their
outer ends are used: the lower end of the lower bound, the upper end of the upper bound.

Status rules (never a false certificate):

* ``certified``      -- both bounds rigorous, the relative gap (U - L)/max(|L|, |U|) is
                        at most ``rel_tol`` (no absolute floor: a tiny optimum needs
                        equally tiny gaps), and the claimed optimal value lies in [L, U]
                        up to the same tolerance;
* ``conditional``    -- the bounds meet as for ``certified``, but the lower bound rests on
                        an assumption of kind ``reduction`` (a statement that implies the
                        minimizer's structure, e.g. the paper's own main theorem);
* ``refuted``        -- the claim is rigorously false: a feasible point has value below
                        the claimed optimum, or the lower bound exceeds it;
* ``not-applicable`` -- the theorem's hypotheses fail (the reason is given);
* ``inconclusive``   -- anything else (gap too large, a bound missing or non-rigorous).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import flint

DEFAULT_REL_TOL = 1e-9

CERTIFIED = "certified"
CONDITIONAL = "conditional"
REFUTED = "refuted"
INCONCLUSIVE = "inconclusive"
NOT_APPLICABLE = "not-applicable"

#: statuses that are proved; ``Certificate.rigorous`` is true exactly for these
PROVED = (CERTIFIED, REFUTED)

#: assumption kinds: a ``lemma`` is a proven statement that does not imply the structure
#: under test (Jensen, the factorization identity, von Neumann); a ``reduction`` implies
#: the minimizer's structure (e.g. a paper's main theorem) and makes a certificate
#: ``conditional``.
LEMMA = "lemma"
REDUCTION = "reduction"
ASSUMPTION_KINDS = (LEMMA, REDUCTION)


@dataclass(frozen=True)
class Assumption:
    """One statement a lower bound rests on: ``{"text", "kind", "reference"}``."""

    text: str
    kind: str
    reference: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ASSUMPTION_KINDS:
            raise ValueError(f"assumption kind must be one of {ASSUMPTION_KINDS}, "
                             f"got {self.kind!r}")

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "kind": self.kind, "reference": self.reference}


def as_assumption(item: Assumption | str) -> Assumption:
    """An untyped string is treated as a ``reduction``: unclassified assumptions must never
    yield ``certified``."""
    return item if isinstance(item, Assumption) else Assumption(item, REDUCTION, "")


def lower_end(x: flint.arb) -> float:
    """A float <= every point of the ball (rounded outward); -inf for a non-finite ball."""
    if not x.is_finite():
        return -math.inf
    lo = x.lower()
    f = float(lo)
    while not flint.arb(f) <= lo:
        f = math.nextafter(f, -math.inf)
    return f


def upper_end(x: flint.arb) -> float:
    """A float >= every point of the ball (rounded outward); +inf for a non-finite ball."""
    if not x.is_finite():
        return math.inf
    hi = x.upper()
    f = float(hi)
    while not flint.arb(f) >= hi:
        f = math.nextafter(f, math.inf)
    return f


@dataclass
class Certificate:
    method: str
    status: str
    rigorous: bool
    lower_bound: float | None = None
    upper_bound: float | None = None
    gap: float | None = None
    assumptions: list[Assumption] = field(default_factory=list)
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    #: where each bound comes from ("exact dual point", "interval value of an explicit
    #: point", "exact root isolation", "float solver value (not rigorous)", ...)
    lower_bound_source: str = ""
    upper_bound_source: str = ""
    #: exact data a proof file needs (see ncproofs.check); None when not exportable
    proof: dict[str, Any] | None = None
    #: certified geometry of the minimizers (uniqueness, radius r(eps), NC bounds)
    structure: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "lower_bound": self.lower_bound,
            "upper_bound": self.upper_bound,
            "gap": self.gap,
            "rigorous": self.rigorous,
            "status": self.status,
            "assumptions": [as_assumption(a).as_dict() for a in self.assumptions],
            "lower_bound_source": self.lower_bound_source,
            "upper_bound_source": self.upper_bound_source,
            "reason": self.reason,
            "structure": self.structure,
            "details": self.details,
        }


def decide(
    *,
    method: str,
    lower: flint.arb | None,
    upper: flint.arb | None,
    claimed: flint.arb | None,
    assumptions: list[Assumption | str] | None = None,
    rel_tol: float = DEFAULT_REL_TOL,
    details: dict[str, Any] | None = None,
    lower_source: str = "",
    upper_source: str = "interval value of an explicit point",
    proof: dict[str, Any] | None = None,
) -> Certificate:
    """Combine a rigorous lower bound, a rigorous upper bound (value of an explicit
    feasible point) and the claimed optimal value into a certificate.

    ``rigorous`` is true exactly when the status is proved (``certified``/``refuted``).
    A lower bound resting on a ``reduction`` can give at most ``conditional``, and can
    never refute a claim by itself."""
    typed = [as_assumption(a) for a in (assumptions or [])]
    cert = _decide_bounds(method=method, lower=lower, upper=upper, claimed=claimed,
                          assumptions=typed, rel_tol=rel_tol, details=details)
    cert.lower_bound_source = lower_source if lower is not None else ""
    cert.upper_bound_source = upper_source if upper is not None else ""
    cert.proof = proof
    # named by reference (the full statement is in ``assumptions``)
    conditional_on = [a.reference or a.text for a in typed if a.kind == REDUCTION]
    if conditional_on and cert.status == CERTIFIED:
        cert.status = CONDITIONAL
        cert.reason += "; the lower bound rests on a reduction: " + "; ".join(conditional_on)
    elif conditional_on and cert.status == REFUTED and cert.details.get("refuted_by") == "lower":
        cert.status = INCONCLUSIVE
        cert.reason = ("the lower bound exceeds the claim, but it rests on a reduction ("
                       + "; ".join(conditional_on) + "): not a proof")
    cert.rigorous = cert.status in PROVED
    return cert


def _decide_bounds(
    *,
    method: str,
    lower: flint.arb | None,
    upper: flint.arb | None,
    claimed: flint.arb | None,
    assumptions: list[Assumption],
    rel_tol: float,
    details: dict[str, Any] | None,
) -> Certificate:
    """The status from the bounds alone (assumptions are weighed by :func:`decide`)."""
    details = dict(details or {})
    lb = lower_end(lower) if lower is not None else None
    ub = upper_end(upper) if upper is not None else None
    cert = Certificate(
        method=method,
        status=INCONCLUSIVE,
        rigorous=False,
        lower_bound=lb,
        upper_bound=ub,
        assumptions=list(assumptions),
        details=details,
    )
    if (lb is not None and not math.isfinite(lb)) or (ub is not None and not math.isfinite(ub)):
        cert.rigorous = False
        cert.reason = "a bound is not finite (an interval evaluation lost all precision)"
        return cert
    if lb is not None and ub is not None:
        cert.gap = ub - lb
        if lb > ub:  # impossible unless a bound is wrong: refuse loudly rather than certify
            cert.status = INCONCLUSIVE
            cert.rigorous = False
            cert.reason = f"lower bound {lb!r} exceeds upper bound {ub!r}: internal error"
            return cert
    # Purely relative: an absolute floor would certify wrong claims whenever f* << 1
    # (tiny weight decay, large temperature).  Exact zeros still compare exactly.
    magnitudes = [abs(x) for x in (lb, ub) if x is not None]
    if claimed is not None:
        c_lo, c_hi = lower_end(claimed), upper_end(claimed)
        if not (math.isfinite(c_lo) and math.isfinite(c_hi)):
            cert.rigorous = False
            cert.reason = "the claimed value could not be enclosed (non-finite ball)"
            return cert
        magnitudes += [abs(c_lo), abs(c_hi)]
    tol = rel_tol * max(magnitudes, default=0.0)
    if claimed is not None:
        details["claimed_value"] = float(claimed.mid())
        if ub is not None and ub < c_lo - tol:
            cert.status = REFUTED
            cert.reason = (
                f"the explicit feasible point has value {ub!r} below the claimed optimum "
                f"{c_lo!r}"
            )
            return cert
        if lb is not None and lb > c_hi + tol:
            cert.status = REFUTED
            details["refuted_by"] = "lower"
            cert.reason = f"the rigorous lower bound {lb!r} exceeds the claimed optimum {c_hi!r}"
            return cert
    if lb is None or ub is None:
        cert.reason = "a rigorous " + ("lower" if lb is None else "upper") + " bound is missing"
        return cert
    if cert.gap > tol:
        cert.reason = f"gap {cert.gap:.3e} exceeds tolerance {tol:.3e} (relative {rel_tol:g})"
        return cert
    if claimed is not None:
        if not (lb - tol <= lower_end(claimed) and upper_end(claimed) <= ub + tol):
            cert.reason = "the claimed value is not enclosed by the bounds"
            return cert
    cert.status = CERTIFIED
    cert.reason = f"rigorous gap {cert.gap:.3e} <= {tol:.3e}"
    return cert
