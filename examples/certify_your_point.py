"""Is my trained model globally optimal, and how far from it?  (ncproofs certify-point)

    python examples/certify_your_point.py [--quick]

Trains the last layer and the features of the CE model (K = 4 classes, n = 3 samples per
class, d = 5, lam_W = lam_H = 5e-3, no bias) with plain gradient descent in numpy -- a
stand-in for your own network's penultimate features H (N x d, samples as rows), labels y
and classifier W (K x d) -- saves them as an npz with the conventions of `ncproofs metrics`,
and asks ncproofs for a rigorous enclosure of the point's objective, the certified optimum
f* of Zhu et al.'s theorem and a rigorous upper bound on f(point) - f*.  The same as

    ncproofs certify-point ufm-ce point.npz -p lam_W=5e-3 -p lam_H=5e-3 -p bias=false

``--quick`` trains for fewer steps.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import ncproofs

K, n, d, lam = 4, 3, 5, 5e-3


def train(steps: int, lr: float = 0.5, seed: int = 0) -> dict[str, np.ndarray]:
    """Full-batch gradient descent on (1/N) sum_i CE(W h_i, y_i) + lam/2 (|W|^2 + |H|^2)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(K), n)
    N = y.size
    W, H = 0.1 * rng.standard_normal((K, d)), 0.1 * rng.standard_normal((N, d))
    onehot = np.eye(K)[y]
    for _ in range(steps):
        logits = H @ W.T
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        residual = (p - onehot) / N  # d loss / d logits
        W, H = W - lr * (residual.T @ H + lam * W), H - lr * (residual @ W + lam * H)
    return {"H": H, "y": y, "W": W}


def main(quick: bool = False) -> int:
    point = train(300 if quick else 3000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "point.npz"
        np.savez(path, **point)
        report = ncproofs.certify_point("ufm-ce", str(path), lam_W="5e-3", lam_H="5e-3",
                                        bias="false")
    result = report.to_dict()
    print(f"f(point) in [{result['value_lower_bound']:.12g}, "
          f"{result['value_upper_bound']:.12g}]")
    optimum = result["optimum"]
    print(f"optimum: {optimum.get('status')} in [{optimum.get('lower_bound')}, "
          f"{optimum.get('upper_bound')}]")
    print(f"gap to the global optimum <= {result.get('gap_to_optimum')!r} (rigorous)")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv[1:]))
