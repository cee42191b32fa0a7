"""The pipeline: spec -> derive -> certify -> solve -> verdict.

``verify`` returns a :class:`~ncproofs.results.Report`, the JSON object of
``ncproofs verify --json``: theorem, params, closed_form, certificate, numeric, landscape,
verdict, timings, estimates, skipped, warnings.  Field names are part of the public
contract.  (The module is ``pipeline``, not ``verify``: a submodule named ``verify``
would replace the function ``ncproofs.verify`` on first import.)
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._lazy import torch
from .certify.certificate import (
    CERTIFIED,
    CONDITIONAL,
    NOT_APPLICABLE,
    REDUCTION,
    REFUTED,
    Certificate,
    as_assumption,
    upper_end,
)
from .outputs import saving_to
from .resources import STAGE_NAMES, WAY_OUT, Limits, StageEstimate, over_limit
from .results import Report
from .spec import SpecError
from .theorems.base import BROKEN, ClosedForm, Theorem, get_theorem, load_all

#: numeric objective may exceed the certified optimum by this much (relative) and still
#: count as agreeing: L-BFGS stops at gradient norm ~1e-10, which moves f by far less.
#: Purely relative (no absolute floor): at f* ~ 1e-11 a 4 % difference must not "agree".
NUMERIC_REL_TOL = 1e-8
#: how far (relative) a float numeric value must be below the candidate before it is
#: reported at all (numeric-below-claim); a rigorous value decides refuted/improved
NUMERIC_BELOW_FACTOR = 100


def relative_difference(value: float, reference: float) -> float | None:
    """(value - reference)/|reference|; None when the reference is 0 (no relative scale)."""
    return None if reference == 0 else (value - reference) / abs(reference)


def make_verdict(
    closed: ClosedForm,
    cert: Certificate,
    numeric: dict[str, Any] | None,
    numeric_upper: float | None = None,
) -> dict[str, Any]:
    """Compare closed form, certificate and numeric solve.

    status: ``agree`` (certified and the numeric optimum matches), ``certified`` (no
    numeric run), ``numeric-suboptimal`` (certified, but every start stopped above the
    optimum), ``inconsistent`` (numeric value below a rigorous lower bound: a bug),
    ``conditional`` (the bounds meet but the lower bound rests on a reduction),
    ``refuted`` (a closed-form claim is rigorously false), ``improved`` (the search found a
    point whose interval value is below the tool's own *numeric* candidate -- not a
    refutation of anything published; ``improved_value`` is that rigorous value),
    ``numeric-below-claim`` (a float value below the claim, not verified rigorously),
    ``not-applicable``, ``inconclusive``.

    Every comparison is relative to the magnitudes involved (no absolute floor).
    """
    out: dict[str, Any] = {}
    numeric_kind = closed.kind == "numeric"
    f_closed = None if closed.objective is None else float(closed.objective.evalf(30))
    f_num = None if numeric is None else numeric["objective"]
    if f_closed is not None and f_num is not None:
        out["numeric_minus_closed_form"] = f_num - f_closed
        out["relative_difference"] = relative_difference(f_num, f_closed)
    scale = max((abs(x) for x in (f_closed, f_num, cert.lower_bound, cert.upper_bound)
                 if x is not None and math.isfinite(x)), default=0.0)
    tol = NUMERIC_REL_TOL * scale

    def numeric_vs_bounds(agree: str, higher: str) -> tuple[str, str] | None:
        """The certified/conditional comparison of the numeric value with the bounds."""
        if f_num is None:
            return None
        if cert.upper_bound is not None and f_num <= cert.upper_bound + tol:
            return "agree", agree
        return "numeric-suboptimal", higher

    if cert.status == CERTIFIED:
        if f_num is None:
            status, text = "certified", "closed form certified; no numeric run"
        elif cert.lower_bound is not None and f_num < cert.lower_bound - tol:
            status, text = "inconsistent", "numeric value below the rigorous lower bound"
        else:
            status, text = numeric_vs_bounds(
                "closed form, certificate and numeric solve agree",
                "certified; the numeric solve stopped higher")
    elif cert.status == REFUTED and not numeric_kind:
        status, text = "refuted", cert.reason
    elif cert.status == NOT_APPLICABLE:
        status, text = "not-applicable", cert.reason
    elif (f_closed is not None and f_num is not None
          and f_num < f_closed - NUMERIC_BELOW_FACTOR * tol):
        if numeric_upper is not None and numeric_upper < f_closed - tol:
            if numeric_kind:
                status = "improved"
                out["improved_value"] = numeric_upper
                text = (f"the numeric solve found a point whose value, enclosed in interval "
                        f"arithmetic, is at most {numeric_upper!r} < the tool's own numeric "
                        f"candidate {f_closed!r}: a better point, not a refutation of a claim")
            else:
                status = "refuted"
                text = (f"the numeric solution's value, enclosed in interval arithmetic, is "
                        f"at most {numeric_upper!r} < claimed optimum {f_closed!r}")
        else:
            status = "numeric-below-claim"
            text = (f"the numeric solve found {f_num!r} below the "
                    f"{'numeric candidate' if numeric_kind else 'claimed optimum'} "
                    f"{f_closed!r} (float value, not verified rigorously)")
    elif cert.status == CONDITIONAL:
        status = "conditional"
        compared = numeric_vs_bounds("the numeric solve agrees",
                                     "the numeric solve stopped higher")
        reductions = [a.reference or a.text for a in map(as_assumption, cert.assumptions)
                      if a.kind == REDUCTION]
        text = (f"the bounds meet (gap {cert.gap:.3g}), but the lower bound assumes "
                f"{'; '.join(reductions)} (a reduction: the claim itself)"
                + ("" if compared is None else f"; {compared[1]}"))
        if compared is not None:
            out["numeric"] = compared[0]
    elif cert.status == REFUTED:  # of a numeric candidate: decide() callers must not do this
        status, text = "improved", "the numeric candidate was improved: " + cert.reason
    else:
        status, text = "inconclusive", cert.reason
    out.update(status=status, summary=text)
    return out


#: a progress hook: called with the stage about to run and its estimate (or None)
ProgressHook = Callable[[str, "StageEstimate | None"], None]


def _size_text(spec: Any) -> str:
    """"K = 2000, d = 2000" (the sizes a message about memory should name)."""
    parts = [f"{name} = {getattr(spec, name)}" for name in ("K", "d", "L")
             if isinstance(getattr(spec, name, None), int)]
    n = getattr(spec, "n", None)
    if isinstance(n, tuple) and n:
        parts.insert(1, f"n = {n[0]}" if len(set(n)) == 1 else f"N = {sum(n)}")
    return ", ".join(parts)


def _estimate_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _device_limits(limits: Limits, device: str) -> Limits:
    """The solve runs on the device: on a GPU its memory, not the host's, is the limit."""
    if device != "cuda" or limits.memory_bytes is None or not torch.cuda.is_available():
        return limits
    free, _total = torch.cuda.mem_get_info()
    return Limits(memory_bytes=0.8 * free, seconds=limits.seconds)


def _captured(records: list[warnings.WarningMessage]) -> list[str]:
    """One line per distinct warning: "UserWarning: message (module.py:123)"."""
    seen: dict[str, None] = {}
    for w in records:
        where = f"{Path(w.filename).name}:{w.lineno}"
        seen.setdefault(f"{w.category.__name__}: {str(w.message).strip()} ({where})", None)
    return list(seen)


def verify(
    theorem_id: str,
    params: dict[str, Any],
    *,
    device: str = "auto",
    starts: int = 8,
    seed: int = 0,
    solve: bool = True,
    landscape: bool = True,
    save_dir: str | None = None,
    limits: Limits | None = None,
    progress: ProgressHook | None = None,
    certificate_out: str | None = None,
) -> Report:
    """Closed form -> certificate -> numeric solve -> curvature -> verdict, as a
    :class:`~ncproofs.results.Report` (the JSON object of ``ncproofs verify --json``).

    Before each stage the theorem's estimate (:meth:`Theorem.estimate`) is compared with
    ``limits`` (default :meth:`Limits.default`: 80 % of the memory available): a closed
    form or certificate that would not fit raises :class:`SpecError` naming the estimate;
    a numeric solve, curvature report or interval check of the numeric point that would
    not fit is skipped and listed in ``report["skipped"]``.  Warnings raised by the
    engines (cvxpy, scipy, torch) are collected in ``report["warnings"]`` instead of
    being printed.  Files (refuting points) are written only into ``save_dir``.

    ``certificate_out``: also write a proof file there (:mod:`ncproofs.proof`); the report
    then says ``proof_file`` (the path, or None) and ``proof_file_note`` (why none)."""
    theorem = get_theorem(theorem_id)
    spec = theorem.spec(params)
    limits = Limits.default() if limits is None else limits
    notify = progress or (lambda stage, est: None)
    with warnings.catch_warnings(record=True) as records, saving_to(save_dir):
        warnings.simplefilter("always")
        report, closed, cert = _run(theorem, spec, device=device, starts=starts, seed=seed,
                                    solve=solve, landscape=landscape, limits=limits,
                                    notify=notify)
    report["warnings"] = _captured(records)
    if certificate_out is not None:
        from .proof import NoProofFile, write_proof_file

        try:
            write_proof_file(certificate_out, theorem.id, params, closed, cert)
            report["proof_file"] = str(certificate_out)
        except NoProofFile as exc:
            report["proof_file"], report["proof_file_note"] = None, str(exc)
    return report


def _run(theorem: Theorem, spec: Any, *, device: str, starts: int, seed: int, solve: bool,
         landscape: bool, limits: Limits,
         notify: ProgressHook) -> tuple[Report, ClosedForm, Certificate]:
    sizes = _size_text(spec)
    skipped: dict[str, str] = {}
    run_device = _estimate_device(device) if solve else "cpu"
    estimates = _safe_estimate(theorem, spec, device=run_device, starts=starts)

    def check(stage: str, est: StageEstimate | None, lim: Limits = limits) -> str | None:
        if est is None:
            return None
        reason = over_limit(stage, est, lim)
        return None if reason is None else f"{sizes}: {reason}; {WAY_OUT[stage]}"

    t0 = time.perf_counter()
    refusal = check("derive", estimates.get("derive"))
    if refusal:
        raise SpecError(refusal)
    notify("derive", estimates.get("derive"))
    closed = _no_memory_error("derive", sizes, lambda: theorem.closed_form(spec))
    t1 = time.perf_counter()
    estimates.update({k: v for k, v in _safe_estimate(
        theorem, spec, device=run_device, starts=starts, closed=closed).items()
        if k == "certify"})
    refusal = check("certify", estimates.get("certify"))
    if refusal:
        raise SpecError(refusal)
    notify("certify", estimates.get("certify"))
    cert = _no_memory_error("certify", sizes, lambda: theorem.certify(spec, closed))
    if cert.status == CERTIFIED:  # geometry only of a proved value (docs/certificates.md)
        cert.structure = theorem.structure(spec, closed, cert)
    t2 = time.perf_counter()
    numeric = None
    if solve:
        reason = check("solve", estimates.get("solve"), _device_limits(limits, run_device))
        if reason:
            skipped["solve"] = reason
        else:
            notify("solve", estimates.get("solve"))
            numeric = theorem.solve(spec, device=device, starts=starts, seed=seed)
    t3 = time.perf_counter()
    curvature = None
    if landscape:
        reason = check("landscape", estimates.get("landscape"))
        if reason:
            skipped["landscape"] = reason
        else:
            notify("landscape", estimates.get("landscape"))
            curvature = theorem.landscape(spec, closed)
    t4 = time.perf_counter()
    numeric_summary = None if numeric is None else numeric.summary
    numeric_upper = None
    if numeric is not None and cert.status != CERTIFIED and closed.objective is not None:
        reason = check("numeric_upper", estimates.get("numeric_upper"))
        if reason:
            skipped["numeric_upper"] = reason
        else:
            notify("numeric_upper", estimates.get("numeric_upper"))
            enclosure = theorem.numeric_upper_bound(spec, numeric.point)
            if enclosure is not None:
                numeric_upper = upper_end(enclosure)
                numeric_summary["objective_upper_bound_interval"] = numeric_upper
    report = Report({
        "theorem": theorem.id,
        "title": theorem.title,
        "citation": theorem.citation,
        "params": spec.as_dict(),
        "closed_form": closed.as_dict(),
        "certificate": cert.as_dict(),
        "numeric": numeric_summary,
        "landscape": curvature,
        "verdict": make_verdict(closed, cert, numeric_summary, numeric_upper),
        "timings": {"derive": t1 - t0, "certify": t2 - t1, "solve": t3 - t2,
                    "landscape": t4 - t3},
        "estimates": {k: v.as_dict() for k, v in estimates.items()},
        "skipped": skipped,
    })
    return report, closed, cert


def _safe_estimate(theorem: Theorem, spec: Any, **kwargs: Any) -> dict[str, StageEstimate]:
    """The theorem's estimates; a theorem whose estimate fails is not guarded (an estimate
    must never be the reason a verification fails)."""
    try:
        return dict(theorem.estimate(spec, **kwargs))
    except Exception:  # noqa: BLE001 - estimates are advisory
        return {}


def _no_memory_error(stage: str, sizes: str, run: Callable[[], Any]) -> Any:
    """Run a stage; a MemoryError (an allocation the estimate did not foresee) becomes a
    one-line SpecError instead of a traceback."""
    try:
        return run()
    except MemoryError as exc:
        raise SpecError(f"{sizes}: {STAGE_NAMES[stage]} ran out of memory ({exc}); "
                        f"{WAY_OUT[stage]}") from None


def iter_verify_all(on_case: Callable[[str], None] | None = None,
                    certificate_dir: str | None = None, **kwargs: Any) -> Iterator[Report]:
    """Every registered theorem on its default cases, one report at a time (each with
    ``expected``, the status the case should get); a failing case yields an error report
    instead of stopping the run.  ``on_case(label)`` is called as each case starts.
    ``certificate_dir``: write each case's proof file there as ``THEOREM-CASE.json``."""
    for theorem_id, theorem in sorted(load_all().items()):
        for index, case in enumerate(theorem.default_cases):
            if on_case is not None:
                on_case(theorem_id)
            if certificate_dir is not None:
                kwargs["certificate_out"] = str(Path(certificate_dir)
                                                / f"{theorem_id}-{index}.json")
            try:
                report = verify(theorem_id, case["params"], **kwargs)
            except Exception as exc:  # noqa: BLE001 - one failing case must not hide the rest
                report = _error_report(theorem_id, case["params"], exc)
            report["expected"] = case.get("expect", "certified")
            yield report
    for name, error in BROKEN.items():
        report = _error_report(f"(module {name})", {}, RuntimeError(error))
        report["expected"] = "certified"
        yield report


def count_default_cases() -> int:
    """How many reports :func:`iter_verify_all` yields (for a progress bar)."""
    return sum(len(t.default_cases) for t in load_all().values()) + len(BROKEN)


def verify_all(**kwargs: Any) -> list[Report]:
    """Every registered theorem on its default cases; each report gets ``expected``."""
    return list(iter_verify_all(**kwargs))


def _error_report(theorem_id: str, params: dict[str, Any], exc: Exception) -> Report:
    message = f"{type(exc).__name__}: {exc}"
    return Report({
        "theorem": theorem_id,
        "params": dict(params),
        "closed_form": {"objective": None, "regime": "error"},
        "certificate": {"status": "error", "gap": None, "lower_bound": None,
                        "upper_bound": None, "reason": message},
        "numeric": None,
        "verdict": {"status": "error", "summary": message},
        "warnings": [],
        "skipped": {},
    })


def meets_expectation(report: dict[str, Any]) -> bool:
    """A default case passes when its certificate status is the expected one and the
    verdict is not ``inconsistent`` (a numeric value below a rigorous lower bound).

    ``numeric-suboptimal`` (the random starts stopped above a certified optimum) is shown
    but does not fail a case: the numeric solve is a heuristic check, the certificate is
    the proof."""
    expected = report.get("expected", "certified")
    if report["certificate"]["status"] != expected:
        return False
    return report["verdict"]["status"] not in ("inconsistent", "error")
