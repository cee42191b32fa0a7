"""One figure style: column width, fonts >= 8 pt, labelled axes, PNG at 200 dpi + PDF, and
every figure of derivations/ and experiments/ drawn through it."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from ncproofs import plotstyle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path, name: str):
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path.parent))


def test_save_writes_png_at_200_dpi_and_pdf(tmp_path):
    from PIL import Image

    fig, ax = plotstyle.figure()
    ax.plot([1, 2, 3], [1, 4, 9], label="data")
    ax.set_xlabel(plotstyle.symbol("lam_W"))
    ax.set_ylabel(plotstyle.symbol("f*"))
    ax.legend()
    png, pdf = plotstyle.save(fig, tmp_path / "fig.png")
    assert png.suffix == ".png" and pdf.suffix == ".pdf" and pdf.stat().st_size > 0
    with Image.open(png) as image:
        dpi = image.info["dpi"]
        width_in = image.size[0] / dpi[0]
    assert round(dpi[0]) == 200
    # tight bounding box: close to one column (3.4 in), never a wide strip
    assert 2.5 < width_in <= plotstyle.COLUMN_WIDTH + 0.2


def test_check_refuses_unlabelled_axes_and_small_fonts():
    fig, ax = plotstyle.figure()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("x")
    with pytest.raises(ValueError, match="axis labels"):
        plotstyle.check_figure(fig)
    ax.set_ylabel("y")
    plotstyle.check_figure(fig)
    ax.text(0.5, 0.5, "tiny", fontsize=6)
    with pytest.raises(ValueError, match="below 8 pt"):
        plotstyle.check_figure(fig)


def test_palette_is_okabe_ito():
    assert plotstyle.PALETTE[:3] == ["#0072B2", "#E69F00", "#009E73"]


def test_no_figure_bypasses_the_style():
    """Every savefig of derivations/ and experiments/ goes through plotstyle.save."""
    offenders = [f"{p.relative_to(ROOT)}" for folder in ("derivations", "experiments")
                 for p in (ROOT / folder).glob("*.py")
                 if re.search(r"\.savefig\(", p.read_text())]
    assert offenders == []


# ------------------------------------------------------ each figure on small synthetic data

def test_experiment_figures(tmp_path):
    figures = _load(ROOT / "experiments" / "figures.py", "figures")
    epochs = [1, 50, 100]
    layers = {f"layer{i}": {k: [1.0 / i, 0.1 / i, 0.01 / i] for k in figures.HISTORY_PANELS}
              for i in (1, 2)}
    layers["layer1"]["NC2_W"] = [None, None, None]  # only the last layer has a classifier
    history = {"epochs": epochs, "loss": [1, 0.1, 0.01], "train_acc": [0.5, 0.9, 1.0],
               "test_acc": [0.5, 0.85, 0.95], "layers": layers}
    assert figures.draw_history(history, "synthetic", tmp_path / "h")[0].exists()
    runs = {name: [{"seed": s, "test_acc": 0.9 + 0.01 * s, "trainable_params": 85002}
                   for s in (0, 1)] for name in figures.FIXED_ETF_LABELS}
    assert figures.draw_fixed_etf({"runs": runs}, tmp_path / "f")[0].exists()
    rows = [{"layer": i, "NC1_input": 1 / i, "NC1_after_agop": 0.5 / i,
             "NC1_after_random_features": 0.3 / i, "test_acc": 0.98} for i in (1, 2, 3)]
    assert figures.draw_deep_rfm(rows, tmp_path / "r")[0].exists()


def test_relu_phase_diagram_tells_refuted_from_inconclusive(tmp_path, monkeypatch):
    """The old diagram printed 0.0 for both certified and inconclusive cells."""
    relu = _load(ROOT / "derivations" / "relu_dufm.py", "relu_dufm")
    rows = [{"K": 3, "L": 2, "status": "inconclusive", "gain": 0.0},
            {"K": 3, "L": 4, "status": "refuted", "gain": 1.88},
            {"K": 4, "L": 2, "status": "certified", "gain": 0.0},
            {"K": 4, "L": 4, "status": "refuted", "gain": 7.5}]
    texts: list[str] = []
    real_save = plotstyle.save

    def keep_texts(fig, path, **kw):
        texts.extend(t.get_text() for t in fig.axes[0].texts)
        return real_save(fig, path, **kw)

    monkeypatch.setattr(plotstyle, "save", keep_texts)
    relu.draw_phase(rows, "0.004", tmp_path / "phase")
    assert sorted(texts) == sorted(["inc.", "1.9", "cert.", "7.5"])


def test_ufm_losses_figures_from_saved_numbers(tmp_path):
    losses = _load(ROOT / "derivations" / "ufm_losses.py", "ufm_losses")
    grid = [10 ** (k / 4) for k in range(-12, 9)]
    transition = {"K": 4, "kappa": 0.2, "lam_b": grid, "x": [0.8] * len(grid),
                  "y": [min(0.8, g) for g in grid], "Kb": [1 / (1 + g) for g in grid],
                  "value": [0.3 + 0.01 * math.log1p(g) for g in grid],
                  "torch_lam_b": grid[::5], "torch_value": [0.3] * len(grid[::5])}
    assert Path(losses.draw_mse_transition(transition, str(tmp_path))).exists()
    imbalanced = {"n_major": 100, "lam": 2e-3, "R": [1, 10, 100], "major": [1, 0.9, 0.8],
                  "minor": [1, 0.5, 0], "torch_R": [1, 10], "torch_major": [1, 0.9],
                  "torch_minor": [1, 0.5], "threshold": 40.0, "lams": [1e-3, 2e-3],
                  "R_star": [100.0, 40.0]}
    assert Path(losses.draw_mse_imbalanced(imbalanced, str(tmp_path))).exists()


def test_figures_embedded_in_the_docs_are_small_and_present():
    """Committed figures are only those the docs embed, each under 200 KB."""
    docs = ROOT / "docs"
    embedded = {m for p in docs.glob("*.md")
                for m in re.findall(r"\]\((figures/[\w.-]+\.png)\)", p.read_text())}
    committed = {f"figures/{p.name}" for p in (docs / "figures").glob("*.png")}
    assert embedded and embedded == committed
    for name in committed:
        assert (docs / name).stat().st_size < 200_000, name
