"""Terminal-phase training on scikit-learn's digits, compared with the UFM closed forms.

Three runs (``--run ce|mse|imbalanced|all``), one MLP (64 -> 256 -> 256 -> 128 features,
ReLU, then a linear classifier), mini-batch SGD with weight decay ``lam`` on every weight:

* ``ce``: cross-entropy, classifier with an (unregularized) bias, balanced n = 150.
  UFM (Zhu et al. 2021; DESIGN section 4): with t = sqrt(n lam_W lam_H) and K t < 1 the
  centred class means and W form a simplex ETF, h = sqrt(lam_W / (n lam_H)) w, and the
  class-mean logits are a (I - 11^T/K) with margin a = log(1/t - (K - 1)).
* ``mse``: MSE 1/2 |z - e_y|^2, bias-free classifier, balanced. UFM: orthogonal frame
  (uncentred means), class-mean logits (1 - K t)_+ I, the same scale relation.
* ``imbalanced``: MSE, bias-free, n_k = 150 (classes 0-4) and 30 (classes 5-9). UFM
  (Dang et al. 2023; our derivation in docs/experiments.md): orthogonal frame with
  x_k = (sqrt(n_k) - N sqrt(lam_W lam_H))_+, class-mean logits Z_kk = x_k / sqrt(n_k),
  |w_k|^2 = sqrt(lam_H/lam_W) x_k, |h_k|^2 = sqrt(lam_W/lam_H) x_k / n_k.

A network has no lam_H: the features' weight decay acts through earlier layers. We
calibrate one effective lam_H from the UFM's scale relation |h_k| sqrt(n_k) / |w_k| =
sqrt(lam_W / lam_H) (averaged over classes) and compare everything else the UFM then
predicts: the margin / diagonal logits, |w||h|, and the geometry (NC2 against the right
target). lam_W is the network's own weight decay on the last layer.

    python experiments/tpt_digits.py                 # all three, ~2-4 min on 2 CPU cores
    python experiments/tpt_digits.py --run ce --epochs 100 --device auto

Writes out/experiments/tpt_<run>.png (NC1-NC4 per layer and epoch) and tpt_<run>.json.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from _common import (
    MLP,
    OUT,
    device_of,
    load_digits_split,
    nc_metrics,
    plot_history,
    save_json,
    train,
)

K = 10


def ufm_compare(model: MLP, X: torch.Tensor, y: torch.Tensor, run: str, lam_W: float) -> dict:
    """Learned last layer vs the UFM closed form with a calibrated effective lam_H."""
    with torch.no_grad():
        H = model.body(X).double()
    W = model.head.weight.detach().double()
    b = model.head.bias.detach().double() if model.head.bias is not None else None
    n = torch.bincount(y, minlength=K).double()
    N = float(n.sum())
    mu = torch.stack([H[y == k].mean(0) for k in range(K)])
    muG = H.mean(0)
    if run == "ce":
        Hb = mu - muG  # the bias absorbs W mu_G (see the 'bias' metric)
    else:
        Hb = mu  # bias-free: uncentred means
    Z = W @ Hb.T  # Z[j, k]: logit j of the class-k mean (bias cancels in the margin)
    wn = W.norm(dim=1)
    hn = Hb.norm(dim=1)
    ratio = (hn * n.sqrt() / wn).mean()  # UFM: = sqrt(lam_W / lam_H) for every class
    lam_H = float(lam_W / ratio**2)
    diag = torch.diagonal(Z)
    off = Z[~torch.eye(K, dtype=torch.bool)]
    res: dict = {
        "lam_W": lam_W,
        "lam_H_effective": lam_H,
        "scale_ratio_spread": float((hn * n.sqrt() / wn).std() / ratio),
    }
    if run == "ce":
        nbar = float(n.mean())
        t = math.sqrt(nbar * lam_W * lam_H)
        a_pred = math.log(1 / t - (K - 1)) if K * t < 1 else 0.0
        a_meas = float(diag.mean() - off.mean())
        res.update(
            t=t,
            Kt=K * t,
            margin_pred=a_pred,
            margin_meas=a_meas,
            margin_rel_err=abs(a_meas - a_pred) / a_pred,
            wh_pred=a_pred * (K - 1) / K,
            wh_meas=float((wn * hn).mean()),
            logit_offdiag_std=float(off.std()),
        )
        target = "etf"
        mt = nc_metrics(H, y, W, b, K=K, target=target, extra=True)
    else:
        c = N * math.sqrt(lam_W * lam_H)
        x = (n.sqrt() - c).clamp_min(0)
        z_pred = x / n.sqrt()
        res.update(
            c=c,
            diag_pred=z_pred.tolist(),
            diag_meas=diag.tolist(),
            diag_max_abs_err=float((diag - z_pred).abs().max()),
            offdiag_max_abs=float(off.abs().max()),
            wh_pred=z_pred.tolist(),
            wh_meas=(wn * hn).tolist(),
            w_norm2_pred=(math.sqrt(lam_H / lam_W) * x).tolist(),
            w_norm2_meas=(wn**2).tolist(),
        )
        TW = np.diag(x.numpy())
        TM = np.diag((x / n).numpy())
        mt = nc_metrics(H, y, W, b, K=K, target="orthogonal", extra=True)
        if run == "imbalanced":
            mW = nc_metrics(H, y, W, b, K=K, target=TW)
            mM = nc_metrics(H, y, W, b, K=K, target=TM)
            res.update(
                NC2_W_vs_ufm_lengths=mW["NC2_W"],
                NC2_M_vs_ufm_lengths=mM["NC2_M"],
                NC2_W_vs_equal_orthogonal=mt["NC2_W"],
                NC2_M_vs_equal_orthogonal=mt["NC2_M"],
            )
        me = nc_metrics(H, y, W, b, K=K, target="etf")
        res.update(NC2_M_vs_etf=me["NC2_M"], NC2_W_vs_etf=me["NC2_W"])
    res["final_metrics"] = mt
    return res


def run_one(run: str, args, dev: torch.device) -> dict:
    if run == "imbalanced":
        ns = [150] * 5 + [30] * 5
    else:
        ns = 150
    Xtr, ytr, Xte, yte = load_digits_split(ns, seed=args.seed)
    Xtr, ytr, Xte, yte = (t.to(dev) for t in (Xtr, ytr, Xte, yte))
    Xtr, Xte = Xtr.float(), Xte.float()
    torch.manual_seed(args.seed)
    loss = "ce" if run == "ce" else "mse"
    model = MLP(64, args.width, args.d, K, depth=args.depth, bias=(run == "ce")).to(dev)
    target = "etf" if run == "ce" else "orthogonal"
    print(f"{run}: loss {loss}, n_k = {ns}, lam = {args.wd}, {args.epochs} epochs on {dev}")
    hist = train(
        model,
        Xtr,
        ytr,
        Xte,
        yte,
        loss=loss,
        K=K,
        epochs=args.epochs,
        lr=args.lr,
        wd=args.wd,
        batch=args.batch,
        target=target,
        center=None,
        every=args.every,
        seed=args.seed,
        bias_decay=0.0,
    )
    model = model.double().cpu()
    cmp = ufm_compare(model, Xtr.double().cpu(), ytr.cpu(), run, args.wd)
    OUT.mkdir(parents=True, exist_ok=True)
    plot_history(hist, f"digits, {run} (target {target})", OUT / f"tpt_{run}.png")
    result = {"run": run, "n_k": ns, "args": vars(args), "history": hist.to_json(), "ufm": cmp}
    save_json(result, OUT / f"tpt_{run}.json")
    summarize(run, hist, cmp)
    return result


def summarize(run: str, hist, cmp: dict) -> None:
    m = cmp["final_metrics"]
    print(
        f"  final: train acc {hist.train_acc[-1]:.4f} test acc {hist.test_acc[-1]:.4f}; "
        + ", ".join(f"{k} {m[k]:.3g}" for k in ("NC1", "NC1_cdnv", "NC2_W", "NC2_M", "NC3", "NC4"))
        + f", bias {m['bias']:.3g}"
    )
    print(f"  UFM: effective lam_H {cmp['lam_H_effective']:.3g}", end="")
    print(f" (spread of the scale ratio over classes {cmp['scale_ratio_spread']:.2%})")
    if run == "ce":
        print(
            f"  UFM: K t = {cmp['Kt']:.3g}; margin predicted {cmp['margin_pred']:.4g}"
            f" measured {cmp['margin_meas']:.4g} (rel. err {cmp['margin_rel_err']:.2%});"
            f" |w||h| predicted {cmp['wh_pred']:.4g} measured {cmp['wh_meas']:.4g}"
        )
    else:
        dp, dm = np.array(cmp["diag_pred"]), np.array(cmp["diag_meas"])
        print(
            f"  UFM: c = N sqrt(lam_W lam_H) = {cmp['c']:.3g}; diagonal logits predicted"
            f" {np.round(dp, 3).tolist()}\n       measured {np.round(dm, 3).tolist()}"
            f" (max abs err {cmp['diag_max_abs_err']:.3g}); max |off-diagonal| "
            f"{cmp['offdiag_max_abs']:.3g}; NC2_M vs ETF {cmp['NC2_M_vs_etf']:.3g}"
        )
        if run == "imbalanced":
            print(
                f"  NC2_M vs UFM lengths {cmp['NC2_M_vs_ufm_lengths']:.3g} vs equal-length"
                f" orthogonal {cmp['NC2_M_vs_equal_orthogonal']:.3g}; NC2_W vs UFM lengths"
                f" {cmp['NC2_W_vs_ufm_lengths']:.3g} vs equal"
                f" {cmp['NC2_W_vs_equal_orthogonal']:.3g}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", choices=("ce", "mse", "imbalanced", "all"), default="all")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=5e-4, help="weight decay lam on all weights")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--every", type=int, default=25, help="record metrics every k epochs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--depth", type=int, default=3, help="hidden layers (the last gives H)")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--d", type=int, default=128, help="feature dimension")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads")
    args = ap.parse_args()
    dev = device_of(args.device, args.threads)
    runs = ("ce", "mse", "imbalanced") if args.run == "all" else (args.run,)
    for r in runs:
        run_one(r, args, dev)


if __name__ == "__main__":
    main()
