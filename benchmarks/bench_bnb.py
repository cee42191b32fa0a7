"""Interval branch and bound: boxes per second, time per decided cell, gap left.

    python benchmarks/bench_bnb.py [--seconds 30] [--b-seconds 300] [--K 2,3] [--quick]

Part 1 (classical functions, K = 2 reduced problem): the full engine against a baseline
measured in the same run, the same engine restricted to first-order bounds (natural
extension + mean-value form, no interval Hessian, no convexity rule): boxes, seconds,
boxes per second and the ratio.

Part 2 (every deep-linear-ce cell K in {2, 3} x L in {2, 3, 4} x lam in {5e-4, 1e-3, 5e-3} x
n in {1, 2}): branch and bound on the reduced problem in X with a budget of ``--seconds``
per cell (the baseline): certified (gap <= 1e-9 relative) with its time, or the relative gap
left against the deep-collapse value.  For K = 3 the same cell is then run by the search over
the variational matrix B (ncproofs/certify/schatten_dual.py, budget ``--b-seconds``): its
boxes, seconds and outcome.  K = 4 has no reduced problem in the engine: reported as such.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from scipy.optimize import minimize_scalar  # noqa: E402

from ncproofs.certify.bnb import minimize  # noqa: E402
from ncproofs.certify.bnb_functions import branin_problem, camel_problem  # noqa: E402
from ncproofs.certify.schatten_ce import SchattenCEProblem, schatten_constant  # noqa: E402
from ncproofs.certify.schatten_dual import SchattenDualProblem  # noqa: E402


def deep_candidate(K: int, L: int, n: int, lam: float) -> tuple[float, float]:
    c = (L + 1) / 2 * lam * n ** (1 / (L + 1))
    r = minimize_scalar(lambda a: math.log1p((K - 1) * math.exp(-a))
                        + (K - 1) * c * a ** (2 / (L + 1)),
                        bounds=(1e-9, 60), method="bounded", options={"xatol": 1e-12})
    return (r.fun, r.x) if r.fun < math.log(K) else (math.log(K), 0.0)


def reduced(K: int, L: int, n: int, lam: str) -> tuple[SchattenCEProblem, float]:
    lam_q = Fraction(lam)
    value, a = deep_candidate(K, L, n, float(lam_q))
    C = schatten_constant(L, n, lam_q, lam_q)
    base = SchattenCEProblem(K, Fraction(2, L + 1), C)
    starts = [base.etf_point(a)] if a > 0 else []
    return SchattenCEProblem(K, Fraction(2, L + 1), C, starts=starts), value


def part1(seconds: float) -> None:
    problems = [("six-hump camel", camel_problem()),
                ("Branin", branin_problem()),
                ("reduced deep CE K=2 L=3", reduced(2, 3, 2, "5e-3")[0])]
    print("| problem | engine | boxes | s | boxes/s | gap | time ratio (first-order / full) |")
    print("|---|---|---|---|---|---|---|")
    for name, prob in problems:
        runs = {}
        for label, width in (("first-order", -1.0), ("full", math.inf)):
            res = minimize(prob, max_seconds=seconds, second_order_width=width)
            runs[label] = res
            print(f"| {name} | {label} | {res.boxes} | {res.seconds:.2f} | "
                  f"{res.boxes / max(res.seconds, 1e-9):.0f} | {res.gap:.2e} | "
                  + (f"{runs['first-order'].seconds / max(res.seconds, 1e-9):.2f}x |"
                     if label == "full" else " |"))


def b_search(L: int, n: int, lam: str, seconds: float) -> tuple[str, int, float]:
    """The K = 3 search over B: (outcome, boxes, seconds)."""
    lam_q = Fraction(lam)
    value, a = deep_candidate(3, L, n, float(lam_q))
    C = schatten_constant(L, n, lam_q, lam_q)
    prob = SchattenDualProblem(L, C, value * (1 + 1e-9),
                               starts=[SchattenDualProblem.point_of_scale_for(L, C, a)])
    res = minimize(prob, max_seconds=seconds, rel_gap=5e-10, polish=False)
    low = min(res.lower, value * (1 + 1e-9))
    outcome = ("certified" if low >= value * (1 - 1e-9)
               else f"gap left {100 * (value - low) / value:.3g} %")
    return outcome, res.boxes, res.seconds


def part2(seconds: float, b_seconds: float, Ks: list[int]) -> None:
    print("| K | L | lam | n | deep collapse | search in X: lower | outcome | boxes | boxes/s "
          "| s | search over B (K = 3): outcome | boxes | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for K, L, lam, n in itertools.product(Ks, (2, 3, 4), ("5e-4", "1e-3", "5e-3"), (1, 2)):
        if K not in (2, 3):
            print(f"| {K} | {L} | {lam} | {n} | | | no reduced problem (K >= 4) | | | | | | |")
            continue
        prob, value = reduced(K, L, n, lam)
        t0 = time.perf_counter()
        res = minimize(prob, max_seconds=seconds, rel_gap=1e-9,
                       stop_below=value * (1 - 1e-9), second_order_width=math.inf)
        dt = time.perf_counter() - t0
        if res.upper < value * (1 - 1e-9):
            outcome = f"lower point found ({res.upper:.10f})"
        elif res.converged:
            outcome = "certified"
        else:
            outcome = f"gap left {100 * (value - res.lower) / value:.3g} %"
        b_cols = " | | |"
        if K == 3:
            b_out, b_boxes, b_dt = b_search(L, n, lam, b_seconds)
            b_cols = f" {b_out} | {b_boxes} | {b_dt:.1f} |"
        print(f"| {K} | {L} | {lam} | {n} | {value:.10f} | {res.lower:.10f} | {outcome} | "
              f"{res.boxes} | {res.boxes / max(dt, 1e-9):.0f} | {dt:.1f} |" + b_cols)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="budget per cell")
    ap.add_argument("--b-seconds", type=float, default=300.0,
                    help="budget per K = 3 cell of the search over B")
    ap.add_argument("--K", default="2,3,4")
    ap.add_argument("--quick", action="store_true", help="part 1 only")
    a = ap.parse_args()
    part1(min(a.seconds, 60.0))
    if not a.quick:
        print()
        part2(a.seconds, a.b_seconds, [int(k) for k in a.K.split(",")])


if __name__ == "__main__":
    main()
