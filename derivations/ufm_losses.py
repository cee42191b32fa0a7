"""Every loss and imbalance of the plain model: derivations, certificates, numerics, pictures.

Run:  python derivations/ufm_losses.py [--out DIR] [--no-plots] [--ce-minority]

Theorems (docs/losses.md): ufm-mse (three bias modes), ufm-ls, ufm-focal,
ufm-mse-imbalanced, ufm-ce-imbalanced.  For each, the script prints the closed form (or
the certified optimum), the rigorous certificate and the torch solve side by side, then
saves (into DIR, default out/):

* ufm_mse_transition.png  -- eigenvalues of the class-mean logits, the bias and f* of
  ufm-mse against lam_b: the simplex ETF (y = 0) until lam_b = kappa/(1-kappa), then
  between the ETF and the orthogonal frame; closed form (lines) vs torch (dots);
* ufm_mse_imbalanced.png  -- orthogonal lengths |w_k| of ufm-mse-imbalanced against the
  imbalance ratio R (closed form lines, torch dots) and the minority-collapse threshold
  R* (N^2 lam_W lam_H = n_minor) against the weight decay.
* with --ce-minority: the CE minority-collapse threshold (bisection over certified optima
  vs the exact ratio R* = (1/sqrt(n_minor lam_W lam_H) - K_B)/K_A), about 30 s.
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np
import sympy as sp

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


def plot_mse_transition(out: str, device: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    K, n, lam_W, lam_H = 4, 3, sp.Rational(3, 1000), sp.Rational(7, 1000)
    t = sp.sqrt(n * lam_W * lam_H)
    kappa = float(K * t)
    grid = np.logspace(-3, 2, 200)
    sols = [balanced_mse_solution(K, t, True, sp.nsimplify(x, rational=True)) for x in grid]
    th = get_theorem("ufm-mse")
    pts = np.logspace(-3, 2, 7)
    num = []
    for x in pts:
        spec = th.spec({"K": K, "n": n, "d": K, "lam_W": "3e-3", "lam_H": "7e-3",
                        "lam_b": f"{x:.6g}"})
        num.append(th.solve(spec, device=device, starts=3).summary["objective"])
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].semilogx(grid, [float(s.x) for s in sols], label="x: eigenvalue on 1-perp (ETF part)")
    ax[0].semilogx(grid, [float(s.y) for s in sols], label="y: eigenvalue of M on 1")
    ax[0].semilogx(grid, [K * float(s.beta) for s in sols], label="K b")
    ax[0].axvline(kappa / (1 - kappa), ls=":", c="k", label="lam_b = kappa/(1-kappa)")
    ax[0].set_xlabel("lam_b")
    ax[0].set_title("ufm-mse: ETF (y = 0) -> orthogonal frame (y -> x)")
    ax[0].legend(fontsize=8)
    ax[1].semilogx(grid, [float(s.value) for s in sols], label="closed form f*")
    ax[1].semilogx(pts, num, "o", label="torch (full W, H, b)")
    ax[1].set_xlabel("lam_b")
    ax[1].set_title(f"f* (K={K}, n={n}, lam_W=3e-3, lam_H=7e-3)")
    ax[1].legend(fontsize=8)
    path = os.path.join(out, "ufm_mse_transition.png")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_mse_imbalanced(out: str, device: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    L = np.array([lengths(R) for R in Rs])
    ax[0].semilogx(Rs, L[:, 0], label="|w| majority (closed form)")
    ax[0].semilogx(Rs, L[:, 2], label="|w| minority (closed form)")
    ax[0].semilogx(R_pts, num_major, "o", label="torch, majority")
    ax[0].semilogx(R_pts, num_minor, "s", label="torch, minority (integer n)")
    ax[0].axvline(threshold(lam), ls=":", c="k", label="N^2 lam_W lam_H = n_minor")
    ax[0].set_xlabel("imbalance ratio R = n_major / n_minor")
    ax[0].set_title(f"ufm-mse-imbalanced: n = ({n_major},{n_major},{n_major}/R,"
                    f"{n_major}/R), lam = {lam}")
    ax[0].legend(fontsize=8)
    lams = np.logspace(-3.5, -2.2, 100)
    ax[1].loglog(lams, [threshold(x) for x in lams])
    ax[1].set_xlabel("lam_W = lam_H")
    ax[1].set_ylabel("minority-collapse ratio R*")
    ax[1].set_title("threshold N^2 lam_W lam_H = n_minor")
    path = os.path.join(out, "ufm_mse_imbalanced.png")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


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
    parser.add_argument("--no-tables", action="store_true")
    parser.add_argument("--ce-minority", action="store_true",
                        help="CE minority-collapse threshold table (about 30 s)")
    args = parser.parse_args()
    if not args.no_tables:
        tables(args.device)
    if not args.no_plots:
        os.makedirs(args.out, exist_ok=True)
        print("saved", plot_mse_transition(args.out, args.device))
        print("saved", plot_mse_imbalanced(args.out, args.device))
    if args.ce_minority:
        ce_minority_table()

if __name__ == "__main__":
    main()
