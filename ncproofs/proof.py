"""Proof files: everything an independent checker needs to re-verify a certificate.

``ncproofs verify ID -p ... --certificate-out FILE.json`` (and ``verify --all
--certificate-dir DIR``) write one JSON object per certified (or conditional) case:

* ``params``       -- the parameters exactly as typed (strings);
* ``claimed``      -- the claimed optimal value: the exact expression and an enclosure
                      (null when the theorem has no closed form, e.g. ufm-ce-imbalanced);
* ``lower``        -- the lower-bound data in exact rationals ("p/q" strings): a dual point;
* ``point``        -- the explicit point: binary floats written exactly in hex
                      (``float.hex``), or its structure (a named frame and exact scales);
* ``assumptions``  -- typed assumptions ({"text", "kind", "reference"});
* ``theorem``, ``method``, ``status``, ``format``/``format_version``, ``package_version``.

The reported bounds are copied under ``reported`` for a reader; the checker
(:mod:`ncproofs.check`) recomputes both bounds and never reads them.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import flint
import numpy as np

from . import __version__
from .certify.certificate import CERTIFIED, CONDITIONAL, Certificate, as_assumption
from .certify.frames import FramePoint
from .certify.intervals import sympy_to_arb
from .check.core import FORMAT, FORMAT_VERSION, LOWER_KINDS, THEOREMS, exact_of_arb_end
from .theorems.base import ClosedForm, ExplicitPoint


class NoProofFile(Exception):
    """This certificate cannot be exported (yet); the message says why."""


def _hex_rows(A: np.ndarray) -> list[list[str]]:
    return [[float.hex(float(x)) for x in row] for row in np.atleast_2d(np.asarray(A, float))]


def point_data(point: ExplicitPoint | FramePoint | dict[str, Any],
               counts: tuple[int, ...]) -> dict[str, Any]:
    """The explicit point of a proof file: a named frame, or dense hex arrays whose
    columns of H are the class means (class k has counts[k] samples)."""
    if isinstance(point, FramePoint):
        return point.as_proof()
    if isinstance(point, dict):  # already in proof-file form (e.g. a relu2 network)
        return point
    one_per_class = tuple(point.labels) == tuple(range(len(counts)))
    one_per_label_set = all(isinstance(label, tuple) for label in point.labels)  # multi-label
    if not (one_per_class or one_per_label_set) or len(point.labels) != len(counts):
        raise NoProofFile("the explicit point is not one column per class (or label set)")
    a = point.arrays
    if "W1" in a:  # deep: W_1 .. W_L
        layers = [_hex_rows(a[f"W{i}"]) for i in range(1, len(a) + 1) if f"W{i}" in a]
        out: dict[str, Any] = {"kind": "deep-dense", "W": layers, "H": _hex_rows(a["H"])}
    else:
        out = {"kind": "dense", "W": _hex_rows(a["W"]), "H": _hex_rows(a["H"])}
    if "b" in a:
        out["b"] = [float.hex(float(x)) for x in np.asarray(a["b"], float).ravel()]
    return out


def _decimal_enclosure(x: flint.arb, digits: int = 25) -> list[str]:
    """[lo, hi] as decimal strings with lo < x < hi: the ball's exact ends rounded outward
    to ``digits`` significant digits, plus one unit in the last digit (so that a checker's
    own enclosure of the same expression, at a similar precision, still fits inside)."""
    lo, hi = (exact_of_arb_end(e) for e in (x.lower(), x.upper()))
    magnitude = max(abs(lo), abs(hi), Fraction(1, 10**300))
    exponent = digits - len(str(int(magnitude))) if magnitude >= 1 else \
        digits + len(str(int(1 / magnitude)))
    scale = Fraction(10) ** exponent
    lo_int = math.floor(lo * scale) - 1
    hi_int = math.ceil(hi * scale) + 1
    return [_decimal(lo_int, exponent), _decimal(hi_int, exponent)]


def _decimal(mantissa: int, exponent: int) -> str:
    """The exact decimal string of mantissa * 10^-exponent (e.g. "-12e-3")."""
    return f"{mantissa}e{-exponent}"


def proof_file(theorem_id: str, params: dict[str, Any], closed: ClosedForm,
               cert: Certificate) -> dict[str, Any]:
    """The proof file of one verified case, or :class:`NoProofFile` saying why none."""
    if cert.status not in (CERTIFIED, CONDITIONAL):
        raise NoProofFile(f"status {cert.status}: only certified or conditional results "
                          "have proof files")
    if theorem_id not in THEOREMS:
        raise NoProofFile(f"no proof file for theorem {theorem_id} yet (the checker covers "
                          f"{', '.join(sorted(THEOREMS))})")
    data = cert.proof or {}
    lower = data.get("lower")
    if not lower or lower.get("kind") not in LOWER_KINDS:
        raise NoProofFile(f"no proof file for method {cert.method!r} yet (no exported "
                          "lower-bound data)")
    point = data.get("point", closed.point)
    if point is None:
        raise NoProofFile("no explicit point")
    counts = tuple(getattr(point, "counts", ()))
    claimed = None
    if closed.objective is not None and closed.kind == "closed-form" \
            and not closed.objective.has(*_float_atoms()):
        claimed = {"expression": str(closed.objective),
                   "enclosure": _decimal_enclosure(_enclose(closed.objective))}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "theorem": theorem_id,
        "params": {str(k): str(v) for k, v in params.items()},
        "status": cert.status,
        "method": cert.method,
        "assumptions": [as_assumption(a).as_dict() for a in cert.assumptions],
        "claimed": claimed,
        "lower": lower,
        "point": point_data(point, counts),
        "reported": {"lower_bound": cert.lower_bound, "upper_bound": cert.upper_bound,
                     "lower_bound_source": cert.lower_bound_source,
                     "upper_bound_source": cert.upper_bound_source},
    }


def _enclose(expr: Any) -> flint.arb:
    """An arb ball around a closed form: rigorous where :func:`sympy_to_arb` applies, else
    (CRootOf values) 50 digits of SymPy's evalf with a 1e-40 relative radius -- a claim the
    checker re-encloses itself."""
    try:
        return sympy_to_arb(expr)
    except TypeError:
        import sympy as sp

        mid = flint.arb(str(sp.N(expr, 50)))
        return mid + flint.arb(0, 1e-40) * (abs(mid) + flint.arb(10) ** -300)


def _float_atoms() -> tuple[type, ...]:
    import sympy as sp

    return (sp.Float,)


def write_proof_file(path: str | Path, theorem_id: str, params: dict[str, Any],
                     closed: ClosedForm, cert: Certificate) -> None:
    """Write :func:`proof_file` as JSON (raises :class:`NoProofFile`)."""
    data = proof_file(theorem_id, params, closed, cert)
    Path(path).write_text(json.dumps(data, indent=1) + "\n")
