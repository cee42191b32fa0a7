"""Terminal-phase training on scikit-learn's digits, compared with the UFM closed forms.

Three runs (``--run ce|mse|imbalanced|all``), one MLP (64 -> 256 -> 256 -> 128 features,
ReLU, then a linear classifier), mini-batch SGD with weight decay ``lam`` on every weight:

* ``ce``: cross-entropy, classifier with an (unregularized) bias, balanced n = 150.
  UFM (Zhu et al. 2021; docs/known_results.md): with t = sqrt(n lam_W lam_H) and K t < 1 the
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

CE margin: compare the prediction with the CE-effective margin a_loss (from the train loss),
not with the class-mean-logit margin; they agree only at an ETF (``ufm_compare``). Every run
also reports how close the end point is to a stationary point of the regularized network
objective (``stationarity``); ``--polish N`` runs N full-batch L-BFGS iterations first.

    python experiments/tpt_digits.py                 # all three, ~1 min on 2 CPU cores
    python experiments/tpt_digits.py --run ce --epochs 100 --device auto
    python experiments/tpt_digits.py --run ce --wd 5e-3 --polish 1000   # ~2-3 min

Writes out/experiments/tpt_<run>.json and tpt_<run>.png / .pdf (NC1-NC4 per layer and epoch;
redraw without training: python experiments/figures.py).
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
    loss_fn,
    nc_metrics,
    plot_history,
    save_json,
    train,
)

K = 10


def objective(model: MLP, X: torch.Tensor, y: torch.Tensor, loss: str, lam: float) -> torch.Tensor:
    """The network's regularized objective in our convention (docs/conventions.md):
    (1/N) sum_i loss(f(x_i), y_i) + lam/2 |theta|^2 over every weight and hidden bias (the
    classifier's bias is not decayed). torch's SGD(weight_decay=wd) on the mini-batch mean
    is the stochastic gradient of exactly this with lam = wd."""
    reg = sum((p**2).sum() for n, p in model.named_parameters() if n != "head.bias")
    return loss_fn(loss, K)(model(X), y) + lam / 2 * reg


def stationarity(model: MLP, X: torch.Tensor, y: torch.Tensor, loss: str, lam: float) -> dict:
    """How far the trained network is from a stationary point of its own objective
    (``objective``): per tensor |grad f| / |lam theta| (0 at a stationary point; ~1 when the
    loss gradient does not yet balance the weight decay), and the decay implied by the
    classifier alone, lam_fit = -<grad_W loss, W> / |W|^2 (= lam at stationarity: checks the
    weight-decay convention, a 1/N or N mismatch would show as a factor 1500)."""
    model.zero_grad()
    f = objective(model, X, y, loss, lam)
    f.backward()
    ratios = {}
    for n, p in model.named_parameters():
        if n == "head.bias" or p.grad is None:
            continue
        ratios[n] = float(p.grad.norm() / (lam * p.detach().norm()))
    W = model.head.weight
    g_loss = W.grad - lam * W.detach()
    lam_fit = float(-(g_loss * W.detach()).sum() / (W.detach() ** 2).sum())
    model.zero_grad()
    return {
        "objective": float(f.detach()),
        "grad_over_decay": ratios,
        "grad_over_decay_max": max(ratios.values()),
        "grad_over_decay_head": ratios["head.weight"],
        "lam_fit_from_head": lam_fit,
    }


def polish(model: MLP, X: torch.Tensor, y: torch.Tensor, loss: str, lam: float, iters: int):
    """Full-batch L-BFGS (float64, strong Wolfe) on ``objective``: drives the SGD end point
    to a stationary point of the regularized network objective (the terminal phase)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.LBFGS(
        params,
        max_iter=iters,
        tolerance_grad=1e-12,
        tolerance_change=1e-16,
        history_size=30,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        f = objective(model, X, y, loss, lam)
        f.backward()
        return f

    opt.step(closure)
    model.zero_grad()


def ufm_compare(model: MLP, X: torch.Tensor, y: torch.Tensor, run: str, lam_W: float) -> dict:
    """Learned last layer vs the UFM closed form with a calibrated effective lam_H.

    CE: the UFM's margin a is the gap between the diagonal and the (all equal) off-diagonal
    class-mean logits. In a network the off-diagonal logits are not equal and CE is
    dominated by the nearest competitor, so three measured margins are reported: the
    class-mean-logit margin (mean diagonal minus mean off-diagonal; the UFM's a only at an
    ETF), the median per-sample margin z_y - max_{j != y} z_j, and the CE-effective margin
    a_loss = log(1/q - (K - 1)) with q = mean_i (1 - p_{i, y_i}) / (K - 1), the a an ETF
    point with the network's mean off-class probability would have (at an exactly collapsed
    ETF all three equal a). The calibrated prediction equals log(1/q_W - (K-1)) where q_W is
    the off-class probability implied by W-stationarity at a collapsed ETF, so it is to be
    compared with a_loss."""
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
        with torch.no_grad():
            logits = model(X).double()
        p_y = torch.softmax(logits, 1)[torch.arange(len(y)), y]
        ce = float(torch.nn.functional.cross_entropy(logits, y))
        q = float((1 - p_y).mean()) / (K - 1)
        a_loss = math.log(1 / q - (K - 1))
        rival = logits.clone()
        rival[torch.arange(len(y)), y] = -math.inf
        per_sample = logits[torch.arange(len(y)), y] - rival.max(1).values
        # UFM optimum at the calibrated lam_H vs the network's last layer in the UFM's
        # objective (features centred: the unregularized bias absorbs W mu_G). The UFM
        # minimizes over all H, so the network's value can only be larger.
        f_star = -math.log(1 - (K - 1) * t) + (K - 1) * t * math.log((1 - (K - 1) * t) / t)
        Hc = H - muG
        f_net = ce + lam_W / 2 * float((W**2).sum()) + lam_H / 2 * float((Hc**2).sum())
        res.update(
            t=t,
            Kt=K * t,
            margin_pred=a_pred,
            margin_meas=a_meas,
            margin_rel_err=abs(a_meas - a_pred) / a_pred,
            margin_loss=a_loss,
            margin_loss_rel_err=abs(a_loss - a_pred) / a_pred,
            margin_sample_median=float(per_sample.median()),
            margin_sample_min=float(per_sample.min()),
            train_ce=ce,
            ufm_ce_at_optimum=math.log(1 + (K - 1) * math.exp(-a_pred)),
            ufm_f_star=f_star,
            net_f_ufm_objective=f_net,
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
    model = MLP(
        64,
        args.width,
        args.d,
        K,
        depth=args.depth,
        bias=(run == "ce"),
        final_relu=not args.linear_features,
    ).to(dev)
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
    Xd, yc = Xtr.double().cpu(), ytr.cpu()
    steps = args.epochs * math.ceil(len(yc) / args.batch)
    # weight decay multiplies theta by (1 - lr_t wd) per step, amplified 1/(1 - momentum):
    # the number of decay time constants the run allowed (cosine: mean lr = lr/2).
    decay_exponent = steps * args.lr / 2 * args.wd / (1 - 0.9)
    stat = {"sgd": stationarity(model, Xd, yc, loss, args.wd)}
    if args.polish:
        import time

        t0 = time.perf_counter()
        polish(model, Xd, yc, loss, args.wd, args.polish)
        stat["polish_seconds"] = time.perf_counter() - t0
        stat["polished"] = stationarity(model, Xd, yc, loss, args.wd)
    stat["decay_exponent"] = decay_exponent
    cmp = ufm_compare(model, Xd, yc, run, args.wd)
    cmp["stationarity"] = stat
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
    st = cmp["stationarity"]
    for key in ("sgd", "polished"):
        if key in st:
            s = st[key]
            print(
                f"  stationarity ({key}): objective {s['objective']:.5g}; |grad f| / |lam theta|"
                f" max over tensors {s['grad_over_decay_max']:.3g}, classifier"
                f" {s['grad_over_decay_head']:.3g}; lam implied by the classifier"
                f" {s['lam_fit_from_head']:.3g}"
            )
    print(f"  weight-decay time constants in the SGD run: {st['decay_exponent']:.2g}")
    print(f"  UFM: effective lam_H {cmp['lam_H_effective']:.3g}", end="")
    print(f" (spread of the scale ratio over classes {cmp['scale_ratio_spread']:.2%})")
    if run == "ce":
        print(
            f"  UFM: K t = {cmp['Kt']:.3g}; margin predicted {cmp['margin_pred']:.4g}"
            f" measured {cmp['margin_meas']:.4g} (rel. err {cmp['margin_rel_err']:.2%});"
            f" |w||h| predicted {cmp['wh_pred']:.4g} measured {cmp['wh_meas']:.4g}\n"
            f"       margin measured from the train CE {cmp['margin_loss']:.4g} (rel. err"
            f" {cmp['margin_loss_rel_err']:.2%}); per-sample margin median"
            f" {cmp['margin_sample_median']:.4g}, min {cmp['margin_sample_min']:.3g}\n"
            f"       train CE {cmp['train_ce']:.3g}"
            f" (UFM optimum's CE {cmp['ufm_ce_at_optimum']:.3g});"
            f" UFM objective: optimum f* {cmp['ufm_f_star']:.4g}, network's (W, centred H, b)"
            f" {cmp['net_f_ufm_objective']:.4g}"
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
    ap.add_argument(
        "--linear-features",
        action="store_true",
        help="no ReLU on the last hidden layer (features can be negative, as in the UFM)",
    )
    ap.add_argument(
        "--polish",
        type=int,
        default=0,
        help="after SGD, this many full-batch L-BFGS iterations on the regularized objective"
        " (float64, towards a stationary point; ~0.07 s per iteration on one core)",
    )
    args = ap.parse_args()
    dev = device_of(args.device, args.threads)
    runs = ("ce", "mse", "imbalanced") if args.run == "all" else (args.run,)
    for r in runs:
        run_one(r, args, dev)


if __name__ == "__main__":
    main()
