"""The interactive explorer of chapter 2 (deep linear networks).

:func:`explorer` returns an ipywidgets panel that re-trains a network on the toy data
and redraws its mode strengths over the theory, in discrete time: the exact per-step
map, eq. (dl-map), from the effective initial strengths of eq. (dl-u0-comp) for a
random two-layer start, and from the balanced start at any depth. Modes beyond the
hidden width cannot be learned; a degenerate pair is drawn as a block (its mean
strength), since its basis is arbitrary.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...plotting import new_figure
from ...validation import check_choice, check_float, check_int
from .. import data as dl_data
from .. import theory
from ..train import init_weights, train
from .plots import plot_modes

__all__ = ["explorer_figure", "explorer"]

#: Largest random-start scale for which the explorer draws the small-start theory.
SMALL_START = 0.035
#: Widths whose seed-0 start needs a smaller cut-off. Worst drawn-theory error over
#: eta in {10^-2.5, 0.02, 10^-0.7} (a scan of every slider width 1-64): at scale
#: 10^-1.5 width 1 misses by 4.8 %, width 5 by 7.5 %, width 11 by 6.6 % (every other
#: width < 3.5 %); at 10^-1.75 widths 5 and 11 by 5.0 % and 4.8 %, at 10^-2 by 3.2 %
#: and 3.6 %. Each cut-off is the largest slider scale whose error is below 4 %
#: (``tests/test_deep_linear_seeds.py`` checks every width).
SMALL_START_BY_WIDTH = {1: 10**-1.75, 5: 0.01, 11: 0.01}


def small_start_limit(hidden: int) -> float:
    """Largest random two-layer start scale at which the explorer draws theory."""
    return SMALL_START_BY_WIDTH.get(int(hidden), SMALL_START) * (1 + 1e-9)


def _theory_curves(history, svd, weights0, start: str, init_scale: float,
                   hidden: int, n_layers: int):
    """Predicted strengths at the recorded steps, in discrete time, or None.

    Every curve iterates the exact per-step map of gradient descent, eq. (dl-map)
    (its depth-``N_l`` form; ``N_l = 2`` is the shallow net's linear map, with no
    hidden layer and so no width limit).  A random two-layer start uses its own
    competition-corrected strengths and in-group rotations, eq. (dl-u0-comp); a
    width-``N`` network learns at most ``N`` modes.  None for a random start deeper
    than two layers (no theory in the chapter) and for a random start above
    ``small_start_limit(hidden)`` (the effective-strength theory assumes a small
    start; above it
    the drawn curves would miss by more than 5 % of ``s`` somewhere in the widget
    ranges, ``tests/test_deep_linear_seeds.py``).
    """
    steps, s, eta = history.step, svd.s, history.eta
    if n_layers == 2:  # W <- W + eta (Sigma_yx - W): each entry of U^T W V on its own
        b0 = np.diag(svd.u.T @ weights0[0] @ svd.v)
        return s - (s - b0) * (1.0 - eta) ** steps[:, None]
    learnable = np.arange(s.size) < hidden
    curves = np.zeros((steps.size, s.size))
    if start == "balanced":
        curves[:, learnable] = theory.map_mode_strength(
            steps, s[learnable], np.full(int(learnable.sum()), init_scale), eta,
            n_layers=n_layers)
        return curves
    if n_layers != 3 or init_scale > small_start_limit(hidden):
        return None
    u0, rotation = theory.effective_initial_blocks(weights0, svd)
    u0 = np.clip(u0, 1e-300, 0.99 * s)
    strengths = theory.map_mode_strength(steps, s, u0, eta) * learnable
    return np.einsum("ab,tb,ab->ta", rotation, strengths, rotation)


def _blocks(values, groups):
    """Each degenerate group's modes replaced by the group's mean (its trace / size)."""
    out = np.array(values, dtype=float)
    for group in groups:
        idx = list(group)
        out[:, idx] = out[:, idx].mean(axis=1, keepdims=True)
    return out


def _explorer_run(
    init_scale: float, eta: float, hidden: int, n_layers: int, start: str
):
    data = dl_data.toy_data()
    svd = dl_data.data_svd(data)
    weights0 = init_weights(data, hidden=hidden, n_layers=n_layers, init=start,
                            scale=init_scale, seed=0)
    u0_time = np.full(svd.s.size, max(min(init_scale, 0.1), 1e-12))
    if start == "random":
        u0_time = np.full(svd.s.size, min(init_scale ** (n_layers - 1)
                                          * hidden ** ((n_layers - 2) / 2), 0.1))
    t_end = 1.6 * float(np.max(theory.deep_half_time(
        svd.s, np.minimum(u0_time, 0.49 * svd.s), n_layers=n_layers)))
    steps = int(min(max(math.ceil(t_end / eta), 10), 2000))
    record = np.unique(np.linspace(0, steps, min(steps, 200) + 1).astype(int))
    history = train(data, n_layers=n_layers, eta=eta, steps=steps, weights0=weights0,
                    hidden=hidden, record=record, prediction_rows=[0])
    curves = _theory_curves(history, svd, weights0, start, init_scale, hidden,
                            n_layers)
    # a degenerate group is drawn as a block: its basis is arbitrary, its trace is not
    diagonal = np.einsum("taa->ta", history.mode_matrix)
    history = dataclasses.replace(history, mode_strength=_blocks(diagonal, svd.groups))
    return history, None if curves is None else _blocks(curves, svd.groups)


def explorer_figure(init_scale: float = 0.01, eta: float = 0.02, hidden: int = 16,
                    n_layers: int = 3, start: str = "random"):
    """The explorer's figure: toy-data mode strengths (colour) over the theory (dashed).

    Parameters
    ----------
    init_scale : float
        Weight standard deviation (``start="random"``) or initial mode strength
        (``"balanced"``).
    eta : float
        Learning rate = Euler step in units of ``tau``; below the stability limit of
        eq. (dl-stability).
    hidden : int
        Hidden width ``N`` (a balanced start needs ``N >= 4``, the rank of the data).
    n_layers : int
        Layers of units ``N_l`` (3 = ``W2 W1``).
    start : {"random", "balanced"}
        Random Gaussian start or the decoupled balanced start.
    """
    init_scale = check_float("init_scale", init_scale, minimum=1e-8, maximum=0.3)
    eta = check_float("eta", eta, minimum=1e-4, maximum=0.3)
    hidden = check_int("hidden", hidden, minimum=1, maximum=256)
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=6)
    start = check_choice("start", start, ("random", "balanced"))
    if start == "balanced" and n_layers > 2 and hidden < 4:
        raise ValueError(
            f"hidden must be >= 4 (the rank of the toy data) for a balanced "
            f"start; got {hidden}"
        )
    history, curves = _explorer_run(init_scale, eta, hidden, n_layers, start)
    note = ("" if curves is not None else " (no theory: random deep start)"
            if n_layers > 3 else " (no theory: start not small)")
    width = "no hidden layer" if n_layers == 2 else f"$N = {hidden}$"
    fig, ax = new_figure(width=6.8, height=4.0)
    plot_modes(history, curves, ax=ax,
               title=f"$N_l = {n_layers}$, {width}, $\\eta = {eta:g}$, "
                     f"{start} start {init_scale:g}{note}")
    return fig


def explorer(init_scale: float = 0.01, eta: float = 0.02, hidden: int = 16,
             n_layers: int = 3, start: str = "random"):
    """Sliders for scale, learning rate, width, depth and start; redraws the figure."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    plt.close(explorer_figure(init_scale, eta, hidden, n_layers, start))  # validates
    w_scale = widgets.FloatLogSlider(
        value=init_scale, base=10, min=-5, max=-1, step=0.25, description="init scale"
    )
    w_eta = widgets.FloatLogSlider(value=eta, base=10, min=-2.5, max=-0.7, step=0.1,
                                   description="eta")
    w_hidden = widgets.IntSlider(
        value=hidden, min=1, max=64, step=1, description="width N"
    )
    w_depth = widgets.IntSlider(
        value=n_layers, min=2, max=5, step=1, description="layers N_l"
    )
    w_start = widgets.ToggleButtons(options=["random", "balanced"], value=start,
                                    description="start")
    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            try:
                fig = explorer_figure(w_scale.value, w_eta.value, w_hidden.value,
                                      w_depth.value, w_start.value)
            except ValueError as exc:  # e.g. eta above the stability limit
                print(exc)
                return
            display(fig)
            plt.close(fig)

    for widget in (w_scale, w_eta, w_hidden, w_depth, w_start):
        widget.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([w_scale, w_eta, w_hidden]),
                         widgets.HBox([w_depth, w_start]), out])
