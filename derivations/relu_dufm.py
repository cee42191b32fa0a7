"""Phase diagram of the deep ReLU UFM: deep neural collapse vs lower (low-rank) points.

One command:  python derivations/relu_dufm.py [--quick] [--lam 0.004 | --ratio 0.99] [--jobs 2]

For K in {2, 3, 4, 6, 10} and L in {2, 3, 4, 5} (n = 1, d = K, lam_W = lam_H = lam, default
lam = 0.004: the weight decay Súkeník, Lampert & Mondelli 2024 use for every regularization
parameter in their DUFM experiment, K = 10, L = 4, width 30) it runs ``dufm-lowrank``'s
certify: the DNC candidate (exact root isolation) against the theorem's staged search
(active starts, weight-decay continuation x4 / x2 / x0.8 / x0.25, Gaussian starts; it stops
at the first stage below DNC), the best point re-evaluated in interval arithmetic.  Prints
a table (status, DNC, best found, gain %, class-mean ranks per layer, the stage that found
it) and writes out/relu_dufm_phase.png (% below DNC, interval-checked; 0 = not refuted).

``--ratio R`` instead sets lam = R lam_thr(K, L) per cell (PNG out/relu_dufm_phase_rR.png).

Budget: at most 8 + 4 x (8 + 8) + 4 = 76 solved starts per cell (continuation rungs at or
above 0.95 of the threshold are skipped), fewer where a stage already refutes.  Measured on
the shared 2-core machine with --jobs 2 (one thread per worker): lam = 0.004 235 s (the
slowest cell, K = 6, L = 3, 72 s), --ratio 0.5 148 s, --ratio 0.99 102 s.
--quick: K in {3, 4}, L in {4, 5}.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np

KS = (2, 3, 4, 6, 10)
LS = (2, 3, 4, 5)
PAPER_LAM = "0.004"


def papers_regime(K: int, L: int) -> str:
    """The regime quoted in docs/known_results.md for deep linear CE (Garrod & Keating), reported
    for the ReLU model as well: low rank for K >= 4, L >= 3 and for K >= 6, L = 2."""
    return "low rank" if (K >= 4 and L >= 3) or (K >= 6 and L == 2) else "DNC"


def lam_threshold(K: int, L: int) -> float:
    """lam_thr with n = 1 and equal weight decays: C = ((L+1)/2) lam = C_thr(w = 1/K)."""
    from ncproofs.certify.power_scalar import PowerScalar

    return float(PowerScalar(Fraction(1, K), Fraction(1), L + 1).threshold_C()) * 2 / (L + 1)


def cell(args: tuple[int, int, str]) -> dict:
    import torch

    torch.set_num_threads(1)
    from ncproofs.certify.certificate import REFUTED
    from ncproofs.theorems.base import get_theorem

    K, L, lam = args
    th = get_theorem("dufm-lowrank")
    if lam.startswith("ratio="):  # a fraction of the DNC threshold lam_thr(K, L)
        lam = str(Fraction(lam_threshold(K, L) * float(lam[6:])).limit_denominator(10**8))
    spec = th.spec({"K": K, "n": 1, "d": K, "L": L, "lam_W": lam, "lam_H": lam})
    closed = th.closed_form(spec)
    t0 = time.time()
    cert = th.certify(spec, closed)
    dnc = float(closed.objective)
    search = cert.details.get("search", {})
    best = search.get("rigorous_value_upper", float("nan"))
    refuted = cert.status == REFUTED
    return {"K": K, "L": L, "lam": float(Fraction(lam)), "ratio":
            closed.minimizer["lam_over_threshold"], "status": cert.status, "dnc": dnc,
            "best": best, "gain": cert.details.get("improvement_percent", 0.0) if refuted
            else 100 * (dnc - best) / dnc, "ranks": cert.details.get("feature_ranks"),
            "origin": search.get("best_origin", "-"), "starts": search.get("starts", 0),
            "seconds": time.time() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--lam", default=PAPER_LAM, help="lam_W = lam_H (default: the paper's)")
    ap.add_argument("--ratio", type=float, default=None,
                    help="instead of --lam: lam = ratio x the DNC threshold of each cell")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (1 thread each)")
    args = ap.parse_args()
    Ks, Ls = ((3, 4), (4, 5)) if args.quick else (KS, LS)
    t0 = time.time()
    lam = args.lam if args.ratio is None else f"ratio={args.ratio}"
    todo = sorted(((K, L, lam) for K in Ks for L in Ls), key=lambda c: -c[0] * c[1])
    with ProcessPoolExecutor(max_workers=args.jobs) as ex:
        rows = list(ex.map(cell, todo))
    rows.sort(key=lambda r: (r["K"], r["L"]))
    print(f"lam_W = lam_H = {lam}, n = 1, d = K\n")
    print("| K | L | lam/thr | papers | status | DNC | best found | gain % | ranks (H..logits)"
          " | found by | starts | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ranks = ",".join(map(str, r["ranks"])) if r["ranks"] else "-"
        gain = f"{r['gain']:.2f}" if r["status"] == "refuted" else f"({r['gain']:.2f})"
        print(f"| {r['K']} | {r['L']} | {r['ratio']:.3f} | {papers_regime(r['K'], r['L'])} | "
              f"{r['status']} | {r['dnc']:.8f} | {r['best']:.8f} | {gain} | {ranks} | "
              f"{r['origin']} | {r['starts']} | {r['seconds']:.0f} |", flush=True)
    grid = np.zeros((len(Ks), len(Ls)))
    for r in rows:
        if r["status"] == "refuted":
            grid[Ks.index(r["K"]), Ls.index(r["L"])] = r["gain"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    im = ax.imshow(grid, cmap="viridis", origin="lower")
    ax.set_xticks(range(len(Ls)), [str(L) for L in Ls])
    ax.set_yticks(range(len(Ks)), [str(K) for K in Ks])
    ax.set_xlabel("L (weight matrices)")
    ax.set_ylabel("K")
    for i, K in enumerate(Ks):
        for j, L in enumerate(Ls):
            mark = "*" if papers_regime(K, L) == "low rank" else ""
            ax.text(j, i, f"{grid[i, j]:.1f}{mark}", ha="center", va="center", color="w",
                    fontsize=8)
    fig.colorbar(im, label="% below DNC (interval-checked refutation)")
    ax.set_title(f"deep ReLU UFM, lam = {lam}, n = 1, d = K (* papers: low rank)",
                 fontsize=8)
    out = Path("out")
    out.mkdir(exist_ok=True)
    fig.tight_layout()
    name = "relu_dufm_phase.png" if args.ratio is None else f"relu_dufm_phase_r{args.ratio:g}.png"
    fig.savefig(out / name, dpi=120)
    print(f"\nwrote out/{name}; {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
