"""Sweep throughput: Dask with 1 and 2 workers vs ``verify`` in a loop, in one run.

    python benchmarks/bench_sweep.py                 # 200 cells (ufm-ce + ufm-mse)
    python benchmarks/bench_sweep.py --cells-per-theorem 20 --solve   # smaller, with solve

Cells: ufm-ce and ufm-mse on K in {2..6} x lam_W = lam_H in geom(1e-3, 1, 10) x d in
{6, 7} (COUNT/50 values), n = 1, no Hessian report (``--no-landscape``); certificate
only unless ``--solve``.

Measured (every phase after the same warm-up: imports plus one cell of each theorem in
every process, so no phase pays first-call costs the others do not):
* serial: ``verify`` on every cell in this process -- the baseline;
* sweep, 1 worker and 2 workers (LocalCluster, one thread per worker, Parquet output):
  wall time from submitting to the last row written; cluster start-up reported apart;
* cells/s, speed-up 2 vs 1 worker, per-cell overhead of the 1-worker sweep against the
  serial loop, peak resident memory per worker (ru_maxrss at its last cell).
The load average is printed with each phase: on a shared machine the 2-worker speed-up
is bounded by the cores other jobs leave free.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from ncproofs.pipeline import verify
from ncproofs.sweeps import expand_grid, normalize_grid, run_sweep, warm_worker

THEOREMS = ("ufm-ce", "ufm-mse")
FIXED = {"n": 1}


def grid(count: int) -> dict[str, str]:
    """K 2..6 x 10 lambdas x d = 6, 7, ... (50 cells per d).  The lambdas are fixed: some
    other 6-digit values (0.0379269, 0.162378; K = 9 with 0.0464159) make ufm-ce's SymPy
    closed form run for minutes (a derivation issue, reported in docs/sweeps.md)."""
    depths = ",".join(str(6 + i) for i in range(max(1, count // 50)))
    return {"K": "2,3,4,5,6", "lam_W=lam_H": "geom(1e-3,1,10)", "d": depths}


def warm(solve: bool, starts: int) -> int:
    """Imports plus one cell of each theorem (cvxpy, sympy and torch first-call costs)."""
    for theorem in THEOREMS:
        verify(theorem, {**FIXED, "K": 3, "d": 6, "lam_W": "0.01", "lam_H": "0.01"},
               solve=solve, landscape=False, starts=starts, device="cpu")
    return warm_worker()


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def serial(count: int, solve: bool, starts: int) -> tuple[float, int]:
    warm(solve, starts)
    start = time.perf_counter()
    cells = 0
    for theorem in THEOREMS:
        for cell in expand_grid(normalize_grid(grid(count))):
            verify(theorem, {**FIXED, **cell}, solve=solve, landscape=False, starts=starts,
                   device="cpu")
            cells += 1
    return time.perf_counter() - start, cells


def dask_sweep(workers: int, count: int, solve: bool, starts: int, folder: Path) -> dict:
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        with Client(cluster, set_as_default=False) as client:
            client.run(warm, solve, starts)
        startup = time.perf_counter() - start
        start = time.perf_counter()
        frames = [run_sweep(theorem, grid(count), FIXED, out=folder / f"{theorem}-{workers}.pq",
                            scheduler=cluster.scheduler_address, solve=solve,
                            landscape=False, starts=starts, device="cpu", quiet=True).frame
                  for theorem in THEOREMS]
        seconds = time.perf_counter() - start
    rows = sum(len(f) for f in frames)
    errors = sum(int((f.status == "error").sum()) for f in frames)
    peak = {}
    for f in frames:
        for worker, mb in f.groupby("worker")["worker_peak_rss_mb"].max().items():
            peak[worker] = max(peak.get(worker, 0.0), mb)
    return {"seconds": seconds, "startup": startup, "cells": rows, "errors": errors,
            "peak_mb": sorted(peak.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells-per-theorem", type=int, default=100)
    parser.add_argument("--solve", action="store_true", help="numeric solve in every cell")
    parser.add_argument("--starts", type=int, default=2)
    args = parser.parse_args()
    count, solve, starts = args.cells_per_theorem, args.solve, args.starts
    cells = len(THEOREMS) * len(expand_grid(normalize_grid(grid(count))))
    print(f"cells: {cells} ({', '.join(THEOREMS)}), solve={solve}"
          f"{f' (starts {starts})' if solve else ''}, no landscape; {os.cpu_count()} CPUs")
    print(f"[{load()}] serial verify loop ...", flush=True)
    t_serial, cells = serial(count, solve, starts)
    print(f"  serial: {cells} cells in {t_serial:.2f} s = {cells / t_serial:.2f} cells/s "
          f"({1000 * t_serial / cells:.0f} ms/cell)", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            print(f"[{load()}] sweep, {workers} worker(s) ...", flush=True)
            r = dask_sweep(workers, count, solve, starts, Path(tmp))
            results[workers] = r
            print(f"  {workers} worker(s): {r['cells']} cells in {r['seconds']:.2f} s = "
                  f"{r['cells'] / r['seconds']:.2f} cells/s (+{r['startup']:.1f} s cluster "
                  f"start-up and warm-up), errors {r['errors']}, peak RSS per worker "
                  f"{', '.join(f'{mb:.0f}' for mb in r['peak_mb'])} MB", flush=True)
    one, two = results[1], results[2]
    overhead = (one["seconds"] - t_serial) / t_serial
    print(f"[{load()}] done")
    print(f"speed-up 2 vs 1 worker: {one['seconds'] / two['seconds']:.2f}x (aim: close to 2x)")
    print(f"per-cell overhead, 1-worker sweep vs serial verify: {100 * overhead:+.1f} % "
          f"({1000 * (one['seconds'] - t_serial) / cells:+.1f} ms/cell; aim < 10 %)")
    print(f"2-worker sweep vs serial verify: {t_serial / two['seconds']:.2f}x faster")


if __name__ == "__main__":
    main()
