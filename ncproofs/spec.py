"""Validated, immutable problem descriptions.

Every theorem takes one spec, an instance of a subclass of :class:`Spec` (the shared
machinery: exact parsing, ranges, aliases, ``from_params``, ``describe``).  The
unconstrained-features model :class:`UFMSpec` holds what the UFM theorems share
(docs/conventions.md)::

    f(W, H, b) = (1/N) sum_i loss(W h_i + b, y_i)
                 + lam_W/2 |W|_F^2 + lam_H/2 |H|_F^2 + lam_b/2 |b|^2

with K classes, ``n`` samples per class (an int when balanced, a tuple otherwise),
feature dimension ``d``.  Theorems that need more parameters (a smoothing level, a
depth) subclass it and declare the new fields with :func:`param`.  Theorems whose
parameters are not the UFM's have their own classes on the same base:
:class:`SphereSpec` (normalized features, temperature tau), :class:`MarginCodeSpec`
(K codewords on the sphere in R^d) and :class:`Relu2Spec` (a two-layer ReLU network on
a data set: width, beta).  Names a user may know from the UFM (``lam_W=0`` on the
sphere, ``d`` for the width) stay accepted through ``aliases`` and ``fixed``.

Numbers are stored as exact rationals (:class:`fractions.Fraction`).  A number typed
as ``3e-3`` on the command line *is* 3/1000, and the rigorous certificates work with
that exact value; a Python float is read through its shortest round-trip decimal
(``repr``), i.e. what the user typed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

from .exact import ExactParseError, parse_bool, parse_fraction, parse_int


class SpecError(ValueError):
    """Bad problem parameters.  The message names the parameter and its allowed range."""


# --------------------------------------------------------------------------- parsing helpers

#: numbers beyond this are refused: the engines form products such as lam_W lam_H and
#: report floats, which overflowed (lam_W = 1e400, or lam_W = lam_H = 1e300) deep inside
MAX_MAGNITUDE = Fraction(10) ** 100
MIN_MAGNITUDE = Fraction(1, 10**300)


def _to_fraction(name: str, value: Any) -> Fraction:
    try:
        return parse_fraction(name, value)
    except ExactParseError as exc:
        raise SpecError(str(exc)) from None


def _to_int(name: str, value: Any) -> int:
    try:
        return parse_int(name, value)
    except ExactParseError as exc:
        raise SpecError(str(exc)) from None


def _to_bool(name: str, value: Any) -> bool:
    try:
        return parse_bool(name, value)
    except ExactParseError as exc:
        raise SpecError(str(exc)) from None


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
    choices: tuple[str, ...] = (),
    range_text: str = "",
    doc: str = "",
) -> Any:
    """Declare a spec field.

    ``kind`` is "int", "number" (exact rational), "bool", "counts" (samples per class) or
    "choice" (one of ``choices``).  ``lower``/``upper`` are checked on construction;
    ``range_text`` replaces the printed range where it depends on other fields (the
    subclass's ``_check`` then enforces it).
    """
    meta = {
        "kind": kind,
        "lower": lower,
        "upper": upper,
        "lower_open": lower_open,
        "upper_open": upper_open,
        "choices": choices,
        "range_text": range_text,
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
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple) and len(set(value)) == 1:
        return str(value[0])
    return repr(value) if not isinstance(value, str) else value


# --------------------------------------------------------------------------- the base


@dataclasses.dataclass(frozen=True, kw_only=True)
class Spec:
    """Base of every spec: fields declared with :func:`param`, coerced and range-checked
    on construction, then ``_check`` (cross-field rules, subclasses extend).

    ``aliases`` maps other accepted names to fields (``beta`` -> ``lam_W``).  ``fixed``
    lists names that are not parameters of the model but are accepted when given their
    only meaningful value (``lam_W = 0`` on the sphere), with the reason; any other value
    is an error naming the parameter.
    """

    #: the extra keys a command line may use for a field (none by default)
    aliases: ClassVar[Mapping[str, str]] = {}
    #: name -> (the only accepted value, why): accepted for compatibility, not listed as a
    #: parameter (a field of that name, e.g. ``bias`` of a bias-free UFM, keeps its default)
    fixed: ClassVar[Mapping[str, tuple[Any, str]]] = {}

    # ---- construction

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            raw = getattr(self, field.name)
            object.__setattr__(self, field.name, self._coerce(field, raw))
            if field.name in self.fixed:  # e.g. bias of a bias-free model, built directly
                self._require_fixed(field.name, getattr(self, field.name))
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
        elif kind == "choice":
            options = field.metadata["choices"]
            value = str(raw).strip().lower()
            if value not in options:
                raise SpecError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
            return value
        elif kind == "counts":
            return self._coerce_counts(raw)
        else:  # pragma: no cover - a programming error in a subclass
            raise TypeError(f"field {name} has no kind")
        _check_range(name, value, field.metadata)
        return value

    def _coerce_counts(self, raw: Any) -> tuple[int, ...]:
        """Samples per class: one int (balanced) or K ints; needs a field ``K``."""
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

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Spec:
        """Build from a mapping of names to values (strings allowed, as from the CLI).

        Unknown names raise :class:`SpecError` listing the allowed ones; missing required
        names raise naming all of them at once; a ``fixed`` name with another value than its
        only accepted one raises naming it and the reason.
        """
        names = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        typed_as: dict[str, str] = {}  # field -> the alias the user typed
        unknown = []
        for key, value in params.items():
            if key in cls.fixed:
                cls._check_fixed(key, value)
                continue
            name = cls.aliases.get(key, key)
            if name not in names:
                unknown.append(repr(key))
            values[name] = value
            if name != key:
                typed_as[name] = key
        if unknown:
            allowed = ", ".join(n for n in names if n not in cls.fixed)
            plural = "s" if len(unknown) > 1 else ""
            raise SpecError(f"unknown parameter{plural} {', '.join(unknown)}; allowed: {allowed}")
        missing = [f"{name} ({field.metadata.get('doc', '')})" for name, field in names.items()
                   if name not in values and field.default is dataclasses.MISSING]
        if missing:  # all at once: one run of the command shows everything to add
            plural = "s" if len(missing) > 1 else ""
            raise SpecError(f"missing parameter{plural} {'; '.join(missing)}")
        try:
            return cls(**values)
        except SpecError as exc:
            # name the parameter as the user typed it: "lam_W (beta) must be > 0"
            message = str(exc)
            for name, key in typed_as.items():
                if message.startswith(name + " "):
                    raise SpecError(f"{key} ({name}){message[len(name):]}") from None
            raise
        except TypeError as exc:  # pragma: no cover - defensive
            raise SpecError(str(exc)) from None

    @classmethod
    def _check_fixed(cls, name: str, raw: Any) -> None:
        only, _ = cls.fixed[name]
        if isinstance(only, bool):
            value: Any = _to_bool(name, raw)
        elif isinstance(only, int) and not isinstance(only, bool):
            value = _to_int(name, raw)
        else:
            value = _to_fraction(name, raw)
        cls._require_fixed(name, value)

    @classmethod
    def _require_fixed(cls, name: str, value: Any) -> None:
        """A ``fixed`` name must have its only accepted value (error names it and why)."""
        only, why = cls.fixed[name]
        if value != only:
            raise SpecError(f"{name} must be {_show(only)} ({why}), got {_show(value)}")

    def replace(self, **changes: Any) -> Spec:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly normalized parameters (numbers as floats, n as int or list)."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Fraction):
                value = float(value)
            elif isinstance(value, tuple):
                value = value[0] if len(set(value)) == 1 else list(value)
            out[field.name] = value
        return out

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(name, allowed range, doc with default) for every field, for `ncproofs list -v`
        and help; each parameter once, with the range that construction enforces."""
        rows = []
        for f in dataclasses.fields(cls):
            if f.name in cls.fixed:  # not a parameter of this model (describe_fixed)
                continue
            m = f.metadata
            if m.get("range_text"):
                rng = m["range_text"]
            elif m.get("kind") in ("int", "number"):
                rng = _range_text(m["lower"], m["upper"], m["lower_open"], m["upper_open"])
            elif m.get("kind") == "bool":
                rng = "true/false"
            elif m.get("kind") == "choice":
                rng = " | ".join(m["choices"])
            else:
                rng = "int >= 1 or K ints"
            default = "" if f.default is dataclasses.MISSING else f" (default {_show(f.default)})"
            aliases = [alias for alias, name in cls.aliases.items() if name == f.name]
            also = f" (also: {', '.join(aliases)})" if aliases else ""
            rows.append((f.name, rng, m.get("doc", "") + default + also))
        return rows

    @classmethod
    def describe_fixed(cls) -> list[str]:
        """One line per alias and per fixed name, e.g. "lam_W = 0 accepted (no weight decay
        on the sphere)", for help texts."""
        lines = [f"{alias} = {name} (alias)" for alias, name in cls.aliases.items()]
        lines += [f"{name} = {_show(only)} accepted ({why})"
                  for name, (only, why) in cls.fixed.items()]
        return lines


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClassCountsSpec(Spec):
    """K classes with ``n`` samples per class (normalized to a tuple of K counts)."""

    K: int = param("int", lower=2, doc="number of classes")
    n: tuple[int, ...] = param(
        "counts", doc="samples per class: an int (balanced) or K comma-separated ints"
    )

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


# --------------------------------------------------------------------------- the UFM


@dataclasses.dataclass(frozen=True, kw_only=True)
class UFMSpec(ClassCountsSpec):
    """The plain unconstrained-features model (docs/conventions.md).

    ``n`` is normalized to a tuple of K per-class counts; ``balanced`` tells whether
    they are all equal.  ``lam_b`` only makes sense with ``bias=True`` (``lam_b = 0``
    then means an unregularized bias).
    """

    d: int = param("int", lower=1, doc="feature dimension")
    lam_W: Fraction = param("number", lower=0, lower_open=True, doc="weight decay on W")
    lam_H: Fraction = param("number", lower=0, lower_open=True, doc="weight decay on H")
    lam_b: Fraction = param("number", Fraction(0), lower=0, doc="weight decay on the bias")
    bias: bool = param("bool", True, doc="whether the model has a bias b")

    def _check(self) -> None:
        super()._check()
        if not self.bias and self.lam_b != 0:
            raise SpecError(
                f"lam_b must be 0 when bias=false (got lam_b={_show(self.lam_b)}); "
                "set bias=true to regularize a bias"
            )


def bias_free(reason: str) -> dict[str, tuple[Any, str]]:
    """``fixed`` entries of a bias-free model: ``bias=false`` and ``lam_b=0`` are accepted
    (and are the fields' defaults), any other value is an error naming ``reason``."""
    return {"bias": (False, reason), "lam_b": (Fraction(0), reason)}


# --------------------------------------------------------------------------- the sphere

_NO_DECAY = "no weight decay on the sphere: the norm constraint replaces it"
#: UFM names a user may pass to a model on the sphere, with their only meaningful value
SPHERE_FIXED: Mapping[str, tuple[Any, str]] = {
    "lam_W": (Fraction(0), _NO_DECAY),
    "lam_H": (Fraction(0), _NO_DECAY),
    "lam_b": (Fraction(0), "no bias on the sphere"),
    "bias": (False, "no bias on the sphere"),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class SphereSpec(ClassCountsSpec):
    """Normalized features and classifier rows on the unit sphere S^(d-1), CE with
    temperature tau (logits tau w_k^T h); no weight decay, no bias."""

    d: int = param("int", lower=1, doc="feature dimension (features on S^(d-1))")
    tau: Fraction = param("number", lower=0, lower_open=True,
                          doc="temperature: logits are tau w_k^T h")

    fixed: ClassVar[Mapping[str, tuple[Any, str]]] = SPHERE_FIXED


#: the numeric code search (SLSQP polish, K^2 constraints) takes ~7 s at K = 40 and did
#: not finish in minutes at K = 200 (CLI fuzz)
MAX_K_SEARCH = 64


@dataclasses.dataclass(frozen=True, kw_only=True)
class MarginCodeSpec(Spec):
    """K unit codewords in R^d maximizing the smallest one-vs-rest margin (one feature per
    class: no sample count, no weight decay, no bias)."""

    K: int = param("int", lower=2, range_text=f">= 2 and <= max({MAX_K_SEARCH}, 2d)",
                   doc="number of classes (codewords)")
    d: int = param("int", lower=2, doc="dimension (codewords on S^(d-1))")

    fixed: ClassVar[Mapping[str, tuple[Any, str]]] = {
        **SPHERE_FIXED, "n": (1, "the margin problem has one feature per class")}

    def _check(self) -> None:
        super()._check()
        if self.d >= 3 and self.K > max(MAX_K_SEARCH, 2 * self.d):
            raise SpecError(f"K must be <= max({MAX_K_SEARCH}, 2d) for d >= 3 (the numeric "
                            f"code search does not scale beyond), got K={self.K}")


# --------------------------------------------------------------------------- two-layer ReLU

RELU2_DATASETS = ("iris", "whitened", "rank-one")
RELU2_PATTERN_MODES = ("complete", "sampled")
#: complete patterns grow like (2n)^2: n = 25 takes ~8 s, n = 50 ran for minutes inside
#: the conic solver (CLI fuzz)
MAX_IRIS_N = 25


@dataclasses.dataclass(frozen=True, kw_only=True)
class Relu2Spec(Spec):
    """A two-layer ReLU network x -> sum_j v_j max(w_j^T x, 0) of width ``width`` with
    weight decay beta/2 (|W1|^2 + |v|^2), squared loss 1/2 |f(X) - y|^2, binary labels
    +-1 on a data set (``n`` points per class)."""

    n: int = param("int", 8, lower=1, doc=f"points per class (binary labels +-1; <= "
                   f"{MAX_IRIS_N} for iris, >= 2 for whitened)")
    width: int = param("int", 8, lower=1, doc="width of the trained network (number of "
                       "hidden ReLU units)")
    beta: Fraction = param("number", lower=0, lower_open=True,
                           doc="weight decay beta on both layers")
    bias: bool = param("bool", True, doc="constant input column (a regularized bias; "
                       "iris only)")
    data: str = param("choice", "iris", choices=RELU2_DATASETS, doc="the data set")
    patterns: str = param("choice", "complete", choices=RELU2_PATTERN_MODES,
                          doc="activation patterns of the convex program")
    samples: int = param("int", 200, lower=1, doc="directions drawn when patterns=sampled")
    seed: int = param("int", 0, lower=0, doc="seed of the data subset / sampled patterns")

    aliases: ClassVar[Mapping[str, str]] = {"lam_W": "beta", "m": "width", "d": "width"}
    fixed: ClassVar[Mapping[str, tuple[Any, str]]] = {
        "K": (2, "binary classification, labels +-1"),
        "lam_H": (Fraction(0), "the features are the data, not variables"),
    }

    def _check(self) -> None:
        super()._check()
        if self.data != "iris" and self.bias:
            raise SpecError(f"bias must be false for data={self.data} (a constant column "
                            "breaks whitening / rank one)")
        if self.data == "iris" and self.n > MAX_IRIS_N:
            raise SpecError(f"n must be <= {MAX_IRIS_N} for data=iris, got {self.n}")
        if self.data == "whitened" and self.n < 2:
            raise SpecError("n must be >= 2 for data=whitened")
