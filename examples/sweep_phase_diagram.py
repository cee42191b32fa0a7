"""A small phase diagram in a few lines: Zhu et al.'s threshold K t = 1 for CE.

    python examples/sweep_phase_diagram.py                       # local Dask cluster
    python examples/sweep_phase_diagram.py --scheduler tcp://host:8786

Sweeps ufm-ce over K in {2, 3, 4} and lam_W = lam_H in {0.01, 0.1, 0.3, 1} (n = 1, so
t = lam), certificate only (no numeric solve), writes the results to
zhu_phase_diagram.parquet and the figure to zhu_phase_diagram.png, and prints where the
optimum is W = H = 0 (f* = log K, regime "zero"), which Zhu et al. predict for K t >= 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ncproofs
from ncproofs.plot import plot_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="an existing Dask scheduler (default: local)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out-dir", default=".", help="folder for the .parquet and .png")
    args = parser.parse_args()

    out = Path(args.out_dir) / "zhu_phase_diagram.parquet"
    out.unlink(missing_ok=True)  # a fresh sweep each run (or pass resume=True)
    frame = ncproofs.sweep(
        "ufm-ce",
        grid={"K": [2, 3, 4], "lam_W=lam_H": "0.01,0.1,0.3,1"},
        params={"n": 1, "d": 4},
        out=out, workers=None if args.scheduler else args.workers, scheduler=args.scheduler,
        solve=False, landscape=False, quiet=True,
    )
    print(frame[["param_K", "param_lam_W", "status", "regime", "closed_form"]].to_string())
    figure = plot_file(out, x="lam_W", y="K", value="closed_form")
    print(f"{len(frame)} cells in {frame.attrs['sweep']['seconds']:.1f} s -> {out}, {figure}")


if __name__ == "__main__":
    main()
