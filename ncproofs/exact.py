"""Exact parsing of numbers as typed (standard library only).

A number typed as ``3e-3`` *is* 3/1000: it is read with :class:`fractions.Fraction`, never
through a binary float.  A Python float is read through its shortest round-trip decimal
(``repr``), i.e. what the user typed.  This module is shared by the problem specs
(:mod:`ncproofs.spec`) and the independent proof checker (:mod:`ncproofs.check`), which
may import nothing else from the package; keep it free of package imports.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

#: exponents beyond this are refused before parsing: Fraction("1e100000000") takes minutes
MAX_EXPONENT = 400


class ExactParseError(ValueError):
    """A value that is not an exact number (the message names the parameter)."""


def parse_fraction(name: str, value: Any) -> Fraction:
    """The exact rational a user meant by ``value`` (str, int, float or Fraction)."""
    if isinstance(value, bool):
        raise ExactParseError(f"{name} must be a number, got {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExactParseError(f"{name} must be a finite number, got {value!r}")
        return Fraction(repr(value))
    if isinstance(value, str):
        text = value.strip()
        exponent = re.search(r"[eE]([+-]?\d+)$", text)
        if exponent and abs(int(exponent.group(1))) > MAX_EXPONENT:
            raise ExactParseError(f"{name} must be between 1e-300 and 1e100 in magnitude, "
                                  f"got {value!r}")
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            pass
        try:
            as_float = float(text)
        except ValueError:
            raise ExactParseError(f"{name} must be a number, got {value!r}") from None
        if not math.isfinite(as_float):
            raise ExactParseError(f"{name} must be a finite number, got {value!r}")
        return Fraction(repr(as_float))
    try:  # numpy scalars and other number types
        as_float = float(value)
    except (TypeError, ValueError):
        raise ExactParseError(f"{name} must be a number, got {value!r}") from None
    return parse_fraction(name, as_float)


def parse_int(name: str, value: Any) -> int:
    """An integer typed as ``4``, ``4.0`` or ``4e0`` (exactly integral)."""
    if isinstance(value, bool):
        raise ExactParseError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        frac = parse_fraction(name, value)
    except ExactParseError:
        raise ExactParseError(f"{name} must be an integer, got {value!r}") from None
    if frac.denominator != 1:
        raise ExactParseError(f"{name} must be an integer, got {value!r}")
    return int(frac)


def parse_bool(name: str, value: Any) -> bool:
    """true/false, 1/0, yes/no, on/off (case-insensitive)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ExactParseError(f"{name} must be true or false, got {value!r}")
