"""Neural-collapse metrics of your own network's last-layer features.

    python examples/metrics_of_your_network.py [--quick]

Your trained network gives, on its training set, penultimate features H (N x D, one row
per sample), labels y (N,), and the last layer's W (K x D) and b (K,).  Here a small
synthetic stand-in: K = 4 classes whose features are a simplex ETF plus noise whose size
shrinks over four "epochs", so NC1 (within-class variability), NC2 (distance of W and of
the class means to the ETF), NC3 (self-duality) and NC4 (classifier = nearest class
centre) fall as collapse sets in.  With your own arrays:

    from ncproofs.metrics import nc_metrics
    nc_metrics(H, y, W, b, target="etf")

or save them and run ``ncproofs metrics run.npz --json`` (keys H, y, W, b).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from ncproofs.cli import main as ncproofs_cli
from ncproofs.geometry import simplex_etf
from ncproofs.metrics import nc_metrics

K, PER_CLASS, D = 4, 50, 8


def synthetic_features(noise: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Features = scaled ETF class mean + Gaussian noise; W = ETF (perturbed by noise/2)."""
    rng = np.random.default_rng(seed)
    etf = simplex_etf(K, D)                          # K x D, rows are the class directions
    y = np.repeat(np.arange(K), PER_CLASS)
    H = 3.0 * etf[y] + noise * rng.standard_normal((K * PER_CLASS, D))
    W = etf + 0.5 * noise * rng.standard_normal((K, D))
    b = np.zeros(K)
    return H, y, W, b


def main(quick: bool = False) -> int:
    noises = (1.0, 0.01) if quick else (1.0, 0.3, 0.1, 0.01)
    print(f"{'noise':>6} {'NC1':>10} {'NC2_W':>10} {'NC2_M':>10} {'NC3':>10} {'NC4':>6}")
    history = []
    for noise in noises:
        H, y, W, b = synthetic_features(noise)
        m = nc_metrics(H, y, W, b, target="etf")
        history.append(m)
        print(f"{noise:>6} {m['NC1']:>10.2e} {m['NC2_W']:>10.2e} {m['NC2_M']:>10.2e} "
              f"{m['NC3']:>10.2e} {m['NC4']:>6.3f}")
    # collapse sets in: within-class variability falls by orders of magnitude
    assert history[-1]["NC1"] < 1e-2 * history[0]["NC1"]
    # the same arrays through the command line's file format: `ncproofs metrics run.npz`
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.npz"
        np.savez(path, H=H, y=y, W=W, b=b)
        print(f"$ ncproofs metrics {path.name}")
        if ncproofs_cli(["metrics", str(path)]) != 0:
            return 1
    print(f"NC1 fell from {history[0]['NC1']:.2e} to {history[-1]['NC1']:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
