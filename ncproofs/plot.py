"""``ncproofs plot FILE.parquet --x NAME --y NAME [--value FIELD] [--out FIG.png]``.

A phase diagram of a sweep: one tile per grid point coloured by certificate status
(Okabe-Ito colour-blind-safe palette, with a legend), optionally annotated (``--value``)
or shaded (``--shade``) by a numeric field, log axes for weight decays and wide ranges,
the theorem's analytic boundary drawn over it where it has one, and extra grid axes as
small multiples.  Axis names are parameter names (``K``, ``lam_W``) or the derived
quantities ``ratio`` (n_max / n_min), ``N`` (sum of n) and ``t`` (sqrt(n lam_W lam_H)).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .spec import SpecError

#: status -> colour, from M. Okabe & K. Ito, "Color Universal Design" (2008)
STATUS_COLORS = {
    "certified": "#009E73",       # bluish green
    "conditional": "#56B4E9",     # sky blue
    "refuted": "#D55E00",         # vermillion
    "inconclusive": "#E69F00",    # orange
    "not-applicable": "#F0E442",  # yellow
    "error": "#000000",           # black
}
STATUS_ORDER = tuple(STATUS_COLORS)

#: axis labels in the papers' symbols (docs/conventions.md)
SYMBOLS = {
    "K": r"$K$ (classes)", "n": r"$n$ (samples per class)", "d": r"$d$", "L": r"$L$ (layers)",
    "lam_W": r"$\lambda_W$", "lam_H": r"$\lambda_H$", "lam_b": r"$\lambda_b$",
    "lam_W1": r"$\lambda_{W_1}$", "alpha": r"$\alpha$", "gamma": r"$\gamma$",
    "tau": r"$\tau$", "m": r"$m$", "ratio": r"$R = n_{\max}/n_{\min}$", "N": r"$N$",
    "t": r"$t = \sqrt{n\lambda_W\lambda_H}$",
}
DERIVED = ("ratio", "N", "t")


def _counts(text: Any) -> list[int]:
    return [int(c) for c in str(text).split(",")]


def axis_values(frame: Any, name: str) -> np.ndarray:
    """A parameter column (``param_<name>``) or a derived quantity, as floats."""
    if name in DERIVED:
        if "param_n" not in frame:
            raise SpecError(f"--x/--y {name} needs the parameter n in the file")
        counts = [_counts(v) for v in frame["param_n"]]
        if name == "ratio":
            return np.array([max(c) / min(c) for c in counts], dtype=float)
        K = frame["param_K"].to_numpy(dtype=float)
        total = np.array([sum(c) if len(c) > 1 else c[0] * k for c, k in zip(counts, K)])
        if name == "N":
            return total
        lam = frame["param_lam_W"].to_numpy(float) * frame["param_lam_H"].to_numpy(float)
        return np.sqrt(total / K * lam)
    column = "param_" + name
    if column not in frame:
        names = [c[len("param_"):] for c in frame.columns if c.startswith("param_")]
        raise SpecError(f"no parameter {name!r} in the file; choose from "
                        f"{', '.join(names + list(DERIVED))}")
    try:
        return frame[column].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise SpecError(f"parameter {name} is not a number in this file (values like "
                        f"{frame[column].iloc[0]!r}); for class counts use ratio or N") from None


def field_values(frame: Any, field: str) -> np.ndarray:
    """A numeric result column (``gap``, ``closed_form``, ...) or a dotted path into the
    JSON report (``closed_form.minimizer.rank``); missing values are NaN."""
    if field in frame and not field.startswith("param_"):
        try:
            return frame[field].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise SpecError(f"--value {field} is not numeric") from None
    path = field.split(".")
    out = []
    for text in frame["report_json"]:
        node: Any = json.loads(text)
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, list):  # e.g. per-class values: their count of nonzeros
            node = sum(1 for v in node if isinstance(v, (int, float)) and v != 0)
        out.append(float(node) if isinstance(node, (int, float)) else math.nan)
    values = np.array(out)
    if np.isnan(values).all():
        raise SpecError(f"--value {field}: not a numeric column or report field of this "
                        "file (e.g. gap, closed_form, numeric, closed_form.minimizer.x)")
    return values


def _use_log(name: str, values: np.ndarray) -> bool:
    positive = values[np.isfinite(values)]
    if positive.size == 0 or (positive <= 0).any():
        return False
    spread = positive.max() / positive.min()
    return (name.startswith("lam") and spread > 1) or spread >= 10


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Tile edges around sorted unique values: midpoints (geometric on a log axis)."""
    v = np.log(values) if log else values.astype(float)
    if v.size == 1:
        mids = np.array([v[0] - 0.5, v[0] + 0.5]) if not log else v[0] + np.array([-1.0, 1])
    else:
        inner = (v[1:] + v[:-1]) / 2
        mids = np.concatenate([[v[0] - (inner[0] - v[0])], inner,
                               [v[-1] + (v[-1] - inner[-1])]])
    return np.exp(mids) if log else mids


# --------------------------------------------------------------------------- analytic boundaries


def _dnc_ratio(v: Mapping[str, Any], per_class_n: Any, N: Any) -> Any:
    """R_k = (N/n_k)^(L+1) n_k lam_H lam_W^L of the deep scalar problem (Dang et al.;
    the DNC candidate of the deep ReLU UFM is the same scalar problem, N/n_k = K)."""
    L = v["L"]
    return (N / per_class_n) ** (L + 1) * per_class_n * v["lam_H"] * v["lam_W"] ** L


def _tie_ratio(L: Any) -> Any:
    """R_tie(L) = ((L-1)/L)^(L-1) / L^(L+1): beyond it the zero point wins."""
    return ((L - 1) / L) ** (L - 1) / L ** (L + 1)


def _max_ratio(L: Any) -> Any:
    """R_max(L) = u^(L-1) (1-u)^(L+1), u = (L-1)/(2L): a positive stationary point exists
    iff R <= R_max."""
    u = (L - 1) / (2 * L)
    return u ** (L - 1) * (1 - u) ** (L + 1)


def _class_sizes(v: Mapping[str, Any]) -> tuple[list[Any], Any]:
    """Per-class counts (arrays when the ratio is an axis: majority classes scale as
    R n_min) and N."""
    counts = v["n"]
    if "ratio" in v:
        low, high = min(counts), max(counts)
        counts = [v["ratio"] * low if c == high else c for c in counts]
    return counts, sum(counts)


def _zhu(v: Mapping[str, Any]) -> list[tuple[str, Any]]:
    t = v["t"] if "t" in v else np.sqrt(v["n"] * v["lam_W"] * v["lam_H"])
    return [(r"Zhu et al.: $Kt = 1$ (W = H = 0 beyond)", v["K"] * t - 1)]


def _imbalanced_mse(v: Mapping[str, Any]) -> list[tuple[str, Any]]:
    counts, N = _class_sizes(v)
    curves = []
    for c in sorted(set(map(float, np.atleast_1d(v["n"])))):
        sized = [x for x, raw in zip(counts, v["n"]) if raw == c][0]
        curves.append((fr"$N^2\lambda_W\lambda_H = n_k$ ($n_k$={c:g})",
                       np.log(N**2 * v["lam_W"] * v["lam_H"]) - np.log(sized)))
    return curves


def _minority(v: Mapping[str, Any]) -> list[tuple[str, Any]]:
    counts, N = _class_sizes(v)
    return [(r"minority collapse $N^2\lambda_W\lambda_H = n_{\min}$",
             np.log(N**2 * v["lam_W"] * v["lam_H"]) - np.log(min(v["n"])))]


def _deep_scalar(v: Mapping[str, Any]) -> list[tuple[str, Any]]:
    counts, N = _class_sizes(v) if isinstance(v["n"], list) else ([v["n"]], v["K"] * v["n"])
    smallest = min(counts, key=lambda c: np.min(c))
    ratio = _dnc_ratio(v, smallest, N)
    curves = [(r"$R = R_{\mathrm{tie}}(L)$: zero optimum beyond",
               np.log(ratio) - np.log(_tie_ratio(v["L"])))]
    if np.max(v["L"]) >= 2:
        curves.append((r"$R = R_{\max}(L)$: no positive stationary point beyond",
                       np.log(ratio) - np.log(_max_ratio(v["L"]))))
    return curves


#: theorem id -> zero-level functions of the grid variables (label, g): boundary g = 0
BOUNDARIES: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, Any]]]] = {
    "ufm-ce": _zhu,
    "ufm-mse": _zhu,
    "ufm-mse-imbalanced": _imbalanced_mse,
    "ufm-ce-imbalanced": _minority,
    "deep-linear-mse": _deep_scalar,
    "dufm-binary": _deep_scalar,
    "dufm-lowrank": _deep_scalar,
}


def _row_variables(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in row.items():
        if not column.startswith("param_"):
            continue
        name = column[len("param_"):]
        if name == "n":
            counts = _counts(value)
            out[name] = counts if len(counts) > 1 else float(counts[0])
        elif isinstance(value, (bool, np.bool_)):
            out[name] = bool(value)
        else:
            try:
                out[name] = float(value)
            except (TypeError, ValueError):
                out[name] = value
    return out


def _tied(frame: Any, axis: np.ndarray) -> list[str]:
    """Parameters equal to an axis in every row (a tied axis such as lam_W=lam_H)."""
    out = []
    for column in frame.columns:
        if column.startswith("param_") and frame[column].dtype.kind in "if":
            if np.array_equal(frame[column].to_numpy(float), axis):
                out.append(column[len("param_"):])
    return out


def _draw_boundary(ax: Any, theorem: str, row: Any, x: str, y: str, xlim: tuple[float, float],
                   ylim: tuple[float, float], xlog: bool, ylog: bool,
                   tied: tuple[list[str], list[str]] = ([], [])) -> list[Any]:
    make = BOUNDARIES.get(theorem)
    if make is None:
        return []
    grid_x = np.geomspace(*xlim, 300) if xlog else np.linspace(*xlim, 300)
    grid_y = np.geomspace(*ylim, 300) if ylog else np.linspace(*ylim, 300)
    X, Y = np.meshgrid(grid_x, grid_y)
    variables = _row_variables(row)
    for name in (x, *tied[0]):
        variables[name] = X
    for name in (y, *tied[1]):
        variables[name] = Y
    if x == "ratio" or y == "ratio":
        variables["n"] = _counts(row["param_n"])
    try:
        with np.errstate(all="ignore"):
            curves = make(variables)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return []  # the boundary needs a parameter this sweep does not have as a number
    from matplotlib.lines import Line2D

    handles = []
    for (label, level), style in zip(curves, ("-", "--", ":", "-.")):
        level = np.broadcast_to(np.asarray(level, dtype=float), X.shape)
        finite = np.isfinite(level)
        if not finite.any() or level[finite].min() > 0 or level[finite].max() < 0:
            continue  # the boundary lies outside this panel
        ax.contour(X, Y, level, levels=[0.0], colors="black", linewidths=1.6,
                   linestyles=style)
        handles.append(Line2D([], [], color="black", linestyle=style, label=label))
    return handles


# --------------------------------------------------------------------------- the figure


def _facet_columns(frame: Any, x: np.ndarray, y: np.ndarray) -> list[str]:
    """Parameters that vary within some (x, y) point: extra grid axes -> small multiples."""
    keys = list(zip(x, y))
    out = []
    for column in frame.columns:
        if not column.startswith("param_"):
            continue
        seen: dict[Any, Any] = {}
        for key, value in zip(keys, frame[column]):
            if seen.setdefault(key, value) != value:
                out.append(column)
                break
    return out


def phase_diagram(frame: Any, x: str, y: str, *, value: str | None = None,
                  shade: bool = False, title: str | None = None) -> Any:
    """The figure (matplotlib) for a sweep's rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if len(frame) == 0:
        raise SpecError("the file has no rows to plot")
    if x == y:
        raise SpecError("--x and --y must be different parameters")
    xs, ys = axis_values(frame, x), axis_values(frame, y)
    values = field_values(frame, value) if value else None
    facets = _facet_columns(frame, xs, ys)
    if len(facets) > 2:
        raise SpecError(f"{len(facets)} more grid axes besides {x} and {y} "
                        f"({', '.join(f[6:] for f in facets)}); plot at most two as small "
                        "multiples (filter the file first)")
    facet_values = [sorted(frame[c].unique(), key=_sort_key) for c in facets]
    n_rows = len(facet_values[1]) if len(facets) == 2 else 1
    n_cols = len(facet_values[0]) if facets else 1
    if n_rows * n_cols > 36:
        raise SpecError(f"{n_rows * n_cols} small multiples are too many; filter the file")
    theorem = str(frame["theorem"].iloc[0])
    xlog, ylog = _use_log(x, xs), _use_log(y, ys)
    ux, uy = np.unique(xs), np.unique(ys)
    ex, ey = _edges(ux, xlog), _edges(uy, ylog)
    tied = (_tied(frame, xs), _tied(frame, ys))
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False, sharex=True, sharey=True,
                             figsize=(1.2 + 4.2 * n_cols, 0.9 + 3.6 * n_rows))
    status_index = {s: i for i, s in enumerate(STATUS_ORDER)}
    colors = np.array([matplotlib.colors.to_rgba(STATUS_COLORS[s]) for s in STATUS_ORDER])
    finite_values = values[np.isfinite(values)] if values is not None else np.array([])
    lo_v, hi_v = (finite_values.min(), finite_values.max()) if finite_values.size else (0, 1)
    log_v = finite_values.size and lo_v > 0 and hi_v / lo_v > 100
    present: set[str] = set()
    boundary_handles: dict[str, Any] = {}
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r][c]
            mask = np.ones(len(frame), dtype=bool)
            labels = []
            for k, column in enumerate(facets):
                wanted = facet_values[k][c if k == 0 else r]
                mask &= (frame[column] == wanted).to_numpy()
                labels.append(f"{_symbol(column[6:])} = {wanted}")
            rgba = np.zeros((uy.size, ux.size, 4))
            text = np.full((uy.size, ux.size), np.nan)
            for i in np.flatnonzero(mask):
                status = str(frame["status"].iloc[i])
                present.add(status)
                ix, iy = np.searchsorted(ux, xs[i]), np.searchsorted(uy, ys[i])
                rgba[iy, ix] = colors[status_index.get(status, status_index["error"])]
                if values is not None:
                    text[iy, ix] = values[i]
                    if shade and np.isfinite(values[i]) and hi_v > lo_v:
                        s = ((math.log(values[i]) - math.log(lo_v)) / math.log(hi_v / lo_v)
                             if log_v else (values[i] - lo_v) / (hi_v - lo_v))
                        rgba[iy, ix, 3] = 0.25 + 0.75 * s
            ax.pcolormesh(ex, ey, rgba, edgecolors="white", linewidth=0.5)
            if values is not None and not shade and ux.size * uy.size <= 300:
                for iy in range(uy.size):
                    for ix in range(ux.size):
                        if np.isfinite(text[iy, ix]):
                            ax.text(_center(ex, ix, xlog), _center(ey, iy, ylog),
                                    f"{text[iy, ix]:.3g}", ha="center", va="center",
                                    fontsize=8, color="black")
            ax.set_xscale("log" if xlog else "linear")
            ax.set_yscale("log" if ylog else "linear")
            ax.set_xlim(ex[0], ex[-1])
            ax.set_ylim(ey[0], ey[-1])
            if mask.any():
                first = frame[mask].iloc[0]
                for handle in _draw_boundary(ax, theorem, first, x, y, (ex[0], ex[-1]),
                                             (ey[0], ey[-1]), xlog, ylog, tied):
                    boundary_handles.setdefault(handle.get_label(), handle)
            if labels:
                ax.set_title(", ".join(labels), fontsize=9)
            if r == n_rows - 1:
                ax.set_xlabel(_symbol(x))
            if c == 0:
                ax.set_ylabel(_symbol(y))
            _integer_ticks(ax, ux, "x", xlog)
            _integer_ticks(ax, uy, "y", ylog)
    handles = [Patch(facecolor=STATUS_COLORS[s], edgecolor="grey", label=s)
               for s in STATUS_ORDER if s in present]
    handles += list(boundary_handles.values())
    fig.legend(handles=handles, loc="outside lower center", fontsize=8, frameon=False,
               ncols=_legend_columns(handles, n_cols))
    heading = title or theorem
    if value and not title:
        heading += f"\n(tiles: {'shade' if shade else 'value'} of {value})"
    fig.suptitle(heading, fontsize=10)
    fig.set_layout_engine("constrained")
    return fig


def _legend_columns(handles: list[Any], panels_across: int) -> int:
    """As many columns as fit the figure's width (long boundary labels: fewer)."""
    widest = max(len(h.get_label()) for h in handles)
    fit = max(1, (60 * panels_across) // max(widest, 12))
    return min(len(handles), fit, 4)


def _sort_key(value: Any) -> Any:
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def _symbol(name: str) -> str:
    return SYMBOLS.get(name, name)


def _center(edges: np.ndarray, i: int, log: bool) -> float:
    return math.sqrt(edges[i] * edges[i + 1]) if log else (edges[i] + edges[i + 1]) / 2


def _integer_ticks(ax: Any, values: np.ndarray, which: str, log: bool) -> None:
    """Integer axes (K, L, n) get a tick at every grid value (up to 15)."""
    if values.size <= 15 and np.all(values == np.round(values)):
        getattr(ax, f"set_{which}ticks")(values)
        getattr(ax, f"set_{which}ticklabels")([f"{v:g}" for v in values])
        if log:
            getattr(ax, f"{which}axis").set_minor_formatter(_null_formatter())


def _null_formatter() -> Any:
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def plot_file(path: str | Path, x: str, y: str, *, value: str | None = None,
              shade: bool = False, out: str | Path | None = None) -> Path:
    """Read a sweep's Parquet file and write the phase diagram (PNG, PDF or SVG)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"no such file: {path}")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets one message
        raise SpecError(f"cannot read {path} as Parquet: {exc}") from None
    if "status" not in frame or "theorem" not in frame:
        raise SpecError(f"{path} is not a sweep file (no status/theorem columns)")
    target = Path(out) if out else path.with_suffix(".png")
    if target.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise SpecError(f"--out must end in .png, .pdf or .svg, got {target.name}")
    if not target.parent.is_dir():
        raise SpecError(f"cannot write {target}: folder {target.parent} does not exist")
    fig = phase_diagram(frame, x, y, value=value, shade=shade)
    try:
        fig.savefig(target, dpi=150)
    except OSError as exc:
        raise SpecError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a sweep's Parquet file")
    parser.add_argument("--x", required=True, help="parameter on the x axis (or ratio, N, t)")
    parser.add_argument("--y", required=True, help="parameter on the y axis")
    parser.add_argument("--value", metavar="FIELD",
                        help="annotate tiles with a numeric column (gap, closed_form, "
                             "numeric, ...) or report field (closed_form.minimizer.rank)")
    parser.add_argument("--shade", action="store_true",
                        help="shade tiles by --value instead of printing the numbers")
    parser.add_argument("--out", help="figure file: .png (default: FILE.png), .pdf or .svg")


def run(args: argparse.Namespace) -> int:
    if args.shade and not args.value:
        raise SpecError("--shade needs --value FIELD")
    target = plot_file(args.file, args.x, args.y, value=args.value, shade=args.shade,
                       out=args.out)
    print(f"wrote {target}")
    return 0
