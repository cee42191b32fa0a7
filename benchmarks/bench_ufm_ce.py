"""Benchmark for ufm-ce (run: `python benchmarks/bench_ufm_ce.py [--quick]`).

1. Certification time of `verify ufm-ce` (closed form + rigorous certificate; the numeric
   solve timed separately) for K = 10, 100, 1000.  Goal: K = 1000 certified in < 10 s on 2
   CPU cores -- the symmetric dual needs no SDP, the upper bound is one interval matrix
   product.
2. Our torch solver against the papers' training recipe (full-batch gradient descent with
   momentum 0.9) on the same problem, each run until its objective is within 1e-8 of the
   *certified* optimum; the baseline's learning rate is the best of a small grid, so the
   ratio is not inflated by a badly tuned baseline.  Goal: >= 20x.
Everything is measured in this run; nothing is copied from elsewhere.
"""

from __future__ import annotations

import argparse
import time

import torch

from ncproofs.solve.lbfgs import cpu_threads_for, minimize_multistart
from ncproofs.solve.ufm import UFMObjective, labels_of, random_init
from ncproofs.theorems import get_theorem

TH = get_theorem("ufm-ce")


def time_certification(K: int, n: int, solve: bool) -> dict:
    spec = TH.spec({"K": K, "n": n, "d": K, "lam_W": "1e-4", "lam_H": "1e-4"})
    t0 = time.perf_counter()
    closed = TH.closed_form(spec)
    t1 = time.perf_counter()
    cert = TH.certify(spec, closed)
    t2 = time.perf_counter()
    out = {"K": K, "n": n, "derive_s": t1 - t0, "certify_s": t2 - t1, "status": cert.status,
           "gap": cert.gap, "total_certified_s": t2 - t0}
    if solve:
        num = TH.solve(spec, device="cpu", starts=1, seed=0)
        out["solve_s"] = num.summary["seconds"]
        out["solve_minus_closed"] = num.summary["objective"] - float(closed.objective)
    return out


def gd_momentum_time(objective, init, f_star, lr, gap=1e-8, max_steps=200_000):
    """Full-batch heavy-ball GD (momentum 0.9), the papers' recipe; time to reach gap."""
    params = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    opt = torch.optim.SGD(list(params.values()), lr=lr, momentum=0.9)
    numel = sum(v.numel() for v in params.values())
    with cpu_threads_for(numel, torch.device("cpu")):  # same thread policy as our solver
        return _gd_loop(objective, params, opt, f_star, gap, max_steps)


def _gd_loop(objective, params, opt, f_star, gap, max_steps):
    start = time.perf_counter()
    for step in range(1, max_steps + 1):
        opt.zero_grad()
        value = objective(params).sum()
        if float(value.detach()) - f_star <= gap:
            return time.perf_counter() - start, step, float(value.detach()) - f_star
        if not torch.isfinite(value):
            return float("inf"), step, float("inf")
        value.backward()
        opt.step()
    return float("inf"), max_steps, float(value.detach()) - f_star


def lbfgs_time(objective, init, f_star, gap=1e-8):
    """Our solver, stopped (checked every 5 iterations) once within ``gap``."""
    start = time.perf_counter()
    result = minimize_multistart(objective, init, tol=1e-10, chunk=5,
                                 stop_when=lambda v: float(v.max()) - f_star <= gap)
    seconds = time.perf_counter() - start
    return seconds, result.iterations, float(result.values[0]) - f_star


def solver_comparison(K: int, n: int, lam: str, lrs: list[float]) -> dict:
    spec = TH.spec({"K": K, "n": n, "d": K, "lam_W": lam, "lam_H": lam, "bias": "false"})
    f_star = float(TH.closed_form(spec).objective)
    cert = TH.certify(spec, TH.closed_form(spec))
    assert cert.status == "certified"
    objective = UFMObjective(spec, TH.loss(spec), labels_of(spec.n))
    init = random_init(spec, 1, seed=0, device=torch.device("cpu"))
    ours = lbfgs_time(objective, init, f_star)
    runs = [gd_momentum_time(objective, init, f_star, lr) + (lr,) for lr in lrs]
    papers = next(r for r in runs if r[3] == 0.1)
    tuned = min(runs, key=lambda r: r[0])
    return {"K": K, "n": n, "lam": lam, "ours_s": ours[0], "ours_iters": ours[1],
            "ours_gap": ours[2], "papers": papers, "tuned": tuned}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="K = 10, 100 only; one lr")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print("== 1. certification time (closed form + rigorous certificate), d = K, n = 2")
    print(f"{'K':>6} {'derive s':>9} {'certify s':>10} {'total s':>8} {'status':>10} "
          f"{'gap':>9} {'solve s':>8} {'solve-closed':>13}")
    for K in ([10, 100] if args.quick else [10, 100, 1000]):
        r = time_certification(K, 2, solve=K <= 100)
        print(f"{K:6d} {r['derive_s']:9.3f} {r['certify_s']:10.3f} {r['total_certified_s']:8.3f} "
              f"{r['status']:>10} {r['gap']:9.1e} {r.get('solve_s', float('nan')):8.3f} "
              f"{r.get('solve_minus_closed', float('nan')):13.1e}")
    print("\n== 2. time to objective gap <= 1e-8 of the certified optimum (one start, CPU)")
    lrs = [0.1] if args.quick else [0.1, 0.3, 1.0]
    for K, n, lam in [(10, 50, "5e-4"), (10, 10, "1e-3")]:
        r = solver_comparison(K, n, lam, lrs)
        print(f"K={K} n={n} lam={lam}: ours (L-BFGS) {r['ours_s']:.3f} s, {r['ours_iters']} it, "
              f"gap {r['ours_gap']:.1e}")
        for label, (secs, steps, gap, lr) in (("papers' recipe", r["papers"]),
                                               ("best-tuned lr", r["tuned"])):
            print(f"    GD+momentum 0.9, {label} lr={lr}: {secs:.3f} s, {steps} steps, "
                  f"gap {gap:.1e}  -> ratio {secs / r['ours_s']:.1f}x")


if __name__ == "__main__":
    main()
