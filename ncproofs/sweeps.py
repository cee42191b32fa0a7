"""Parameter sweeps on Dask: one ``verify`` per grid cell, results in a Parquet file.

A sweep is the Cartesian product of grid axes (``-g NAME=V1,V2``) on top of fixed
parameters (``-p NAME=VALUE``).  Every cell is validated (``theorem.spec``) before anything
runs; then each cell is one Dask task calling :func:`ncproofs.pipeline.verify`, the same
pipeline as ``ncproofs verify``.  By default the tasks run on a ``LocalCluster`` of worker
processes with one thread each; ``scheduler=`` runs the identical sweep on an existing
cluster (``dask scheduler`` / ``dask worker``, or dask-jobqueue on SLURM/PBS).

Results are one row per cell with a pinned schema (:func:`result_schema`): the theorem's
parameters (``param_<name>``), the certificate status (``error`` when the cell raised),
closed-form / lower / upper / numeric values, gap, verdict, timings, worker, seed, package
version and the full JSON report.  Rows are written as cells finish: the file is rewritten
atomically (temporary file + rename) at most every ``flush_seconds`` and never taking more
than ~5 % of the wall time, so it is always a valid Parquet file and an interruption loses
only the cells still running or not yet flushed.  ``resume=True`` skips cells whose exact
parameter values (the spec's rationals, not their spelling) already have a row.

The module is named ``sweeps`` (not ``sweep``) so that importing it never replaces the
function :func:`ncproofs.sweep` on the package.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import math
import os
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from .outputs import check_writable
from .spec import SpecError

#: certificate statuses a row can have (``error``: the cell raised)
STATUSES = ("certified", "conditional", "refuted", "inconclusive", "not-applicable", "error")

#: result columns every sweep file has, after the ``param_<name>`` columns (pinned by
#: tests/test_sweep.py; change only with a new SCHEMA_VERSION)
SCHEMA_VERSION = 1
RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "string"),               # certificate status, or "error"
    ("verdict", "string"),              # verify's verdict status (agree, refuted, ...)
    ("summary", "string"),              # verdict summary, or the error message
    ("regime", "string"),
    ("method", "string"),               # certificate method
    ("rigorous", "bool"),
    ("closed_form", "float64"),         # claimed optimum f* (None: no closed form)
    ("closed_form_exact", "string"),
    ("closed_form_kind", "string"),     # closed-form | numeric
    ("lower_bound", "float64"),
    ("upper_bound", "float64"),
    ("gap", "float64"),
    ("numeric", "float64"),             # best objective of the numeric solve
    ("numeric_minus_closed_form", "float64"),
    ("error", "string"),                # exception type and message ("" when none)
    ("seconds", "float64"),             # wall time of the cell on its worker
    ("seconds_derive", "float64"),
    ("seconds_certify", "float64"),
    ("seconds_solve", "float64"),
    ("seconds_landscape", "float64"),
    ("worker", "string"),               # Dask worker address ("local" without Dask)
    ("worker_peak_rss_mb", "float64"),  # peak resident memory of the worker process so far
    ("seed", "int64"),
    ("starts", "int64"),
    ("solve", "bool"),
    ("landscape", "bool"),
    ("device", "string"),
    ("ncproofs_version", "string"),
    ("finished_at", "string"),          # UTC, ISO 8601
    ("report_json", "string"),          # the full verify report
)
#: identification columns, before the parameters
KEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("theorem", "string"),
    ("cell_key", "string"),  # canonical JSON of the exact parameter values (resume key)
)
PARAM_PREFIX = "param_"


# --------------------------------------------------------------------------- grid syntax

_RANGE = re.compile(r"^\s*(geom|lin)\s*\((.*)\)\s*$", re.IGNORECASE)


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses (``geom(1e-3,1,5)`` holds commas)."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def exact_decimal_text(value: Fraction | Decimal) -> str:
    """A value as text that :class:`fractions.Fraction` reads back exactly: a plain
    decimal when it terminates (``0.001``, ``12``), else ``p/q``."""
    frac = Fraction(value)
    den = frac.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:
        return f"{frac.numerator}/{frac.denominator}"
    dec = Context(prec=1000).divide(Decimal(frac.numerator), Decimal(frac.denominator))
    dec = dec.normalize()
    return format(dec, "f") if -7 <= dec.adjusted() <= 15 else str(dec)


def _range_values(kind: str, inner: str, axis: str) -> list[str]:
    usage = f"{kind}(LO,HI,COUNT)"
    parts = [p.strip() for p in inner.split(",")]
    if len(parts) != 3:
        raise SpecError(f"grid axis {axis}: {usage} takes three numbers, got {kind}({inner})")
    try:
        lo, hi = Fraction(parts[0]), Fraction(parts[1])
        count = int(parts[2])
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"grid axis {axis}: {usage} needs numbers LO, HI and an integer "
                        f"COUNT, got {kind}({inner})") from None
    if not 1 <= count <= 100_000:
        raise SpecError(f"grid axis {axis}: COUNT in {usage} must be between 1 and 100000, "
                        f"got {count}")
    if count == 1 or lo == hi:
        return [exact_decimal_text(lo)]
    if kind == "lin":
        step = (hi - lo) / (count - 1)
        return [exact_decimal_text(lo + i * step) for i in range(count)]
    if lo <= 0 or hi <= 0:
        raise SpecError(f"grid axis {axis}: geom(LO,HI,COUNT) needs LO > 0 and HI > 0, "
                        f"got geom({inner})")
    # log-spaced: lo (hi/lo)^(i/(count-1)) to 6 significant digits, endpoints exact
    ctx = Context(prec=40)
    dlo = ctx.divide(Decimal(lo.numerator), Decimal(lo.denominator))
    dhi = ctx.divide(Decimal(hi.numerator), Decimal(hi.denominator))
    ratio = ctx.divide(dhi, dlo)
    out = [exact_decimal_text(lo)]
    for i in range(1, count - 1):
        value = ctx.multiply(dlo, ctx.power(ratio, ctx.divide(Decimal(i), Decimal(count - 1))))
        out.append(exact_decimal_text(Context(prec=6).plus(value)))
    out.append(exact_decimal_text(hi))
    return out


def parse_axis_values(text: str, axis: str = "?") -> list[str]:
    """Grid values from text: separated by ``;`` when the text contains one, else by
    ``,`` (so ``3,4,6`` and ``6,3,1;12,6,2``); ``geom(LO,HI,COUNT)`` and
    ``lin(LO,HI,COUNT)`` expand to log- / linearly spaced exact decimals."""
    sep = ";" if ";" in text else ","
    values: list[str] = []
    for token in _split_top_level(text, sep):
        token = token.strip()
        if not token:
            raise SpecError(f"grid axis {axis} has an empty value in {text!r}")
        match = _RANGE.match(token)
        if match:
            values.extend(_range_values(match.group(1).lower(), match.group(2), axis))
        else:
            values.append(token)
    return values


@dataclass(frozen=True)
class GridAxis:
    """One axis: the parameter names it sets (several for a tied axis ``lam_W=lam_H=...``)
    and its values, as text read exactly by the spec."""

    names: tuple[str, ...]
    values: tuple[Any, ...]


def parse_axis(item: str) -> GridAxis:
    """``NAME=VALUES`` or, to give several parameters the same value in each cell,
    ``NAME1=NAME2=VALUES``."""
    if "=" not in item:
        raise SpecError(f"grid axes must look like NAME=V1,V2,... (e.g. -g K=3,4,6), "
                        f"got {item!r}")
    *names, text = item.split("=")
    names = [n.strip() for n in names]
    if any(not n for n in names):
        raise SpecError(f"grid axis {item!r} has an empty parameter name")
    label = "=".join(names)
    if not text.strip():
        raise SpecError(f"grid axis {label} has no values (e.g. -g {names[0]}=1,2,3)")
    return GridAxis(tuple(names), tuple(parse_axis_values(text, label)))


def normalize_grid(grid: Mapping[str, Any] | Sequence[str]) -> list[GridAxis]:
    """Axes from the API (``{"K": [3, 4], "lam_W=lam_H": "geom(1e-3,1,5)"}``) or from CLI
    ``-g`` items.  Values may be a list (numbers, strings, tuples of counts) or a string
    in the grid syntax."""
    if isinstance(grid, Mapping):
        axes = []
        for key, values in grid.items():
            names = tuple(n.strip() for n in str(key).split("="))
            label = "=".join(names)
            if isinstance(values, str):
                if not values.strip():
                    raise SpecError(f"grid axis {label} has no values")
                values = parse_axis_values(values, label)
            elif not isinstance(values, Iterable):
                values = [values]
            values = tuple(values)
            if not values:
                raise SpecError(f"grid axis {label} has no values")
            axes.append(GridAxis(names, values))
    else:
        axes = [parse_axis(item) for item in grid]
    if not axes:
        raise SpecError("the grid is empty: give at least one axis (-g NAME=V1,V2,...)")
    seen: set[str] = set()
    for axis in axes:
        for name in axis.names:
            if name in seen:
                raise SpecError(f"parameter {name} appears on two grid axes")
            seen.add(name)
    return axes


def expand_grid(axes: Sequence[GridAxis]) -> list[dict[str, Any]]:
    """The Cartesian product of the axes, first axis slowest."""
    cells = []
    for combo in itertools.product(*(axis.values for axis in axes)):
        cell: dict[str, Any] = {}
        for axis, value in zip(axes, combo):
            for name in axis.names:
                cell[name] = value
        cells.append(cell)
    return cells


# --------------------------------------------------------------------------- cells and schema


def _param_kind(field_: dataclasses.Field) -> str:
    return field_.metadata.get("kind", "string")


def _arrow_type(kind: str) -> str:
    return {"int": "int64", "number": "float64", "bool": "bool"}.get(kind, "string")


def exact_key(theorem_id: str, spec: Any) -> str:
    """Canonical JSON of a spec's exact values (rationals as ``p/q``): the resume key.
    ``1e-3`` and ``0.001`` give the same key."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if isinstance(value, Fraction):
            value = str(value)
        elif isinstance(value, tuple):
            value = ",".join(map(str, value))
        values[f.name] = value
    return json.dumps({"theorem": theorem_id, "params": values}, sort_keys=True)


def param_columns(spec_type: type) -> list[tuple[str, str]]:
    """``param_<name>`` columns of a spec type, in field order (n as text ``6,3,1``)."""
    return [(PARAM_PREFIX + f.name, _arrow_type(_param_kind(f)))
            for f in dataclasses.fields(spec_type)]


def column_names(spec_type: type) -> list[str]:
    """Every column of a sweep file for theorems with this spec type, in order."""
    return [name for name, _ in (*KEY_COLUMNS, *param_columns(spec_type), *RESULT_COLUMNS)]


def result_schema(spec_type: type) -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "float64": pa.float64(), "int64": pa.int64(),
             "bool": pa.bool_()}
    columns = (*KEY_COLUMNS, *param_columns(spec_type), *RESULT_COLUMNS)
    return pa.schema([(name, types[kind]) for name, kind in columns],
                     metadata={"ncproofs_sweep_schema": str(SCHEMA_VERSION)})


def _param_values(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if isinstance(value, Fraction):
            value = float(value)
        elif isinstance(value, tuple):
            value = ",".join(map(str, value)) if len(set(value)) > 1 else str(value[0])
        elif _arrow_type(_param_kind(f)) == "string":
            value = str(value)
        out[PARAM_PREFIX + f.name] = value
    return out


@dataclass
class Cell:
    """One validated grid point: the parameters as given and the spec's exact key."""

    params: dict[str, Any]
    key: str
    columns: dict[str, Any]


def _cell_text(cell: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in cell.items())


def build_cells(theorem: Any, axes: Sequence[GridAxis], fixed: Mapping[str, Any]) -> list[Cell]:
    """Validate every cell (``theorem.spec``) before anything runs; the error names the
    cell and, through the spec, the parameter and its allowed range."""
    for axis in axes:
        for name in axis.names:
            if name in fixed:
                raise SpecError(f"parameter {name} is both a grid axis (-g) and fixed (-p)")
    cells, seen = [], set()
    for grid_cell in expand_grid(axes):
        params = {**fixed, **grid_cell}
        try:
            spec = theorem.spec(params)
        except SpecError as exc:
            raise SpecError(f"grid cell {_cell_text(grid_cell)}: {exc}") from None
        key = exact_key(theorem.id, spec)
        if key in seen:  # 1e-3 and 0.001 on one axis: the same cell once
            continue
        seen.add(key)
        cells.append(Cell(params=params, key=key,
                          columns={"theorem": theorem.id, "cell_key": key,
                                   **_param_values(spec)}))
    return cells


# --------------------------------------------------------------------------- one cell (worker)


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def _finite_or_none(x: Any) -> float | None:
    if x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if not math.isnan(value) else None


def run_cell(theorem_id: str, params: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Verify one cell and flatten the report into the result columns.  Never raises for
    an error inside ``verify``: that cell becomes a row with status ``error``."""
    from . import __version__
    from .pipeline import _error_report, verify
    from .report import to_json

    start = time.perf_counter()
    error = ""
    try:
        report = verify(theorem_id, params, **options)
    except Exception as exc:  # noqa: BLE001 - one failing cell must not stop the sweep
        report = _error_report(theorem_id, params, exc)
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    cert, verdict, closed = report["certificate"], report["verdict"], report["closed_form"]
    numeric = report.get("numeric") or {}
    timings = report.get("timings") or {}
    return {
        "status": "error" if error else cert["status"],
        "verdict": verdict["status"],
        "summary": verdict.get("summary", ""),
        "regime": closed.get("regime"),
        "method": cert.get("method"),
        "rigorous": bool(cert.get("rigorous", False)),
        "closed_form": _finite_or_none(closed.get("objective")),
        "closed_form_exact": closed.get("objective_exact"),
        "closed_form_kind": closed.get("kind"),
        "lower_bound": _finite_or_none(cert.get("lower_bound")),
        "upper_bound": _finite_or_none(cert.get("upper_bound")),
        "gap": _finite_or_none(cert.get("gap")),
        "numeric": _finite_or_none(numeric.get("objective")),
        "numeric_minus_closed_form": _finite_or_none(verdict.get("numeric_minus_closed_form")),
        "error": error,
        "seconds": seconds,
        "seconds_derive": _finite_or_none(timings.get("derive")),
        "seconds_certify": _finite_or_none(timings.get("certify")),
        "seconds_solve": _finite_or_none(timings.get("solve")),
        "seconds_landscape": _finite_or_none(timings.get("landscape")),
        "worker": _worker_name(),
        "worker_peak_rss_mb": _peak_rss_mb(),
        "seed": options["seed"],
        "starts": options["starts"],
        "solve": options["solve"],
        "landscape": options["landscape"],
        "device": options["device"],
        "ncproofs_version": __version__,
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "report_json": to_json(report),
    }


def _error_columns(message: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """A row for a cell whose task itself failed (e.g. its worker died too often)."""
    from . import __version__

    row: dict[str, Any] = dict.fromkeys(name for name, _ in RESULT_COLUMNS)
    row.update(status="error", verdict="error", summary=message, error=message,
               rigorous=False, worker="", ncproofs_version=__version__,
               finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
               report_json=json.dumps({"error": message}),
               **{k: options[k] for k in ("seed", "starts", "solve", "landscape", "device")})
    return row


def warm_worker() -> int:
    """Import the pipeline, every theorem and cvxpy (the certificates' cross-checks) once
    per worker, so that the first cell's timing is not its imports.  Returns the pid."""
    import cvxpy  # noqa: F401 - imported for its side effect (module cache)

    from . import verify  # noqa: F401
    from .theorems.base import load_all

    load_all()
    return os.getpid()


# --------------------------------------------------------------------------- the output file


def check_output(path: Path, resume: bool) -> None:
    """Refuse before anything runs: an existing file without resume, a directory, or a
    folder we cannot write to."""
    if path.is_dir():
        raise SpecError(f"--out {path} is a directory; give a file name such as sweep.parquet")
    if path.exists() and not resume:
        raise SpecError(f"--out {path} exists; pass --resume to add the missing cells, or "
                        "choose another file (refusing to overwrite)")
    check_writable(path, "--out")


class ParquetSink:
    """Rows accumulate in memory and the whole file is rewritten atomically (temporary
    file in the same folder + ``os.replace``) at most every ``flush_seconds`` -- and no
    more often than 20x the last write took, so writing stays < ~5 % of the sweep even
    for large files.  The file on disk is therefore always complete and readable."""

    def __init__(self, path: Path | None, schema: Any, existing: Any = None,
                 flush_seconds: float = 2.0) -> None:
        import pyarrow as pa

        self.path, self.schema = path, schema
        self.tables = [existing] if existing is not None and existing.num_rows else []
        self.pending: list[dict[str, Any]] = []
        self.flush_seconds = flush_seconds
        self.last_flush = time.monotonic()
        self.last_write_seconds = 0.0
        self._pa = pa

    def add(self, row: dict[str, Any]) -> None:
        self.pending.append(row)
        due = max(self.flush_seconds, 20 * self.last_write_seconds)
        if time.monotonic() - self.last_flush >= due:
            self.flush()

    def table(self) -> Any:
        pa = self._pa
        if self.pending:
            self.tables.append(pa.Table.from_pylist(self.pending, schema=self.schema))
            self.pending = []
        if len(self.tables) > 1:
            self.tables = [pa.concat_tables(self.tables)]
        return self.tables[0] if self.tables else self.schema.empty_table()

    def flush(self) -> None:
        table = self.table()
        self.last_flush = time.monotonic()
        if self.path is None:
            return
        import pyarrow.parquet as pq

        start = time.perf_counter()
        # a fresh name in the same folder (os.replace is atomic there); created by open()
        # with the user's umask, unlike mkstemp's 0600
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, self.path)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.last_write_seconds = time.perf_counter() - start


def _read_existing(path: Path, schema: Any, theorem_id: str) -> Any:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets one message
        raise SpecError(f"--resume: cannot read {path} as Parquet: {exc}") from None
    if table.column_names != schema.names:
        raise SpecError(f"--resume: {path} has other columns than a {theorem_id} sweep "
                        "(another theorem or schema version); choose another --out")
    theorems = set(table.column("theorem").to_pylist())
    if theorems - {theorem_id}:
        raise SpecError(f"--resume: {path} holds theorem {sorted(theorems)[0]}, not "
                        f"{theorem_id}; choose another --out")
    return table.cast(schema)


def _check_resume_options(table: Any, options: Mapping[str, Any], path: Path) -> None:
    """Rows made with other solver options would silently mix two sweeps."""
    if not table.num_rows:
        return
    for name in ("seed", "starts", "solve", "landscape"):
        found = {v for v in table.column(name).to_pylist() if v is not None}
        if found and found != {options[name]}:
            flag = {"solve": "--no-solve", "landscape": "--no-landscape"}.get(name, f"--{name}")
            raise SpecError(f"--resume: {path} was made with {name}={sorted(found)[0]}, this "
                            f"run has {name}={options[name]} ({flag}); use the same options "
                            "or another --out")


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    frame: Any  # pandas.DataFrame: one row per requested cell, grid order
    summary: dict[str, Any] = field(default_factory=dict)


class SweepInterrupted(Exception):
    """Ctrl-C during a sweep: the rows so far are written; the summary says how many."""

    def __init__(self, summary: dict[str, Any]) -> None:
        super().__init__("interrupted")
        self.summary = summary


def _open_client(workers: int | None, scheduler: str | None, connect_timeout: float) -> Any:
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{connect_timeout}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SpecError(f"cannot reach the Dask scheduler at {scheduler} within "
                            f"{connect_timeout:g} s ({reason[:200]})") from None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return Client(cluster, set_as_default=False)


def _progress(total: int, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="cell", dynamic_ncols=True,
                disable=quiet or not sys.stderr.isatty())


def run_sweep(
    theorem_id: str,
    grid: Mapping[str, Any] | Sequence[str],
    params: Mapping[str, Any] | None = None,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    retry_errors: bool = False,
    starts: int = 8,
    seed: int = 0,
    solve: bool = True,
    landscape: bool = True,
    device: str = "auto",
    quiet: bool = False,
    flush_seconds: float = 2.0,
    connect_timeout: float = 5.0,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Run a sweep; see :func:`ncproofs.sweep` for the arguments.  ``on_row`` is called
    in this process with every finished row (used by tests to interrupt or kill)."""
    import pandas as pd

    from .theorems.base import get_theorem

    if starts < 1:
        raise SpecError(f"--starts must be >= 1, got {starts}")
    if workers is not None and scheduler:
        raise SpecError("give either workers (a local cluster) or scheduler, not both")
    if workers is not None and workers < 1:
        raise SpecError(f"--workers must be >= 1, got {workers}")
    theorem = get_theorem(theorem_id)
    axes = normalize_grid(grid)
    cells = build_cells(theorem, axes, dict(params or {}))
    options = dict(device=device, starts=starts, seed=seed, solve=solve, landscape=landscape)
    schema = result_schema(theorem.spec_type)
    path = None if out is None else Path(out)
    existing = None
    if path is not None:
        check_output(path, resume)
        if resume and path.exists():
            existing = _read_existing(path, schema, theorem.id)
            _check_resume_options(existing, options, path)
    done_keys: set[str] = set()
    if existing is not None:
        import pyarrow.compute as pc

        requested = {c.key for c in cells}
        if retry_errors:  # drop the error rows of the cells we are about to recompute
            is_retry = pc.and_(pc.equal(existing.column("status"), "error"),
                               pc.is_in(existing.column("cell_key"),
                                        value_set=_pa_strings(requested)))
            existing = existing.filter(pc.invert(is_retry))
        done_keys = set(existing.column("cell_key").to_pylist()) & requested
    todo = [c for c in cells if c.key not in done_keys]
    sink = ParquetSink(path, schema, existing, flush_seconds=flush_seconds)
    start = time.perf_counter()
    counts: Counter[str] = Counter()
    summary: dict[str, Any] = {
        "theorem": theorem.id, "out": None if path is None else str(path),
        "cells": len(cells), "computed": 0, "skipped": len(cells) - len(todo),
        "errors": 0, "workers": 0, "scheduler": scheduler or "local"}
    if todo:
        client = _open_client(workers, scheduler, connect_timeout)
        try:
            summary["workers"] = len(client.scheduler_info().get("workers", {}))
            _execute(client, theorem.id, todo, options, sink, counts, quiet, on_row)
        except KeyboardInterrupt:
            sink.flush()
            summary.update(computed=sum(counts.values()), status_counts=dict(counts),
                           seconds=time.perf_counter() - start)
            raise SweepInterrupted(summary) from None
        except BaseException:
            sink.flush()  # keep every finished row, whatever stopped the sweep
            raise
        finally:
            _close_client(client, own_cluster=not scheduler)
    if todo:
        sink.flush()
    table = sink.table()
    frame = table.to_pandas() if table.num_rows else pd.DataFrame(columns=schema.names)
    order = {c.key: i for i, c in enumerate(cells)}
    frame = frame[frame["cell_key"].isin(order)]
    frame = frame.iloc[frame["cell_key"].map(order).argsort(kind="stable")]
    frame = frame.reset_index(drop=True)
    summary.update(computed=sum(counts.values()), errors=counts.get("error", 0),
                   status_counts=dict(Counter(frame["status"])) if len(frame) else {},
                   computed_status_counts=dict(counts),
                   seconds=round(time.perf_counter() - start, 3))
    return SweepResult(frame=frame, summary=summary)


def _pa_strings(values: Iterable[str]) -> Any:
    import pyarrow as pa

    return pa.array(sorted(values), type=pa.string())


def _close_client(client: Any, own_cluster: bool) -> None:
    cluster = client.cluster if own_cluster else None
    try:
        client.close()
        if cluster is not None:
            cluster.close()
    except Exception:  # noqa: BLE001 - shutting down; the results are already written
        pass


def _execute(client: Any, theorem_id: str, todo: list[Cell], options: dict[str, Any],
             sink: ParquetSink, counts: Counter[str], quiet: bool,
             on_row: Callable[[dict[str, Any]], None] | None) -> None:
    """Submit the cells in a bounded window (so a million-cell sweep does not flood the
    scheduler) and record each as it finishes."""
    from distributed import as_completed

    client.run(warm_worker)
    window = max(64, 8 * sum(client.nthreads().values()))
    pending = iter(todo)
    by_future: dict[Any, Cell] = {}

    def submit(n: int) -> list[Any]:
        futures = []
        for cell in itertools.islice(pending, n):
            future = client.submit(run_cell, theorem_id, cell.params, options, pure=False)
            by_future[future] = cell
            futures.append(future)
        return futures

    queue = as_completed(submit(window), loop=client.loop)
    bar = _progress(len(todo), quiet)
    try:
        for future in queue:
            cell = by_future.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: an error row
                result = _error_columns(f"{type(exc).__name__}: {exc}", options)
            row = {**cell.columns, **result}
            sink.add(row)
            counts[row["status"]] += 1
            bar.update(1)
            bar.set_postfix_str(" ".join(f"{k}={v}" for k, v in sorted(counts.items())),
                                refresh=False)
            if on_row is not None:
                on_row(row)
            for new in submit(1):
                queue.add(new)
    finally:
        bar.close()


def sweep(
    theorem_id: str,
    grid: Mapping[str, Any] | Sequence[str],
    params: Mapping[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    **options: Any,
) -> Any:
    """Verify ``theorem_id`` on every cell of ``grid`` (a Cartesian product) in parallel.

    ``grid`` maps a parameter name (or ``"lam_W=lam_H"`` for a tied axis) to a list of
    values or a string in the CLI syntax (``"3,4,6"``, ``"geom(1e-4,1e-1,7)"``);
    ``params`` are fixed parameters.  ``out``: a Parquet file written as cells finish
    (refused if it exists unless ``resume``).  ``workers``: processes of the local Dask
    cluster (default: CPU count); ``scheduler``: address of an existing Dask cluster.
    Options: ``starts``, ``seed``, ``solve``, ``landscape``, ``device``, ``quiet``,
    ``retry_errors``.  Returns a pandas DataFrame, one row per cell in grid order, with
    the run's summary in ``frame.attrs["sweep"]``."""
    result = run_sweep(theorem_id, grid, params, out=out, workers=workers,
                       scheduler=scheduler, resume=resume, **options)
    result.frame.attrs["sweep"] = result.summary
    return result.frame
