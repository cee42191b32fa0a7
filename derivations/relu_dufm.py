"""Phase diagram of the deep ReLU UFM: deep neural collapse vs lower (low-rank) points.

One command:  python derivations/relu_dufm.py [--quick] [--lam 0.004 | --ratio 0.99] [--jobs 2]

For K in {2, 3, 4, 6, 10} and L in {2, 3, 4, 5} (n = 1, d = K, lam_W = lam_H = lam, default
lam = 0.004: the weight decay Súkeník, Lampert & Mondelli 2024 use for every regularization
parameter in their DUFM experiment, K = 10, L = 4, width 30) it runs ``dufm-lowrank``'s
certify: the DNC candidate (exact root isolation) against the theorem's staged search
(active starts, weight-decay continuation x4 / x2 / x0.8 / x0.25, Gaussian starts; it stops
at the first stage below DNC), the best point re-evaluated in interval arithmetic.  Prints
a table (status, DNC, best found, gain %, class-mean ranks per layer, the stage that found
it) and writes out/relu_dufm_phase.json (the rows) and out/relu_dufm_phase.png / .pdf (%
below DNC, interval-checked, where refuted; the status otherwise).  ``--replot JSON``
redraws the figure from saved rows without solving.

``--ratio R`` instead sets lam = R lam_thr(K, L) per cell (out/relu_dufm_phase_rR.*).

Budget: at most 8 + 4 x (8 + 8) + 4 = 76 solved starts per cell (continuation rungs at or
above 0.95 of the threshold are skipped), fewer where a stage already refutes.  Measured on
the shared 2-core machine with --jobs 2 (one thread per worker): lam = 0.004 235 s (the
slowest cell, K = 6, L = 3, 72 s), --ratio 0.5 148 s, --ratio 0.99 102 s.
--quick: K in {3, 4}, L in {4, 5}.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

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
    ap.add_argument("--replot", metavar="JSON", default=None,
                    help="redraw the figure from a saved out/relu_dufm_phase*.json (no solving)")
    args = ap.parse_args()
    if args.replot:
        saved = json.loads(Path(args.replot).read_text())
        print("wrote", *draw_phase(saved["rows"], saved["lam"], Path(args.replot).with_suffix("")))
        return
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
    out = Path("out")
    out.mkdir(exist_ok=True)
    stem = "relu_dufm_phase" if args.ratio is None else f"relu_dufm_phase_r{args.ratio:g}"
    (out / f"{stem}.json").write_text(json.dumps({"lam": lam, "rows": rows}, default=float))
    paths = draw_phase(rows, lam, out / stem)
    print(f"\nwrote out/{stem}.json, {', '.join(str(p) for p in paths)}; "
          f"{time.time() - t0:.0f} s")


def draw_phase(rows: list[dict], lam: str, path: Path) -> list[Path]:
    """The (K, L) phase diagram: each cell is coloured by the % below DNC of the
    interval-checked lower point where DNC is refuted, grey where it is not (the status is
    written in the cell: "inc." inconclusive, "cert." certified); a thick frame marks the
    cells where the papers expect low rank to win."""
    import matplotlib
    from matplotlib.colors import Normalize
    from matplotlib.patches import Patch, Rectangle

    from ncproofs import plotstyle

    Ks = sorted({r["K"] for r in rows})
    Ls = sorted({r["L"] for r in rows})
    cells = {(r["K"], r["L"]): r for r in rows}
    gains = [r["gain"] for r in rows if r["status"] == "refuted"]
    norm = Normalize(0, max(gains + [1.0]))
    cmap = matplotlib.colormaps[plotstyle.SEQUENTIAL_CMAP]
    fig, ax = plotstyle.figure(width=plotstyle.COLUMN_WIDTH, height=3.0)
    for i, K in enumerate(Ks):
        for j, L in enumerate(Ls):
            r = cells.get((K, L))
            if r is None:
                continue
            refuted = r["status"] == "refuted"
            color = cmap(norm(r["gain"])) if refuted else "#D9D9D9"
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=color,
                                   edgecolor="white", lw=1.5))
            if refuted:
                text = f"{r['gain']:.1f}"
                dark = norm(r["gain"]) < 0.55  # cividis is dark at the low end
                text_color = "white" if dark else "black"
            else:
                text = {"certified": "cert.", "inconclusive": "inc."}.get(r["status"],
                                                                         r["status"][:5])
                text_color = "black"
            ax.text(j, i, text, ha="center", va="center", color=text_color, fontsize=8)
            if papers_regime(K, L) == "low rank":
                ax.add_patch(Rectangle((j - 0.44, i - 0.44), 0.88, 0.88, fill=False,
                                       edgecolor=plotstyle.OKABE_ITO["vermillion"], lw=1.4))
    ax.set_xlim(-0.5, len(Ls) - 0.5)
    ax.set_ylim(-0.5, len(Ks) - 0.5)
    ax.set_xticks(range(len(Ls)), [str(L) for L in Ls])
    ax.set_yticks(range(len(Ks)), [str(K) for K in Ks])
    ax.grid(False)
    ax.set_xlabel(plotstyle.symbol("L"))
    ax.set_ylabel(r"classes $K$")
    lam_text = (rf"$\lambda = {float(lam):g}$" if not str(lam).startswith("ratio=")
                else rf"$\lambda = {lam[6:]}\,\lambda_{{\rm thr}}(K, L)$")
    ax.set_title(rf"deep ReLU UFM, {lam_text}, $n = 1$, $d = K$")
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02)
    bar.set_label("% below DNC (refuted, interval-checked)")
    ax.legend(handles=[Patch(facecolor="#D9D9D9", label="DNC not beaten"),
                       Patch(facecolor="none", edgecolor=plotstyle.OKABE_ITO["vermillion"],
                             lw=1.4, label="papers: low rank")],
              loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    return plotstyle.save(fig, path)


if __name__ == "__main__":
    main()
