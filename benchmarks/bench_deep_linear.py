"""Benchmark: our deep-linear solver vs Dang et al.'s training recipe, in one run.

    python benchmarks/bench_deep_linear.py                 # L = 1, 3 (default)
    python benchmarks/bench_deep_linear.py --depths 1,3,6 --steps 30000

Problem: Dang et al.'s balanced setting, K = 4, n = 100, d = 64, lam_W = lam_H = 5e-4, MSE,
bias-free (deep-linear-mse).  Both methods start from the same N(0, 0.1^2) weights.

* their recipe: full-batch SGD, momentum 0.9, lr 0.1, 30,000 steps, on the full problem
  (H with one column per sample), :func:`ncproofs.solve.deep.train_sgd`;
* ours: :func:`ncproofs.solve.deep.solve_deep` with variable projection (H and b eliminated
  in closed form as a ridge solution), batched L-BFGS + Newton-CG polish, one start.

Both final points are evaluated with the same function in numpy extended precision
(long double) and compared with the certified optimum f* of deep-linear-mse (rigorous
lower and upper bounds, relative gap <= 1e-9; the closed form to 30 digits).  Timings are
wall-clock on the same machine in the same process, torch with one thread (on our shared
2-core machines two threads contend), after a warm-up call of each method.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ncproofs.solve.deep import deep_objective, random_init, solve_deep, train_sgd
from ncproofs.theorems.base import get_theorem

K, N_PER, D, LAM = 4, 100, 64, 5e-4


def value_longdouble(point: dict[str, np.ndarray], L: int, counts: list[int]) -> float:
    """f at a point in numpy long double; H has N columns or K (class means, weighted)."""
    ld = np.longdouble
    X = point["H"].astype(ld)
    m = X.shape[1]
    w = np.ones(m, dtype=ld) if m == sum(counts) else np.array(counts, dtype=ld)
    y = np.repeat(np.arange(K), counts) if m == sum(counts) else np.arange(K)
    for l in range(1, L + 1):
        X = point[f"W{l}"].astype(ld) @ X
    Y = np.eye(K, dtype=ld)[:, y]
    N = ld(sum(counts))
    data = (((X - Y) ** 2).sum(axis=0) * w).sum() / (2 * N)
    reg = sum((point[f"W{l}"].astype(ld) ** 2).sum() for l in range(1, L + 1)) * ld(LAM) / 2
    reg += ((point["H"].astype(ld) ** 2).sum(axis=0) * w).sum() * ld(LAM) / 2
    return data + reg


def run(L: int, steps: int, seed: int) -> dict:
    theorem = get_theorem("deep-linear-mse")
    spec = theorem.spec({"K": K, "n": N_PER, "d": D, "lam_W": str(LAM), "lam_H": str(LAM),
                         "L": L})
    closed = theorem.closed_form(spec)
    cert = theorem.certify(spec, closed)
    f_star = np.longdouble(str(closed.objective.evalf(30)))
    counts = [N_PER] * K
    shapes = {f"W{l}": (D, D) for l in range(1, L)} | {f"W{L}": (K, D), "H": (D, K * N_PER)}
    init = random_init(shapes, 1, seed, torch.device("cpu"), scale=0.1)

    full = deep_objective("mse", counts, [LAM] * L, LAM)
    point, _, t_sgd = train_sgd(full, init, lr=0.1, momentum=0.9, steps=steps)
    sgd_point = {k: v[0].numpy() for k, v in point.items()}
    gap_sgd = value_longdouble(sgd_point, L, counts) - f_star

    t0 = time.perf_counter()
    res = solve_deep("mse", counts, D, [LAM] * L, LAM, starts=1, device="cpu", init=init,
                     features="eliminate")
    t_ours = time.perf_counter() - t0
    gap_ours = value_longdouble(res.best_point(), L, counts) - f_star
    return {"L": L, "f_star": float(f_star), "cert": cert.status, "cert_gap": cert.gap,
            "t_sgd": t_sgd, "gap_sgd": float(gap_sgd), "t_ours": t_ours,
            "gap_ours": float(gap_ours), "iters": res.result.iterations,
            "grad": float(res.result.grad_norms[0])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depths", default="1,3", help="comma-separated L values")
    ap.add_argument("--steps", type=int, default=30000, help="SGD steps of the recipe")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # warm-up of both code paths (first-call costs of torch kernels are not the method's)
    run(1, 10, args.seed + 1)
    print(f"deep-linear-mse, K={K} n={N_PER} d={D} lam={LAM}, bias-free; torch "
          f"{torch.__version__}, {args.threads} thread(s); recipe = SGD lr 0.1 momentum 0.9 "
          f"{args.steps} steps\n")
    head = (f"{'L':>2} {'f* (certified)':>20} {'recipe s':>9} {'recipe gap':>11} "
            f"{'ours s':>8} {'ours gap':>11} {'iters':>5} {'speed-up':>9}")
    print(head)
    print("-" * len(head))
    for L in [int(x) for x in args.depths.split(",")]:
        r = run(L, args.steps, args.seed)
        print(f"{L:>2} {r['f_star']:>20.17g} {r['t_sgd']:>9.2f} {r['gap_sgd']:>11.2e} "
              f"{r['t_ours']:>8.3f} {r['gap_ours']:>11.2e} {r['iters']:>5} "
              f"{r['t_sgd'] / r['t_ours']:>8.0f}x   (certificate {r['cert']}, "
              f"gap {r['cert_gap']:.1e})")
    print("\ngap = f(final point) - f*, both evaluated in long double; goal: speed-up >= 50x "
          "and |ours gap| <= |recipe gap|")


if __name__ == "__main__":
    main()
