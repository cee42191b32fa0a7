"""``ncproofs sweep ID -g NAME=V1,V2 [-g ...] [-p NAME=VALUE ...] --out FILE.parquet``.

Every cell of the grid is one ``verify`` run on a Dask cluster (a local one by default);
see :mod:`ncproofs.sweeps` and docs/sweeps.md.
"""

from __future__ import annotations

import argparse
import json
import sys

from .spec import SpecError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .cli import add_pipeline_options

    parser.add_argument("theorem", help="theorem id (see `ncproofs list`)")
    parser.add_argument("-g", "--grid", action="append", default=[], metavar="NAME=V1,V2",
                        help="a grid axis: values separated by ';' if present, else ','; "
                             "geom(LO,HI,COUNT) / lin(LO,HI,COUNT) for spaced values; "
                             "NAME1=NAME2=VALUES ties parameters (repeatable)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a fixed parameter (as for verify)")
    parser.add_argument("--out", metavar="FILE.parquet",
                        help="Parquet file for the results (written as cells finish)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="worker processes of the local Dask cluster (default: CPU count)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="an existing Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--resume", action="store_true",
                        help="skip cells already in --out and append the rest")
    parser.add_argument("--retry-errors", action="store_true",
                        help="with --resume: recompute cells whose row has status error")
    add_pipeline_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")


def run(args: argparse.Namespace) -> int:
    from .cli import _parse_params
    from .sweeps import SweepInterrupted, run_sweep

    if not args.out:
        raise SpecError("sweep needs --out FILE.parquet (the results file)")
    if args.retry_errors and not args.resume:
        raise SpecError("--retry-errors only makes sense with --resume")
    try:
        result = run_sweep(
            args.theorem, args.grid, _parse_params(args.param), out=args.out,
            workers=args.workers, scheduler=args.scheduler, resume=args.resume,
            retry_errors=args.retry_errors, starts=args.starts, seed=args.seed,
            solve=not args.no_solve, landscape=not args.no_landscape, device=args.device,
            quiet=args.quiet)
    except SweepInterrupted as stop:
        s = stop.summary
        print(f"interrupted: {s['computed']} new cells written to {s['out']}; rerun with "
              "--resume to compute the rest", file=sys.stderr)
        return 130
    summary = result.summary
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    elif summary["computed"] == 0:
        print(f"nothing to compute: all {summary['cells']} cells are already in {args.out}")
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(summary["status_counts"].items()))
        print(f"{summary['computed']} cells computed, {summary['skipped']} already in the file, "
              f"{summary['seconds']:.1f} s on {summary['workers']} workers -> {args.out}\n"
              f"statuses of all {summary['cells']} cells: {counts}")
    return 0
