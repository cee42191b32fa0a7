"""The papers' phase diagrams, recomputed cell by cell with certificates (``ncproofs.sweep``).

    python derivations/phase_diagrams.py                      # all five, full grids
    python derivations/phase_diagrams.py --quick              # small grids (a smoke test)
    python derivations/phase_diagrams.py --only zhu,dang      # some of them
    python derivations/phase_diagrams.py --scheduler tcp://host:8786   # on a Dask cluster

Each diagram is one sweep written to OUT_DIR/<name>.parquet plus a figure <name>.png
(status per cell, the analytic boundary where the theorem has one).  Reruns resume: cells
already in the Parquet file are not recomputed (delete the file for a fresh run).

* ``zhu``       Zhu et al. (2021), CE: K x lambda (lam_W = lam_H, n = 1, so t = lambda),
                annotated with the logit scale a* (0: W = H = 0); boundary K t = 1.
* ``minority``  Fang et al. (2021) minority collapse, imbalanced CE: imbalance ratio
                R = n_major / n_minor x lambda (K = 4: two majority, two minority classes
                of one sample), annotated with the minority spread |w_3 - w_4| / max|w_k|
                (measured on the class-mean logits; 0 = collapsed); boundary
                N^2 lam_W lam_H = n_minor.
* ``dang``      Dang et al. (2023), deep linear MSE: class size n x depth L (K = 4,
                K lambda = 0.15), annotated with x* (0: the class means vanish); the two
                boundaries R = R_tie(L) (zero wins beyond) and R = R_max(L) (no positive
                stationary point beyond) enclose the window where a positive stationary
                point exists and still loses to zero.
* ``deep-ce``   deep linear CE, K x L (n = 5, d = K, lambda = 5e-3): deep collapse refuted
                by a lower-rank point (Garrod & Keating) or certified.
* ``lowrank``   deep ReLU UFM, K x L at lambda = 0.004 (n = 1, d = K): DNC refuted by a
                low-rank point (Súkeník et al. 2024) or not.

The grids are finer than the papers' figures, sized for a 2-core machine (docs/sweeps.md
has the measured times).  Certificate-only cells (no random-start solve, no Hessian): the
diagram is decided by the certificates; ``--solve`` adds the numeric check per cell.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import ncproofs
from ncproofs import plotstyle
from ncproofs.plot import phase_diagram


def minority_spread(frame: Any) -> np.ndarray:
    """|M_3 - M_4|, the distance of the two minority rows of the class-mean logits M (rows
    of W coincide iff rows of M do, ncproofs.theorems.ufm_ce_imbalanced), in logit units
    (absolute: where every class collapses M ~ 0 and a relative spread is noise)."""
    out = []
    for text in frame["report_json"]:
        logits = json.loads(text)["closed_form"]["minimizer"].get("class_mean_logits")
        if logits is None:
            out.append(np.nan)
            continue
        M = np.asarray(logits, dtype=float)
        out.append(np.linalg.norm(M[-1] - M[-2]))
    return np.round(np.array(out), 4)


def first_x(frame: Any) -> np.ndarray:
    """x* of the first class (balanced: every class) from the closed form."""
    return np.array([json.loads(t)["closed_form"]["minimizer"].get("x", [np.nan])[0]
                     for t in frame["report_json"]])


@dataclass
class Diagram:
    theorem: str
    grid: dict[str, Any]
    quick_grid: dict[str, Any]
    params: dict[str, Any]
    x: str
    y: str
    title: str
    #: an extra column for the figure's annotations: (name, function of the frame)
    value: tuple[str, Callable[[Any], np.ndarray]] | None = None
    field_value: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


DIAGRAMS = {
    "zhu": Diagram(
        "ufm-ce",
        grid={"K": list(range(2, 11)), "lam_W=lam_H": "geom(1e-3,1,16)"},
        quick_grid={"K": [2, 4, 6], "lam_W=lam_H": "geom(1e-2,1,5)"},
        params={"n": 1, "d": 10}, x="lam_W", y="K", field_value="closed_form.minimizer.a",
        title="Zhu et al. (2021), CE, n = 1, lam_W = lam_H: logit scale a*"),
    "minority": Diagram(
        "ufm-ce-imbalanced",
        grid={"n": ";".join(f"{r},{r},1,1" for r in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)),
              "lam_W=lam_H": "geom(5e-3,0.5,10)"},
        quick_grid={"n": "1,1,1,1;4,4,1,1;16,16,1,1", "lam_W=lam_H": "geom(1e-2,0.5,3)"},
        params={"K": 4, "d": 4, "bias": "false"}, x="ratio", y="lam_W",
        title="Minority collapse, imbalanced CE (K = 4, n = R,R,1,1): |M_3 - M_4|",
        value=("minority_spread", minority_spread)),
    "dang": Diagram(
        "deep-linear-mse",
        grid={"n": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64], "L": [1, 2, 3, 4, 5, 6]},
        quick_grid={"n": [1, 4, 16, 64], "L": [1, 3, 5]},
        params={"K": 4, "d": 4, "lam_W": "0.0375", "lam_H": "0.0375"}, x="n", y="L",
        title="Dang et al. (2023), deep linear MSE (K = 4, lam = 0.0375): x*",
        value=("x_star", first_x)),
    "deep-ce": Diagram(
        "deep-linear-ce",
        grid={"K=d": [2, 3, 4, 5, 6, 8, 10], "L": [1, 2, 3, 4, 5]},
        quick_grid={"K=d": [3, 4, 6], "L": [1, 2, 3]},
        params={"n": 5, "lam_W": "5e-3", "lam_H": "5e-3"}, x="K", y="L",
        title="Deep linear CE (n = 5, lam = 5e-3): deep collapse vs low rank"),
    "lowrank": Diagram(
        "dufm-lowrank",
        grid={"K=d": [3, 4, 5, 6], "L": [2, 3, 4, 5]},
        quick_grid={"K=d": [3, 4], "L": [2, 3]},
        params={"n": 1, "lam_W": "0.004", "lam_H": "0.004"}, x="K", y="L",
        title="Deep ReLU UFM at lam = 0.004 (n = 1): DNC vs low rank"),
}


def run(name: str, diagram: Diagram, args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out_dir) / f"{name}{'_quick' if args.quick else ''}.parquet"
    start = time.perf_counter()
    frame = ncproofs.sweep(
        diagram.theorem, diagram.quick_grid if args.quick else diagram.grid, diagram.params,
        out=out, workers=args.workers, scheduler=args.scheduler, resume=True,
        solve=args.solve, landscape=False, starts=args.starts, quiet=args.quiet)
    seconds = time.perf_counter() - start
    value = diagram.field_value
    if diagram.value is not None:
        value = diagram.value[0]
        frame[value] = diagram.value[1](frame)
    fig = phase_diagram(frame, diagram.x, diagram.y, value=value, title=diagram.title)
    figure = out.with_suffix(".png")
    plotstyle.save(fig, figure)  # PNG at 200 dpi and PDF, labels and font sizes checked
    summary = frame.attrs["sweep"]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary["status_counts"].items()))
    print(f"{name:9s} {diagram.theorem:18s} {len(frame):4d} cells "
          f"({summary['computed']} computed) in {seconds:7.1f} s on {summary['workers']} "
          f"workers: {counts} -> {figure}", flush=True)
    return {"name": name, "cells": len(frame), "computed": summary["computed"],
            "seconds": round(seconds, 1), "status_counts": summary["status_counts"]}


def main() -> None:
    parser = argparse.ArgumentParser(description="Phase diagrams of the papers via sweeps.")
    parser.add_argument("--only", default=",".join(DIAGRAMS),
                        help=f"comma-separated subset of {', '.join(DIAGRAMS)}")
    parser.add_argument("--quick", action="store_true", help="small grids (files *_quick.*)")
    parser.add_argument("--out-dir", default="docs/figures")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--solve", action="store_true", help="numeric solve in every cell")
    parser.add_argument("--starts", type=int, default=4)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in DIAGRAMS]
    if unknown:
        parser.error(f"unknown diagram {unknown[0]!r}; choose from {', '.join(DIAGRAMS)}")
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    if args.scheduler:
        for name in names:
            run(name, DIAGRAMS[name], args)
        return
    # one local cluster for every diagram (each sweep would otherwise start its own)
    import logging
    import os

    from distributed import LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=args.workers or os.cpu_count(), threads_per_worker=1,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        args.scheduler, args.workers = cluster.scheduler_address, None
        for name in names:
            run(name, DIAGRAMS[name], args)
    print(f"total {time.perf_counter() - start:.1f} s (including the cluster start-up)")


if __name__ == "__main__":
    main()
