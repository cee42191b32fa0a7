"""The public Python API (re-exported by :mod:`ncproofs`).

    >>> import ncproofs
    >>> report = ncproofs.verify("ufm-ce", K=4, n=3, d=5, lam_W="3e-3", lam_H="7e-3",
    ...                          solve=False, landscape=False)
    >>> report.status, report.certified
    ('certified', True)

Every function can be called any number of times in one process.  Parameters are given as
keywords or as one dict (``ncproofs.verify("ufm-ce", {"K": 4, ...})``); numbers may be
strings (``"3e-3"`` is exactly 3/1000) or Python numbers (read through their shortest
decimal).  Bad parameters raise :class:`ncproofs.SpecError` with a one-line message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .results import Derivation, ParameterInfo, PointReport, Report, TheoremInfo
from .spec import SpecError

__all__ = ["certify_point", "derive", "load_theorem_module", "theorems", "verify",
           "verify_all"]


def _merge(params: Mapping[str, Any] | None, keywords: Mapping[str, Any]) -> dict[str, Any]:
    if params is not None and not isinstance(params, Mapping):
        raise SpecError(f"parameters must be a dict or keywords, got {type(params).__name__}")
    merged = dict(params or {})
    for key, value in keywords.items():
        if key in merged:
            raise SpecError(f"parameter {key} given twice (in the dict and as a keyword)")
        merged[key] = value
    return merged


def load_theorem_module(path: str | os.PathLike[str]) -> list[str]:
    """Register the theorems of a Python file (like ``ncproofs verify --module PATH``) and
    return their ids.  Loading the same file twice is harmless."""
    from .theorems.base import load_module

    return load_module(path)


def verify(
    theorem_id: str,
    params: Mapping[str, Any] | None = None,
    /,
    *,
    device: str = "auto",
    starts: int = 8,
    solve_seed: int = 0,
    solve: bool = True,
    landscape: bool = True,
    save_dir: str | os.PathLike[str] | None = None,
    limits: Any = None,
    **parameters: Any,
) -> Report:
    """Derive, certify and numerically check one theorem at one parameter point.

    Args:
        theorem_id: a registered theorem id (see :func:`theorems`).
        params: the theorem's parameters as a dict; or give them as keywords.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` for the numeric solve.
        starts: random starts of the numeric solve.
        solve_seed: seed of the random starts (the CLI's ``--seed``).
        solve: run the numeric solve (PyTorch).
        landscape: compute the smallest Hessian eigenvalue at the origin and the optimum.
        save_dir: folder for files the run produces (refuting points); None writes none.
        limits: a :class:`ncproofs.resources.Limits`; default: 80 % of available memory.
        **parameters: the theorem's parameters (``K=4, n=3, d=5, lam_W="3e-3", ...``).

    Returns:
        A :class:`~ncproofs.results.Report` (the JSON of ``ncproofs verify --json``).

    Raises:
        SpecError: unknown theorem, bad or missing parameters, or a stage that needs more
            memory than ``limits`` allows.
    """
    from .pipeline import verify as run_pipeline

    if starts < 1:
        raise SpecError(f"starts must be >= 1, got {starts}")
    try:
        return run_pipeline(theorem_id, _merge(params, parameters), device=device,
                            starts=starts, seed=solve_seed, solve=solve, landscape=landscape,
                            save_dir=None if save_dir is None else os.fspath(save_dir),
                            limits=limits)
    except SpecError as exc:
        if str(exc).startswith("unknown parameter 'seed'"):
            raise SpecError(f"{exc} (the seed of the random starts is solve_seed=)") from None
        raise


def verify_all(*, device: str = "auto", starts: int = 8, solve: bool = True,
               landscape: bool = True) -> list[Report]:
    """Every theorem on its default cases (``ncproofs verify --all``); each report has
    ``expected`` (the status the case should get)."""
    from .pipeline import verify_all as run_all

    return run_all(device=device, starts=starts, solve=solve, landscape=landscape)


def derive(theorem_id: str, params: Mapping[str, Any] | None = None, /,
           **parameters: Any) -> Derivation:
    """The SymPy derivation of a theorem: symbolic without parameters, else the steps at
    the given parameter point (``ncproofs derive ID [-p ...]``)."""
    from .theorems.base import get_theorem

    theorem = get_theorem(theorem_id)
    merged = _merge(params, parameters)
    if merged:
        spec = theorem.spec(merged)
        return Derivation(theorem.id, spec.as_dict(), tuple(theorem.closed_form(spec).steps))
    return Derivation(theorem.id, None, tuple(theorem.derive_general()))


def theorems() -> list[TheoremInfo]:
    """Every registered theorem (built in, entry points, loaded modules), sorted by id."""
    from .theorems.base import load_all

    return [theorem_info(t) for _, t in sorted(load_all().items())]


def theorem_info(theorem: Any) -> TheoremInfo:
    """The :class:`TheoremInfo` of a Theorem instance."""
    parameters = tuple(
        ParameterInfo(name=name, range=rng, doc=doc, default=default, required=required)
        for name, rng, doc, default, required in parameter_rows(theorem.spec_type)
    )
    return TheoremInfo(id=theorem.id, title=theorem.title, citation=theorem.citation,
                       parameters=parameters,
                       default_cases=tuple(dict(c) for c in theorem.default_cases))


def parameter_rows(spec_type: Any) -> list[tuple[str, str, str, Any, bool]]:
    """(name, range, doc, default, required) of every field of a spec class."""
    import dataclasses
    import re

    fields = {f.name: f for f in dataclasses.fields(spec_type)}
    rows = []
    for name, rng, doc in spec_type.describe():
        field = fields.get(name)
        required = field is not None and field.default is dataclasses.MISSING
        default = None if required or field is None else field.default
        if isinstance(default, bool):
            pass
        elif hasattr(default, "denominator"):
            default = int(default) if default.denominator == 1 else float(default)
        doc = re.sub(r"\s*\(default [^)]*\)$", "", doc)  # the default has its own column
        rows.append((name, rng, doc, default, required))
    return rows


def certify_point(
    theorem_id: str,
    point: Mapping[str, Any] | str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    /,
    **parameters: Any,
) -> PointReport:
    """How far is a given point (e.g. a trained network's last layer) from the certified
    global optimum?  ``point`` is a dict of arrays or an npz path with the conventions of
    ``ncproofs metrics``: ``H`` (N x d features, samples as rows), ``y`` (N labels),
    ``W`` (K x d), ``b`` (K); ``W1..WL`` for deep models.  See
    :func:`ncproofs.certify_point_cli.certify_point`."""
    from .certify_point_cli import certify_point as run

    return run(theorem_id, point, _merge(params, parameters))
