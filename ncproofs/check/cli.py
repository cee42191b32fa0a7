"""``ncproofs check FILE.json ...``: re-verify proof files (exit 0 only when all hold).

Exit status 1 when an inequality fails (one line naming it), 2 on unusable input (a
missing file, invalid JSON, an unknown certificate kind, a newer format version).
"""

from __future__ import annotations

import argparse
import sys

from .core import REL_TOL, CheckFailure, InputError, check, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE.json", help="proof files to check")


def run(args: argparse.Namespace) -> int:
    worst = 0
    for path in args.files:
        try:
            summary = check(load(path))
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        except CheckFailure as exc:
            print(f"FAILED {path}: {exc}")
            worst = max(worst, 1)
            continue
        except (AttributeError, TypeError, ValueError, KeyError, IndexError,
                RecursionError) as exc:  # a field of the wrong shape: unusable input
            print(f"error: malformed proof file {path}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            worst = max(worst, 2)
            continue
        conditional = ("; conditional on: " + "; ".join(summary["reductions"])
                       if summary["reductions"] else "")
        print(f"OK {path}: {summary['theorem']} {summary['status']}: optimum in "
              f"[{float(summary['lower']):.15g}, {float(summary['upper']):.15g}], gap "
              f"{float(summary['gap']):.2e} <= {float(REL_TOL):g} relative{conditional}")
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ncproofs check", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
