"""Figure functions of chapter 4 (benign overfitting on XOR clusters).

Each function draws simulation in colour and theory in dashed black, and returns
the axes; the chapter shows the figure with ``ld.show_figure``.
"""
from __future__ import annotations

import matplotlib
import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, new_figure
from ..statistics import wilson_interval
from ..validation import check_array, check_int
from .diagnostics import XORRun
from .theory import (
    decision_plane,
    step1_fit_threshold,
    step1_loss_theory,
    step1_margin_theory,
)

__all__ = [
    "plot_training_curves",
    "plot_decision_planes",
    "plot_alignment",
    "plot_linearity",
    "plot_margin_theory",
    "plot_step1_fit",
    "plot_self_rest",
    "plot_controls",
    "plot_seed_failures",
    "plot_phase_diagram",
]

_STEP_LABEL = "training step $t$ (symlog axis)"


def _check_run(run):
    if not isinstance(run, XORRun):
        raise TypeError(f"run must be an XORRun; got {type(run).__name__}")
    return run


def _log_steps(ax, steps):
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, max(steps))
    ax.set_xlabel(_STEP_LABEL)


def _band(ax, steps, values, color, label, ls="-"):
    """Median over seeds (line) and interquartile range (band)."""
    low, med, high = np.nanpercentile(values, [25, 50, 75], axis=0)
    ax.fill_between(steps, low, high, color=color, alpha=0.2, lw=0)
    ax.plot(steps, med, color=color, ls=ls, label=label, marker="o", ms=3)


def _pair(axes, width=7.0, height=3.4):
    if axes is None:
        _, axes = new_figure(1, 2, width=width, height=height)
    return axes


def plot_training_curves(run, axes=None):
    """Accuracies (left) and training loss (right): median over seeds, band = IQR."""
    run = _check_run(run)
    ax, ax2 = _pair(axes)
    t = run.steps
    _band(ax, t, run.train_acc, PALETTE[0], "train (noisy labels)")
    _band(ax, t, run.flipped_acc, PALETTE[5], "train, flipped points", ls=":")
    _band(ax, t, run.test_clean, PALETTE[1], "test, clean labels")
    _band(ax, t, run.test_noisy, PALETTE[2], "test, noisy labels")
    ax.axhline(1 - run.config.rho, **THEORY_STYLE, label=r"$1-\rho$ (best possible)")
    ax.axhline(0.5, color="grey", lw=0.8)
    _log_steps(ax, t)
    ax.set_ylabel("accuracy")
    ax.set_title(f"accuracies ({len(run.seeds)} seeds)")
    ax.legend(loc="lower right", fontsize=7)
    _band(ax2, t, np.maximum(run.train_loss, 1e-12), PALETTE[0], "simulation")
    cfg = run.config
    ax2.plot([1], [step1_loss_theory(cfg)], "kx", ms=9,
             label="step 1: loss averaged over the margins")
    _log_steps(ax2, t)
    ax2.set_yscale("log")
    ax2.set_ylabel("training loss (logistic)")
    ax2.set_title("training loss")
    ax2.legend(fontsize=7)
    return ax, ax2


#: Size (inches) of a stacked decision-plane panel: a square map >= 4 in (400 px) wide
#: with its title and axis labels.
PLANE_WIDTH, PLANE_PANEL_HEIGHT = 5.4, 4.9


def plot_decision_planes(run, steps, seed_index: int = 0, axes=None, extent=2.0):
    """Heat maps of ``f`` on the plane ``s mu1 + r mu2``, one per checkpoint, stacked.

    The plane keeps equal axes (the geometry of the four clusters is the point), so a
    panel 400 px wide is also 400 px tall: ``PLANE_PANEL_HEIGHT`` inches a panel.
    """
    run = _check_run(run)
    seed_index = check_int("seed_index", seed_index, minimum=0,
                           maximum=len(run.seeds) - 1)
    steps = list(steps)
    if axes is None:
        _, axes = new_figure(len(steps), 1, width=PLANE_WIDTH,
                             height=PLANE_PANEL_HEIGHT * len(steps))
    for ax, step in zip(np.ravel(axes), steps, strict=False):
        s, r, F = decision_plane(run.w_plane[seed_index, run.index(step)], run.mu_norm,
                                 extent=extent)
        lim = np.max(np.abs(F)) or 1.0
        ax.pcolormesh(s, r, F, cmap="PuOr", vmin=-lim, vmax=lim, shading="auto")
        ax.contour(s, r, F, levels=[0.0], colors="k", linewidths=1.2)
        for x0, y0, lab in [(1, 0, "+1"), (-1, 0, "+1"), (0, 1, "-1"), (0, -1, "-1")]:
            ax.text(x0, y0, lab, ha="center", va="center", fontsize=9, weight="bold",
                    bbox=dict(boxstyle="round", fc="white", alpha=0.8))
        ax.set_aspect("equal")
        ax.set_xlabel(r"along $\mu_1$ (units of $\|\mu\|$)")
        ax.set_ylabel(r"along $\mu_2$ (units of $\|\mu\|$)")
        ax.set_title(f"$t = {step}$")
    return axes


def plot_alignment(run, axes=None):
    """Mean ``|cos(w_j, mu_k)|`` per neuron group (left) and delta1, delta2 (right)."""
    run = _check_run(run)
    ax, ax2 = _pair(axes)
    t = run.steps
    for g, k, c, ls, lab in [(0, 0, PALETTE[0], "-", r"$J_+$ with $\mu_1$"),
                             (0, 1, PALETTE[0], ":", r"$J_+$ with $\mu_2$"),
                             (1, 1, PALETTE[1], "-", r"$J_-$ with $\mu_2$"),
                             (1, 0, PALETTE[1], ":", r"$J_-$ with $\mu_1$")]:
        _band(ax, t, run.cos_align[:, :, g, k], c, lab, ls=ls)
    _log_steps(ax, t)
    ax.set_ylabel(r"mean $|\cos(w_j, \mu_k)|$")
    ax.set_title("neurons align with their axis")
    ax.legend(fontsize=7)
    _band(ax2, t, run.delta[:, :, 0], PALETTE[2], r"$\delta_1$")
    _band(ax2, t, run.delta[:, :, 1], PALETTE[3], r"$\delta_2$")
    ax2.axhline(0, **THEORY_STYLE, label="step 1: 0 (no preference)")
    _log_steps(ax2, t)
    ax2.set_ylabel("imbalance")
    ax2.set_title(r"imbalances $\delta_1, \delta_2$")
    ax2.legend(fontsize=7)
    return ax, ax2


def plot_linearity(run, step: int = 1, axes=None):
    """Linearity diagnostics over steps (left); opposite clusters at ``step``."""
    run = _check_run(run)
    ax, ax2 = _pair(axes)
    t = run.steps
    _band(ax, t, run.corr_linear, PALETTE[0],
          r"corr$(f, \langle\sum_i y_i x_i, x\rangle)$")
    _band(ax, t, run.even_odd, PALETTE[1], r"mean$|f_{\rm even}|$/mean$|f_{\rm odd}|$")
    ax.axhline(1.0, **THEORY_STYLE, label="step 1: correlation 1")
    _log_steps(ax, t)
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_ylabel("diagnostic value")
    ax.set_title("linear first, even later")
    ax.legend(fontsize=7)
    acc = run.cluster_acc[:, run.index(step), :]
    ax2.plot(acc[:, 0], acc[:, 1], "o", color=PALETTE[0], ms=4, label=r"$\pm\mu_1$")
    ax2.plot(acc[:, 2], acc[:, 3], "s", color=PALETTE[1], ms=4, label=r"$\pm\mu_2$")
    ax2.plot([0, 1], [1, 0], **THEORY_STYLE, label="linear: sum = 1")
    ax2.set_xlabel(r"accuracy on $+\mu_k$")
    ax2.set_ylabel(r"accuracy on $-\mu_k$")
    ax2.set_title(f"opposite clusters, $t = {step}$")
    ax2.legend(fontsize=7)
    return ax, ax2


def plot_margin_theory(etas, margins, theory, ax=None):
    """Measured mean step-1 margins (one per seed) against eq. (xor-step1-margin)."""
    etas = check_array("etas", etas, ndim=1)
    margins = check_array("margins", margins, ndim=2, shape=(etas.size, None))
    theory = check_array("theory", theory, shape=(etas.size,))
    if ax is None:
        _, ax = new_figure(width=5.5, height=3.8)
    for k in range(margins.shape[1]):
        ax.plot(etas, margins[:, k], "o", color=PALETTE[0], alpha=0.4, ms=4,
                label="simulation (one point per seed)" if k == 0 else None)
    ax.plot(etas, theory, **THEORY_STYLE, label=r"$\eta(p+\|\mu\|^2)/(8n)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"step size $\eta$")
    ax.set_ylabel(r"mean margin $y_i f(x_i)$ at $t=1$")
    ax.set_title("step-1 margin")
    ax.legend(fontsize=8)
    return ax


def plot_step1_fit(run, predicted_min, axes=None):
    """Measured vs predicted minimum step-1 margin (left); final accuracy vs ``z``."""
    run = _check_run(run)
    ax, ax2 = _pair(axes)
    measured = run.min_margin[:, run.index(1)]
    predicted_min = check_array("predicted_min", predicted_min, shape=(len(run.seeds),))
    ax.plot(predicted_min, measured, "o", color=PALETTE[0], ms=4, label="seeds")
    span = [min(predicted_min.min(), measured.min()), max(predicted_min.max(),
                                                          measured.max())]
    ax.plot(span, span, **THEORY_STYLE, label="equality")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(r"predicted $\min_k \frac{\eta}{8n} y_k (Gy)_k$")
    ax.set_ylabel(r"measured $\min_k y_k f(x_k)$, $t=1$")
    ax.set_title("who is fitted at step 1")
    ax.legend(fontsize=7)
    z = np.abs(run.imbalance).max(axis=1)
    fitted = run.train_acc[:, run.index(1)] == 1.0
    bins = np.linspace(0, max(3.0, z.max()), 16)
    ax2.hist([z[fitted], z[~fitted]], bins=bins, stacked=True, color=PALETTE[:2],
             label=["all fitted at $t=1$", "some misfit"])
    ax2.axvline(step1_fit_threshold(run.config), **THEORY_STYLE, label=r"$z^*$")
    ax2.set_xlabel(r"largest axis imbalance $\max_k |z_k|$")
    ax2.set_ylabel("seeds")
    ax2.set_title("step-1 failures")
    ax2.legend(fontsize=7)
    return ax, ax2


def plot_self_rest(run, axes=None):
    """Self term and rest of the training margins (left); loss weights (right)."""
    run = _check_run(run)
    ax, ax2 = _pair(axes)
    t = run.steps
    names = ["flipped", "clean"]
    for group, color in zip(range(2), PALETTE[1::-1], strict=True):
        _band(ax, t, run.self_margin[:, :, group], color, f"{names[group]}: self")
        _band(ax, t, run.rest_margin[:, :, group], color, f"{names[group]}: rest",
              ls=":")
        _band(ax2, t, run.loss_weight[:, :, group], color, names[group])
    cfg = run.config
    ax.plot([1], [step1_margin_theory(cfg.n, cfg.p, cfg.mu_norm_sq, cfg.eta)], "kx",
            ms=9, label=r"step 1: $\eta(p+\|\mu\|^2)/8n$")
    ax.axhline(0, color="grey", lw=0.8)
    _log_steps(ax, t)
    ax.set_ylabel("mean margin term")
    ax.set_title("margin = self term + rest")
    ax.legend(fontsize=7)
    ax2.axhline(0.5, **THEORY_STYLE, label=r"$t=0$: $g=1/2$")
    _log_steps(ax2, t)
    ax2.set_yscale("log")
    ax2.set_ylabel(r"mean loss weight $g_k$")
    ax2.set_title("flipped points keep larger weights")
    ax2.legend(fontsize=7)
    return ax, ax2


def plot_controls(runs: dict, ax=None):
    """Median clean test accuracy (band = IQR over seeds) for several named runs."""
    if ax is None:
        _, ax = new_figure(width=6.6, height=3.8)
    for (name, run), c in zip(runs.items(), PALETTE, strict=False):
        _check_run(run)
        _band(ax, run.steps, run.test_clean, c, name)
    ax.axhline(0.5, **THEORY_STYLE, label="chance (any linear classifier)")
    _log_steps(ax, max((r.steps for r in runs.values()), key=lambda s: s[-1]))
    ax.set_ylabel("clean test accuracy")
    ax.set_title("controls: what breaks benign overfitting")
    ax.legend(fontsize=7)
    return ax


def plot_seed_failures(run, step: int, ax=None):
    """Clean test accuracy at ``step`` against the largest axis imbalance ``z``."""
    run = _check_run(run)
    if ax is None:
        _, ax = new_figure(width=5.6, height=3.8)
    z = np.abs(run.imbalance).max(axis=1)
    worst = np.nanmax(run.cluster_flip_rate, axis=1)
    points = ax.scatter(z, run.test_clean[:, run.index(step)], c=worst,
                        cmap=matplotlib.colormaps["cividis"], s=22)
    ax.figure.colorbar(points, ax=ax, label="worst cluster flip rate")
    ax.axvline(step1_fit_threshold(run.config), **THEORY_STYLE,
               label=r"$z^*$ (step-1 threshold)")
    ax.set_xlabel(r"largest axis imbalance $\max_k |z_k|$")
    ax.set_ylabel(f"clean test accuracy at $t={step}$")
    ax.set_title("which seeds fail")
    ax.legend(fontsize=7, loc="lower left")
    return ax


def plot_phase_diagram(n_values, signals, rates, predicted, ax=None, *, fitted=None,
                       trials: int | None = None):
    """Fraction of seeds that generalise over (n, signal), with step-1 fit rates.

    Each cell shows the generalising fraction (colour and first line, with its
    Wilson 95 % interval when ``trials`` is given) and, on the second line, the
    measured step-1 fit fraction ``fitted`` (if given) beside the prediction of
    eq. (xor-step1-fit) in brackets: the brackets predict step-1 fitting, not
    generalisation.
    """
    rates = check_array("rates", rates, ndim=2)
    predicted = check_array("predicted", predicted, shape=rates.shape)
    if fitted is not None:
        fitted = check_array("fitted", fitted, shape=rates.shape)
    if trials is not None:
        trials = check_int("trials", trials, minimum=1)
    if ax is None:
        _, ax = new_figure(width=6.0, height=4.2)
    image = ax.imshow(rates, origin="lower", cmap="cividis", vmin=0, vmax=1,
                      aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=r"fraction of seeds, clean test $\geq 0.95$")
    for (i, k), value in np.ndenumerate(rates):
        first = f"gen {value:.2f}"
        if trials is not None:
            low, high = wilson_interval(round(value * trials), trials)
            first += f" [{low:.2f}, {high:.2f}]"
        second = (f"fit {fitted[i, k]:.2f} " if fitted is not None else "fit ")
        second += f"({predicted[i, k]:.2f})"
        ax.text(k, i, f"{first}\n{second}", ha="center", va="center", fontsize=6.5,
                color="white" if value < 0.6 else "black")
    ax.set_xticks(range(len(signals)), [f"{s:g}" for s in signals])
    ax.set_yticks(range(len(n_values)), [str(n) for n in n_values])
    ax.set_xlabel(r"signal $\|\mu\|^2/\sqrt{p}$")
    ax.set_ylabel("training samples $n$")
    ax.set_title("generalising fraction; step-1 fit: measured (predicted)", fontsize=9)
    return ax
