"""Figures of chapter 1: training curves against the linearisation, the 1/alpha law."""
from __future__ import annotations

import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, log_time_axis, new_figure
from .train import History, LazyScaling

__all__ = ["plot_training_curves", "plot_lazy_scaling"]


def plot_training_curves(histories: dict, lin: History, ax=None):
    """Train (dotted) and test (solid) loss for several alphas; linearised model dashed.

    Parameters
    ----------
    histories : dict of float -> History
        Network runs keyed by ``alpha``.
    lin : History
        The linearised model's run (the same for every ``alpha``,
        eq. (pre-function-gd)).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.figure.Figure or None
        The new figure, or None when drawing on ``ax``.
    """
    fig = None
    if ax is None:
        fig, ax = new_figure(width=6.8, height=4.2)
    for i, (alpha, history) in enumerate(histories.items()):
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(history.t[1:], history.test_loss[1:], color=colour,
                label=rf"network, $\alpha = {alpha:g}$")
        ax.plot(history.t[1:], history.train_loss[1:], color=colour, ls=":", lw=1.4)
    ax.plot(lin.t[1:], lin.test_loss[1:], **THEORY_STYLE, label="linearised model")
    ax.plot(lin.t[1:], lin.train_loss[1:], color="black", ls=":", lw=1.4,
            label="dotted: train loss")
    log_time_axis(ax, r"training step $k$ (step $\eta_0/\alpha^2$)", y_log=True,
                  ylabel=r"loss $\frac{1}{2P}\sum_\mu (f - y)^2$")
    ax.set_title(r"Large $\alpha$ tracks the linearised model")
    ax.legend(loc="lower left")
    return fig


def plot_lazy_scaling(res: LazyScaling, ax=None):
    """Gap to the linearisation, weight and kernel movement against alpha (log-log).

    A dashed slope -1 guide is drawn through the largest-alpha gap, eq. (pre-lin-gap).

    Returns
    -------
    matplotlib.figure.Figure or None
        The new figure, or None when drawing on ``ax``.
    """
    fig = None
    if ax is None:
        fig, ax = new_figure(width=6.8, height=4.2)
    alpha = np.asarray(res.alpha)
    ax.loglog(alpha, res.lin_gap, "o-", color=PALETTE[0],
              label=r"RMS $|f - f_{\rm lin}|$ on test inputs")
    ax.loglog(alpha, res.weight_change, "s-", color=PALETTE[1],
              label=r"$\|\theta - \theta_0\| / \|\theta_0\|$")
    ax.loglog(alpha, res.kernel_change, "^-", color=PALETTE[2],
              label=r"$\|K_T - K_0\|_F / \|K_0\|_F$")
    guide = res.lin_gap[-1] * alpha[-1] / alpha
    ax.loglog(alpha, guide, **THEORY_STYLE, label=r"slope $-1$ (theory)")
    ax.set_xlabel(r"output scale $\alpha$ (dimensionless)")
    ax.set_ylabel("distance after training (relative)")
    ax.set_title(r"Departure from the linearisation shrinks like $1/\alpha$")
    ax.legend(loc="lower left")
    return fig
