"""Validated, immutable problem descriptions.

Every theorem takes one spec.  The base :class:`UFMSpec` holds what every
unconstrained-features problem shares (DESIGN.md section 1)::

    f(W, H, b) = (1/N) sum_i loss(W h_i + b, y_i)
                 + lam_W/2 |W|_F^2 + lam_H/2 |H|_F^2 + lam_b/2 |b|^2

with K classes, ``n`` samples per class (an int when balanced, a tuple otherwise),
feature dimension ``d``.  Theorems that need more parameters (a smoothing level, a
depth, a temperature) subclass it and declare the new fields with :func:`param`.

Numbers are stored as exact rationals (:class:`fractions.Fraction`).  A number typed
as ``3e-3`` on the command line *is* 3/1000, and the rigorous certificates work with
that exact value; a Python float is read through its shortest round-trip decimal
(``repr``), i.e. what the user typed.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar


class SpecError(ValueError):
    """Bad problem parameters.  The message names the parameter and its allowed range."""


# --------------------------------------------------------------------------- parsing helpers

#: numbers beyond this are refused: the engines form products such as lam_W lam_H and
#: report floats, which overflowed (lam_W = 1e400, or lam_W = lam_H = 1e300) deep inside
MAX_MAGNITUDE = Fraction(10) ** 100
MIN_MAGNITUDE = Fraction(1, 10**300)


def _to_fraction(name: str, value: Any) -> Fraction:
    if isinstance(value, bool):
        raise SpecError(f"{name} must be a number, got {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{name} must be a finite number, got {value!r}")
        return Fraction(repr(value))
    if isinstance(value, str):
        text = value.strip()
        exponent = re.search(r"[eE]([+-]?\d+)$", text)
        if exponent and abs(int(exponent.group(1))) > 400:
            # Fraction("1e100000000") alone takes minutes; no engine handles such numbers
            raise SpecError(f"{name} must be between 1e-300 and 1e100 in magnitude, "
                            f"got {value!r}")
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            pass
        try:
            as_float = float(text)
        except ValueError:
            raise SpecError(f"{name} must be a number, got {value!r}") from None
        if not math.isfinite(as_float):
            raise SpecError(f"{name} must be a finite number, got {value!r}")
        return Fraction(repr(as_float))
    try:  # numpy scalars and other number types
        as_float = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{name} must be a number, got {value!r}") from None
    return _to_fraction(name, as_float)


def _to_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise SpecError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        frac = _to_fraction(name, value)
    except SpecError:
        raise SpecError(f"{name} must be an integer, got {value!r}") from None
    if frac.denominator != 1:
        raise SpecError(f"{name} must be an integer, got {value!r}")
    return int(frac)


def _to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise SpecError(f"{name} must be true or false, got {value!r}")


def _range_text(lower: Any, upper: Any, lower_open: bool, upper_open: bool) -> str:
    parts = []
    if lower is not None:
        parts.append(f"{'>' if lower_open else '>='} {lower}")
    if upper is not None:
        parts.append(f"{'<' if upper_open else '<='} {upper}")
    return " and ".join(parts) if parts else "any value"


def param(
    kind: str,
    default: Any = dataclasses.MISSING,
    *,
    lower: Any = None,
    upper: Any = None,
    lower_open: bool = False,
    upper_open: bool = False,
    doc: str = "",
) -> Any:
    """Declare a spec field: ``kind`` is "int", "number" (exact rational) or "bool"."""
    meta = {
        "kind": kind,
        "lower": lower,
        "upper": upper,
        "lower_open": lower_open,
        "upper_open": upper_open,
        "doc": doc,
    }
    return dataclasses.field(default=default, metadata=meta)


def _check_range(name: str, value: Any, meta: Mapping[str, Any]) -> None:
    lower, upper = meta["lower"], meta["upper"]
    bad = (
        (lower is not None and (value <= lower if meta["lower_open"] else value < lower))
        or (upper is not None and (value >= upper if meta["upper_open"] else value > upper))
    )
    if bad:
        allowed = _range_text(lower, upper, meta["lower_open"], meta["upper_open"])
        raise SpecError(f"{name} must be {allowed}, got {_show(value)}")


def _show(value: Any) -> str:
    if isinstance(value, Fraction):
        return repr(float(value)) if value.denominator != 1 else str(value.numerator)
    return repr(value)


# --------------------------------------------------------------------------- the spec


@dataclasses.dataclass(frozen=True, kw_only=True)
class UFMSpec:
    """The plain unconstrained-features model (DESIGN.md section 1).

    ``n`` is normalized to a tuple of K per-class counts; ``balanced`` tells whether
    they are all equal.  ``lam_b`` only makes sense with ``bias=True`` (``lam_b = 0``
    then means an unregularized bias).
    """

    K: int = param("int", lower=2, doc="number of classes")
    n: tuple[int, ...] = param(
        "counts", doc="samples per class: an int (balanced) or K comma-separated ints"
    )
    d: int = param("int", lower=1, doc="feature dimension")
    lam_W: Fraction = param("number", lower=0, lower_open=True, doc="weight decay on W")
    lam_H: Fraction = param("number", lower=0, lower_open=True, doc="weight decay on H")
    lam_b: Fraction = param("number", Fraction(0), lower=0, doc="weight decay on the bias")
    bias: bool = param("bool", True, doc="whether the model has a bias b")

    #: the extra keys a command line may use for a field (none by default)
    aliases: ClassVar[Mapping[str, str]] = {}

    # ---- construction

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            raw = getattr(self, field.name)
            object.__setattr__(self, field.name, self._coerce(field, raw))
        self._check()

    def _coerce(self, field: dataclasses.Field, raw: Any) -> Any:
        kind = field.metadata.get("kind")
        name = field.name
        if kind == "int":
            value = _to_int(name, raw)
        elif kind == "number":
            value = _to_fraction(name, raw)
            if abs(value) > MAX_MAGNITUDE or 0 < abs(value) < MIN_MAGNITUDE:
                # engines report floats: 1e400 overflowed, 1e-1000 became 0.0 and divided
                raise SpecError(f"{name} must be between 1e-300 and 1e100 in magnitude "
                                f"(or 0 where allowed), got {raw!r}")
        elif kind == "bool":
            value = _to_bool(name, raw)
        elif kind == "counts":
            return self._coerce_counts(raw)
        else:  # pragma: no cover - a programming error in a subclass
            raise TypeError(f"field {name} has no kind")
        _check_range(name, value, field.metadata)
        return value

    def _coerce_counts(self, raw: Any) -> tuple[int, ...]:
        K = _to_int("K", self.K)
        if K < 2:
            raise SpecError(f"K must be >= 2, got {K}")
        if isinstance(raw, str):
            items = raw.replace(" ", "").split(",")
            if "" in items:
                raise SpecError(f"n must be one int or K comma-separated ints, got {raw!r}")
            raw = items[0] if len(items) == 1 else items
        if isinstance(raw, (list, tuple)):
            counts = tuple(_to_int("n", x) for x in raw)
            if len(counts) != K:
                raise SpecError(
                    f"n must be one int or a list of K = {K} ints, got a list of {len(counts)}"
                )
        else:
            counts = (_to_int("n", raw),) * K
        for c in counts:
            if c < 1:
                raise SpecError(f"n must be >= 1 for every class, got {c}")
        return counts

    def _check(self) -> None:
        """Cross-field checks; subclasses extend."""
        if not self.bias and self.lam_b != 0:
            raise SpecError(
                f"lam_b must be 0 when bias=false (got lam_b={_show(self.lam_b)}); "
                "set bias=true to regularize a bias"
            )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> UFMSpec:
        """Build from a mapping of names to values (strings allowed, as from the CLI).

        Unknown names raise :class:`SpecError` listing the allowed ones; missing required
        names raise naming the missing one.
        """
        names = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        unknown = []
        for key, value in params.items():
            name = cls.aliases.get(key, key)
            if name not in names:
                unknown.append(repr(key))
            values[name] = value
        if unknown:
            allowed = ", ".join(names)
            plural = "s" if len(unknown) > 1 else ""
            raise SpecError(f"unknown parameter{plural} {', '.join(unknown)}; allowed: {allowed}")
        missing = [f"{name} ({field.metadata.get('doc', '')})" for name, field in names.items()
                   if name not in values and field.default is dataclasses.MISSING]
        if missing:  # all at once: one run of the command shows everything to add
            plural = "s" if len(missing) > 1 else ""
            raise SpecError(f"missing parameter{plural} {'; '.join(missing)}")
        # K first so that n can be checked against it.
        try:
            return cls(**values)
        except TypeError as exc:  # pragma: no cover - defensive
            raise SpecError(str(exc)) from None

    def replace(self, **changes: Any) -> UFMSpec:
        return dataclasses.replace(self, **changes)

    # ---- derived quantities

    @property
    def N(self) -> int:
        return sum(self.n)

    @property
    def balanced(self) -> bool:
        return len(set(self.n)) == 1

    @property
    def n_balanced(self) -> int:
        """The common class size; raises SpecError when classes are imbalanced."""
        if not self.balanced:
            raise SpecError(f"n must be balanced (one int) for this theorem, got {self.n}")
        return self.n[0]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly normalized parameters (numbers as floats, n as int or list)."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Fraction):
                value = float(value)
            elif isinstance(value, tuple):
                value = value[0] if self.balanced else list(value)
            out[field.name] = value
        return out

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(name, allowed range, doc) for every field, for `ncproofs list`/help."""
        rows = []
        for f in dataclasses.fields(cls):
            m = f.metadata
            if m.get("kind") in ("int", "number"):
                rng = _range_text(m["lower"], m["upper"], m["lower_open"], m["upper_open"])
            elif m.get("kind") == "bool":
                rng = "true/false"
            else:
                rng = "int >= 1 or K ints"
            default = "" if f.default is dataclasses.MISSING else f" (default {_show(f.default)})"
            rows.append((f.name, rng, m.get("doc", "") + default))
        return rows
