"""The figures of the experiments, drawn from their saved results (no training).

    python experiments/figures.py [DIR]     # redraw every figure from DIR/*.json

DIR defaults to out/experiments, where the experiment scripts write their JSON:
``tpt_<run>.json`` (tpt_digits.py), ``fixed_etf.json`` (fixed_etf.py),
``deep_rfm.json`` (deep_rfm.py).  Each figure is written as PNG (200 dpi) and PDF in the
project's style (ncproofs/plotstyle.py).  The scripts call the same functions at the end
of a run.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing the package
    sys.path.insert(0, str(ROOT))

from ncproofs import plotstyle  # noqa: E402

OUT = ROOT / "out" / "experiments"
HISTORY_PANELS = ("NC1", "NC2_M", "NC2_W", "NC3", "NC4")
#: panels on a log scale (NC4, a fraction of samples that is often exactly 0, is linear)
LOG_PANELS = ("NC1", "NC2_M", "NC2_W", "NC3")


def _finite(values) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


def draw_history(history: dict, title: str, path: Path) -> list[Path]:
    """NC1, NC2 (means, W), NC3, NC4 per hidden layer against the epoch, and train / test
    accuracy: a 2 x 3 grid at full text width.  ``history`` is ``History.to_json()``."""
    fig, axes = plotstyle.figure(2, 3, width=plotstyle.FULL_WIDTH, height=4.3, sharex=True)
    epochs = history["epochs"]
    layers = history["layers"]
    last = list(layers)[-1] if layers else None
    for ax, key in zip(axes.flat, HISTORY_PANELS, strict=False):
        for i, (name, metrics) in enumerate(layers.items()):
            values = _finite(metrics.get(key, []))
            if not values or all(math.isnan(v) for v in values):
                continue
            label = f"layer {name.removeprefix('layer')}" + (" (features $H$)"
                                                             if name == last else "")
            if key in LOG_PANELS:  # an exact 0 has no place on a log axis: clip at 1e-12
                values = [max(v, 1e-12) for v in values]
            ax.plot(epochs, values, color=plotstyle.PALETTE[i], marker=plotstyle.MARKERS[i],
                    markevery=max(1, len(epochs) // 6), label=label)
        if key in LOG_PANELS:
            ax.set_yscale("log")
            plotstyle.plain_log_ticks(ax.yaxis)
        ax.set_ylabel(plotstyle.symbol(key) + (" (fraction)" if key == "NC4" else ""))
    # one legend for the layers, outside the panels (inside it hid the curves)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    acc = axes.flat[5]
    acc.plot(epochs, history["train_acc"], color=plotstyle.PALETTE[0], label="train")
    acc.plot(epochs, history["test_acc"], color=plotstyle.PALETTE[3], ls="--", label="test")
    acc.set_ylabel("accuracy")
    acc.legend(loc="lower right")
    for ax in axes[1]:
        ax.set_xlabel(plotstyle.symbol("epoch"))
    fig.suptitle(title)
    return plotstyle.save(fig, path)


#: how the fixed-ETF runs are shown: name -> (label, fixed classifier?)
FIXED_ETF_LABELS = {
    "learned-d128": ("learned\n$d = 128$, ReLU", False),
    "learned-dK": ("learned\n$d = K$, ReLU", False),
    "learned-dK-linear": ("learned\n$d = K$, linear", False),
    "fixed-etf-dK-relu": ("fixed ETF\n$d = K$, ReLU", True),
    "fixed-etf-dK-relu-unrotated": ("fixed ETF, $Q = I$\n$d = K$, ReLU", True),
    "fixed-etf-dK-linear": ("fixed ETF\n$d = K$, linear", True),
}


def draw_fixed_etf(result: dict, path: Path) -> list[Path]:
    """The fixed-ETF comparison (experiments/fixed_etf.py): test accuracy per run (bar:
    mean over seeds, dots: each seed; learned classifiers blue, fixed simplex-ETF
    classifiers orange) with each run's trainable parameters at the right."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory

    runs = result["runs"]
    names = [n for n in FIXED_ETF_LABELS if n in runs] + [n for n in runs
                                                          if n not in FIXED_ETF_LABELS]
    fig, ax = plotstyle.figure(width=plotstyle.COLUMN_WIDTH, height=3.6)
    right = blended_transform_factory(ax.transAxes, ax.transData)
    for i, name in enumerate(names):
        label, fixed = FIXED_ETF_LABELS.get(name, (name, "fixed" in name))
        color = plotstyle.OKABE_ITO["orange" if fixed else "blue"]
        tests = [r["test_acc"] for r in runs[name]]
        mean = sum(tests) / len(tests)
        ax.barh(i, mean, color=color, height=0.62)
        ax.plot(tests, [i] * len(tests), "o", color="k", ms=3.5, mfc="white")
        ax.text(1.02, i, f"{runs[name][0]['trainable_params'] / 1000:.0f}k",
                transform=right, va="center", ha="left")
    ax.text(1.02, -0.75, "params", transform=right, va="center", ha="left")
    ax.set_yticks(range(len(names)), [FIXED_ETF_LABELS.get(n, (n, False))[0] for n in names])
    ax.set_ylim(len(names) - 0.5, -1.0)
    low = min(r["test_acc"] for n in names for r in runs[n])
    ax.set_xlim(max(0.0, math.floor((low - 0.02) * 20) / 20), 1.0)
    ax.set_xlabel("test accuracy")
    ax.set_ylabel("classifier, features")
    ax.grid(axis="y", visible=False)
    ax.set_title(r"digits, CE, $K = 10$: fixed ETF vs learned classifier")
    seeds = sorted({r["seed"] for n in names for r in runs[n]})
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, seeds))
    ax.legend(handles=[Patch(color=plotstyle.OKABE_ITO["blue"], label="learned"),
                       Patch(color=plotstyle.OKABE_ITO["orange"], label="fixed ETF"),
                       Line2D([], [], ls="", marker="o", color="k", mfc="white",
                              label=seed_text)],
              loc="upper center", bbox_to_anchor=(0.4, -0.16), ncols=3)
    return plotstyle.save(fig, path)


def draw_deep_rfm(rows: list[dict], path: Path) -> list[Path]:
    """Deep RFM (experiments/deep_rfm.py): (a) NC1 per layer at the layer's input, after
    the AGOP step and after the random-feature map; (b) the kernel predictor's test
    accuracy per layer."""
    layers = [r["layer"] for r in rows]
    fig, (nc1, acc) = plotstyle.figure(2, 1, height=4.2, sharex=True)
    for i, (key, label) in enumerate((("NC1_input", "layer input"),
                                      ("NC1_after_agop", "after AGOP"),
                                      ("NC1_after_random_features", "after random features"))):
        nc1.plot(layers, [r[key] for r in rows], marker=plotstyle.MARKERS[i],
                 color=plotstyle.PALETTE[i], label=label)
    nc1.set_yscale("log")
    plotstyle.plain_log_ticks(nc1.yaxis)
    nc1.set_ylabel(plotstyle.symbol("NC1"))
    nc1.set_title(r"(a) $\mathcal{NC}_1 = \mathrm{tr}(\Sigma_W \Sigma_B^+)/K$")
    nc1.legend(loc="lower left")
    acc.plot(layers, [r["test_acc"] for r in rows], marker="o", color=plotstyle.PALETTE[3],
             label="kernel predictor")
    acc.set_ylabel("test accuracy")
    acc.set_xlabel("layer")
    acc.set_xticks(layers)
    acc.set_title("(b) kernel predictor on the layer's features")
    return plotstyle.save(fig, path)


def redraw(folder: Path = OUT) -> list[Path]:
    """Every figure whose results are saved in ``folder``."""
    written: list[Path] = []
    for path in sorted(folder.glob("tpt_*.json")):
        result = json.loads(path.read_text())
        run = result["run"]
        target = "etf" if run == "ce" else "orthogonal"  # as tpt_digits.py
        written += draw_history(result["history"], f"digits, {run} (target {target})",
                                path.with_suffix(""))
    fixed = folder / "fixed_etf.json"
    if fixed.exists():
        result = json.loads(fixed.read_text())
        written += draw_fixed_etf(result, folder / "fixed_etf_comparison")
        for name, results in result["runs"].items():
            for r in results:
                if "history" in r:
                    written += draw_history(r["history"], f"digits CE, {name}, seed {r['seed']}",
                                            folder / f"fixed_etf_{name}_s{r['seed']}")
    rfm = folder / "deep_rfm.json"
    if rfm.exists():
        written += draw_deep_rfm(json.loads(rfm.read_text())["layers"], folder / "deep_rfm")
    return written


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    paths = redraw(folder)
    for p in paths:
        print("wrote", p)
    if not paths:
        print(f"no saved results in {folder}: run the experiment scripts first")
        sys.exit(1)
