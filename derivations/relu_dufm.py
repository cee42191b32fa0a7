"""Phase diagram of the deep ReLU UFM: deep neural collapse vs lower (low-rank) points.

One command:  python derivations/relu_dufm.py [--quick] [--device cpu|cuda|auto]

For K in {2, 3, 4, 6, 10} and L in {2, 3, 4, 5} (n = 1, d = K, lam_W = lam_H = lam) and lam
at fractions RATIOS of the DNC threshold lam_thr(K, L) (f depends on the weight decays
only through n lam_H lam_W^L, see ncproofs/theorems/dufm_lowrank.py), it runs the theorem's
search (random + narrow-width starts, seeds SEEDS) and compares the best point, evaluated
in interval arithmetic, with the DNC candidate.  Prints a table and writes
out/relu_dufm_phase.png (improvement in percent, best over the ratios; 0 = DNC not beaten).
Papers' regime for comparison (DESIGN.md s. 4; Súkeník et al. 2024 / Garrod & Keating):
low rank wins for K >= 4 with L >= 3, and for K >= 6 with L = 2.

Runtime: --quick (K in {3, 4, 6}, L in {2, 3}, lam/thr = 0.99, seed 3) about 30 s on 2 CPU cores;
the full grid (60 cells x 4 seeds) about an hour on 2 shared CPU cores (the first 16
cells, K = 2 and 3, took about 6 minutes; K = 10 dominates).
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ncproofs.certify.certificate import upper_end
from ncproofs.certify.power_scalar import PowerScalar
from ncproofs.theorems.base import ExplicitPoint, get_theorem
from ncproofs.theorems.dufm_lowrank import feature_structure, search_lowrank

KS = (2, 3, 4, 6, 10)
LS = (2, 3, 4, 5)
RATIOS = (0.5, 0.9, 0.99)
SEEDS = (0, 1, 2, 3)


def lam_threshold(K: int, L: int) -> float:
    """lam_thr with n = 1 and equal weight decays: C = ((L+1)/2) lam = C_thr(w = 1/K)."""
    return float(PowerScalar(Fraction(1, K), Fraction(1), L + 1).threshold_C()) * 2 / (L + 1)


def cell(K: int, L: int, ratio: float, seeds, device: str, starts: int) -> dict:
    th = get_theorem("dufm-lowrank")
    lam = Fraction(lam_threshold(K, L) * ratio).limit_denominator(10**8)
    spec = th.spec({"K": K, "n": 1, "d": K, "L": L, "lam_W": lam, "lam_H": lam})
    closed = th.closed_form(spec)
    dnc = float(closed.objective)
    best = None
    for seed in seeds:
        found = search_lowrank(spec, seed=seed, starts=starts, device=device)
        if best is None or found["value"] < best["value"]:
            best = found
    pt = ExplicitPoint(arrays=best["point"], labels=tuple(range(K)), counts=(1,) * K)
    rig = upper_end(th.upper_bound(spec, pt))
    layers = feature_structure(best["objective"], best["point"])
    gain = 100 * (dnc - rig) / dnc if rig < dnc * (1 - 1e-9) else 0.0
    return {"K": K, "L": L, "ratio": ratio, "lam": float(lam), "dnc": dnc, "best": rig,
            "gain": gain, "ranks": [e["rank_1e-2"] for e in layers],
            "origin": best["best_origin"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--starts", type=int, default=12)
    args = ap.parse_args()
    Ks, Ls, ratios, seeds = (KS, LS, RATIOS, SEEDS) if not args.quick else \
        ((3, 4, 6), (2, 3), (0.99,), (3,))
    t0 = time.time()
    rows = []
    print(f"{'K':>3} {'L':>2} {'lam/thr':>7} {'lam':>9} {'DNC':>10} {'best':>10} {'gain %':>7}"
          f"  ranks (1e-2, per layer)  origin")
    for K in Ks:
        for L in Ls:
            for ratio in ratios:
                r = cell(K, L, ratio, seeds, args.device, args.starts)
                rows.append(r)
                print(f"{K:>3} {L:>2} {ratio:>7.2f} {r['lam']:>9.5f} {r['dnc']:>10.6f} "
                      f"{r['best']:>10.6f} {r['gain']:>7.3f}  {r['ranks']}  {r['origin']}",
                      flush=True)
    grid = np.zeros((len(Ks), len(Ls)))
    for r in rows:
        i, j = Ks.index(r["K"]), Ls.index(r["L"])
        grid[i, j] = max(grid[i, j], r["gain"])
    print("\nbest improvement over DNC in % (0: DNC not beaten by the search)")
    print("K\\L " + " ".join(f"{L:>7}" for L in Ls))
    for i, K in enumerate(Ks):
        paper = ["low" if (K >= 4 and L >= 3) or (K >= 6 and L == 2) else "DNC" for L in Ls]
        print(f"{K:>3} " + " ".join(f"{grid[i, j]:>7.3f}" for j in range(len(Ls)))
              + "   papers: " + " ".join(paper))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    im = ax.imshow(grid, cmap="viridis", origin="lower")
    ax.set_xticks(range(len(Ls)), [str(L) for L in Ls])
    ax.set_yticks(range(len(Ks)), [str(K) for K in Ks])
    ax.set_xlabel("L (weight matrices)")
    ax.set_ylabel("K")
    for i in range(len(Ks)):
        for j in range(len(Ls)):
            ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(im, label="% below DNC (interval-checked)")
    ax.set_title(f"deep ReLU UFM, lam/lam_thr in {list(ratios)}")
    out = Path("out")
    out.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(out / "relu_dufm_phase.png", dpi=120)
    print(f"\nwrote out/relu_dufm_phase.png; {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
