"""Fixed simplex-ETF classifier with d = K (Zhu et al. 2021, section 5) on sklearn's digits.

Zhu et al. show that since the optimal classifier of the CE unconstrained-feature model is a
simplex ETF, one may fix the last layer to an ETF and shrink the feature dimension to d = K
without losing accuracy, saving the classifier's parameters, gradients and optimizer state
and the memory of wide features. A controlled comparison, same MLP and training recipe (CE,
SGD, weight decay on every trained weight), only the classifier and the last activation
change:

* ``learned-d128``: learned classifier, feature dimension 128, ReLU features (baseline);
* ``learned-dK``: learned classifier, d = K = 10, ReLU features;
* ``fixed-etf-dK-relu``: classifier fixed to a randomly rotated simplex ETF
  ``sqrt(K/(K-1)) (I - 11^T/K) Q^T`` (unit-norm rows, no bias), d = K, ReLU features;
* ``fixed-etf-dK-relu-unrotated``: the same with Q = I;
* ``learned-dK-linear`` / ``fixed-etf-dK-linear``: d = K, the last hidden layer is linear
  (no ReLU), so the features can be negative, as the UFM assumes.

Why the ReLU variants lose a class (the diagnosis): with d = K the K ETF rows span only the
(K-1)-dimensional subspace 1^T Q^T-orthogonal, and ReLU features h >= 0 live in one orthant.
Class k can be predicted at all only if some h >= 0 has w_k^T h > w_j^T h for all j != k;
``nonneg_reachability`` solves that LP (max over h >= 0, sum h = 1 of min_j (w_k - w_j)^T h).
For 58 % of random rotations Q at K = 10 some class has a negative value: it is
unreachable, whatever the network does (the default rotation, seed 0, makes class 6
unreachable; all 150 training images of class 6 are predicted as 8). With Q = I every class
is reachable only through its own coordinate h_k, so a dead ReLU unit loses that class
(seen: units 0 and 2 dead, class 2 lost). Zhu et al. fix the classifier on features that
can be negative; with a linear last hidden layer the fixed ETF matches the learned one.

Reported: train/test accuracy, NC metrics at the end, the reachability LP per class, dead
feature units, trainable parameters, and the bytes of training state (parameters +
gradients + momentum of the trainable tensors) and of the feature activations of one batch,
computed from tensor sizes (exact for these tensors; the process's peak RSS is dominated by
the Python/torch runtime and is printed for reference).

Writes out/experiments/fixed_etf.json, the comparison figure fixed_etf_comparison.png /
.pdf (test accuracy and trainable parameters per run) and one NC history per run
(redraw all without training: python experiments/figures.py).

    python experiments/fixed_etf.py               # 6 runs, ~1 min on 2 idle CPU cores
    python experiments/fixed_etf.py --runs fixed-etf-dK-linear,learned-dK-linear --seeds 0,1,2
    python experiments/fixed_etf.py --device auto --epochs 300
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np
import torch
from _common import MLP, OUT, device_of, load_digits_split, nc_metrics, plot_history, save_json
from _common import train as train_model
from figures import draw_fixed_etf

K = 10

# name: (feature dimension d, fixed ETF classifier?, ReLU on the features?, rotate the ETF?)
RUNS: dict[str, tuple[int, bool, bool, bool]] = {
    "learned-d128": (128, False, True, False),
    "learned-dK": (K, False, True, False),
    "fixed-etf-dK-relu": (K, True, True, True),
    "fixed-etf-dK-relu-unrotated": (K, True, True, False),
    "learned-dK-linear": (K, False, False, False),
    "fixed-etf-dK-linear": (K, True, False, True),
}


def etf_classifier(K: int, d: int, seed: int = 0, rotate: bool = True) -> torch.Tensor:
    """K x d simplex ETF with unit-norm rows, ``sqrt(K/(K-1)) (I - 11^T/K) Q^T`` with Q
    (d x K, orthonormal columns, d >= K) random (``rotate``) or the first K coordinates.
    Rows: |w_k| = 1, w_k^T w_j = -1/(K-1), sum_k w_k = 0 (rank K - 1)."""
    if d < K:
        raise ValueError(f"d: expected d >= K = {K}, got {d}")
    E = math.sqrt(K / (K - 1)) * (torch.eye(K) - torch.ones(K, K) / K)
    if not rotate:
        return torch.cat([E, torch.zeros(K, d - K)], dim=1)
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(d, K, generator=g))
    return E @ Q.T


def nonneg_reachability(W: torch.Tensor, dead: list[int] | None = None) -> list[float]:
    """For each class k: max over h >= 0 with sum h = 1 of min_{j != k} (w_k - w_j)^T h
    (an LP), with h_i = 0 for the units in ``dead``. Negative: no nonnegative feature
    vector (e.g. a ReLU output) is ever predicted as class k; zero: only ties."""
    from scipy.optimize import linprog

    Wn = W.detach().double().cpu().numpy()
    Kc, d = Wn.shape
    out = []
    for k in range(Kc):
        # variables (h, s): maximize s s.t. s - (w_k - w_j)^T h <= 0, h >= 0, sum h = 1
        A = np.array([np.r_[-(Wn[k] - Wn[j]), 1.0] for j in range(Kc) if j != k])
        res = linprog(
            np.r_[np.zeros(d), -1.0],
            A_ub=A,
            b_ub=np.zeros(Kc - 1),
            A_eq=np.r_[np.ones(d), 0.0][None],
            b_eq=[1.0],
            bounds=[(0, 0) if i in set(dead or ()) else (0, None) for i in range(d)]
            + [(None, None)],
        )
        out.append(float(-res.fun))
    return out


def train_state_bytes(model: torch.nn.Module) -> int:
    """Parameters + gradients + SGD momentum buffers of the trainable tensors."""
    n = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return 3 * n


def run_one(name: str, seed: int, args, data, dev: torch.device) -> dict:
    d, fixed, relu, rotate = RUNS[name]
    Xtr, ytr, Xte, yte = data
    torch.manual_seed(seed)
    model = MLP(64, 256, d, K, depth=3, bias=not fixed, final_relu=relu).to(dev)
    if fixed:
        with torch.no_grad():
            model.head.weight.copy_(etf_classifier(K, d, seed, rotate=rotate))
    print(
        f"{name} (seed {seed}): d = {d}, classifier {'fixed ETF' if fixed else 'learned'},"
        f" features {'ReLU' if relu else 'linear'}"
    )
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
        seed=seed,
        bias_decay=0.0,
        trainable_head=not fixed,
    )
    secs = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        H = model.body(Xtr)
        pred = model(Xtr).argmax(1)
    W = model.head.weight.detach()
    b = model.head.bias.detach() if model.head.bias is not None else None
    m = nc_metrics(H, ytr, W, b, K=K, target="etf", device=H.device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    per_class = [float((pred[ytr == k] == k).double().mean()) for k in range(K)]
    dead = (H.max(0).values <= 0).nonzero().flatten().tolist()
    reach = reach_live = None
    if d == K and relu:  # only h >= 0 matters
        reach = nonneg_reachability(W)
        reach_live = nonneg_reachability(W, dead)
    res = {
        "d": d,
        "seed": seed,
        "fixed_classifier": fixed,
        "relu_features": relu,
        "rotated_etf": rotate if fixed else None,
        "train_acc": hist.train_acc[-1],
        "test_acc": hist.test_acc[-1],
        "train_acc_per_class": per_class,
        "dead_feature_units": dead,
        "nonneg_reachability": reach,
        "nonneg_reachability_live_units": reach_live,
        "metrics": m,
        "trainable_params": trainable,
        "total_params": sum(p.numel() for p in model.parameters()),
        "train_state_bytes": train_state_bytes(model),
        "feature_bytes_per_batch": args.batch * d * 4,
        "seconds": secs,
        "history": hist.to_json(),
    }
    plot_history(hist, f"digits CE, {name}, seed {seed}", OUT / f"fixed_etf_{name}_s{seed}.png")
    lost = [k for k, a in enumerate(per_class) if a < 0.5]
    unreach = [k for k, r in enumerate(reach or []) if r <= 1e-9]
    unreach_live = [k for k, r in enumerate(reach_live or []) if r <= 1e-9]
    print(
        f"  test acc {res['test_acc']:.4f} train acc {res['train_acc']:.4f};"
        f" NC1 {m['NC1']:.3g} NC1_cdnv {m['NC1_cdnv']:.3g} NC2_M {m['NC2_M']:.3g}"
        f" NC2_W {m['NC2_W']:.3g} NC3 {m['NC3']:.3g} NC4 {m['NC4']:.3g};"
        f" trainable params {trainable} ({res['train_state_bytes'] / 1024:.1f} KiB training"
        f" state); {secs:.1f} s\n  classes with train acc < 0.5: {lost};"
        f" dead feature units: {res['dead_feature_units']}"
        + (
            f"; classes unreachable by h >= 0: {unreach} (min reachability {min(reach):.3g}),"
            f" with the dead units at 0: {unreach_live}"
            if reach is not None and reach_live is not None
            else ""
        )
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (init, ETF rotation)")
    ap.add_argument("--runs", default=",".join(RUNS), help="comma-separated subset of runs")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    names = [r for r in args.runs.split(",") if r]
    for r in names:
        if r not in RUNS:
            ap.error(f"--runs: unknown run {r!r}; expected a subset of {', '.join(RUNS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    dev = device_of(args.device, args.threads)
    results: dict[str, list[dict]] = {}
    for seed in seeds:
        Xtr, ytr, Xte, yte = (t.to(dev) for t in load_digits_split(150, seed=seed))
        data = (Xtr.float(), ytr, Xte.float(), yte)
        for name in names:
            results.setdefault(name, []).append(run_one(name, seed, args, data, dev))
    print("\nsummary (mean over seeds):")
    mean = lambda name, key: float(np.mean([r[key] for r in results[name]]))  # noqa: E731
    for name in names:
        print(
            f"  {name:28s} test {mean(name, 'test_acc'):.4f} train {mean(name, 'train_acc'):.4f}"
            f" trainable params {results[name][0]['trainable_params']}"
        )
    for fx in ("fixed-etf-dK-linear", "fixed-etf-dK-relu"):
        for ref in ("learned-d128", "learned-dK", "learned-dK-linear"):
            if fx in results and ref in results:
                saved = 1 - results[fx][0]["trainable_params"] / results[ref][0]["trainable_params"]
                print(
                    f"  {fx} vs {ref}: trainable parameters and training state -{saved:.1%},"
                    f" test accuracy {mean(fx, 'test_acc') - mean(ref, 'test_acc'):+.4f}"
                )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(process peak RSS {rss:.0f} MB, dominated by the torch runtime)")
    save_json({"args": vars(args), "runs": results}, OUT / "fixed_etf.json")
    for path in draw_fixed_etf({"runs": results}, OUT / "fixed_etf_comparison"):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
