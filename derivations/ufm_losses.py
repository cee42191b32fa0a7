"""Every loss and imbalance of the plain model: derivations, certificates, numerics, pictures.

Run:  python derivations/ufm_losses.py [--out DIR] [--no-plots | --replot] [--ce-minority]

Theorems (docs/losses.md): ufm-mse (three bias modes), ufm-ls, ufm-focal,
ufm-mse-imbalanced, ufm-ce-imbalanced.  For each, the script prints the closed form (or
the certified optimum), the rigorous certificate and the torch solve side by side, then
saves (into DIR, default out/; the numbers behind each figure as DIR/<name>.json, redrawn
without solving by --replot):

* ufm_mse_transition.png / .pdf  -- eigenvalues of the class-mean logits, the bias and f* of
  ufm-mse against lam_b: the simplex ETF (y = 0) until lam_b = kappa/(1-kappa), then
  between the ETF and the orthogonal frame; closed form (lines) vs torch (dots);
* ufm_mse_imbalanced.png / .pdf  -- orthogonal lengths |w_k| of ufm-mse-imbalanced against the
  imbalance ratio R (closed form lines, torch dots) and the minority-collapse threshold
  R* (N^2 lam_W lam_H = n_minor) against the weight decay.
* with --ce-minority: the CE minority-collapse threshold (bisection over certified optima
  vs the exact ratio R* = (1/sqrt(n_minor lam_W lam_H) - K_B)/K_A), about 30 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np
import sympy as sp

from ncproofs import plotstyle
from ncproofs.pipeline import verify
from ncproofs.report import summary_table
from ncproofs.theorems import get_theorem
from ncproofs.theorems.ufm_mse import balanced_mse_solution

CASES = {
    "ufm-mse": [
        {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "bias": "false"},
        {"K": 4, "n": 3, "d": 3, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "0"},
        {"K": 4, "n": 3, "d": 4, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "0.01"},
        {"K": 4, "n": 3, "d": 4, "lam_W": "3e-3", "lam_H": "7e-3", "lam_b": "1"},
    ],
    "ufm-ls": [
        {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "alpha": a}
        for a in ("0", "0.1", "0.3", "0.6")
    ],
    "ufm-focal": [
        {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3", "gamma": g}
        for g in ("0", "1", "2", "5")
    ] + [{"K": 20, "n": 1, "d": 19, "lam_W": lam, "lam_H": lam, "gamma": "3",
          "bias": "false"} for lam in ("0.06319", "0.06322")],
    "ufm-mse-imbalanced": [
        {"K": 3, "n": "6,3,1", "d": 4, "lam_W": "2e-3", "lam_H": "5e-3"},
        {"K": 4, "n": "8,4,2,1", "d": 3, "lam_W": "0.08", "lam_H": "0.08"},
    ],
    "ufm-ce-imbalanced": [
        {"K": 3, "n": "6,3,1", "d": 3, "lam_W": "5e-3", "lam_H": "5e-3", "bias": "false"},
        {"K": 4, "n": "10,10,2,2", "d": 4, "lam_W": "2e-3", "lam_H": "3e-3", "lam_b": "1e-2"},
    ],
}


def tables(device: str) -> None:
    for theorem_id, cases in CASES.items():
        th = get_theorem(theorem_id)
        print(f"\n=== {theorem_id}: {th.citation}")
        for step in th.derive_general():
            print(step.text())
        reports = [verify(theorem_id, p, device=device, starts=4, landscape=False)
                   for p in cases]
        print(summary_table(reports))
        worst = max(abs(r["verdict"].get("numeric_minus_closed_form", 0.0)) for r in reports)
        print(f"max |numeric - closed form| = {worst:.2e}")


def mse_transition_data(device: str) -> dict:
    """ufm-mse against lam_b (K = 4, n = 3, lam_W = 3e-3, lam_H = 7e-3): the eigenvalues x
    (on 1-perp) and y (on 1) of the class-mean logits, K b and f* in closed form on a grid,
    and f* of torch on the full (W, H, b) problem at 7 points."""
    K, n, lam_W, lam_H = 4, 3, sp.Rational(3, 1000), sp.Rational(7, 1000)
    t = sp.sqrt(n * lam_W * lam_H)
    grid = np.logspace(-3, 2, 200)
    sols = [balanced_mse_solution(K, t, True, sp.nsimplify(x, rational=True)) for x in grid]
    th = get_theorem("ufm-mse")
    pts = np.logspace(-3, 2, 7)
    num = []
    for x in pts:
        spec = th.spec({"K": K, "n": n, "d": K, "lam_W": "3e-3", "lam_H": "7e-3",
                        "lam_b": f"{x:.6g}"})
        num.append(th.solve(spec, device=device, starts=3).summary["objective"])
    return {"K": K, "kappa": float(K * t), "lam_b": grid.tolist(),
            "x": [float(s.x) for s in sols], "y": [float(s.y) for s in sols],
            "Kb": [K * float(s.beta) for s in sols], "value": [float(s.value) for s in sols],
            "torch_lam_b": pts.tolist(), "torch_value": num}


def plot_mse_transition(out: str, device: str) -> str:
    data = mse_transition_data(device)
    save_data(data, os.path.join(out, "ufm_mse_transition.json"))
    return draw_mse_transition(data, out)


def draw_mse_transition(data: dict, out: str) -> str:
    """(a) x, y and K b against lam_b; (b) f*, closed form (line) vs torch (dots)."""
    grid = data["lam_b"]
    fig, ax = plotstyle.figure(2, 1, height=4.4, sharex=True)
    kappa = data["kappa"]
    switch = kappa / (1 - kappa)
    ax[0].semilogx(grid, data["x"], label=r"$x$ (on $\mathbf{1}^\perp$)")
    ax[0].semilogx(grid, data["y"], label=r"$y$ (on $\mathbf{1}$)")
    ax[0].semilogx(grid, data["Kb"], label=r"$K b$")
    ax[0].axvline(switch, ls=":", c="k", lw=1, label=r"$\lambda_b = \kappa/(1-\kappa)$")
    ax[0].set_ylabel("eigenvalue / bias")
    ax[0].set_title(r"(a) ETF ($y = 0$) $\to$ orthogonal frame ($y \to x$)")
    ax[0].legend(loc="center right")
    ax[1].semilogx(grid, data["value"], label=r"closed form $f^\star$")
    ax[1].semilogx(data["torch_lam_b"], data["torch_value"], "o", mfc="none",
                   label=r"torch (full $W, H, b$)")
    ax[1].axvline(switch, ls=":", c="k", lw=1)
    ax[1].set_xlabel(plotstyle.symbol("lam_b"))
    ax[1].set_ylabel(plotstyle.symbol("f*"))
    ax[1].set_title(r"(b) $f^\star$, $K = 4$, $n = 3$, $\lambda_W = 3\cdot10^{-3}$, "
                    r"$\lambda_H = 7\cdot10^{-3}$")
    ax[1].legend(loc="lower right")
    return str(plotstyle.save(fig, os.path.join(out, "ufm_mse_transition"))[0])


def mse_imbalanced_data(device: str) -> dict:
    """ufm-mse-imbalanced: |w_k| of the majority and minority classes against the
    imbalance ratio R (closed form on a grid, torch at 7 ratios) and the minority-collapse
    ratio R* (N^2 lam_W lam_H = n_minor) against the weight decay."""
    n_major, lam = 100, 2e-3  # two majority classes of 100, two minority of 100/R
    s = lam

    def lengths(R: float) -> list[float]:
        counts = [n_major, n_major, n_major / R, n_major / R]
        N = sum(counts)
        return [math.sqrt(max(math.sqrt(c) - N * s, 0.0)) for c in counts]  # c = 1 here

    Rs = np.logspace(0, 3, 300)
    th = get_theorem("ufm-mse-imbalanced")
    R_pts = [1, 2, 5, 10, 20, 50, 100]
    num_major, num_minor = [], []
    for R in R_pts:
        nm = max(1, round(n_major / R))
        spec = th.spec({"K": 4, "n": f"{n_major},{n_major},{nm},{nm}", "d": 4,
                        "lam_W": str(lam), "lam_H": str(lam)})
        W = th.solve(spec, device=device, starts=2).point["W"]
        norms = np.linalg.norm(W, axis=1)
        num_major.append(norms[:2].mean())
        num_minor.append(norms[2:].mean())

    def threshold(lam_: float) -> float:
        # minority dies iff N^2 lam^2 >= n_major/R, N = 2 n_major (1 + 1/R): bisection in R
        lo, hi = 1.0, 1e7
        if (4 * n_major**2 * lam_**2) >= n_major:
            return 1.0
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            N = 2 * n_major * (1 + 1 / mid)
            lo, hi = (lo, mid) if N * N * lam_**2 >= n_major / mid else (mid, hi)
        return hi

    L = np.array([lengths(R) for R in Rs])
    lams = np.logspace(-3.5, -2.2, 100)
    return {"n_major": n_major, "lam": lam, "R": Rs.tolist(), "major": L[:, 0].tolist(),
            "minor": L[:, 2].tolist(), "torch_R": R_pts, "torch_major": num_major,
            "torch_minor": num_minor, "threshold": threshold(lam), "lams": lams.tolist(),
            "R_star": [threshold(x) for x in lams]}


def plot_mse_imbalanced(out: str, device: str) -> str:
    data = mse_imbalanced_data(device)
    save_data(data, os.path.join(out, "ufm_mse_imbalanced.json"))
    return draw_mse_imbalanced(data, out)


def draw_mse_imbalanced(data: dict, out: str) -> str:
    """(a) |w_k| against R, closed form (lines) and torch (dots); (b) R* against lam."""
    from matplotlib.ticker import NullFormatter

    n_major, lam = data["n_major"], data["lam"]
    fig, ax = plotstyle.figure(2, 1, height=4.6)
    blue, orange = plotstyle.PALETTE[0], plotstyle.PALETTE[1]
    ax[0].semilogx(data["R"], data["major"], color=blue, marker="o", mfc="none",
                   markevery=[], label="majority")
    ax[0].semilogx(data["R"], data["minor"], color=orange, marker="s", mfc="none",
                   markevery=[], label="minority")
    ax[0].semilogx(data["torch_R"], data["torch_major"], "o", mfc="none", color=blue)
    ax[0].semilogx(data["torch_R"], data["torch_minor"], "s", mfc="none", color=orange)
    ax[0].axvline(data["threshold"], ls=":", c="k", lw=1,
                  label=r"$N^2\lambda_W\lambda_H = n_{\rm minor}$")
    ax[0].text(0.88, 0.62, "lines: closed form\nmarkers: torch\n(integer $n$)",
               transform=ax[0].transAxes, ha="right", va="center")
    ax[0].set_xlabel(r"imbalance ratio $R = n_{\rm major}/n_{\rm minor}$")
    ax[0].set_ylabel(r"$\|w_k\|$")
    ax[0].set_title(rf"(a) $n = ({n_major}, {n_major}, {n_major}/R, {n_major}/R)$, "
                    rf"$\lambda_W = \lambda_H = {lam:g}$")
    ax[0].legend(loc="lower left", handlelength=2.5)
    ax[1].loglog(data["lams"], data["R_star"], label=r"$R^\star(\lambda)$")
    lams_lo, lams_hi = min(data["lams"]), max(data["lams"])
    # explicit decade-and-3 ticks: matplotlib's minor labels overlapped on this short range
    ticks = [t for t in (5e-4, 1e-3, 2e-3, 5e-3) if lams_lo <= t <= lams_hi]
    ax[1].set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax[1].xaxis.set_minor_formatter(NullFormatter())
    ax[1].set_xlabel(r"$\lambda_W = \lambda_H$")
    ax[1].set_ylabel(r"minority-collapse ratio $R^\star$")
    ax[1].set_title(r"(b) minority collapse iff $N^2\lambda_W\lambda_H \geq n_{\rm minor}$")
    return str(plotstyle.save(fig, os.path.join(out, "ufm_mse_imbalanced"))[0])


def save_data(data: dict, path: str) -> None:
    """The numbers behind a figure, so that ``--replot`` redraws it without solving."""
    with open(path, "w") as f:
        json.dump(data, f)


CE_MINORITY = [(2, 2, "5e-3"), (2, 2, "1e-3"), (5, 5, "5e-3"), (5, 5, "1e-3")]


def ce_minority_table(n_minor: int = 3) -> None:
    """Minority-collapse threshold of ufm-ce-imbalanced: integer bisection on n_major
    (n_minor fixed) over certified optima, against the exact KKT ratio."""
    from ncproofs.theorems.ufm_ce_imbalanced import minority_collapse_threshold

    print(f"\n=== ufm-ce-imbalanced minority collapse (n_minor = {n_minor}, lam_W = lam_H, "
          "bias=false, d = K; collapse test: minority row spread < 1e-6)")
    print("| K_A+K_B | lam | bracket n_major | bracket R | exact R* | in bracket | evals "
          "(certified) | max gap | spread at ends | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for KA, KB, lam in CE_MINORITY:
        r = minority_collapse_threshold(KA, KB, n_minor, lam, lam)
        ev = r["evaluations"]
        if r.get("bracket") is None:
            print(f"| {KA}+{KB} | {lam} | - | - | {r['exact_R']:.4f} | {r['reason']} |")
            continue
        ends = {e["n_major"]: e for e in ev}
        lo, hi = r["bracket_n_major"]
        certified = sum(e["status"] == "certified" for e in ev)
        print(f"| {KA}+{KB} | {lam} | [{lo}, {hi}] | [{r['bracket'][0]:.4f}, "
              f"{r['bracket'][1]:.4f}] | {r['exact_R']:.4f} | {r['exact_in_bracket']} | "
              f"{len(ev)} ({certified}) | {max(e['gap'] for e in ev):.1e} | "
              f"{ends[lo]['spread']:.1e} / {ends[hi]['spread']:.1e} | "
              f"{sum(e['seconds'] for e in ev):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the PNGs (default out/)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--replot", action="store_true",
                        help="redraw the figures from DIR/*.json (no tables, no solving)")
    parser.add_argument("--no-tables", action="store_true")
    parser.add_argument("--ce-minority", action="store_true",
                        help="CE minority-collapse threshold table (about 30 s)")
    args = parser.parse_args()
    if not args.no_tables and not args.replot:
        tables(args.device)
    if args.replot:  # redraw from the saved numbers (out/*.json), no solving
        for name, draw in (("ufm_mse_transition", draw_mse_transition),
                           ("ufm_mse_imbalanced", draw_mse_imbalanced)):
            with open(os.path.join(args.out, name + ".json")) as f:
                print("saved", draw(json.load(f), args.out))
    elif not args.no_plots:
        os.makedirs(args.out, exist_ok=True)
        print("saved", plot_mse_transition(args.out, args.device))
        print("saved", plot_mse_imbalanced(args.out, args.device))
    if args.ce_minority:
        ce_minority_table()

if __name__ == "__main__":
    main()
