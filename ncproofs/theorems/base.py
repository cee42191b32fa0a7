"""What a theorem module provides, and the registry.

A theorem composes the engines (derive, certify, solve) for one published result.  It
knows the paper, the symbol map into our convention (docs/conventions.md), the spec type,
default cases for ``verify --all``; the engines know nothing about papers.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ..certify.certificate import NOT_APPLICABLE, REFUTED, Certificate, decide
from ..certify.intervals import sympy_to_arb
from ..derive.reduction import DerivationStep
from ..spec import Spec, SpecError, UFMSpec


@dataclass
class ExplicitPoint:
    """A feasible point of the stated size: arrays by name (e.g. W, H, b; or W1..WL, H)
    with the features given per distinct column and their multiplicities."""

    arrays: dict[str, np.ndarray]
    labels: tuple[int, ...]
    counts: tuple[int, ...]


@dataclass
class ClosedForm:
    """The derived optimum for one spec."""

    objective: sp.Expr | None  # exact optimal value (None when no closed form is known)
    regime: str
    minimizer: dict[str, Any] = field(default_factory=dict)  # JSON summary
    point: ExplicitPoint | None = None  # None when it does not fit the stated d
    steps: list[DerivationStep] = field(default_factory=list)
    applicable: bool = True
    reason: str = ""
    #: "closed-form" (a formula from the paper or our derivation) or "numeric" (a
    #: relaxation optimum, a search's best point): only a closed form can be refuted
    kind: str = "closed-form"

    def as_dict(self) -> dict[str, Any]:
        obj = None if self.objective is None else float(sp.N(self.objective, 30))
        return {
            "objective": obj,
            "objective_exact": None if self.objective is None else str(self.objective),
            "kind": self.kind,
            "regime": self.regime,
            "minimizer": self.minimizer,
            "applicable": self.applicable,
            "reason": self.reason,
        }


@dataclass
class NumericResult:
    summary: dict[str, Any]
    point: dict[str, np.ndarray]


class Theorem:
    """Base class; subclasses set the class attributes and implement the methods."""

    id: ClassVar[str]
    title: ClassVar[str]
    citation: ClassVar[str]
    symbol_map: ClassVar[str]
    spec_type: ClassVar[type[Spec]] = UFMSpec
    default_cases: ClassVar[tuple[dict[str, Any], ...]] = ()

    def spec(self, params: dict[str, Any]) -> Spec:
        return self.spec_type.from_params(params)

    def derive_general(self) -> list[DerivationStep]:
        """The derivation with symbolic parameters (``ncproofs derive ID``)."""
        raise NotImplementedError

    def closed_form(self, spec: UFMSpec) -> ClosedForm:
        raise NotImplementedError

    def certify(self, spec: UFMSpec, closed: ClosedForm) -> Certificate:
        raise NotImplementedError

    def solve(self, spec: UFMSpec, *, device: str, starts: int, seed: int) -> NumericResult:
        raise NotImplementedError

    def landscape(self, spec: UFMSpec, closed: ClosedForm) -> dict[str, Any] | None:
        return None

    def upper_bound(self, spec: UFMSpec, point: ExplicitPoint) -> Any:
        """Rigorous (arb) objective of an explicit point of the stated size."""
        raise NotImplementedError

    def conclude(
        self,
        spec: UFMSpec,
        closed: ClosedForm,
        *,
        method: str,
        lower: Any,
        assumptions: list[Any],
        details: dict[str, Any],
        lower_source: str = "",
        proof: dict[str, Any] | None = None,
    ) -> Certificate:
        """The common end of ``certify``: the lower bound against the interval value of the
        explicit point and the claimed value (:func:`decide`).  Without a point of the
        stated d the status is ``not-applicable`` -- unless the lower bound alone refutes
        the claim, a rigorous result that must not be lost.  A ``numeric`` candidate (the
        tool's own guess) is never a claim: it is not passed on, so it cannot be refuted."""
        claimed = (None if closed.objective is None or closed.kind == "numeric"
                   else sympy_to_arb(closed.objective))
        if closed.point is None:
            cert = decide(method=method, lower=lower, upper=None, claimed=claimed,
                          assumptions=assumptions, details=details,
                          lower_source=lower_source, proof=proof)
            if cert.status == REFUTED:
                cert.reason += f"; also not applicable: {closed.reason}"
            else:
                cert.status, cert.reason = NOT_APPLICABLE, closed.reason
            return cert
        return decide(method=method, lower=lower, upper=self.upper_bound(spec, closed.point),
                      claimed=claimed, assumptions=assumptions, details=details,
                      lower_source=lower_source, proof=proof)

    def numeric_upper_bound(self, spec: UFMSpec, point: dict[str, np.ndarray]) -> Any | None:
        """Rigorous (arb) value of the original objective at a numeric solution, or None
        where the theorem cannot evaluate it.  Used to turn a numeric point that beats a
        claimed optimum into a rigorous refutation."""
        return None

    def structure_bound(self, spec: UFMSpec, closed: ClosedForm, cert: Certificate) -> Any:
        """The certified-geometry argument for a certified closed form
        (:class:`ncproofs.certify.structure.StructureBound`), or None where the theorem's
        relaxation is not strictly convex in its class-mean logits (or Gram matrix)."""
        return None

    def structure(self, spec: UFMSpec, closed: ClosedForm,
                  cert: Certificate) -> dict[str, Any] | None:
        """``certificate.structure``: uniqueness of the optimal class-mean logits and the
        rigorous radius r(eps) of eps-optimal points (docs/certificates.md)."""
        bound = self.structure_bound(spec, closed, cert)
        if bound is None or isinstance(bound, dict):
            return bound
        return bound.as_dict()


REGISTRY: dict[str, Theorem] = {}


def register(cls: type[Theorem]) -> type[Theorem]:
    """Class decorator: instantiate and add to the registry under ``cls.id``."""
    if cls.id in REGISTRY:
        raise RuntimeError(f"theorem id {cls.id} registered twice")
    REGISTRY[cls.id] = cls()
    return cls


#: modules that failed to import, with the error (one broken module must not take every
#: other theorem down with it; `ncproofs list` shows these)
BROKEN: dict[str, str] = {}


def load_all() -> dict[str, Theorem]:
    """Import every module of ``ncproofs.theorems`` (each registers its theorems)."""
    from .. import theorems

    for info in pkgutil.iter_modules(theorems.__path__):
        if info.name != "base" and not info.name.startswith("_"):
            try:
                importlib.import_module(f"{theorems.__name__}.{info.name}")
            except Exception as exc:  # noqa: BLE001 - reported, not swallowed
                BROKEN[info.name] = f"{type(exc).__name__}: {exc}"
    return REGISTRY


def get_theorem(theorem_id: str) -> Theorem:
    registry = load_all()
    try:
        return registry[theorem_id]
    except KeyError:
        known = ", ".join(sorted(registry))
        broken = f" (modules that failed to import: {', '.join(BROKEN)})" if BROKEN else ""
        raise SpecError(f"unknown theorem {theorem_id!r}; available: {known}{broken}") from None
