"""Deep linear CE frontier: deep collapse vs low rank for K in {2, 3, 4}, L in {2, 3, 4},
lam_W = lam_H in {5e-4, 1e-3, 5e-3}, n in {1, 2}, d = K (one command, the table of
docs/deep_linear.md).

Each cell runs ``deep-linear-ce``'s certificate: the deep-collapse candidate (rigorous 1-D
minimization), a random-start search of the full problem (refutation), the 1-D lower bound,
and the interval branch and bound on the reduced problem: for K = 2 in X (certify or refute
within ``--bnb-seconds``), for K = 3 over the variational matrix B (lemmas L16-L17; at least
``NCPROOFS_DUAL_BNB_SECONDS``, default 300 s).  Garrod & Keating's prediction: low rank
wins for K >= 4, L >= 3 or K >= 6, L = 2.

    python derivations/deep_linear_ce_frontier.py [--jobs 2] [--bnb-seconds 60] [--starts 24]
        [--K 2,3,4] [--out frontier.json] [--proof-dir proofs]

With ``--proof-dir`` every certified cell also writes its proof file there, so that
``ncproofs check proofs/*.json`` re-verifies the whole table without the engines.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor


def prediction(K: int, L: int) -> str:
    return "low rank" if (K >= 4 and L >= 3) or (K >= 6 and L == 2) else "collapse"


def run_cell(args: tuple[int, int, str, int, int, float, str | None]) -> dict:
    K, L, lam, n, starts, bnb_seconds, proof_dir = args
    import torch

    from ncproofs.proof import NoProofFile, write_proof_file
    from ncproofs.theorems.base import get_theorem

    torch.set_num_threads(1)
    th = get_theorem("deep-linear-ce")
    params = {"K": K, "n": n, "d": K, "lam_W": lam, "lam_H": lam, "L": L}
    spec = th.spec(params)
    t0 = time.perf_counter()
    closed = th.closed_form(spec)
    cert = th.certify(spec, closed, starts=starts, bnb_seconds=bnb_seconds)
    seconds = time.perf_counter() - t0
    proof = None
    if proof_dir and cert.status == "certified":
        proof = f"{proof_dir}/deep-linear-ce_K{K}_L{L}_lam{lam}_n{n}.json"
        try:
            write_proof_file(proof, "deep-linear-ce", params, closed, cert)
        except NoProofFile as exc:
            proof = f"none: {exc}"
    bnb = cert.details.get("branch_and_bound") or {}
    cand = float(closed.objective)
    lb = cert.lower_bound
    return {
        "K": K, "L": L, "lam": lam, "n": n, "prediction": prediction(K, L),
        "status": cert.status, "candidate": cand, "lower": lb, "upper": cert.upper_bound,
        "lower_source": cert.lower_bound_source,
        "gap_rel": None if lb is None else (cand - lb) / cand,
        "best_found": cert.details.get("search", {}).get("rigorous_value_upper"),
        "bnb_boxes": bnb.get("boxes"), "bnb_lower": bnb.get("lower"),
        "seconds": seconds, "reason": cert.reason, "proof_file": proof,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--bnb-seconds", type=float, default=60.0)
    ap.add_argument("--starts", type=int, default=24)
    ap.add_argument("--K", default="2,3,4")
    ap.add_argument("--out", default=None)
    ap.add_argument("--proof-dir", default=None,
                    help="write a proof file for every certified cell (ncproofs check DIR/*)")
    a = ap.parse_args()
    Ks = [int(k) for k in a.K.split(",")]
    if a.proof_dir:
        os.makedirs(a.proof_dir, exist_ok=True)
    cells = [(K, L, lam, n, a.starts, a.bnb_seconds, a.proof_dir)
             for K, L, lam, n in itertools.product(Ks, (2, 3, 4), ("5e-4", "1e-3", "5e-3"),
                                                    (1, 2))]
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        rows = list(pool.map(run_cell, cells))
    print("| K | L | lam | n | Garrod & Keating | status | deep collapse | lower bound (source) "
          "| gap % | best found | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        decided = r["status"] in ("refuted", "certified")
        gap = "" if r["gap_rel"] is None or decided else f"{100 * r['gap_rel']:.3g}"
        src = {"interval branch-and-bound": "BnB in X",
               "interval branch and bound over B (L16-L17)": "BnB in B"}.get(
                   r["lower_source"], "1-D")
        low = "" if r["lower"] is None or r["status"] == "refuted" else f"{r['lower']:.10f} ({src})"
        best = "" if r["best_found"] is None else f"{r['best_found']:.10f}"
        print(f"| {r['K']} | {r['L']} | {r['lam']} | {r['n']} | {r['prediction']} | "
              f"{r['status']} | {r['candidate']:.10f} | {low} | {gap} | {best} | "
              f"{r['seconds']:.0f} |")
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
