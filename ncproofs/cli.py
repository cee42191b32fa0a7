"""Command line: ``ncproofs list | derive | verify | metrics`` (docs/architecture.md).

Every user error (bad parameter, unknown theorem, unavailable device) is printed as one
line ``error: ...`` without a traceback, with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .spec import SpecError


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


def cmd_verify(args: argparse.Namespace) -> int:
    from .report import latex_table, summary_table, to_json, verify_text
    from .verify import meets_expectation, verify, verify_all

    options = dict(device=args.device, starts=args.starts, seed=args.seed,
                   solve=not args.no_solve, landscape=not args.no_landscape)
    if args.all:
        if args.theorem or args.param:
            raise SpecError("--all takes no THEOREM and no -p parameters")
        if args.certificate_dir:
            Path(args.certificate_dir).mkdir(parents=True, exist_ok=True)
        reports = verify_all(certificate_dir=args.certificate_dir, **options)
        _report_proof_files(reports)
        for r in reports:
            r["ok"] = meets_expectation(r)
        if args.json:
            print(to_json(reports))
        elif args.latex:
            print(latex_table(reports))
        else:
            print(summary_table(reports))
            bad = [r for r in reports if not r["ok"]]
            print(f"\n{len(reports) - len(bad)}/{len(reports)} default cases as expected")
        return 0 if all(r["ok"] for r in reports) else 1
    if not args.theorem:
        raise SpecError("verify needs a THEOREM id (see `ncproofs list`) or --all")
    report = verify(args.theorem, _parse_params(args.param),
                    certificate_out=args.certificate_out, **options)
    _report_proof_files([report])
    if args.json:
        print(to_json(report))
    elif args.latex:
        print(latex_table([report]))
    else:
        print(verify_text(report))
    return 0 if report["verdict"]["status"] not in ("inconsistent",) else 1


def _report_proof_files(reports: list[dict]) -> None:
    """One stderr line per requested proof file: where it is, or why there is none."""
    for r in reports:
        if "proof_file" in r:
            print(f"proof file: {r['proof_file']}" if r["proof_file"] else
                  f"no proof file for {r['theorem']}: {r.get('proof_file_note', '')}",
                  file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ncproofs",
        description="Derive, certify and numerically check neural-collapse optima.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the theorems")
    p.add_argument("-v", "--verbose", action="store_true", help="show parameters")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("derive", help="print a theorem's SymPy derivation")
    p.add_argument("theorem")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="derive for these parameters instead of symbolically")
    p.add_argument("--latex", action="store_true")
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("verify", help="closed form + certificate + numeric solve")
    p.add_argument("theorem", nargs="?")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--all", action="store_true", help="every theorem on its default cases")
    p.add_argument("--json", action="store_true")
    p.add_argument("--latex", action="store_true", help="a LaTeX table row per case")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--starts", type=int, default=8, help="random starts (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-solve", action="store_true", help="skip the numeric solve")
    p.add_argument("--no-landscape", action="store_true", help="skip the Hessian report")
    p.add_argument("--certificate-out", metavar="FILE.json",
                   help="write a proof file for `ncproofs check` (certified cases)")
    p.add_argument("--certificate-dir", metavar="DIR",
                   help="with --all: write each case's proof file into DIR")
    p.set_defaults(func=cmd_verify)

    from .check import cli as check_cli

    p = sub.add_parser("check", help="re-verify a proof file independently of the package")
    check_cli.add_arguments(p)
    p.set_defaults(func=check_cli.run)

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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:  # the independent checker: no engine (torch, sympy) imports
        from .check.cli import main as check_main

        return check_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "starts", 1) is not None and getattr(args, "starts", 1) < 1:
        print(f"error: --starts must be >= 1, got {args.starts}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
