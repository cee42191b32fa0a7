"""Certification and independent checking of ufm-ce at scale (issue 11, item 7).

Run: `python benchmarks/bench_certify_scale.py [--max-K 100000]`.

For K = 10^3, 10^4, 10^5 (n = 1, d = K, lam_W = lam_H = 1e-6) it runs, each in a fresh
subprocess (wall time and peak resident memory from resource.getrusage of that child):

1. `ncproofs verify ufm-ce ... --no-solve --no-landscape --certificate-out FILE --json`
   (the CLI as a user runs it, imports included; the report's own derive/certify times are
   printed too);
2. `ncproofs check FILE` (the independent checker).

Baseline, measured in the same run: the interval value of the same ETF point as a dense
K x d matrix (the Helmert frame, one FLINT interval matrix product), which is what the
certificate cost before points were stored by structure, at K = 1000 only (at K = 2000 it
ran for minutes at 15 GB).  Goals: certified in < 10 s and < 1 GB, and checked likewise,
at K = 10^5.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(wall, peak_kb, run.returncode)
sys.stdout.write(run.stdout)
sys.stderr.write(run.stderr)
"""

DENSE_BASELINE = """
import time
from fractions import Fraction
from ncproofs.certify.upper import interval_objective
from ncproofs.geometry import simplex_etf
from ncproofs.losses import get_loss
K = int(__import__("sys").argv[1])
P = simplex_etf(K, K)
t = time.perf_counter()
interval_objective(get_loss("ce"), 3.0 * P, 0.3 * P.T, None, list(range(K)), [1] * K,
                   Fraction(1, 10**6), Fraction(1, 10**6))
print(time.perf_counter() - t)
"""


IMPORTS = "from ncproofs.theorems.base import load_all; load_all()"

FRAME_VALUE = """
import time
from fractions import Fraction
from ncproofs.certify.frames import FramePoint
from ncproofs.losses import get_loss
K = int(__import__("sys").argv[1])
point = FramePoint("centred-basis", K, K, 3.0, 0.3, None, (1,) * K)
t = time.perf_counter()
point.interval_objective(get_loss("ce"), Fraction(1, 10**6), Fraction(1, 10**6))
print(time.perf_counter() - t)
"""


def measured(command: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in MB, exit status, stdout) of one fresh child process."""
    run = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                         text=True)
    first, _, rest = run.stdout.partition("\n")
    wall, peak_kb, rc = first.split()
    return float(wall), int(peak_kb) / 1024, int(rc), rest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-K", type=int, default=100_000)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "ncproofs.cli"]
    print("K        verify s  verify MB  derive s  certify s  status        "
          "check s  check MB  check")
    with tempfile.TemporaryDirectory() as tmp:
        for K in (1000, 10_000, 100_000):
            if K > args.max_K:
                break
            proof = str(Path(tmp) / f"ufm-ce-{K}.json")
            wall, mb, rc, out = measured(cli + [
                "verify", "ufm-ce", "-p", f"K={K}", "-p", "n=1", "-p", f"d={K}",
                "-p", "lam_W=1e-6", "-p", "lam_H=1e-6", "--no-solve", "--no-landscape",
                "--json", "--certificate-out", proof])
            report = json.loads(out) if rc == 0 else {}
            timings = report.get("timings", {})
            status = report.get("certificate", {}).get("status", f"exit {rc}")
            c_wall, c_mb, c_rc, _ = measured(cli + ["check", proof])
            print(f"{K:<8d} {wall:8.2f}  {mb:9.0f}  {timings.get('derive', float('nan')):8.2f}"
                  f"  {timings.get('certify', float('nan')):9.2f}  {status:12s}  "
                  f"{c_wall:7.2f}  {c_mb:8.0f}  {'ok' if c_rc == 0 else f'exit {c_rc}'}")
    imports, imports_mb, _, _ = measured([sys.executable, "-c", IMPORTS])
    print(f"\nfixed cost in every verify above: importing the package and its theorems "
          f"(torch, sympy, cvxpy) {imports:.2f} s, {imports_mb:.0f} MB")
    base = subprocess.run([sys.executable, "-c", DENSE_BASELINE, "1000"], capture_output=True,
                          text=True, check=True)
    dense = float(base.stdout)
    frame = subprocess.run([sys.executable, "-c", FRAME_VALUE, "1000"], capture_output=True,
                           text=True, check=True)
    print(f"K = 1000, interval value of the ETF point: dense 1000 x 1000 product {dense:.2f} s,"
          f" structured frame {float(frame.stdout):.4f} s, ratio "
          f"{dense / float(frame.stdout):.0f}x")


if __name__ == "__main__":
    main()
