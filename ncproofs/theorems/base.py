"""What a theorem module provides, and the registry.

A theorem composes the engines (derive, certify, solve) for one published result.  It
knows the paper, the symbol map into our convention (docs/conventions.md), the spec type,
default cases for ``verify --all``; the engines know nothing about papers.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ..certify.certificate import NOT_APPLICABLE, REFUTED, Certificate, decide
from ..certify.intervals import sympy_to_arb
from ..derive.reduction import DerivationStep
from ..resources import (
    ARB_BYTES,
    StageEstimate,
    dense_point_estimate,
    hessian_estimate,
    interval_product_estimate,
    lbfgs_estimate,
)
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

    #: True for theorems whose explicit points are frames stored by structure when d >= K
    #: (ncproofs.certify.frames): their closed form and certificate cost O(K), not O(K d)
    frame_points: ClassVar[bool] = False

    def estimate(
        self, spec: UFMSpec, *, device: str = "cpu", starts: int = 8,
        closed: ClosedForm | None = None,
    ) -> dict[str, StageEstimate]:
        """Memory and time of each stage of ``verify`` before it runs (see
        :mod:`ncproofs.resources`): ``derive``, ``certify``, ``solve``, ``landscape`` and
        ``numeric_upper`` (the interval value of a numeric point).

        The default is conservative for a model with K x d classifier, d x N features and
        ``L - 1`` hidden d x d layers: a dense explicit point, interval logits of every
        column of the explicit point (one per class unless ``closed`` shows otherwise),
        batched L-BFGS over every sample.  A theorem whose closed form or certificate is
        structured (no dense K x K object) overrides this with its own numbers; a key left
        out is not checked."""
        K, d = int(spec.K), int(getattr(spec, "d", spec.K))
        n = getattr(spec, "n", (1,) * K)
        N = int(sum(n)) if isinstance(n, tuple) else int(n) * K
        hidden = max(int(getattr(spec, "L", 1)) - 1, 0)
        columns = K
        structured = closed is not None and hasattr(closed.point, "frame")
        if closed is not None and closed.point is not None and not structured:
            arrays = getattr(closed.point, "arrays", {})  # (a FramePoint would materialize)
            if isinstance(arrays.get("H"), np.ndarray) and arrays["H"].ndim == 2:
                columns = arrays["H"].shape[1]
        per_start = K * d + d * N + K + hidden * d * d
        activations = K * N + hidden * d * N
        flops = 6.0 * (K * d * N + hidden * d * d * N)
        if closed is not None and closed.point is None:
            # no explicit point of the stated d: no interval upper bound is computed
            certify = StageEstimate(bytes=0, seconds=0, what="no explicit point")
        elif structured:  # a frame stored by structure: O(K) interval exponentials
            certify = StageEstimate(bytes=ARB_BYTES * 4 * K, seconds=2e-5 * K,
                                    what=f"{K} interval exponentials (structured frame)")
        else:
            certify = interval_product_estimate(K, d, columns, hidden)
        # a theorem whose points are frames stored by structure never builds K x d arrays
        point_entries = 4 * K if self.frame_points and d >= K else 2 * K * d + hidden * d * d
        return {
            "derive": dense_point_estimate(point_entries),
            "certify": certify,
            "solve": lbfgs_estimate(starts * per_start, starts * activations,
                                    starts * flops, device=device),
            "landscape": hessian_estimate(per_start, activations, flops, device=device),
            "numeric_upper": interval_product_estimate(K, d, N, hidden),
        }

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


#: the entry-point group through which installed packages add theorems (docs/extending.md)
ENTRY_POINT_GROUP = "ncproofs.theorems"
_entry_points_loaded = False


def load_all() -> dict[str, Theorem]:
    """Import every module of ``ncproofs.theorems`` and every entry point of the group
    ``ncproofs.theorems`` (each registers its theorems with :func:`register`)."""
    global _entry_points_loaded
    from .. import theorems

    for info in pkgutil.iter_modules(theorems.__path__):
        if info.name != "base" and not info.name.startswith("_"):
            try:
                importlib.import_module(f"{theorems.__name__}.{info.name}")
            except Exception as exc:  # noqa: BLE001 - reported, not swallowed
                BROKEN[info.name] = f"{type(exc).__name__}: {exc}"
    if not _entry_points_loaded:
        _entry_points_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                _register_loaded(ep.load())
            except Exception as exc:  # noqa: BLE001 - reported, not swallowed
                BROKEN[f"entry point {ep.name} ({ep.value})"] = f"{type(exc).__name__}: {exc}"
    return REGISTRY


def _register_loaded(obj: Any) -> None:
    """An entry point names a module (which registers on import) or a Theorem class."""
    if isinstance(obj, type) and issubclass(obj, Theorem) and obj.id not in REGISTRY:
        register(obj)


def load_module(path: str | Path) -> list[str]:
    """Import a theorem module from a file (``ncproofs verify --module PATH.py``) and
    return the ids it registered.  Loading the same file again is a no-op."""
    path = Path(path).resolve()
    if not path.is_file():
        raise SpecError(f"--module: no such file {str(path)!r}")
    name = f"ncproofs_user_{abs(hash(str(path))):x}"
    if name in sys.modules:
        return list(getattr(sys.modules[name], "_ncproofs_registered", []))
    load_all()
    before = set(REGISTRY)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"--module: cannot import {str(path)!r} (not a Python file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise SpecError(f"--module {path.name}: import failed: "
                        f"{type(exc).__name__}: {exc}") from None
    added = sorted(set(REGISTRY) - before)
    module._ncproofs_registered = added  # type: ignore[attr-defined]
    if not added:
        raise SpecError(f"--module {path.name}: registered no theorem (decorate a Theorem "
                        "subclass with @ncproofs.theorems.base.register)")
    return added


def get_theorem(theorem_id: str) -> Theorem:
    registry = load_all()
    try:
        return registry[theorem_id]
    except KeyError:
        known = ", ".join(sorted(registry))
        broken = f" (modules that failed to import: {', '.join(BROKEN)})" if BROKEN else ""
        raise SpecError(f"unknown theorem {theorem_id!r}; available: {known}{broken}") from None
