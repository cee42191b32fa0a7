"""Command line: ``ncproofs list | derive | verify | certify-point | metrics``.

Every user error (bad parameter, unknown theorem, unavailable device, a stage too large
for this machine) is printed as one line ``error: ...`` without a traceback, with exit
status 2.  Ctrl-C prints one line and exits with 130 (``verify --all`` first prints the
cases that finished); a closed output pipe (``ncproofs list | head -1``) ends quietly.
``list``, ``--help`` and ``--version`` import neither torch nor cvxpy.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .spec import SpecError

#: subcommands whose first positional argument is a theorem id (``ID --help`` lists its
#: parameters)
THEOREM_COMMANDS = ("verify", "derive", "certify-point")


def _parse_params(items: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise SpecError(f"parameters must look like NAME=VALUE (e.g. -p K=4), got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        if key in params:
            raise SpecError(f"parameter {key} given twice")
        params[key] = value.strip()
    return params


def _load_modules(args: argparse.Namespace) -> None:
    """Register the theorems of every ``--module PATH.py``."""
    from .theorems.base import load_module

    for path in getattr(args, "module", None) or []:
        load_module(path)


def cmd_list(args: argparse.Namespace) -> int:
    from .theorems.base import BROKEN, load_all

    for theorem_id, theorem in sorted(load_all().items()):
        print(f"{theorem_id:22s} {theorem.title}")
        if args.verbose:
            print(f"{'':22s} {theorem.citation}")
            for name, rng, doc in theorem.spec_type.describe():
                print(f"{'':24s}{name:8s} {rng:22s} {doc}")
    for name, error in BROKEN.items():
        print(f"error: theorem module {name} failed to import: {error}", file=sys.stderr)
    return 0 if not BROKEN else 1


def cmd_derive(args: argparse.Namespace) -> int:
    from .theorems.base import get_theorem

    theorem = get_theorem(args.theorem)
    if args.param:
        spec = theorem.spec(_parse_params(args.param))
        steps = theorem.closed_form(spec).steps
    else:
        steps = theorem.derive_general()
    print(f"% {theorem.id}: {theorem.citation}" if args.latex else
          f"{theorem.id}: {theorem.title}\n{theorem.citation}\n")
    for step in steps:
        print(step.latex() if args.latex else step.text())
    return 0


def _limits(args: argparse.Namespace) -> Any:
    from .resources import Limits

    default = Limits.default()
    memory = default.memory_bytes if args.max_memory is None else (
        None if args.max_memory <= 0 else args.max_memory * 1e9)
    seconds = None if args.max_seconds is None or args.max_seconds <= 0 else args.max_seconds
    return Limits(memory_bytes=memory, seconds=seconds)


def _report_notes(report: dict[str, Any]) -> list[str]:
    """Lines for skipped stages and captured warnings (text output)."""
    lines = [f"  skipped {stage}: {why}" for stage, why in report.get("skipped", {}).items()]
    lines += [f"  warning: {w}" for w in report.get("warnings", [])]
    return lines


def cmd_verify(args: argparse.Namespace) -> int:
    from . import progress as progress_mod
    from .pipeline import count_default_cases, iter_verify_all, meets_expectation, verify
    from .report import latex_table, summary_table, verify_text
    from .results import to_json

    options = dict(device=args.device, starts=args.starts, seed=args.seed,
                   solve=not args.no_solve, landscape=not args.no_landscape,
                   save_dir=args.save_dir, limits=_limits(args))
    show = progress_mod.enabled(args.quiet)
    if args.certificate_dir and not args.all:
        raise SpecError("--certificate-dir goes with --all (one case: --certificate-out FILE)")
    if args.certificate_out and args.all:
        raise SpecError("--certificate-out writes one case; with --all use --certificate-dir")
    _check_output_files(args)
    out = open(args.out, "w") if args.out else None  # noqa: SIM115 - closed below
    try:
        if args.all:
            if args.theorem or args.param:
                raise SpecError("--all takes no THEOREM and no -p parameters")
            reports: list[dict[str, Any]] = []
            interrupted = False
            with progress_mod.Progress(show=show, total=count_default_cases(),
                                       desc="verify --all") as bar:
                cases = iter_verify_all(on_case=bar.case, progress=bar.stage,
                                        certificate_dir=args.certificate_dir, **options)
                try:
                    for report in cases:
                        report["ok"] = meets_expectation(report)
                        reports.append(report)
                        if out is not None:  # stream: a case is on disk once it finished
                            out.write(to_json(report, indent=None) + "\n")
                            out.flush()
                        bar.advance()
                except KeyboardInterrupt:
                    interrupted = True
            _print_all(args, reports, latex_table, summary_table, to_json)
            _report_proof_files(reports)
            if interrupted:
                kept = f"; they are in {args.out}" if args.out else ""
                print(f"interrupted: {len(reports)} of {count_default_cases()} cases "
                      f"finished{kept}", file=sys.stderr)
                return 130
            return 0 if all(r["ok"] for r in reports) else 1
        if not args.theorem:
            raise SpecError("verify needs a THEOREM id (see `ncproofs list`) or --all")
        with progress_mod.Progress(show=show, desc=args.theorem) as bar:
            report = verify(args.theorem, _parse_params(args.param), progress=bar.stage,
                            certificate_out=args.certificate_out, **options)
        _report_proof_files([report])
        if out is not None:
            out.write(to_json(report, indent=None) + "\n")
        if args.json:
            print(to_json(report))
        elif args.latex:
            print(latex_table([report]))
        else:
            print("\n".join([verify_text(report)] + _report_notes(report)))
        return 0 if report["verdict"]["status"] not in ("inconsistent",) else 1
    finally:
        if out is not None:
            out.close()


def _check_output_files(args: argparse.Namespace) -> None:
    """Every file the user asked for must be writable before hours of work start."""
    from .outputs import check_writable

    if args.certificate_dir:
        try:
            Path(args.certificate_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecError(f"cannot create --certificate-dir {args.certificate_dir}: "
                            f"{exc.strerror or exc}") from None
        check_writable(Path(args.certificate_dir) / "case.json", "--certificate-dir")
    for option, path in (("--out", args.out), ("--certificate-out", args.certificate_out)):
        if path:
            check_writable(path, option)


def _report_proof_files(reports: list[dict]) -> None:
    """One stderr line per requested proof file: where it is, or why there is none."""
    for r in reports:
        if "proof_file" in r:
            print(f"proof file: {r['proof_file']}" if r["proof_file"] else
                  f"no proof file for {r['theorem']}: {r.get('proof_file_note', '')}",
                  file=sys.stderr)


def _print_all(args, reports, latex_table, summary_table, to_json) -> None:  # noqa: ANN001
    if args.json:
        print(to_json(reports))
    elif args.latex:
        print(latex_table(reports))
    else:
        print(summary_table(reports))
        bad = [r for r in reports if not r["ok"]]
        print(f"\n{len(reports) - len(bad)}/{len(reports)} default cases as expected")
        for r in reports:
            notes = _report_notes(r)
            if notes:
                print(f"{r['theorem']} {r['params']}:\n" + "\n".join(notes))


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """The options of one pipeline run, shared by ``verify`` and ``sweep``."""
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--starts", type=int, default=8, help="random starts (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-solve", action="store_true", help="skip the numeric solve")
    p.add_argument("--no-landscape", action="store_true", help="skip the Hessian report")


def _add_module_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--module", action="append", default=[], metavar="PATH.py",
                   help="also load the theorems of this Python file (docs/extending.md)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="ncproofs",
        description="Derive, certify and numerically check neural-collapse optima.",
    )
    parser.add_argument("--version", action="version", version=f"ncproofs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.set_defaults(_subparsers=sub)

    p = sub.add_parser("list", help="list the theorems")
    p.add_argument("-v", "--verbose", action="store_true", help="show parameters")
    _add_module_option(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("derive", help="print a theorem's SymPy derivation")
    p.add_argument("theorem")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="derive for these parameters instead of symbolically")
    p.add_argument("--latex", action="store_true")
    _add_module_option(p)
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("verify", help="closed form + certificate + numeric solve",
                       description="Closed form, certificate and numeric solve of one "
                       "theorem (ncproofs verify ID -p NAME=VALUE ...) or of every theorem "
                       "on its default cases (--all).  `ncproofs verify ID --help` lists "
                       "the parameters of theorem ID.")
    p.add_argument("theorem", nargs="?")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--all", action="store_true", help="every theorem on its default cases")
    p.add_argument("--json", action="store_true")
    p.add_argument("--latex", action="store_true", help="a LaTeX table row per case")
    p.add_argument("--out", metavar="FILE.jsonl",
                   help="also write each report as one JSON line, as soon as it finishes")
    add_pipeline_options(p)
    p.add_argument("--save-dir", metavar="DIR",
                   help="write files (refuting points, npz) into DIR; default: none")
    p.add_argument("--max-memory", type=float, metavar="GB",
                   help="refuse or skip stages estimated above this (default: 80%% of the "
                   "available memory; 0: no limit)")
    p.add_argument("--max-seconds", type=float, metavar="S",
                   help="refuse or skip stages estimated to take longer (default: no limit)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--certificate-out", metavar="FILE.json",
                   help="write a proof file for `ncproofs check` (certified cases)")
    p.add_argument("--certificate-dir", metavar="DIR",
                   help="with --all: write each case's proof file into DIR")
    _add_module_option(p)
    p.set_defaults(func=cmd_verify)

    from .check import cli as check_cli

    p = sub.add_parser("check", help="re-verify a proof file independently of the package")
    check_cli.add_arguments(p)
    p.set_defaults(func=check_cli.run)

    try:
        from . import certify_point_cli
    except ImportError:
        certify_point_cli = None
    if certify_point_cli is not None:
        p = sub.add_parser("certify-point", help="your point (npz) against the certified "
                           "optimum: rigorous value, gap, NC metrics")
        certify_point_cli.add_arguments(p)
        _add_module_option(p)
        p.set_defaults(func=certify_point_cli.run)

    try:
        from . import metrics_cli
    except ImportError:
        metrics_cli = None
    if metrics_cli is not None:
        p = sub.add_parser("metrics", help="NC1-NC4 of features in an .npz file")
        metrics_cli.add_arguments(p)
        p.set_defaults(func=metrics_cli.run)

    from . import plot, sweep_cli  # light modules: dask/matplotlib load only when run

    p = sub.add_parser("sweep", help="verify on a parameter grid (Dask), results to Parquet")
    sweep_cli.add_arguments(p)
    p.set_defaults(func=sweep_cli.run)
    p = sub.add_parser("plot", help="phase diagram of a sweep's Parquet file")
    plot.add_arguments(p)
    p.set_defaults(func=plot.run)
    return parser


def _theorem_help(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """For ``ncproofs verify ID --help``: put ID's parameters (ranges, defaults) into the
    help of the subcommand; without an ID, the list of theorem ids."""
    if not argv or argv[0] not in THEOREM_COMMANDS or not ({"-h", "--help"} & set(argv)):
        return
    from .api import parameter_rows
    from .theorems.base import load_all, load_module

    for i, token in enumerate(argv):
        if token == "--module" and i + 1 < len(argv):
            try:
                load_module(argv[i + 1])
            except SpecError:
                pass
    registry = load_all()
    sub = parser.get_default("_subparsers")
    command_parser = sub.choices[argv[0]]
    command_parser.formatter_class = argparse.RawDescriptionHelpFormatter
    ids = [token for token in argv[1:] if token in registry]
    if not ids:
        width = max(len(t) for t in registry)
        command_parser.epilog = "theorems (`ncproofs " + argv[0] + " ID --help` for one):\n" + \
            "\n".join(f"  {t.ljust(width)}  {registry[t].title}" for t in sorted(registry))
        return
    theorem = registry[ids[0]]
    rows = parameter_rows(theorem.spec_type)
    width = max(len(r[0]) for r in rows)
    lines = [f"{theorem.id}: {theorem.title}", f"{theorem.citation}", "",
             "parameters (-p NAME=VALUE):"]
    for name, rng, doc, default, required in rows:
        shown = str(default).lower() if isinstance(default, bool) else default
        need = "required" if required else f"default {shown}"
        lines.append(f"  {name.ljust(width)}  {rng:24s} {need:16s} {doc}")
    command_parser.epilog = "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:  # the independent checker: no engine (torch, sympy) imports
        from .check.cli import main as check_main

        return check_main(argv[1:])
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe must fail here, inside the handler, not at exit
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`ncproofs list | head -1`): stop quietly; point stdout at
        # devnull so that Python's flush at exit does not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        _theorem_help(parser, argv)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if getattr(args, "starts", 1) is not None and getattr(args, "starts", 1) < 1:
        print(f"error: --starts must be >= 1, got {args.starts}", file=sys.stderr)
        return 2
    try:
        _load_modules(args)
        return int(args.func(args) or 0)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
