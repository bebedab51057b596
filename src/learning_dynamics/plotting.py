"""The book's figure style and the helper that shows a figure with alt text.

Conventions (see the contributor notes): opaque white background so figures stay
readable in dark mode, the Okabe–Ito colour-blind-safe palette, theory drawn as
dashed black lines over coloured simulation, readable font sizes, and every
figure shown through :func:`show_figure`, which refuses figures without a title,
axis labels or alt text.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = [
    "PALETTE",
    "THEORY_STYLE",
    "use_book_style",
    "new_figure",
    "show_figure",
    "figure_html",
    "log_time_axis",
]

#: Okabe & Ito (2008) colour-blind-safe palette, black first reserved for theory.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Line style for closed-form / theory curves drawn over simulation.
THEORY_STYLE: dict[str, Any] = {"color": "black", "linestyle": "--", "linewidth": 1.4}

_RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9.5,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.8,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "image.cmap": "cividis",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style globally (idempotent)."""
    mpl.rcParams.update(_RC)


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0, **kwargs: Any):
    """Create a figure in the book's style; returns ``(fig, axes)`` like ``plt.subplots``."""
    with mpl.rc_context(_RC):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), constrained_layout=True, **kwargs)
    fig.patch.set_facecolor("white")
    fig.patch.set_alpha(1.0)
    return fig, axes


def _check_readable(fig) -> None:
    has_suptitle = fig._suptitle is not None and fig._suptitle.get_text().strip() != ""
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison or ax.get_label() == "<colorbar>":
            continue  # hidden axes and colorbars carry their own label
        if not (ax.get_xlabel().strip() and ax.get_ylabel().strip()):
            raise ValueError(
                f"figure axes {i} ('{ax.get_title()}') needs both an x and a y label with units; "
                f"got x={ax.get_xlabel()!r}, y={ax.get_ylabel()!r}")
        if not (ax.get_title().strip() or has_suptitle):
            raise ValueError(f"figure axes {i} needs a title (ax.set_title or fig.suptitle)")


def figure_html(fig, alt: str, caption: str | None = None) -> str:
    """Return an HTML ``<figure>`` holding ``fig`` as an inline PNG with ``alt`` text."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white", transparent=False)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="ld-figure" style="margin:0 0 1em 0">'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
            f'style="max-width:100%;height:auto;background:white"/>{cap}</figure>')


class _Figure:
    """Display object: HTML figure with alt text, PNG and plain-text fallbacks."""

    def __init__(self, fig, alt: str, caption: str | None):
        self._html = figure_html(fig, alt, caption)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", facecolor="white", transparent=False)
        self._png = buf.getvalue()
        self._text = f"[figure] {alt}" + (f"\n{caption}" if caption else "")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self._html, "image/png": self._png, "text/plain": self._text}


def show_figure(fig, alt: str, caption: str | None = None, *, check: bool = True):
    """Display ``fig`` with alt text (and an optional caption), then close it.

    The figure is emitted as an HTML ``<figure>`` whose ``<img>`` carries ``alt``,
    so screen readers and the built book get a description instead of a file name.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to show.
    alt : str
        What the figure shows, in words (at least 20 characters).
    caption : str, optional
        A sentence telling the reader what to see.
    check : bool
        Refuse figures whose axes lack labels or a title.

    Returns
    -------
    None
        The figure is displayed with ``IPython.display.display``.
    """
    from IPython.display import display

    if not isinstance(alt, str) or len(alt.strip()) < 20:
        raise ValueError(f"alt must describe the figure in words (at least 20 characters); got {alt!r}")
    if caption is not None and not isinstance(caption, str):
        raise TypeError(f"caption must be a string or None; got {type(caption).__name__}")
    if check:
        _check_readable(fig)
    obj = _Figure(fig, alt, caption)
    plt.close(fig)
    display(obj)


def log_time_axis(ax, label: str = "training step $t$", *, y_log: bool = False,
                  ylabel: str | None = None):
    """Put time on a logarithmic x axis with the book's label conventions.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to format.
    label : str
        The x label, with units ("training step $t$", "time $t/\\tau$").
    y_log : bool
        Also make the y axis logarithmic.
    ylabel : str, optional
        The y label, if it is to be set here.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, for chaining.
    """
    ax.set_xscale("log")
    if y_log:
        ax.set_yscale("log")
    ax.set_xlabel(label)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax
