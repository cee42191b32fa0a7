"""One figure style for every plot of the project (derivations/, experiments/).

Figures are sized for a paper: ``COLUMN_WIDTH`` = 3.4 in (one column of a two-column
paper) or ``FULL_WIDTH`` = 7.0 in, fonts of at least 8 pt at that size, every axis
labelled (with the paper's symbols, :func:`symbol`), a legend wherever more than one
series is drawn, and the Okabe-Ito palette (distinguishable with every common colour
vision deficiency; Okabe & Ito 2008, "Color universal design").  :func:`save` writes a
PNG at 200 dpi and a PDF next to it, after :func:`check_figure` has refused unlabelled
axes and fonts below 8 pt.

Usage::

    from ncproofs import plotstyle
    fig, ax = plotstyle.figure()                      # 3.4 in wide, one panel
    ax.plot(x, y, label="closed form")
    ax.set_xlabel(plotstyle.symbol("lam_b")); ax.set_ylabel(plotstyle.symbol("f*"))
    plotstyle.save(fig, "out/fig")                    # out/fig.png (200 dpi), out/fig.pdf

matplotlib is imported only when a figure is made (``pip install -e .[plot]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: one column of a two-column paper, and the full text width (inches)
COLUMN_WIDTH = 3.4
FULL_WIDTH = 7.0
#: the smallest font size any text of a saved figure may have (points)
MIN_FONT_PT = 8.0
PNG_DPI = 200

#: Okabe & Ito's colour-universal palette, in the order used for series
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple",
                                  "black", "yellow")]
#: a sequential colour map that stays readable in grey and for colour-blind readers
SEQUENTIAL_CMAP = "cividis"
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]

RC: dict[str, Any] = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.titlesize": 9,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
    "axes.grid": True,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.35,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "mathtext.fontset": "dejavusans",
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "pdf.fonttype": 42,  # TrueType in the PDF: editable text, accepted by publishers
}

#: the paper's symbol for a name used in the code (mathtext)
SYMBOLS = {
    "K": r"$K$",
    "L": r"$L$ (weight matrices)",
    "d": r"$d$",
    "n": r"$n$",
    "lam_W": r"$\lambda_W$",
    "lam_H": r"$\lambda_H$",
    "lam_b": r"$\lambda_b$",
    "lam": r"$\lambda_W = \lambda_H$",
    "tau": r"$\tau$",
    "f*": r"$f^\star$",
    "NC1": r"$\mathcal{NC}_1$",
    "NC1_cdnv": r"$\mathcal{NC}_1$ (CDNV)",
    "NC2_M": r"$\mathcal{NC}_2$ (class means)",
    "NC2_W": r"$\mathcal{NC}_2$ ($W$)",
    "NC3": r"$\mathcal{NC}_3$",
    "NC4": r"$\mathcal{NC}_4$",
    "bias": r"bias metric",
    "epoch": "epoch",
}


def symbol(name: str) -> str:
    """The axis label for ``name`` (the paper's symbol), or ``name`` itself."""
    return SYMBOLS.get(name, name)


def _pyplot():
    import matplotlib

    # files only, unless a notebook already chose its inline backend
    if "inline" not in matplotlib.get_backend().lower():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def apply() -> None:
    """Set the style globally (rcParams and the Okabe-Ito colour cycle)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(RC)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=PALETTE)


def figure(nrows: int = 1, ncols: int = 1, *, width: float = COLUMN_WIDTH,
           height: float | None = None, **subplots_kw: Any):
    """A new figure in the project's style: ``width`` inches wide (default one column),
    ``height`` by default 2.3 in per row of panels.  Returns ``(fig, axes)`` as
    ``plt.subplots``."""
    plt = _pyplot()
    apply()
    if height is None:
        height = 2.3 * nrows + 0.2
    subplots_kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width, height), **subplots_kw)


def plain_log_ticks(axis) -> None:
    """Tick labels of a log axis as plain numbers ("0.6", "1e-06") on major and minor
    ticks: matplotlib's default "6x10^-1" labels crowd a panel whose range is below a
    decade."""
    from matplotlib.ticker import FuncFormatter, LogFormatter

    class PlainMinor(LogFormatter):
        """matplotlib's choice of which minor ticks to label, written plainly."""

        def __call__(self, value, pos=None):
            return f"{value:g}" if super().__call__(value, pos) else ""

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(PlainMinor(labelOnlyBase=False, minor_thresholds=(1, 0.5)))


def _texts(fig) -> Iterable[Any]:
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            yield text


def check_figure(fig) -> None:
    """Refuse a figure a reader cannot read: an axes with data but no x or y label, or a
    visible text below ``MIN_FONT_PT``.  Raises ValueError naming the problem."""
    for ax in fig.axes:
        if not ax.get_visible() or not ax.has_data() or ax.get_label() == "<colorbar>":
            continue
        # a panel sharing an axis with a labelled one (sharex/sharey=True) is labelled
        xlabel = any(a.get_xlabel().strip() for a in ax.get_shared_x_axes().get_siblings(ax))
        ylabel = any(a.get_ylabel().strip() for a in ax.get_shared_y_axes().get_siblings(ax))
        if not xlabel or not ylabel:
            title = ax.get_title() or "an axes"
            raise ValueError(f"figure: {title!r} needs both axis labels "
                             f"(x {ax.get_xlabel()!r}, y {ax.get_ylabel()!r})")
    for text in _texts(fig):
        if text.get_fontsize() < MIN_FONT_PT - 1e-9:
            raise ValueError(f"figure: text {text.get_text()!r} is "
                             f"{text.get_fontsize():g} pt, below {MIN_FONT_PT:g} pt")


def save(fig, path: str | Path, *, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Check ``fig`` (:func:`check_figure`), write ``path`` with each suffix in
    ``formats`` (PNG at 200 dpi), close it, and return the written paths."""
    check_figure(fig)
    stem = Path(path)
    if stem.suffix.lower() in (".png", ".pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = stem.with_suffix("." + fmt)
        fig.savefig(target, dpi=PNG_DPI if fmt == "png" else None)
        written.append(target)
    _pyplot().close(fig)
    return written


__all__ = ["COLUMN_WIDTH", "FULL_WIDTH", "MIN_FONT_PT", "OKABE_ITO", "PALETTE", "PNG_DPI",
           "SEQUENTIAL_CMAP", "SYMBOLS", "apply", "check_figure", "figure", "plain_log_ticks",
           "save", "symbol"]
