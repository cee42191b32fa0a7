"""Zhu et al. (2021), CE unconstrained-features model: derivation, certified table, numerics.

Run:  python derivations/ufm_ce.py [--latex] [--device cpu|cuda|auto]

Theory (Theorem 3.1 of the paper, in our convention, docs/conventions.md): with
t = sqrt(n lam_W lam_H), the global minimizers are a simplex ETF with class-mean logit
margin a* = log(1/t - (K - 1)) when K t < 1, and W = H = 0 (f* = log K) when K t >= 1.
For each K in {3, 4, 10} and weight decays on both sides of the threshold this script
prints the closed form, the rigorous certificate (lower/upper bounds, gap) and the
PyTorch solve of the full problem from random starts, side by side (PEPit style).
"""

from __future__ import annotations

import argparse
import math

from ncproofs.pipeline import verify
from ncproofs.report import latex_table, summary_table
from ncproofs.theorems import get_theorem

N_PER_CLASS = 5


def grid():
    """K in {3, 4, 10}; lam_W = lam_H = lam with K t = K sqrt(n) lam in {0.2, 0.9, 1.1, 2}."""
    for K in (3, 4, 10):
        for kt in (0.2, 0.9, 1.1, 2.0):
            lam = kt / (K * math.sqrt(N_PER_CLASS))
            yield {"K": K, "n": N_PER_CLASS, "d": K, "lam_W": f"{lam:.6g}",
                   "lam_H": f"{lam:.6g}", "lam_b": "1e-3"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latex", action="store_true", help="also print a LaTeX table")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--starts", type=int, default=4)
    args = parser.parse_args()

    theorem = get_theorem("ufm-ce")
    print(f"{theorem.title}\n{theorem.citation}\n")
    print("Derivation (symbolic K, t):")
    for step in theorem.derive_general():
        print(step.text())
    print()
    reports = [verify("ufm-ce", params, device=args.device, starts=args.starts,
                      landscape=False) for params in grid()]
    print(summary_table(reports))
    worst = max(abs(r["verdict"].get("numeric_minus_closed_form", 0.0)) for r in reports)
    certified = sum(r["certificate"]["status"] == "certified" for r in reports)
    print(f"\n{certified}/{len(reports)} certified; max |numeric - closed form| = {worst:.2e}")
    if args.latex:
        print()
        print(latex_table(reports))


if __name__ == "__main__":
    main()
