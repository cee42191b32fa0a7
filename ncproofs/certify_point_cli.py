"""``ncproofs certify-point ID [-p NAME=VALUE ...] POINT.npz [--json]``: is my point (a
trained network's last layer, a solver's output) globally optimal, and how far from it?

The npz follows ``ncproofs metrics``: ``H`` (N x d features, samples as rows), ``y``
(N labels in 0..K-1), ``W`` (K x d), optionally ``b`` (K); deep models give ``W1 .. WL``
instead of ``W`` (``W1`` is d x d, ..., ``WL`` is K x d).  Parameters the point
determines (K, n, d, L) may be left out; given ones are checked against the arrays.

Reported (all from :func:`certify_point`):

* ``value_lower_bound``, ``value_upper_bound``: an interval-arithmetic enclosure of
  f(point), the theorem's own objective evaluated at exactly these float64 numbers (for
  the normalized-feature models, sphere-*, at the exactly normalized rows of W and
  columns of H, i.e. the point projected onto the constraint set);
* ``optimum``: the certificate of the theorem at these parameters (status, rigorous lower
  and upper bounds on f*);
* ``gap_to_optimum`` = value_upper_bound - (lower bound on f*): a rigorous upper bound on
  f(point) - f*, given only when the optimum is ``certified``; for a ``conditional``
  certificate the same number is ``gap_to_optimum_if_assumptions_hold``;
* ``metrics``: NC1-NC4 of the point (:func:`ncproofs.metrics.nc_metrics`).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .results import PointReport
from .spec import SpecError

__all__ = ["add_arguments", "certify_point", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the ``certify-point`` subcommand."""
    parser.add_argument("theorem")
    parser.add_argument("point", metavar="POINT.npz",
                        help="npz with H (N x d), y (N), W (K x d) [, b] or W1..WL")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="the theorem's parameters (K, n, d, L are read from the point "
                        "when left out)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise SpecError(f"{path}: not a readable .npz file ({exc})") from None


def _weights(arrays: Mapping[str, np.ndarray]) -> tuple[list[str], bool]:
    """The classifier keys in order (["W"] or ["W1", ..., "WL"]) and whether deep."""
    if "W" in arrays:
        return ["W"], False
    deep = sorted((k for k in arrays if k[:1] == "W" and k[1:].isdigit()), key=lambda k: int(k[1:]))
    if not deep:
        raise SpecError(f"the point needs W (K x d) or W1..WL; found keys: "
                        f"{', '.join(arrays) or 'none'}")
    expected = [f"W{i}" for i in range(1, len(deep) + 1)]
    if deep != expected:
        raise SpecError(f"deep weights must be W1..WL without gaps, found {', '.join(deep)}")
    return deep, True


def _validated(arrays: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """Float arrays, integer labels and the weight keys, or a one-line SpecError."""
    missing = [k for k in ("H", "y") if k not in arrays]
    if missing:
        raise SpecError(f"the point is missing {', '.join(missing)} (found: "
                        f"{', '.join(arrays) or 'none'})")
    keys, _ = _weights(arrays)
    out: dict[str, np.ndarray] = {}
    for key in ["H", *keys, "b"]:
        if key not in arrays:
            continue
        a = np.asarray(arrays[key])
        if a.dtype.kind not in "fiu":
            raise SpecError(f"{key}: expected real numbers, got dtype {a.dtype}")
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise SpecError(f"{key}: contains NaN or inf")
        out[key] = a
    y = np.asarray(arrays["y"])
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise SpecError(f"y: expected integer labels, got dtype {y.dtype}")
    y = y.astype(np.int64).ravel()
    H = out["H"]
    if H.ndim != 2:
        raise SpecError(f"H: expected a 2-d array N x d, got shape {H.shape}")
    if y.shape[0] != H.shape[0]:
        raise SpecError(f"y has {y.shape[0]} labels but H has {H.shape[0]} rows (N x d, "
                        "samples as rows)")
    d = H.shape[1]
    for i, key in enumerate(keys):
        W = out[key]
        rows_expected = None
        if W.ndim != 2:
            raise SpecError(f"{key}: expected a 2-d array, got shape {W.shape}")
        if W.shape[1] != d:
            raise SpecError(f"{key}: shape {W.shape} does not match H with d = {d} columns")
        if i < len(keys) - 1:
            rows_expected = d
        if rows_expected is not None and W.shape[0] != rows_expected:
            raise SpecError(f"{key}: expected shape ({d}, {d}) (hidden layers are d x d), "
                            f"got {W.shape}")
    K = out[keys[-1]].shape[0]
    if y.size and (y.min() < 0 or y.max() >= K):
        raise SpecError(f"y: labels must be in 0..{K - 1} (W{'' if len(keys) == 1 else 'L'} "
                        f"has K = {K} rows), got {y.min()}..{y.max()}")
    if "b" in out and out["b"].size != K:
        raise SpecError(f"b: expected {K} entries (one per class), got shape {out['b'].shape}")
    return out, y, keys


def _fill_params(spec_type: Any, params: dict[str, Any], *, K: int, d: int,
                 counts: tuple[int, ...], L: int | None, has_bias: bool) -> dict[str, Any]:
    """K, n, d (and L, bias) from the point where the theorem has them and they are not
    given; the given ones are checked against the point by the caller."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(spec_type)}
    filled = dict(params)
    inferred: dict[str, Any] = {"K": K, "d": d,
                                "n": counts[0] if len(set(counts)) == 1 else ",".join(map(
                                    str, counts))}
    if L is not None:
        inferred["L"] = L
    if "bias" in fields and "bias" not in filled and not has_bias:
        inferred["bias"] = "false"
    for key, value in inferred.items():
        if key in fields and key not in filled:
            filled[key] = value
    return filled


def certify_point(theorem_id: str, point: Mapping[str, Any] | str | os.PathLike[str],
                  params: Mapping[str, Any] | None = None) -> PointReport:
    """Rigorous value of ``point`` in theorem ``theorem_id``'s objective, the certified
    optimum at the same parameters, and the rigorous gap between them (module docstring).

    Raises :class:`SpecError` (one line) for a bad file, arrays whose shapes do not fit
    each other or the parameters, or a theorem that cannot evaluate a point."""
    from .certify.certificate import CERTIFIED, CONDITIONAL, lower_end, upper_end
    from .theorems.base import ExplicitPoint, get_theorem

    theorem = get_theorem(theorem_id)
    raw = _load_npz(point) if isinstance(point, (str, os.PathLike)) else dict(point)
    arrays, y, keys = _validated(raw)
    H = arrays["H"]
    N, d = H.shape
    K = arrays[keys[-1]].shape[0]
    counts = tuple(int(c) for c in np.bincount(y, minlength=K))
    if min(counts) == 0:
        empty = [k for k, c in enumerate(counts) if c == 0]
        raise SpecError(f"y: class(es) {empty} have no sample; every class 0..{K - 1} needs one")
    spec = theorem.spec(_fill_params(theorem.spec_type, dict(params or {}), K=K, d=d,
                                     counts=counts, L=len(keys) if len(keys) > 1 else None,
                                     has_bias="b" in arrays))
    for name, value in (("K", K), ("d", d)):
        if getattr(spec, name, value) != value:
            raise SpecError(f"{name} = {getattr(spec, name)} but the point has {name} = {value}")
    if getattr(spec, "n", counts) != counts:
        raise SpecError(f"n = {','.join(map(str, spec.n))} but y has class counts "
                        f"{','.join(map(str, counts))}")
    if getattr(spec, "L", len(keys)) != len(keys) and len(keys) > 1:
        raise SpecError(f"L = {spec.L} but the point has {len(keys)} weight matrices")
    if "b" in arrays and not getattr(spec, "bias", True):
        raise SpecError("the point has b but the parameters say bias=false")
    # samples as columns, in the order the objective expects (any order is the same f)
    order = np.argsort(y, kind="stable")
    point_arrays = {k: arrays[k] for k in keys}
    point_arrays["H"] = np.ascontiguousarray(H[order].T)
    if getattr(spec, "bias", False):
        point_arrays["b"] = arrays.get("b", np.zeros(K)).ravel()
    explicit = ExplicitPoint(arrays=point_arrays, labels=tuple(int(v) for v in y[order]),
                             counts=(1,) * N)
    estimate = theorem.estimate(spec).get("numeric_upper")
    from .resources import Limits, over_limit

    if estimate is not None:
        reason = over_limit("numeric_upper", estimate, Limits.default())
        if reason:
            raise SpecError(f"N = {N}, K = {K}, d = {d}: {reason}")
    try:
        value = theorem.upper_bound(spec, explicit)
    except NotImplementedError:
        raise SpecError(f"theorem {theorem.id} cannot evaluate a given point (it has no "
                        "interval objective for explicit points)") from None
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise SpecError(f"theorem {theorem.id} cannot evaluate this point: "
                        f"{type(exc).__name__}: {exc}") from None
    value_lower, value_upper = lower_end(value), upper_end(value)
    closed = theorem.closed_form(spec)
    cert = theorem.certify(spec, closed)
    report = PointReport({
        "theorem": theorem.id,
        "params": spec.as_dict(),
        "value_lower_bound": value_lower,
        "value_upper_bound": value_upper,
        "optimum": {
            "status": cert.status,
            "rigorous": cert.rigorous,
            "closed_form": closed.as_dict()["objective"],
            "lower_bound": cert.lower_bound,
            "upper_bound": cert.upper_bound,
            "reason": cert.reason,
            "assumptions": cert.as_dict().get("assumptions"),
        },
        "metrics": _metrics(theorem, spec, arrays, y, keys),
    })
    if cert.lower_bound is not None and cert.status in (CERTIFIED, CONDITIONAL):
        import flint

        # f(point) - f* <= value_upper - lower(f*), rounded upward in arb
        gap = upper_end(flint.arb(value_upper) - flint.arb(cert.lower_bound))
        key = "gap_to_optimum" if cert.status == CERTIFIED else \
            "gap_to_optimum_if_assumptions_hold"
        report[key] = gap
    return report


def _metrics(theorem: Any, spec: Any, arrays: dict[str, np.ndarray], y: np.ndarray,
             keys: list[str]) -> dict[str, float] | None:
    """NC metrics of the point: features H against the classifier (one layer), or the
    input features H alone (deep models: the metrics of W1..WL's inputs)."""
    from .metrics import nc_metrics

    target = theorem.target_for(spec) if hasattr(theorem, "target_for") else "etf"
    if len(keys) == 1:
        b = arrays.get("b")
        return nc_metrics(arrays["H"], y, arrays["W"], None if b is None else b.ravel(),
                          K=arrays["W"].shape[0], target=target)
    return nc_metrics(arrays["H"], y, None, None, K=arrays[keys[-1]].shape[0], target=target)


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return "nan" if math.isnan(x) else f"{x:.15g}"
    return str(x)


def text(report: PointReport) -> str:
    """The human-readable block of ``certify-point``."""
    opt = report["optimum"]
    rows = [
        ("value at the point", f"[{_fmt(report['value_lower_bound'])}, "
                               f"{_fmt(report['value_upper_bound'])}]  (interval enclosure)"),
        ("optimum f*", f"{opt['status']}: lower bound {_fmt(opt['lower_bound'])}, "
                       f"upper bound {_fmt(opt['upper_bound'])}"),
    ]
    if "gap_to_optimum" in report:
        rows.append(("gap to optimum", f"<= {report['gap_to_optimum']:.6g}  (rigorous)"))
    elif "gap_to_optimum_if_assumptions_hold" in report:
        rows.append(("gap to optimum", f"<= {report['gap_to_optimum_if_assumptions_hold']:.6g}"
                     "  (if the certificate's assumptions hold: status conditional)"))
    else:
        rows.append(("gap to optimum", f"- (optimum {opt['status']}: {opt['reason']})"))
    metrics = report.get("metrics") or {}
    rows.append(("NC metrics", ", ".join(
        f"{k} {f'{v:.3g}' if isinstance(v, float) else _fmt(v)}" for k, v in metrics.items())))
    width = max(len(k) for k, _ in rows)
    head = f"{report['theorem']}  " + " ".join(f"{k}={v}" for k, v in report["params"].items())
    return "\n".join([head] + [f"  {k.ljust(width)}  {v}" for k, v in rows])


def run(args: argparse.Namespace) -> int:
    """The subcommand: print the report; a bad file or parameters exit 2 (main prints)."""
    from .cli import _parse_params

    report = certify_point(args.theorem, args.point, _parse_params(args.param))
    if args.json:
        print(report.to_json())
    else:
        print(text(report))
    return 0


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - thin wrapper
    parser = argparse.ArgumentParser(prog="ncproofs certify-point", description=__doc__)
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
