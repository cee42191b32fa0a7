"""Reproduce Dang et al. (2023) for deep linear models and the CE conflict, in one command.

    python derivations/deep_linear.py                       # all tables, recipe at L = 1
    python derivations/deep_linear.py --recipe-depths all   # their SGD recipe at every depth
    python derivations/deep_linear.py --only ce             # just the CE table

1. Dang et al.'s balanced MSE setting (K = 4, n = 100, d = 64, lam_W = lam_H = 5e-4, depth
   L = 1..9): exact closed form, certificate, our solver (variable projection, 8 starts)
   and their recipe (full-batch SGD, momentum 0.9, lr 0.1, 30,000 steps, N(0, 0.1^2) init)
   side by side.
2. The same for their imbalanced setting n = [200, 100, 50, 50].
3. CE: deep collapse vs low rank over K in {3, 4, 6, 10}, L in {1, 2, 3, 4} (n = 5,
   d = K, lam = 5e-3), next to Garrod & Keating's prediction (low rank wins for K >= 4 and
   L >= 3, or K >= 6 and L = 2).
"""

from __future__ import annotations

import argparse
import time

import torch

from ncproofs.solve.deep import deep_objective, random_init, solve_deep, train_sgd
from ncproofs.theorems.base import get_theorem


def mse_table(n, depths, recipe_depths, steps: int, starts: int) -> None:
    th = get_theorem("deep-linear-mse")
    K, d, lam = 4, 64, 5e-4
    print(f"\nMSE, bias-free, K={K}, n={n}, d={d}, lam_W=lam_H={lam}")
    head = (f"{'L':>2} {'f* (closed form)':>20} {'x*_k':>28} {'cert':>9} {'cert gap':>8} "
            f"{'ours f - f*':>11} {'ours s':>7} {'recipe f - f*':>13} {'recipe s':>8}")
    print(head)
    print("-" * len(head))
    for L in depths:
        spec = th.spec({"K": K, "n": n, "d": d, "lam_W": str(lam), "lam_H": str(lam), "L": L})
        closed = th.closed_form(spec)
        cert = th.certify(spec, closed)
        f_star = float(closed.objective.evalf(30))
        res = solve_deep("mse", spec.n, d, [lam] * L, lam, starts=starts, device="cpu")
        ours = float(res.values.min()) - f_star
        rec, rec_s = "-", "-"
        if L in recipe_depths:
            full = deep_objective("mse", spec.n, [lam] * L, lam)
            shapes = {f"W{l}": (d, d) for l in range(1, L)} | {f"W{L}": (K, d),
                                                               "H": (d, spec.N)}
            init = random_init(shapes, 1, 0, torch.device("cpu"), scale=0.1)
            _, vals, secs = train_sgd(full, init, steps=steps)
            rec, rec_s = f"{float(vals[0]) - f_star:.2e}", f"{secs:.1f}"
        xs = ",".join(f"{x:.5f}" for x in closed.minimizer["x"])
        print(f"{L:>2} {f_star:>20.16g} {xs:>28} {cert.status:>9} {cert.gap:>8.1e} "
              f"{ours:>11.1e} {res.result.seconds:>7.2f} {rec:>13} {rec_s:>8}")


def ce_table(starts: int) -> None:
    th = get_theorem("deep-linear-ce")
    n, lam = 5, "5e-3"
    print(f"\nCE, balanced, bias-free, n={n}, d=K, lam_W=lam_H={lam}; {starts} random starts")
    head = (f"{'K':>3} {'L':>2} {'G&K predict':>12} {'status':>13} {'deep collapse':>14} "
            f"{'best found':>11} {'gain %':>7} {'ranks (H..W_L)':>16} {'s':>5}")
    print(head)
    print("-" * len(head))
    for K in (3, 4, 6, 10):
        for L in (1, 2, 3, 4):
            t0 = time.perf_counter()
            spec = th.spec({"K": K, "n": n, "d": K, "lam_W": lam, "lam_H": lam, "L": L})
            closed = th.closed_form(spec)
            cert = th.certify(spec, closed, starts=starts)
            predict = "low rank" if (K >= 4 and L >= 3) or (K >= 6 and L == 2) else "collapse"
            search = cert.details["search"]
            gain = cert.details.get("improvement_percent")
            ranks = cert.details.get("ranks")
            print(f"{K:>3} {L:>2} {predict:>12} {cert.status:>13} "
                  f"{float(closed.objective):>14.10f} {search['best_value']:>11.8f} "
                  f"{'-' if gain is None else f'{gain:.2f}':>7} "
                  f"{'-' if ranks is None else ','.join(map(str, ranks)):>16} "
                  f"{time.perf_counter() - t0:>5.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe-depths", default="1",
                    help="depths at which to run the 30,000-step SGD recipe ('all' or 1,3)")
    ap.add_argument("--steps", type=int, default=30000)
    ap.add_argument("--starts", type=int, default=8, help="random starts of our solver")
    ap.add_argument("--ce-starts", type=int, default=24, help="random starts of the CE search")
    ap.add_argument("--only", choices=["mse", "ce"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    depths = list(range(1, 10))
    recipe = depths if args.recipe_depths == "all" else [
        int(x) for x in args.recipe_depths.split(",") if x]
    if args.only in (None, "mse"):
        mse_table(100, depths, recipe, args.steps, args.starts)
        mse_table("200,100,50,50", depths, recipe, args.steps, args.starts)
    if args.only in (None, "ce"):
        ce_table(args.ce_starts)


if __name__ == "__main__":
    main()
