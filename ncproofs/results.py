"""Typed results of the Python API.

:class:`Report` is what :func:`ncproofs.verify` returns: the JSON object that
``ncproofs verify --json`` prints (fields in docs/api/index.md), with typed properties for
the common questions.  It is a ``dict`` subclass, so ``report["certificate"]["status"]``
keeps working; :meth:`Report.to_dict` and :meth:`Report.to_json` give plain data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Derivation", "ParameterInfo", "PointReport", "Report", "TheoremInfo", "to_json"]


def _default(x: Any) -> Any:
    """JSON for numpy arrays and scalars; anything else as its string."""
    tolist = getattr(x, "tolist", None)
    if callable(tolist):
        return tolist()
    item = getattr(x, "item", None)
    if callable(item):
        return item()
    return str(x)


def to_json(obj: Any, indent: int | None = 2) -> str:
    """JSON text of a report or a list of reports (numpy values converted, NaN allowed)."""
    return json.dumps(obj, indent=indent, default=_default, allow_nan=True)


class _JSONDict(dict):
    """A dict with :meth:`to_dict` (plain, JSON-safe copy) and :meth:`to_json`."""

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict deep copy with JSON types only (as ``--json`` prints it)."""
        return json.loads(to_json(self, indent=None))

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON text ``ncproofs ... --json`` prints for this result."""
        return to_json(self, indent=indent)


class Report(_JSONDict):
    """The result of verifying one theorem at one parameter point.

    Keys (the public contract, same as ``ncproofs verify --json``): ``theorem``,
    ``title``, ``citation``, ``params``, ``closed_form``, ``certificate``, ``numeric``,
    ``landscape``, ``verdict``, ``timings``, ``estimates``, ``skipped``, ``warnings``.
    """

    @property
    def theorem(self) -> str:
        """The theorem id, e.g. ``"ufm-ce"``."""
        return str(self["theorem"])

    @property
    def params(self) -> dict[str, Any]:
        """The normalized parameters (numbers as floats)."""
        return dict(self["params"])

    @property
    def objective(self) -> float | None:
        """The claimed optimal value f* (closed form or numeric candidate), or None."""
        return self["closed_form"].get("objective")

    @property
    def status(self) -> str:
        """Certificate status: certified, conditional, refuted, inconclusive,
        not-applicable (or error)."""
        return str(self["certificate"]["status"])

    @property
    def certified(self) -> bool:
        """True exactly when the claimed optimum is proved (status ``certified``)."""
        return self.status == "certified"

    @property
    def rigorous(self) -> bool:
        """True for certified and refuted results (both rest on rigorous arithmetic)."""
        return bool(self["certificate"].get("rigorous", False))

    @property
    def lower_bound(self) -> float | None:
        """Rigorous lower bound on the optimal value (None when there is none)."""
        return self["certificate"].get("lower_bound")

    @property
    def upper_bound(self) -> float | None:
        """Rigorous upper bound on the optimal value (None when there is none)."""
        return self["certificate"].get("upper_bound")

    @property
    def gap(self) -> float | None:
        """upper_bound - lower_bound."""
        return self["certificate"].get("gap")

    @property
    def verdict(self) -> str:
        """The comparison of closed form, certificate and numeric solve (``agree``, ...)."""
        return str(self["verdict"]["status"])

    @property
    def warnings(self) -> list[str]:
        """Warnings raised by the solvers during the run (captured, not printed)."""
        return list(self.get("warnings", []))

    @property
    def skipped(self) -> dict[str, str]:
        """Stages skipped because they would not fit (stage -> reason)."""
        return dict(self.get("skipped", {}))


class PointReport(_JSONDict):
    """The result of :func:`ncproofs.certify_point`: a user's point against the certified
    optimum.  Keys: ``theorem``, ``params``, ``value_lower_bound``, ``value_upper_bound``
    (an interval enclosure of f at the point), ``optimum`` (the certificate's bounds and
    status), ``gap_to_optimum`` (a rigorous upper bound on f(point) - f*, present when the
    optimum is certified), ``metrics`` (NC1-NC4 of the point)."""

    @property
    def value_upper_bound(self) -> float:
        return float(self["value_upper_bound"])

    @property
    def value_lower_bound(self) -> float:
        return float(self["value_lower_bound"])

    @property
    def gap_to_optimum(self) -> float | None:
        """Rigorous upper bound on f(point) - f* (None unless the optimum is certified)."""
        return self.get("gap_to_optimum")


@dataclass(frozen=True)
class ParameterInfo:
    """One parameter of a theorem: its name, allowed range, meaning and default."""

    name: str
    range: str
    doc: str
    default: Any = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return json.loads(to_json(asdict(self), indent=None))


@dataclass(frozen=True)
class TheoremInfo:
    """A registered theorem: id, title, citation and parameters."""

    id: str
    title: str
    citation: str
    parameters: tuple[ParameterInfo, ...] = field(default_factory=tuple)
    default_cases: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(to_json(asdict(self), indent=None))

    def to_json(self, indent: int | None = 2) -> str:
        return to_json(self.to_dict(), indent=indent)


@dataclass(frozen=True)
class Derivation:
    """A theorem's derivation: symbolic (``params`` None) or at given parameters."""

    theorem: str
    params: dict[str, Any] | None
    steps: tuple[Any, ...]  # ncproofs.derive.reduction.DerivationStep

    def text(self) -> str:
        """The steps as plain text, one per line."""
        return "\n".join(step.text() for step in self.steps)

    def latex(self) -> str:
        """The steps as LaTeX, one per line."""
        return "\n".join(step.latex() for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"theorem": self.theorem, "params": self.params,
                "steps": [{"text": s.text(), "latex": s.latex()} for s in self.steps]}

    def to_json(self, indent: int | None = 2) -> str:
        return to_json(self.to_dict(), indent=indent)
