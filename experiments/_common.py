"""Shared pieces of the theory-meets-training experiments (data, model, training, plots).

Data: scikit-learn's digits (1797 images 8x8, K = 10), standardized, split into a balanced
train set (n per class) and the rest as test set. Everything is small enough for 2 CPU
cores; ``--device cuda`` (or ``auto``) runs the same code on a GPU.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing the package
    sys.path.insert(0, str(ROOT))

from ncproofs.metrics import nc_metrics  # noqa: E402

OUT = ROOT / "out" / "experiments"


def device_of(name: str, threads: int = 1) -> torch.device:
    """The torch device for ``cpu``, ``cuda`` or ``auto``; CPU runs use ``threads`` threads
    (one by default: these models are small and the machine is shared)."""
    torch.set_num_threads(threads)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_digits_split(n_per_class: list[int] | int, seed: int = 0):
    """Train set with n_per_class[k] samples of class k (standardized on the train set), and
    the remaining samples as test set. Returns float64 torch tensors Xtr, ytr, Xte, yte."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    K = 10
    ns = [n_per_class] * K if isinstance(n_per_class, int) else list(n_per_class)
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for k in range(K):
        idx = rng.permutation(np.flatnonzero(y == k))
        if ns[k] > len(idx):
            raise ValueError(f"n_per_class: class {k} has only {len(idx)} samples")
        tr.append(idx[: ns[k]])
        te.append(idx[ns[k] :])
    tr, te = np.concatenate(tr), np.concatenate(te)
    mean, std = X[tr].mean(0), X[tr].std(0) + 1.0
    Xs = (X - mean) / std
    t = lambda a: torch.tensor(a)  # noqa: E731
    return t(Xs[tr]), t(y[tr]), t(Xs[te]), t(y[te])


class MLP(torch.nn.Module):
    """x -> [Linear -> ReLU] * depth -> features (d) -> Linear classifier (K).

    ``final_relu=False`` drops the last ReLU, so the features are the output of a linear
    layer and can be negative (needed for a fixed ETF classifier with d = K: nonnegative
    features cannot reach every class direction, see experiments/fixed_etf.py)."""

    def __init__(
        self,
        d_in: int,
        width: int,
        d_feat: int,
        K: int,
        depth: int = 3,
        bias: bool = True,
        final_relu: bool = True,
    ):
        super().__init__()
        dims = [d_in] + [width] * (depth - 1) + [d_feat]
        layers: list[torch.nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        if not final_relu:
            layers.pop()
        self.body = torch.nn.Sequential(*layers)
        self.head = torch.nn.Linear(d_feat, K, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def feature_layers(self) -> list[str]:
        """Names (in self.body) of the hidden-layer outputs (each ReLU, and the last module
        when it is not a ReLU), the last one being the features."""
        mods = list(self.body.named_children())
        names = [n for n, m in mods if isinstance(m, torch.nn.ReLU)]
        if not isinstance(mods[-1][1], torch.nn.ReLU):
            names.append(mods[-1][0])
        return names


def loss_fn(name: str, K: int):
    """Per our convention: CE, or MSE = 1/2 |z - e_y|^2, both averaged over samples."""
    if name == "ce":
        return torch.nn.functional.cross_entropy
    if name == "mse":

        def mse(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            e = torch.nn.functional.one_hot(y, K).to(z.dtype)
            return 0.5 * ((z - e) ** 2).sum(1).mean()

        return mse
    raise ValueError(f"loss: expected ce or mse, got {name!r}")


@dataclass
class History:
    epochs: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    layers: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "epochs": self.epochs,
            "loss": self.loss,
            "train_acc": self.train_acc,
            "test_acc": self.test_acc,
            "layers": self.layers,
        }


def layer_features(model: MLP, X: torch.Tensor) -> dict[str, torch.Tensor]:
    """Outputs of every hidden layer of the body (``model.feature_layers()``), computed
    directly."""
    keep = set(model.feature_layers())
    feats = {}
    h = X
    with torch.no_grad():
        for name, m in model.body.named_children():
            h = m(h)
            if name in keep:
                feats[name] = h
    return feats


def record(model, hist, epoch, loss, Xtr, ytr, Xte, yte, K, target, center):
    model.eval()
    with torch.no_grad():
        tr_acc = float((model(Xtr).argmax(1) == ytr).double().mean())
        te_acc = float((model(Xte).argmax(1) == yte).double().mean())
    feats = layer_features(model, Xtr)
    names = list(feats)
    W = model.head.weight.detach()
    b = model.head.bias.detach() if model.head.bias is not None else None
    for i, H in enumerate(feats.values()):
        last = i == len(names) - 1
        m = nc_metrics(
            H,
            ytr,
            W if last else None,
            b if last else None,
            K=K,
            target=target,
            center_means=center,
            device=H.device,
        )
        key = f"layer{i + 1}"
        d = hist.layers.setdefault(key, {})
        for k, v in m.items():
            d.setdefault(k, []).append(v)
    hist.epochs.append(epoch)
    hist.loss.append(loss)
    hist.train_acc.append(tr_acc)
    hist.test_acc.append(te_acc)
    model.train()


def train(
    model: MLP,
    Xtr,
    ytr,
    Xte,
    yte,
    *,
    loss: str,
    K: int,
    epochs: int,
    lr: float,
    wd: float,
    batch: int,
    target,
    center,
    every: int,
    seed: int,
    bias_decay: float | None = None,
    trainable_head: bool = True,
    log=print,
) -> History:
    """Mini-batch SGD (momentum 0.9, cosine learning rate), weight decay ``wd`` on every
    weight (``wd/2 |theta|^2`` in the objective, as torch's weight_decay; the classifier's
    bias gets ``bias_decay``, default wd; a frozen head is not trained), NC metrics of
    every layer on the train set every ``every`` epochs."""
    torch.manual_seed(seed)
    lf = loss_fn(loss, K)
    groups = [{"params": list(model.body.parameters()), "weight_decay": wd}]
    if trainable_head:
        groups.append({"params": [model.head.weight], "weight_decay": wd})
        if model.head.bias is not None:
            bd = wd if bias_decay is None else bias_decay
            groups.append({"params": [model.head.bias], "weight_decay": bd})
    else:
        model.head.requires_grad_(False)
    opt = torch.optim.SGD(groups, lr=lr, momentum=0.9)
    steps = epochs * ((len(ytr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    hist = History()
    t0 = time.perf_counter()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    for ep in range(1, epochs + 1):
        perm = torch.randperm(len(ytr), generator=gen).to(Xtr.device)
        tot = 0.0
        for s in range(0, len(ytr), batch):
            idx = perm[s : s + batch]
            opt.zero_grad()
            l = lf(model(Xtr[idx]), ytr[idx])
            l.backward()
            opt.step()
            sched.step()
            tot += float(l.detach()) * len(idx)
        if ep % every == 0 or ep == 1 or ep == epochs:
            record(model, hist, ep, tot / len(ytr), Xtr, ytr, Xte, yte, K, target, center)
            last = hist.layers[f"layer{len(hist.layers)}"]
            log(
                f"  epoch {ep:4d} loss {tot / len(ytr):.4f} train {hist.train_acc[-1]:.3f}"
                f" test {hist.test_acc[-1]:.3f} NC1 {last['NC1'][-1]:.3g}"
                f" NC2_M {last['NC2_M'][-1]:.3g} NC2_W {last['NC2_W'][-1]:.3g}"
                f" NC3 {last['NC3'][-1]:.3g} NC4 {last['NC4'][-1]:.3g}"
                f" ({time.perf_counter() - t0:.0f} s)"
            )
    return hist


def plot_history(hist: History, title: str, path: Path) -> None:
    """NC metrics per layer and accuracy against the epoch (experiments/figures.py), as
    PNG (200 dpi) and PDF next to ``path``."""
    from figures import draw_history

    draw_history(hist.to_json(), title, path)


def save_json(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, default=float))
