"""Benchmark: ncproofs.metrics against a naive implementation, same run, same data.

The naive implementation is what public neural-collapse code does: one D x D covariance per
class, Sigma_W and Sigma_B as D x D matrices, ``np.linalg.pinv`` of Sigma_B (O(D^3)) and an
N x K distance matrix for NC4. Ours never forms a D x D matrix (O(N D K) time, O(K D + B D)
memory) and streams batches in two passes.

Each measurement runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is
its own; the memory of the Python + numpy + torch imports is reported separately.

    python benchmarks/bench_metrics.py            # comparison size + goal size
    python benchmarks/bench_metrics.py --quick    # small sizes only (seconds)

Goal (issue 8): D = 4096, K = 1000, N = 100,000 under one minute on 2 CPU cores and under
2 GB. The features are generated batch by batch from seeds (h = mu_y + noise, float32), so
the data set itself (1.6 GB as float32) is never held in memory, as with a DataLoader.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_batches(N: int, D: int, K: int, batch: int, seed: int = 0):
    """Deterministic batches of class-structured features, re-creatable for a second pass."""
    import torch

    g = torch.Generator().manual_seed(seed)
    means = 3.0 * torch.randn(K, D, generator=g) / D**0.5

    def batches():
        for i, s in enumerate(range(0, N, batch)):
            gi = torch.Generator().manual_seed(seed * 1_000_003 + i + 1)
            B = min(batch, N - s)
            y = torch.arange(s, s + B) % K
            H = means[y] + torch.randn(B, D, generator=gi) / D**0.5
            yield H, y

    batches.means = means  # type: ignore[attr-defined]
    return batches


def naive_metrics(H: np.ndarray, y: np.ndarray, W: np.ndarray, K: int) -> dict[str, float]:
    """Textbook implementation with per-class D x D covariances."""
    N, D = H.shape
    mu = np.stack([H[y == k].mean(0) for k in range(K)])
    muG = H.mean(0)
    covs = []
    for k in range(K):
        Hk = H[y == k] - mu[k]
        covs.append(Hk.T @ Hk / len(Hk))  # per-class D x D covariance
    Sw = sum(c * np.sum(y == k) for k, c in enumerate(covs)) / N
    Mc = mu - muG
    Sb = Mc.T @ Mc / K
    nc1 = float(np.trace(Sw @ np.linalg.pinv(Sb)) / K)
    dist = ((H[:, None, :] - mu[None]) ** 2).sum(-1) if N * K * D < 5e7 else None
    if dist is None:  # blockwise: the broadcast version would not fit
        dist = (H * H).sum(1)[:, None] - 2 * H @ mu.T + (mu * mu).sum(1)[None]
    nc4 = float(np.mean(np.argmax(H @ W.T, 1) != np.argmin(dist, 1)))
    return {"NC1": nc1, "NC4": nc4}


def child(impl: str, N: int, D: int, K: int, batch: int) -> None:
    import torch

    base = rss_mb()
    batches = make_batches(N, D, K, batch)
    g = torch.Generator().manual_seed(99)
    # a classifier near the class means (as after training), so NC4 is informative
    W = (batches.means + 0.5 * torch.randn(K, D, generator=g) / D**0.5).double()
    t0 = time.perf_counter()
    if impl == "naive":
        parts = list(batches())
        H = torch.cat([p[0] for p in parts]).double().numpy()
        y = torch.cat([p[1] for p in parts]).numpy()
        tgen = time.perf_counter() - t0
        m = naive_metrics(H, y, W.numpy(), K)
        tgen_share = tgen
    else:
        from ncproofs.metrics import NCAccumulator

        acc = NCAccumulator(K, W)
        tgen_share = 0.0
        for p in range(2):
            it = batches()
            while True:
                tg = time.perf_counter()
                nxt = next(it, None)
                tgen_share += time.perf_counter() - tg
                if nxt is None:
                    break
                acc.update(*nxt)
            if p == 0:
                acc.next_pass()
        m = acc.compute()
    total = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "impl": impl,
                "seconds": total,
                "seconds_generating_data": tgen_share,
                "peak_rss_mb": rss_mb(),
                "import_rss_mb": base,
                "NC1": m["NC1"],
                "NC4": m["NC4"],
            }
        )
    )


def measure(impl: str, N: int, D: int, K: int, batch: int) -> dict:
    cmd = [sys.executable, __file__, "--child", impl, str(N), str(D), str(K), str(batch)]
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return {"impl": impl, "error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def show(tag: str, r: dict) -> None:
    if "error" in r:
        print(f"  {tag:6s} failed: {r['error']}")
        return
    print(
        f"  {tag:6s} {r['seconds']:8.2f} s (data generation {r['seconds_generating_data']:.2f} s)"
        f"  peak RSS {r['peak_rss_mb']:7.0f} MB (imports {r['import_rss_mb']:.0f} MB)"
        f"  NC1={r['NC1']:.6g}  NC4={r['NC4']:.4g}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        impl, *nums = a.child
        child(impl, *map(int, nums))
        return
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64 metrics")
    compare = (
        [(4000, 256, 50), (8000, 48, 100)] if a.quick else [(20000, 1024, 100), (20000, 64, 200)]
    )
    for N, D, K in compare:
        print(f"N={N} D={D} K={K} (D <= K - 1: {D <= K - 1})")
        rn = measure("naive", N, D, K, 4096)
        ro = measure("ours", N, D, K, 4096)
        show("naive", rn)
        show("ours", ro)
        if "error" not in rn and "error" not in ro:
            rel = abs(rn["NC1"] - ro["NC1"]) / abs(rn["NC1"])
            print(
                f"  ratio naive/ours time {rn['seconds'] / ro['seconds']:.1f}x,"
                f" peak memory {rn['peak_rss_mb'] / ro['peak_rss_mb']:.1f}x;"
                f" NC1 rel. diff {rel:.1e}, NC4 equal: {rn['NC4'] == ro['NC4']}"
            )
    if not a.quick:
        N, D, K = 100_000, 4096, 1000
        print(f"goal N={N} D={D} K={K}: goal < 60 s and < 2048 MB")
        need = K * D * D * 8 / 2**30
        print(f"  naive  not run: per-class D x D covariances need {need:.0f} GiB")
        ro = measure("ours", N, D, K, 2048)
        show("ours", ro)
        if "error" not in ro:
            ok = ro["seconds"] < 60 and ro["peak_rss_mb"] < 2048
            print(f"  goal met: {ok}")


if __name__ == "__main__":
    main()
