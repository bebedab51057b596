"""Figures and the explorer of chapter 7 (skills learned in turn).

Each function takes arrays the chapter computed and returns a matplotlib figure with
theory drawn as dashed or grey lines over the coloured simulation.
"""

from __future__ import annotations

import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, new_figure
from ..validation import check_choice, check_float, check_int
from .data import task_vectors, two_skill_frequencies, zipf_frequencies
from .theory import (
    flow_learning_times,
    sgd_learning_time,
    sign_law_map,
    sign_speed,
)
from .train import geometry_run

__all__ = [
    "plot_sgd_ratio",
    "plot_optimiser_ratios",
    "plot_same_path",
    "plot_ten_skills",
    "plot_scaling",
    "plot_networks",
    "explorer_figure",
    "explorer",
]

LIMIT = 19 / 9


def plot_sgd_ratio(r, mean, err, r_fine, prediction):
    """``t_2/t_1`` of minibatch SGD against ``r`` with eq. (sl-sgd-time) drawn."""
    fig, ax = new_figure(width=5.2, height=3.6)
    ax.plot(r_fine, r_fine, color="grey", lw=1, ls=":", label=r"$t_2/t_1 = r$")
    _ratio_panel(ax, r_fine, prediction, "eq. (sl-sgd-time)", r, mean, err,
                 "SGD, mean over seeds", r"learning-time ratio $t_2/t_1$",
                 "SGD: the rare skill takes r times longer")
    return fig


def _ratio_panel(ax, r_fine, prediction, theory_label, r, mean, err, label,
                 ylabel, title):
    """Log-log ``t_2/t_1`` against ``r``: the prediction dashed, means with errors."""
    ax.plot(r_fine, prediction, **THEORY_STYLE, label=theory_label)
    ax.errorbar(r, mean, yerr=err, fmt="o", color=PALETTE[0], ms=5, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"frequency ratio $r = p_1/p_2$")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def plot_optimiser_ratios(r, ratios: dict, r_fine, predictions: dict,
                          crossover: float | None = None):
    """``t_2/t_1`` against ``r`` for several optimisers with the predictions drawn.

    ``predictions`` may hold ``"floored"``: the sign law with the residuals floored
    at ``v/2`` (eq. (sl-crossover)); ``crossover`` draws ``r = 2/v``."""
    fig, ax = new_figure(width=6.0, height=4.0)
    styles = {"sgd": ("-", "grey"), "sign": ("--", "black"),
              "resource": (":", "black"), "floored": ("-", "tab:red")}
    names = {"sgd": "SGD flow, $t_2/t_1 = r$", "sign": r"sign law ($\eta\to0$)",
             "resource": r"Resource, $N_0 = 0$",
             "floored": r"sign law, residual floor $v/2$"}
    if crossover is not None:
        ax.axvline(crossover, color="grey", lw=0.8, ls=":",
                   label=r"$r_\times = 2/v$")
    for key, values in predictions.items():
        ls, color = styles[key]
        ax.plot(r_fine, values, ls=ls, color=color, lw=1.4, label=names[key])
    ax.axhline(LIMIT, color="grey", lw=0.8, ls="-.", label=r"limit $19/9$")
    for i, (label, (mean, err)) in enumerate(ratios.items()):
        ax.errorbar(r, mean, yerr=err, fmt="os^D"[i % 4], color=PALETTE[i], ms=5,
                    label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"frequency ratio $r = p_1/p_2$")
    ax.set_ylabel(r"learning-time ratio $t_2/t_1$")
    ax.set_title("sign-based updates saturate while $r \\ll 2/v$; SGD does not",
                 fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_same_path(paths: dict, u_path, collapse: dict):
    """Left: skill paths in the ``(s_1, s_2)`` plane over the common path (eq.
    (sl-path)). Right: ``tau_k = -ln(u_k)/p_k`` of every skill against the model's
    clock prediction (eq. (sl-clocks)); ``collapse`` maps a label to
    ``(t, tau_k (T, n), tau_clock (T,))``."""
    fig, (a, b) = new_figure(1, 2, width=10.0, height=4.0)
    a.plot(1 - u_path[:, 0], 1 - u_path[:, 1], **THEORY_STYLE,
           label=r"common path $u_2 = u_1^{1/r}$")
    for i, (label, s) in enumerate(paths.items()):
        a.plot(s[:, 0], s[:, 1], color=PALETTE[i], lw=2.5, alpha=0.6, label=label)
    a.set_xlabel("skill $s_1$")
    a.set_ylabel("skill $s_2$")
    a.set_xlim(0, 1.02)
    a.set_ylim(0, 1.02)
    a.set_title("one path", fontsize=10)
    a.legend(fontsize=8)
    for i, (label, (t, taus, clock_tau)) in enumerate(collapse.items()):
        for k in range(taus.shape[1]):
            b.plot(t, taus[:, k], color=PALETTE[i], lw=2.5, alpha=0.5,
                   label=label if k == 0 else None)
        b.plot(t, clock_tau, color="black", ls="--", lw=1)
    b.plot([], [], color="black", ls="--", lw=1, label="clock, eq. (sl-clocks)")
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("training step $t$")
    b.set_ylabel(r"internal time $\tau_k = -\ln(u_k)/p_k$")
    b.set_title("different clocks", fontsize=10)
    b.legend(fontsize=8)
    return fig


def plot_ten_skills(t_geometry, t_err, predictions: dict):
    """Learning time of each of ten Zipf skills: Geometry model (SignGD) against
    the sign law, the Resource model and the Domino model."""
    k = np.arange(1, len(t_geometry) + 1)
    fig, ax = new_figure(width=6.0, height=4.0)
    ax.errorbar(k, t_geometry, yerr=t_err, fmt="o", color=PALETTE[0], ms=6,
                label="Geometry model, SignGD")
    styles = [("--", "black"), (":", "black"), ("-.", "grey")]
    for (label, t_pred), (ls, color) in zip(predictions.items(), styles, strict=False):
        ax.plot(k, t_pred, ls=ls, color=color, marker=".", lw=1.4, label=label)
    ax.set_xlabel("skill $k$ (frequency rank)")
    ax.set_ylabel("learning time $t_k$ (steps)")
    ax.set_title("ten Zipf skills: Geometry model and three predictions", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def plot_scaling(gammas, curves: dict, exponents: dict):
    """Local exponent ``-d ln L/d ln t`` against the number of learned skills for
    each model and Zipf exponent, with the limits of eq. (sl-scaling) dashed.

    ``curves[(model, gamma)] = (k_star, slope)``; ``exponents[(model, gamma)]``."""
    models = sorted({m for m, _ in curves}, key=["sgd", "resource", "sign"].index)
    fig, axes = new_figure(1, len(models), width=3.6 * len(models), height=3.6)
    axes = np.atleast_1d(axes)
    titles = {"sgd": "SGD", "resource": r"Resource ($N_0 = 0$)", "sign": "sign law"}
    for ax, model in zip(axes, models, strict=True):
        for i, g in enumerate(gammas):
            k_star, slope = curves[(model, g)]
            ax.plot(k_star, slope, color=PALETTE[i], label=rf"$\gamma = {g:g}$")
            ax.axhline(exponents[(model, g)], **{**THEORY_STYLE, "linewidth": 1})
        ax.set_xscale("log")
        ax.set_xlabel(r"skills learned $k_*$")
        ax.set_ylabel(r"local exponent $-d\ln L/d\ln t$")
        ax.set_title(titles[model], fontsize=10)
    axes[0].legend(fontsize=8)
    return fig


def plot_networks(mlp: dict, r_mlp: float, r_lin, lin_ratio, lin_pred):
    """Left: ``t_2/t_1`` of the parity MLP for each optimiser (one dot per seed) with
    ``r`` marked. Right: ``t_2/t_1`` of a two-layer linear network under SGD against
    ``r``, with eq. (sl-deep-linear)."""
    fig, (a, b) = new_figure(1, 2, width=10.0, height=3.8)
    for i, ratios in enumerate(mlp.values()):
        a.scatter(np.full(len(ratios), i) + np.linspace(-0.15, 0.15, len(ratios)),
                  ratios, color=PALETTE[i], s=18)
    a.axhline(r_mlp, **THEORY_STYLE, label=rf"$r = {r_mlp:g}$ (SGD flow)")
    a.axhline(LIMIT, color="grey", ls="-.", lw=1, label=r"sign-law limit $19/9$")
    a.set_xticks(range(len(mlp)), list(mlp))
    a.set_ylabel(r"learning-time ratio $t_2/t_1$")
    a.set_xlabel("parity MLP, optimiser")
    a.set_title("two-task parity MLP, one dot per seed", fontsize=10)
    a.legend(fontsize=8)
    mean, err = lin_ratio
    _ratio_panel(b, r_lin, lin_pred, "eq. (sl-deep-linear)", r_lin, mean, err,
                 "linear network, SGD", r"mode-time ratio $t_2/t_1$",
                 "two-layer linear network, SGD")
    return fig


def explorer_figure(r: float = 10.0, optimiser: str = "signgd", d: int = 1000,
                    skills: int = 2, gamma: float = 2.0, seed: int = 0):
    """One Geometry-model run (exact gradients) with its prediction dashed.

    ``skills = 2`` uses frequencies ``(r, 1)/(1 + r)``; more skills use Zipf with
    exponent ``gamma``. The prediction is eq. (sl-sgd-time) for SGD and the sign
    law (eq. (sl-sign-law)) for SignGD; Adam has none and shows the sign law.
    """
    r = check_float("r", r, minimum=1.0, maximum=1000.0)
    optimiser = check_choice("optimiser", optimiser, ("sgd", "signgd", "adam"))
    d = check_int("d", d, minimum=20, maximum=4000)
    skills = check_int("skills", skills, minimum=2, maximum=20)
    gamma = check_float("gamma", gamma, minimum=0.0, maximum=4.0)
    p = two_skill_frequencies(r) if skills == 2 else zipf_frequencies(skills, gamma)
    eta = 0.03 if optimiser == "sgd" else 3e-4
    if optimiser == "sgd":
        steps = int(min(1.3 * sgd_learning_time(p, eta).max(), 60_000))
    else:
        steps = int(min(1.5 * flow_learning_times(p, "sign", eta=eta, d=d).max()
                        + 50, 20_000))
    run = geometry_run(task_vectors(skills, d, seed=seed), p, optimiser, eta, steps)
    t = np.arange(steps + 1)
    if optimiser == "sgd":
        theory = 1 - (1 - eta * p) ** t[:, None]
    else:
        theory = sign_law_map(p, sign_speed(eta, d), steps)
    fig, ax = new_figure(width=6.4, height=3.6)
    for k in range(skills):
        ax.plot(t, run.s[:, 0, k], color=PALETTE[k % len(PALETTE)], lw=2, alpha=0.7)
        ax.plot(t, theory[:, k], **{**THEORY_STYLE, "linewidth": 1})
    ax.set_xlabel("training step $t$")
    ax.set_ylabel("skill $s_k$")
    ax.set_ylim(-0.05, 1.1)
    ax.set_title(f"{optimiser}, d = {d}, {skills} skills, "
                 + (f"r = {r:g}" if skills == 2 else f"Zipf {gamma:g}"), fontsize=10)
    return fig


def explorer(r: float = 10.0, optimiser: str = "signgd", d: int = 1000):
    """Sliders for ``r``, the optimiser, ``d`` and the number of skills; redraws
    :func:`explorer_figure` (about a second per move)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    w_r = widgets.FloatLogSlider(value=r, base=10, min=0, max=2.5, description="r")
    w_opt = widgets.ToggleButtons(options=["sgd", "signgd", "adam"], value=optimiser,
                                  description="optimiser")
    w_d = widgets.IntSlider(value=d, min=50, max=4000, step=50, description="d")
    w_n = widgets.IntSlider(value=2, min=2, max=10, description="skills")
    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = explorer_figure(w_r.value, w_opt.value, w_d.value, w_n.value)
            display(fig)
            plt.close(fig)

    for w in (w_r, w_opt, w_d, w_n):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([w_r, w_opt]), widgets.HBox([w_d, w_n]), out])
