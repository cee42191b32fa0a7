"""Fixed simplex-ETF classifier with d = K (Zhu et al. 2021, section 5) on sklearn's digits.

Zhu et al. show that since the optimal classifier of the CE unconstrained-feature model is a
simplex ETF, one may fix the last layer to an ETF and shrink the feature dimension to d = K
without losing accuracy, saving the classifier's parameters, gradients and optimizer state
and the memory of wide features. Three runs of the same MLP and training recipe (CE, SGD,
weight decay on every trained weight):

* ``learned-d128``: learned classifier, feature dimension 128 (the baseline);
* ``learned-dK``: learned classifier, d = K = 10;
* ``fixed-etf-dK``: classifier fixed to a randomly rotated simplex ETF
  ``sqrt(K/(K-1)) (I - 11^T/K) Q`` (unit-norm rows), no bias, d = K.

Reported: train/test accuracy, NC metrics at the end, trainable parameters, and the bytes
of training state (parameters + gradients + momentum of the trainable tensors) and of the
feature activations of one batch, computed from tensor sizes (exact for these tensors; the
process's peak RSS is dominated by the Python/torch runtime and is printed for reference).

    python experiments/fixed_etf.py               # ~1-2 min on 2 CPU cores
    python experiments/fixed_etf.py --device auto --epochs 300
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import torch
from _common import MLP, OUT, device_of, load_digits_split, nc_metrics, plot_history, save_json
from _common import train as train_model

K = 10


def etf_classifier(K: int, d: int, seed: int = 0) -> torch.Tensor:
    """K x d simplex ETF with unit-norm rows, ``sqrt(K/(K-1)) (I - 11^T/K) Q`` with a random
    Q (K x d, orthonormal rows; d >= K). The rotation matters with ReLU features: with Q = I
    class k would depend on the single feature coordinate k, and one dead ReLU unit would
    lose a whole class (we saw 10% train error that way)."""
    E = math.sqrt(K / (K - 1)) * (torch.eye(K) - torch.ones(K, K) / K)
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(d, K, generator=g))
    return E @ Q.T


def train_state_bytes(model: torch.nn.Module) -> int:
    """Parameters + gradients + SGD momentum buffers of the trainable tensors."""
    n = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return 3 * n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    dev = device_of(args.device, args.threads)
    Xtr, ytr, Xte, yte = (t.to(dev) for t in load_digits_split(150, seed=args.seed))
    Xtr, Xte = Xtr.float(), Xte.float()
    results = {}
    for name, d, fixed in (
        ("learned-d128", 128, False),
        ("learned-dK", K, False),
        ("fixed-etf-dK", K, True),
    ):
        torch.manual_seed(args.seed)
        model = MLP(64, 256, d, K, depth=3, bias=not fixed).to(dev)
        if fixed:
            with torch.no_grad():
                model.head.weight.copy_(etf_classifier(K, d, args.seed))
        print(f"{name}: d = {d}, classifier {'fixed ETF' if fixed else 'learned'}")
        t0 = time.perf_counter()
        hist = train_model(
            model,
            Xtr,
            ytr,
            Xte,
            yte,
            loss="ce",
            K=K,
            epochs=args.epochs,
            lr=args.lr,
            wd=args.wd,
            batch=args.batch,
            target="etf",
            center=None,
            every=args.every,
            seed=args.seed,
            bias_decay=0.0,
            trainable_head=not fixed,
        )
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            H = model.body(Xtr)
        W = model.head.weight.detach()
        b = model.head.bias.detach() if model.head.bias is not None else None
        m = nc_metrics(H, ytr, W, b, K=K, target="etf", device=H.device)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        res = {
            "d": d,
            "fixed_classifier": fixed,
            "train_acc": hist.train_acc[-1],
            "test_acc": hist.test_acc[-1],
            "metrics": m,
            "trainable_params": trainable,
            "total_params": sum(p.numel() for p in model.parameters()),
            "train_state_bytes": train_state_bytes(model),
            "feature_bytes_per_batch": args.batch * d * 4,
            "seconds": secs,
            "history": hist.to_json(),
        }
        results[name] = res
        plot_history(hist, f"digits CE, {name}", OUT / f"fixed_etf_{name}.png")
        print(
            f"  test acc {res['test_acc']:.4f} train acc {res['train_acc']:.4f};"
            f" NC1 {m['NC1']:.3g} NC2_M {m['NC2_M']:.3g} NC2_W {m['NC2_W']:.3g}"
            f" NC3 {m['NC3']:.3g} NC4 {m['NC4']:.3g}; trainable params {trainable}"
            f" ({res['train_state_bytes'] / 1024:.1f} KiB training state); {secs:.1f} s"
        )
    base, dk, fx = (results[k] for k in ("learned-d128", "learned-dK", "fixed-etf-dK"))
    for ref_name, ref in (("learned-d128", base), ("learned-dK", dk)):
        saved = 1 - fx["trainable_params"] / ref["trainable_params"]
        print(
            f"fixed ETF vs {ref_name}: trainable parameters -{saved:.1%},"
            f" test accuracy {fx['test_acc'] - ref['test_acc']:+.4f}"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(process peak RSS {rss:.0f} MB, dominated by the torch runtime)")
    save_json({"args": vars(args), "runs": results}, OUT / "fixed_etf.json")


if __name__ == "__main__":
    main()
