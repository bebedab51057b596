"""The book's figure style and the helper that shows a figure with alt text.

Conventions (see the contributor notes): opaque white background so figures stay
readable in dark mode, the Okabe–Ito colour-blind-safe palette, theory drawn as
dashed black lines over coloured simulation, readable font sizes, and every
figure shown through :func:`show_figure`, which refuses figures without a title
or axis labels and emits a 2x PNG that MyST-NB turns into a numbered figure.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = [
    "CSS_DPI",
    "SAVE_DPI",
    "PNG_KEYS",
    "PALETTE",
    "THEORY_STYLE",
    "use_book_style",
    "new_figure",
    "show_figure",
    "figure_html",
    "figure_png",
    "smallest_tick_font",
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


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4,
               height: float = 4.0, **kwargs: Any):
    """Create a figure in the book's style; return ``(fig, axes)`` as ``plt.subplots``.

    Panels are **stacked one per row**: the book's text column is about 7.4 inches
    (740 CSS px) wide at a 1280-px window, so two panels side by side would each be
    under the 4 inches (400 px) a reader needs on a laptop.  A request for an
    ``nrows x ncols`` grid is laid out as ``nrows * ncols`` rows of one panel, and
    ``axes`` comes back with the shape ``plt.subplots(nrows, ncols)`` would give
    (``axes[i, j]`` still works; panels are in reading order, row by row).  Each
    panel gets ``STACKED_HEIGHT`` times the height of the row it was asked in.

    ``width`` is capped at ``MAX_WIDTH`` (6.7 inches, 670 CSS px): a wider figure would
    be scaled down to the 672-px image box of a 1280-px page, and every label and
    legend with it (a 10-inch figure shows 10-pt tick labels at 9.3 px and 7.5-pt
    legends at 7.0 px).  At or
    under the cap the figure is shown at its natural size on a 1280-px page, tick
    labels >= 10 px.
    """
    if not isinstance(width, (int, float)) or not width > 0:
        raise ValueError(f"width must be a positive number of inches; got {width!r}")
    width = min(float(width), MAX_WIDTH)
    if ncols > 1:
        if any(k in kwargs for k in ("gridspec_kw", "width_ratios", "height_ratios")):
            raise TypeError("new_figure stacks panels; gridspec ratios are not "
                            "supported (lay the panels out one per row)")
        panels = nrows * ncols
        with mpl.rc_context(_RC):
            fig, axes = plt.subplots(panels, 1, figsize=(
                width, max(height, STACKED_HEIGHT * height / nrows * panels)),
                constrained_layout=True, **kwargs)
        axes = axes.reshape(ncols) if nrows == 1 else axes.reshape(nrows, ncols)
    else:
        with mpl.rc_context(_RC):
            fig, axes = plt.subplots(nrows, ncols, figsize=(width, height),
                                     constrained_layout=True, **kwargs)
    fig.patch.set_facecolor("white")
    fig.patch.set_alpha(1.0)
    return fig, axes


#: Height of a stacked panel as a fraction of the row height asked for.
STACKED_HEIGHT = 0.8
#: Widest figure (inches): 670 CSS px at ``CSS_DPI``, inside the 672-px box the theme
#: gives an output image in a 1280-px window (measured in Chromium), so that no figure
#: is scaled down, and its text with it.
MAX_WIDTH = 6.7
#: Smallest legend text, in points: 7.5 pt is 10.4 CSS px at ``CSS_DPI``.
MIN_LEGEND_PT = 7.5


def _raise_small_legends(fig) -> None:
    """Set every legend text below ``MIN_LEGEND_PT`` to that size (phones, laptops)."""
    for legend in [ax.get_legend() for ax in fig.axes] + list(fig.legends):
        if legend is None:
            continue
        for text in legend.get_texts():
            if text.get_fontsize() < MIN_LEGEND_PT:
                text.set_fontsize(MIN_LEGEND_PT)
        title = legend.get_title()
        if title.get_text() and title.get_fontsize() < MIN_LEGEND_PT:
            title.set_fontsize(MIN_LEGEND_PT)


def _check_readable(fig) -> None:
    has_suptitle = fig._suptitle is not None and fig._suptitle.get_text().strip() != ""
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison or ax.get_label() == "<colorbar>":
            continue  # hidden axes and colorbars carry their own label
        if not (ax.get_xlabel().strip() and ax.get_ylabel().strip()):
            raise ValueError(
                f"figure axes {i} ('{ax.get_title()}') needs both an x and a y label "
                "with units; "
                f"got x={ax.get_xlabel()!r}, y={ax.get_ylabel()!r}")
        if not (ax.get_title().strip() or has_suptitle):
            raise ValueError(f"figure axes {i} needs a title "
                             "(ax.set_title or fig.suptitle)")


#: CSS pixels per inch at which a figure is shown: a 6.4-inch figure is 640 px wide.
CSS_DPI = 100
#: Resolution of the PNG a figure is saved as: twice ``CSS_DPI``, sharp on
#: high-density screens and when zoomed.
SAVE_DPI = 2 * CSS_DPI
#: PNG text keys that record how the image was made, read by the browser test
#: (``tests/test_browser.py``) to compute the rendered size of tick labels.
PNG_KEYS = {"dpi": "ld:save-dpi", "css_dpi": "ld:css-dpi", "tick_pt": "ld:min-tick-pt",
            "legend_pt": "ld:min-legend-pt", "panel_in": "ld:min-panel-in"}


def smallest_tick_font(fig) -> float:
    """Smallest font size (points) of the tick labels on the figure's visible axes."""
    sizes = []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        labels = ax.get_xticklabels(which="both") + ax.get_yticklabels(which="both")
        sizes += [t.get_fontsize() for t in labels if t.get_visible()]
    if not sizes:
        return float(_RC["xtick.labelsize"])
    return float(min(sizes))


def smallest_legend_font(fig) -> float | None:
    """Smallest font size (points) of the legend texts on the figure; None if none."""
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    sizes = [t.get_fontsize() for leg in legends if leg is not None
             and leg.get_visible() for t in leg.get_texts() if t.get_visible()]
    return float(min(sizes)) if sizes else None


def narrowest_panel(fig) -> float | None:
    """Width (inches) of the narrowest visible panel, colorbars excluded."""
    fig.canvas.draw()  # constrained layout places the axes on draw
    widths = [ax.get_position().width * fig.get_figwidth() for ax in fig.axes
              if ax.get_visible() and ax.axison and ax.get_label() != "<colorbar>"]
    return float(min(widths)) if widths else None


def figure_png(fig) -> tuple[bytes, int]:
    """Save ``fig`` as a PNG at ``SAVE_DPI``; return the bytes and its CSS width.

    The PNG's text chunks record ``SAVE_DPI``, ``CSS_DPI``, the smallest tick-label and
    legend sizes in points and the narrowest panel's width in inches (keys
    ``PNG_KEYS``), so that a browser test can compute the rendered sizes of labels and
    panels from the image's natural and displayed widths.
    """
    _raise_small_legends(fig)
    metadata = {PNG_KEYS["dpi"]: str(SAVE_DPI), PNG_KEYS["css_dpi"]: str(CSS_DPI),
                PNG_KEYS["tick_pt"]: f"{smallest_tick_font(fig):g}", "Software": None}
    legend, panel = smallest_legend_font(fig), narrowest_panel(fig)
    if legend is not None:
        metadata[PNG_KEYS["legend_pt"]] = f"{legend:g}"
    if panel is not None:
        metadata[PNG_KEYS["panel_in"]] = f"{panel:.3f}"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=SAVE_DPI, facecolor="white", transparent=False,
                metadata=metadata)
    css_width = int(round(fig.get_figwidth() * CSS_DPI))
    return buf.getvalue(), css_width


def figure_html(fig, alt: str, caption: str | None = None) -> str:
    """Return an HTML ``<figure>`` holding ``fig`` as an inline PNG with ``alt`` text.

    For pages outside the book (e.g. an exported report); the book's chapters use
    :func:`show_figure` and MyST figure metadata instead.
    """
    png, css_width = figure_png(fig)
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="ld-figure" style="margin:0 0 1em 0">'
            f'<img src="data:image/png;base64,{data}" width="{css_width}" '
            f'alt="{html.escape(alt, quote=True)}" '
            f'style="max-width:100%;height:auto;background:white"/>{cap}</figure>')


class _Figure:
    """Display object: a 2x PNG shown at its natural CSS width, and a text fallback."""

    def __init__(self, fig, alt: str | None):
        self._png, self._width = figure_png(fig)
        self._text = f"[figure] {alt}" if alt else "[figure]"

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"image/png": self._png, "text/plain": self._text}
        return data, {"image/png": {"width": self._width}}


_CAPTION_MOVED = (
    "show_figure no longer takes a caption: put it in the cell metadata, "
    '"mystnb": {"figure": {"name": "fig-<tag>-<slug>", "caption": "..."}, '
    '"image": {"alt": "..."}}, and refer to it with {numref}`fig-<tag>-<slug>` '
    "(see CONTRIBUTING.md)")


def show_figure(fig, alt: str | None = None, caption=None, *, check: bool = True):
    """Display ``fig`` as a 2x PNG at its natural size, then close it.

    In the book, the figure cell's metadata makes it a numbered MyST figure::

        "mystnb": {"figure": {"name": "fig-pre-scaling",
                              "caption": "... $\\alpha$ ..."},
                   "image": {"alt": "what the figure shows, in words"}}

    MyST-NB wraps the PNG in ``<figure id="fig-pre-scaling">`` with the rendered
    caption and the alt text; the chapter refers to it with ``{numref}``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to show.
    alt : str, optional
        What the figure shows, in words (at least 20 characters).  The book takes
        the alt text from the cell metadata; given here, it is also the plain-text
        fallback shown where images are not rendered.
    caption : None
        No longer accepted: a caption raises ``TypeError`` (it belongs in the cell
        metadata, where MyST renders its maths).
    check : bool
        Refuse figures whose axes lack labels or a title.

    Returns
    -------
    None
        The figure is displayed with ``IPython.display.display``: ``image/png``
        saved at ``SAVE_DPI`` with ``width`` metadata of its CSS width, and
        ``text/plain``.
    """
    from IPython.display import display

    if caption is not None:
        raise TypeError(_CAPTION_MOVED)
    if alt is not None and (not isinstance(alt, str) or len(alt.strip()) < 20):
        raise ValueError("alt must describe the figure in words (at least 20 "
                         f"characters); got {alt!r}")
    if check:
        _check_readable(fig)
    obj = _Figure(fig, alt)
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
