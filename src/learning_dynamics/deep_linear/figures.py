"""Figures and the interactive explorer of chapter 2 (deep linear networks).

Each function draws one figure of the chapter from the results of
:mod:`learning_dynamics.deep_linear` (simulation in colour, closed forms as dashed black
lines) and returns the matplotlib figure; the notebook shows it with
:func:`learning_dynamics.plotting.show_figure`. :func:`explorer` returns an ipywidgets panel that
re-simulates the toy data set and redraws the mode strengths over eq. (dl-sigmoid) /
eq. (dl-depth-ode) in well under half a second per move.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, new_figure
from ..validation import check_array, check_choice, check_float, check_int
from . import data as dl_data
from . import diagnostics, theory
from .train import History, init_weights, train

__all__ = [
    "plot_modes",
    "plot_loss_stages",
    "plot_deep_vs_shallow",
    "plot_spectrum",
    "plot_rsm_snapshots",
    "plot_prediction",
    "plot_projection",
    "plot_typicality",
    "plot_coherence",
    "explorer_figure",
    "explorer",
]


def _history(h) -> History:
    if not isinstance(h, History):
        raise TypeError(f"history must be a deep_linear.History; got {type(h).__name__}")
    return h


def _axes(ax, width=6.4, height=4.0):
    if ax is None:
        fig, ax = new_figure(width=width, height=height)
        return fig, ax
    return ax.figure, ax


def plot_modes(history, theory=None, *, ax=None, normalise: bool = True, labels: Sequence[str] | None = None,
               title: str = "Mode strengths: simulation (colour) and theory (dashed)"):
    """Mode strengths ``a_alpha(t)`` (divided by ``s_alpha`` when ``normalise``) against ``t / tau``.

    ``theory`` is an array ``(len(history.t), r)`` of closed-form curves drawn dashed on top.
    """
    h = _history(history)
    fig, ax = _axes(ax)
    s = h.svd.s
    scale = s if normalise else np.ones_like(s)
    for k in range(s.size):
        lab = labels[k] if labels is not None else f"mode {k + 1}, s = {s[k]:.3g}"
        ax.plot(h.t, h.mode_strength[:, k] / scale[k], color=PALETTE[k % len(PALETTE)], label=lab)
    if theory is not None:
        th = check_array("theory", theory, shape=(h.t.size, s.size))
        for k in range(s.size):
            ax.plot(h.t, th[:, k] / scale[k], **THEORY_STYLE, label="closed form" if k == 0 else None)
    ax.set_xlabel("time t / tau")
    ax.set_ylabel("mode strength a(t) / s" if normalise else "mode strength a(t)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


def plot_loss_stages(history, predicted_half_times, *, ax=None, time_unit: str = "tau"):
    """Loss (divided by its initial value) with the predicted half-time of each mode as dotted lines."""
    h = _history(history)
    th = check_array("predicted_half_times", predicted_half_times, ndim=1)
    check_choice("time_unit", time_unit, ("tau", "steps"))
    fig, ax = _axes(ax)
    t = h.t if time_unit == "tau" else h.step
    ax.plot(t, h.loss / h.loss[0], color=PALETTE[0], label="simulated loss")
    for k, x in enumerate(np.unique(np.round(th, 6))):
        ax.axvline(x, color="grey", linestyle=":", linewidth=1.2, label="predicted half-times" if k == 0 else None)
    ax.set_xlabel("time t / tau" if time_unit == "tau" else "training step (epoch)")
    ax.set_ylabel("loss / initial loss")
    ax.set_title("Loss: one plateau and drop per singular-value level")
    ax.legend(loc="upper right")
    return fig


def plot_deep_vs_shallow(deep, shallow, deep_theory, shallow_theory):
    """Two panels: deep (two-layer) and shallow (one-layer) mode strengths with their closed forms."""
    fig, axes = new_figure(1, 2, width=10.0, height=3.8, sharey=True)
    plot_modes(deep, deep_theory, ax=axes[0], title="Deep net W2 W1: sigmoids at different times")
    plot_modes(shallow, shallow_theory, ax=axes[1], title="Shallow net W: one time constant")
    return fig


def plot_spectrum(measured, predicted, *, ax=None, title: str = "Singular values of tree data"):
    """Measured singular values of the data against the level formula, eq. (dl-tree-spectrum)."""
    m = check_array("measured", measured, ndim=1)
    p = check_array("predicted", predicted, shape=(m.size,))
    fig, ax = _axes(ax, width=5.6, height=3.6)
    k = np.arange(1, m.size + 1)
    ax.plot(k, m, "o", color=PALETTE[0], markersize=8, label="measured sigma(y)")
    ax.plot(k, p, "_", color="black", markersize=22, markeredgewidth=2, label="sqrt(N_f lambda_k), closed form")
    ax.set_xlabel("mode index alpha")
    ax.set_ylabel("singular value s_alpha")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return fig


def plot_rsm_snapshots(history, steps: Sequence[int], item_names: Sequence[str], *, time_unit: str = "epoch"):
    """Hidden-layer similarity matrices ``H^T H`` (each divided by its largest entry) at several steps."""
    h = _history(history)
    steps = [int(s) for s in steps]
    fig, axes = new_figure(1, len(steps), width=3.0 * len(steps), height=3.3)
    axes = np.atleast_1d(axes)
    R = diagnostics.rsm(h.hidden)
    for ax, st in zip(axes, steps):
        i = int(np.searchsorted(h.step, st))
        M = R[i] / np.abs(R[i]).max()
        ax.imshow(M, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(item_names)))
        ax.set_yticks(range(len(item_names)))
        ax.set_xticklabels(item_names, rotation=90, fontsize=8)
        ax.set_yticklabels(item_names, fontsize=8)
        ax.grid(False)
        ax.set_title(f"{time_unit} {h.step[i]}")
        ax.set_xlabel("item")
        ax.set_ylabel("item")
    return fig


def plot_prediction(history, item: int, row_position: int = 0, *, label: str = "prediction", ax=None,
                    time_unit: str = "epoch"):
    """One recorded output over training (e.g. "Shark has bones"), with the target as a dotted line."""
    h = _history(history)
    fig, ax = _axes(ax, width=6.0, height=3.6)
    y = h.predictions[:, row_position, item]
    ax.plot(h.step, y, color=PALETTE[1], label=label)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"training {time_unit}")
    ax.set_ylabel("network output y_hat")
    ax.set_title("A semantic illusion: asserted, then retracted")
    ax.legend(loc="lower left")
    return fig


def plot_projection(history, item: int, steps: Sequence[int], item_names: Sequence[str], *, ax=None,
                    time_unit: str = "epoch"):
    """Inductive projection of a property taught for ``item`` onto every item, at several steps."""
    h = _history(history)
    fig, ax = _axes(ax, width=7.0, height=3.8)
    x = np.arange(len(item_names))
    for c, st in enumerate(steps):
        i = int(np.searchsorted(h.step, int(st)))
        ax.plot(x, diagnostics.inductive_projection(h.hidden[i], item), "o-", color=PALETTE[c % len(PALETTE)],
                label=f"{time_unit} {h.step[i]}")
    ax.set_xticks(x)
    ax.set_xticklabels(item_names, rotation=30)
    ax.set_xlabel("item the new property is tested on")
    ax.set_ylabel("projected property strength")
    ax.set_title(f"A property taught for {item_names[item]} spreads, then narrows")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_typicality(history, feature: int, item_names: Sequence[str], *, ax=None):
    """Output of one shared feature (e.g. "feathers") for every item; atypical items cross later."""
    h = _history(history)
    fig, ax = _axes(ax, width=6.0, height=3.6)
    pos = h.prediction_rows.index(feature)
    for j, name in enumerate(item_names):
        ax.plot(h.t, h.predictions[:, pos, j], color=PALETTE[j % len(PALETTE)], label=name)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1.0)
    ax.set_xlabel("time t / tau")
    ax.set_ylabel("predicted feature value")
    ax.set_title("Typical items acquire shared features first")
    ax.legend(loc="lower right")
    return fig


def plot_coherence(history, groups: Sequence[Sequence[int]], labels: Sequence[str], theory, *, ax=None):
    """Strength of each category's mode (normalised) over its closed form, eq. (dl-coherence)."""
    h = _history(history)
    fig, ax = _axes(ax, width=6.0, height=3.6)
    th = check_array("theory", theory, ndim=2)
    for c, (g, lab) in enumerate(zip(groups, labels)):
        s_sum = float(np.sum(h.svd.s[list(g)]))
        ax.plot(h.t, diagnostics.block_strength(h, g) / s_sum, color=PALETTE[c % len(PALETTE)], label=lab)
        ax.plot(h.t, th[:, c], **THEORY_STYLE, label="closed form" if c == 0 else None)
    ax.set_xlabel("time t / tau")
    ax.set_ylabel("category mode strength / s")
    ax.set_title("Coherent categories are learned faster")
    ax.legend(loc="lower right")
    return fig


# ---------------------------------------------------------------------------- explorer
def _explorer_run(init_scale: float, eta: float, hidden: int, n_layers: int, start: str):
    data = dl_data.toy_data()
    svd = dl_data.data_svd(data)
    s = svd.s
    init = "balanced" if start == "balanced" else "random"
    w0 = init_weights(data, hidden=max(hidden, 4) if init == "balanced" else hidden, n_layers=n_layers,
                         init=init, scale=init_scale, seed=0)
    theory_u0 = None
    if init == "balanced":
        theory_u0 = np.full(s.size, init_scale)
    elif n_layers == 3:
        theory_u0 = np.minimum(theory.effective_initial_strength(w0, svd), 0.49 * s)
    u0_time = theory_u0 if theory_u0 is not None else np.full(
        s.size, min(init_scale ** (n_layers - 1) * hidden ** ((n_layers - 2) / 2), 0.1))
    T = 1.6 * float(np.max(theory.deep_half_time(s, np.minimum(u0_time, 0.49 * s), n_layers=n_layers)))
    steps = int(min(max(math.ceil(T / eta), 10), 2000))
    record = np.unique(np.linspace(0, steps, min(steps, 200) + 1).astype(int))
    h = train(data, n_layers=n_layers, eta=eta, steps=steps, weights0=w0, hidden=hidden, record=record,
                 prediction_rows=[0])
    curves = None
    if theory_u0 is not None:
        if n_layers == 3:
            curves = theory.mode_strength(h.t, s, theory_u0)
        else:
            curves = theory.integrate_mode_ode(h.t, s, theory_u0, n_layers=n_layers)
    return h, curves


def explorer_figure(init_scale: float = 0.01, eta: float = 0.02, hidden: int = 16, n_layers: int = 3,
                    start: str = "random"):
    """The explorer's figure: toy-data mode strengths (colour) over the closed form (dashed).

    Parameters
    ----------
    init_scale : float
        Weight standard deviation (``start="random"``) or initial mode strength (``"balanced"``).
    eta : float
        Learning rate = Euler step in units of ``tau``.
    hidden : int
        Hidden width ``N``.
    n_layers : int
        Layers of units ``N_l`` (3 = ``W2 W1``).
    start : {"random", "balanced"}
        Random Gaussian start (theory with ``u0_eff``, eq. (dl-u0-eff), for ``N_l = 3`` only) or the
        decoupled balanced start (exact theory at every depth).
    """
    init_scale = check_float("init_scale", init_scale, minimum=1e-8, maximum=0.3)
    eta = check_float("eta", eta, minimum=1e-4, maximum=0.3)
    hidden = check_int("hidden", hidden, minimum=1, maximum=256)
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=6)
    start = check_choice("start", start, ("random", "balanced"))
    h, curves = _explorer_run(init_scale, eta, hidden, n_layers, start)
    note = "" if curves is not None else " (no closed form for a random deep start)"
    fig, ax = new_figure(width=6.8, height=4.0)
    plot_modes(h, curves, ax=ax, title=f"N_l = {n_layers}, N = {hidden}, eta = {eta:g}, scale = {init_scale:g}{note}")
    return fig


def explorer(init_scale: float = 0.01, eta: float = 0.02, hidden: int = 16, n_layers: int = 3,
             start: str = "random"):
    """Sliders for the initial scale, learning rate, hidden width and depth; redraws :func:`explorer_figure`."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    explorer_figure(init_scale, eta, hidden, n_layers, start)  # validates the defaults
    plt.close("all")
    w_scale = widgets.FloatLogSlider(value=init_scale, base=10, min=-5, max=-1, step=0.25, description="init scale")
    w_eta = widgets.FloatLogSlider(value=eta, base=10, min=-2.5, max=-0.7, step=0.1, description="eta")
    w_hidden = widgets.IntSlider(value=hidden, min=2, max=64, step=1, description="width N")
    w_depth = widgets.IntSlider(value=n_layers, min=2, max=5, step=1, description="layers N_l")
    w_start = widgets.ToggleButtons(options=["random", "balanced"], value=start, description="start")
    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = explorer_figure(w_scale.value, w_eta.value, w_hidden.value, w_depth.value, w_start.value)
            display(fig)
            plt.close(fig)

    for w in (w_scale, w_eta, w_hidden, w_depth, w_start):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([w_scale, w_eta, w_hidden]), widgets.HBox([w_depth, w_start]), out])
