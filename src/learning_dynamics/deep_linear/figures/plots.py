"""Figures of chapter 2 (deep linear networks).

Each function draws one figure of the chapter: simulation in colour, the prediction of
the chapter's equations as dashed black lines (or markers) on top, and returns the
matplotlib figure; the notebook shows it with
:func:`~learning_dynamics.plotting.show_figure`.
The explorer lives in :mod:`learning_dynamics.deep_linear.figures.explorer`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...plotting import PALETTE, THEORY_STYLE, new_figure
from ...seeding import make_rng
from ...validation import check_array
from .. import diagnostics
from ..train import History

__all__ = [
    "plot_modes",
    "plot_seed_errors",
    "plot_loss_stages",
    "plot_deep_vs_shallow",
    "plot_depth",
    "plot_isometry",
    "plot_spectrum",
    "plot_rsm_snapshots",
    "plot_prediction",
    "plot_projection",
    "plot_typicality",
    "plot_coherence",
    "plot_category_noise",
]


def _history(history) -> History:
    if not isinstance(history, History):
        raise TypeError(
            f"history must be a deep_linear.History; got {type(history).__name__}"
        )
    return history


def _axes(ax, width=6.4, height=4.0):
    if ax is None:
        return new_figure(width=width, height=height)
    return ax.figure, ax


def plot_modes(history, curves=None, *, ax=None, normalise: bool = True,
               title: str = "Mode strengths: simulation (colour), theory (dashed)"):
    """Mode strengths ``a_alpha(t)`` (over ``s_alpha`` when ``normalise``) against
    ``t/tau``.

    ``curves`` is an array ``(len(history.t), r)`` of predicted strengths drawn dashed.
    """
    run = _history(history)
    fig, ax = _axes(ax)
    s = run.svd.s
    scale = s if normalise else np.ones_like(s)
    for k in range(s.size):
        ax.plot(
            run.t,
            run.mode_strength[:, k] / scale[k],
            color=PALETTE[k % len(PALETTE)],
            label=f"mode {k + 1}, $s = {s[k]:.3g}$",
        )
    if curves is not None:
        curves = check_array("curves", curves, shape=(run.t.size, s.size))
        for k in range(s.size):
            ax.plot(run.t, curves[:, k] / scale[k], **THEORY_STYLE,
                    label="theory" if k == 0 else None)
    ax.set_xlabel(r"time $t/\tau$")
    ax.set_ylabel(r"mode strength $a(t)/s$" if normalise else r"mode strength $a(t)$")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_seed_errors(errors_bare, errors_corrected, labels: Sequence[str]):
    """Relative half-time errors over seeds: bare eq. (dl-u0-eff) vs corrected
    (dl-u0-comp)."""
    bare = check_array("errors_bare", errors_bare, ndim=2)
    corrected = check_array("errors_corrected", errors_corrected, shape=bare.shape)
    fig, ax = new_figure(width=6.6, height=3.8)
    jitter = make_rng(0).uniform(-0.12, 0.12, bare.shape[0])
    for k in range(bare.shape[1]):
        ax.plot(k - 0.18 + jitter, 100 * bare[:, k], "o", ms=4, color=PALETTE[1],
                label=r"$u_0^{\rm eff}$, no competition" if k == 0 else None)
        ax.plot(k + 0.18 + jitter, 100 * corrected[:, k], "o", ms=4, color=PALETTE[0],
                label="orthogonalised (competition)" if k == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks(range(bare.shape[1]))
    ax.set_xticklabels(labels)
    ax.set_xlabel("mode")
    ax.set_ylabel("half-time error, simulated vs theory (%)")
    ax.set_title(f"Random starts, {bare.shape[0]} seeds")
    ax.legend(loc="lower left", fontsize=8)
    return fig


def plot_loss_stages(history, predicted_loss, predicted_half_times, *, ax=None):
    """Loss over its initial value against epochs, with the predicted loss dashed.

    ``predicted_loss`` has one value per recorded step; dotted lines mark the
    predicted half-times (in steps).
    """
    run = _history(history)
    theory = check_array("predicted_loss", predicted_loss, shape=(run.step.size,))
    halves = check_array("predicted_half_times", predicted_half_times, ndim=1)
    fig, ax = _axes(ax)
    ax.plot(run.step, run.loss / run.loss[0], color=PALETTE[0], label="simulated loss")
    ax.plot(
        run.step,
        theory / run.loss[0],
        **THEORY_STYLE,
        label="theory (discrete-time sigmoids)",
    )
    for k, x in enumerate(np.unique(np.round(halves, 6))):
        ax.axvline(x, color="grey", linestyle=":", linewidth=1.2,
                   label="predicted half-times" if k == 0 else None)
    ax.set_xlabel("training step (epoch)")
    ax.set_ylabel("loss / initial loss")
    ax.set_title("One plateau and drop per singular-value level")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_deep_vs_shallow(deep, shallow, deep_curves, shallow_curves):
    """Two panels: two-layer and one-layer mode strengths with their closed forms."""
    fig, axes = new_figure(1, 2, width=7.0, height=3.6, sharey=True)
    plot_modes(deep, deep_curves, ax=axes[0], title="Deep: $W_2W_1$")
    plot_modes(shallow, shallow_curves, ax=axes[1], title="Shallow: $W$")
    axes[1].get_legend().remove()
    return fig


def plot_depth(runs: dict, curves: dict, depths, half_sim, half_ode, blowup):
    """Depth: trajectories at equal ``u0`` (left) and half-times at equal per-layer
    scale.

    ``runs``/``curves`` map ``N_l`` to a History and its ODE curve of mode 1 (left);
    ``half_sim``, ``half_ode``, ``blowup`` are mode-1 half-times per depth (right).
    """
    fig, axes = new_figure(1, 2, width=7.0, height=3.6)
    for c, n_layers in enumerate(sorted(runs)):
        run = runs[n_layers]
        axes[0].plot(
            run.t,
            run.mode_strength[:, 0] / run.svd.s[0],
            color=PALETTE[c % 8],
            label=f"$N_l = {n_layers}$",
        )
        axes[0].plot(run.t, curves[n_layers] / run.svd.s[0], **THEORY_STYLE,
                     label="ODE (numerical)" if c == 0 else None)
    axes[0].set_xlabel(r"time $t/\tau$")
    axes[0].set_ylabel(r"$a_1(t)/s_1$")
    axes[0].set_title("Equal initial strength $u_0$")
    axes[0].legend(loc="lower right", fontsize=8)
    depths = np.asarray(depths)
    axes[1].plot(depths, half_sim, "o", color=PALETTE[1], ms=7, label="simulated")
    axes[1].plot(depths, half_ode, **THEORY_STYLE, label="ODE half-time")
    axes[1].plot(
        depths[depths >= 4],
        np.asarray(blowup)[depths >= 4],
        ":",
        color="grey",
        label="blow-up time $t^*$",
    )
    axes[1].set_yscale("log")
    axes[1].set_xlabel("layers of units $N_l$")
    axes[1].set_ylabel(r"half-time $t_{1/2}/\tau$")
    axes[1].set_title("Equal per-layer scale")
    axes[1].legend(loc="upper left", fontsize=8)
    return fig


def plot_isometry(depths, steps_sim: dict, steps_theory: dict, deep_limit: float):
    """Steps to learn mode 1 at ``eta`` a fixed fraction of the stability limit, by
    depth.

    ``steps_sim`` and ``steps_theory`` map a start's label to arrays over ``depths``;
    ``deep_limit`` is the ``N_l -> infinity`` value for the isometric start.
    """
    fig, ax = new_figure(width=6.4, height=3.8)
    for c, label in enumerate(steps_sim):
        ax.plot(depths, steps_sim[label], "o", color=PALETTE[c], ms=7, label=label)
        ax.plot(depths, steps_theory[label], **THEORY_STYLE,
                label="ODE half-time / $\\eta$" if c == 0 else None)
    ax.axhline(deep_limit, color="grey", linestyle=":",
               label=r"isometric start, $N_l \to \infty$")
    ax.set_yscale("log")
    ax.set_xlabel("layers of units $N_l$")
    ax.set_ylabel("steps until $a_1 = s_1/2$")
    ax.set_title(r"Learning rate $\eta \propto 1/(N_l s^2)$")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def plot_spectrum(
    measured, predicted, *, ax=None, title: str = "Singular values of tree data"
):
    """Measured singular values of the data against the level formula, eq.
    (dl-tree-spectrum)."""
    measured = check_array("measured", measured, ndim=1)
    predicted = check_array("predicted", predicted, shape=(measured.size,))
    fig, ax = _axes(ax, width=6.4, height=3.6)
    index = np.arange(1, measured.size + 1)
    ax.plot(
        index,
        measured,
        "o",
        color=PALETTE[0],
        markersize=8,
        label=r"measured $\sigma(Y)$",
    )
    ax.plot(index, predicted, "_", color="black", markersize=22, markeredgewidth=2,
            label=r"theory $\sqrt{N_f\lambda_k}$")
    ax.set_xlabel(r"mode index $\alpha$")
    ax.set_ylabel(r"singular value $s_\alpha$")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return fig


def plot_rsm_snapshots(history, steps: Sequence[int], item_names: Sequence[str],
                       mismatch: Sequence[float]):
    """Hidden-layer similarity ``H^T H`` (over its largest entry) at four steps.

    The four matrices are stacked one per row, each as wide as a line plot (cells are
    drawn wider than tall, so that a panel keeps the 400 px a laptop reader needs
    without a 16-inch-tall figure).  ``mismatch`` is the relative difference with
    ``V A(t) V^T`` shown in each title.
    """
    run = _history(history)
    fig, axes = new_figure(len(steps), 1, width=6.6, height=3.0 * len(steps))
    axes = np.atleast_1d(axes)
    similarity = diagnostics.rsm(run.hidden)
    for ax, step, err in zip(axes.ravel(), steps, mismatch, strict=True):
        i = int(np.searchsorted(run.step, int(step)))
        ax.imshow(
            similarity[i] / np.abs(similarity[i]).max(), vmin=-1, vmax=1,
            cmap="RdBu_r", aspect="auto",
        )
        ax.set_xticks(range(len(item_names)))
        ax.set_yticks(range(len(item_names)))
        ax.set_xticklabels(item_names, rotation=90, fontsize=8)
        ax.set_yticklabels(item_names, fontsize=8)
        ax.grid(False)
        ax.set_title(f"epoch {run.step[i]}: vs $VAV^T$ {err:.0e}", fontsize=10)
        ax.set_xlabel("item")
        ax.set_ylabel("item")
    return fig


def plot_prediction(history, item: int, theory, levels: Sequence[float],
                    row_position: int = 0, *, label: str = "prediction", ax=None):
    """One recorded output over training with its predicted curve and plateau levels."""
    run = _history(history)
    theory = check_array("theory", theory, shape=(run.step.size,))
    fig, ax = _axes(ax, width=6.4, height=3.6)
    ax.plot(
        run.step, run.predictions[:, row_position, item], color=PALETTE[1], label=label
    )
    ax.plot(run.step, theory, **THEORY_STYLE, label="theory")
    for k, level in enumerate(levels):
        ax.axhline(level, color="grey", linestyle=":", linewidth=1.0,
                   label="predicted plateaus" if k == 0 else None)
    ax.set_xlabel("training step (epoch)")
    ax.set_ylabel(r"network output $\hat y$")
    ax.set_title("A semantic illusion: asserted, then retracted")
    ax.legend(loc="lower left", fontsize=8)
    return fig


def plot_projection(history, item: int, steps: Sequence[int], item_names: Sequence[str],
                    theory, *, ax=None):
    """Inductive projection of a property taught for ``item``, with its prediction.

    ``theory`` is ``(len(steps), P)``: the normalised rows of ``V A(t) V^T``.
    """
    run = _history(history)
    theory = check_array("theory", theory, shape=(len(steps), len(item_names)))
    fig, ax = _axes(ax, width=6.8, height=3.8)
    positions = np.arange(len(item_names))
    for c, step in enumerate(steps):
        i = int(np.searchsorted(run.step, int(step)))
        ax.plot(positions, diagnostics.inductive_projection(run.hidden[i], item), "o-",
                color=PALETTE[c % len(PALETTE)], label=f"epoch {run.step[i]}")
        ax.plot(
            positions, theory[c], **THEORY_STYLE, label="theory" if c == 0 else None
        )
    ax.set_xticks(positions)
    ax.set_xticklabels(item_names, rotation=30)
    ax.set_xlabel("item the new property is tested on")
    ax.set_ylabel("projected property strength")
    ax.set_title(f"A property taught for the {item_names[item]}")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_typicality(
    history, feature: int, item_names: Sequence[str], theory, *, ax=None
):
    """Output of one shared feature for every item with its prediction (dashed)."""
    run = _history(history)
    theory = check_array("theory", theory, shape=(run.t.size, len(item_names)))
    fig, ax = _axes(ax, width=6.4, height=3.6)
    row = run.prediction_rows.index(feature)
    for j, name in enumerate(item_names):
        ax.plot(
            run.t,
            run.predictions[:, row, j],
            color=PALETTE[j % len(PALETTE)],
            label=name,
        )
        ax.plot(run.t, theory[:, j], **THEORY_STYLE, label="theory" if j == 0 else None)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1.0)
    ax.set_xlabel(r"time $t/\tau$")
    ax.set_ylabel("predicted feature value")
    ax.set_title("Typical items acquire shared features first")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_coherence(history, groups, labels: Sequence[str], curves, *, ax=None):
    """Strength of each category's mode (normalised) over its closed form, eq.
    (dl-coherence)."""
    run = _history(history)
    curves = check_array("curves", curves, ndim=2)
    fig, ax = _axes(ax, width=6.4, height=3.6)
    for c, (group, label) in enumerate(zip(groups, labels, strict=True)):
        total = float(np.sum(run.svd.s[list(group)]))
        ax.plot(run.t, diagnostics.block_strength(run, group) / total,
                color=PALETTE[c % len(PALETTE)], label=label)
        ax.plot(
            run.t, curves[:, c], **THEORY_STYLE, label="closed form" if c == 0 else None
        )
    ax.set_xlabel(r"time $t/\tau$")
    ax.set_ylabel("category mode strength / $s$")
    ax.set_title("Isolated categories: coherent ones are learned first")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_category_noise(strengths, overlap_sim, overlap_theory, sv_sim, sv_theory,
                        threshold: float, edge: float, *, strength_grid=None):
    """A category in noise: item overlap (left) and singular value (right) against
    ``s``.

    ``*_sim`` are per-seed measurements ``(n_strengths, n_seeds)``; the theory arrays
    are evaluated on ``strength_grid`` (default ``strengths``).
    """
    strengths = check_array("strengths", strengths, ndim=1)
    grid = (
        strengths
        if strength_grid is None
        else check_array("strength_grid", strength_grid)
    )
    overlap_sim = check_array("overlap_sim", overlap_sim, ndim=2)
    sv_sim = check_array("sv_sim", sv_sim, ndim=2)
    fig, axes = new_figure(1, 2, width=7.0, height=3.6)
    for ax, sim, theory in (
        (axes[0], overlap_sim, overlap_theory),
        (axes[1], sv_sim, sv_theory),
    ):
        ax.plot(np.repeat(strengths, sim.shape[1]), sim.ravel(), "o", ms=3, alpha=0.5,
                color=PALETTE[0], label="trained networks")
        ax.plot(grid, theory, **THEORY_STYLE, label="theory")
        ax.axvline(threshold, color=PALETTE[1], linestyle=":", label="threshold $s_c$")
        ax.set_xlabel(r"category strength $s = \sqrt{K_iK_o}$")
    axes[1].axhline(edge, color="grey", linestyle="-.", label="noise bulk edge")
    axes[0].set_ylabel(r"item overlap $(v\cdot\hat v)^2$")
    axes[1].set_ylabel("top singular value of $Y$")
    axes[0].set_title("Is the category learned?")
    axes[1].set_title("Outlier vs noise bulk")
    axes[0].legend(loc="upper left", fontsize=7)
    axes[1].legend(loc="upper left", fontsize=7)
    return fig
