"""Figure functions and the explorer of chapter 4 (benign overfitting on XOR clusters)."""
from __future__ import annotations

import matplotlib
import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, new_figure
from ..validation import check_int
from .data import XORConfig
from .diagnostics import XORRun
from .theory import decision_plane
from .train import run_xor

__all__ = [
    "plot_training_curves",
    "plot_decision_planes",
    "plot_alignment",
    "plot_linearity",
    "plot_margin_theory",
    "plot_controls",
    "plot_seed_variability",
    "explorer",
    "explorer_figure",
]


def _check_run(run):
    if not isinstance(run, XORRun):
        raise TypeError(f"run must be an XORRun; got {type(run).__name__}")
    return run


def _log_steps(ax, steps):
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, max(steps))
    ax.set_xlabel("training step t (symlog)")


def _band(ax, steps, values, color, label, ls="-"):
    med = np.median(values, axis=0)
    ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=color, alpha=0.15, lw=0)
    ax.plot(steps, med, color=color, ls=ls, label=label, marker="o", ms=3)


def plot_training_curves(run, axes=None):
    """Accuracies (left) and training loss (right) over steps: median over seeds, band = range."""
    run = _check_run(run)
    if axes is None:
        _, axes = new_figure(1, 2, width=11, height=3.8)
    ax, ax2 = axes
    t = run.steps
    _band(ax, t, run.train_acc, PALETTE[0], "train (noisy labels)")
    _band(ax, t, run.flipped_acc, PALETTE[5], "train, flipped points only", ls=":")
    _band(ax, t, run.test_clean, PALETTE[1], "test, clean labels")
    _band(ax, t, run.test_noisy, PALETTE[2], "test, noisy labels")
    ax.axhline(1 - run.config.rho, **THEORY_STYLE, label=r"$1-\rho$ (Bayes-optimal, noisy)")
    ax.axhline(0.5, color="grey", lw=0.8)
    _log_steps(ax, t)
    ax.set_ylabel("accuracy")
    ax.set_title(f"benign overfitting, then grokking ({len(run.seeds)} seeds)")
    ax.legend(loc="lower right", fontsize=8)
    _band(ax2, t, np.maximum(run.train_loss, 1e-12), PALETTE[0], "train loss")
    _log_steps(ax2, t)
    ax2.set_yscale("log")
    ax2.set_ylabel("training loss (logistic)")
    ax2.set_title("training loss")
    return axes


def plot_decision_planes(run, steps, seed_index: int = 0, axes=None, extent: float = 2.0):
    """Heat maps of ``f`` on the plane ``s mu1 + r mu2`` at the given checkpoints."""
    run = _check_run(run)
    seed_index = check_int("seed_index", seed_index, minimum=0, maximum=len(run.seeds) - 1)
    steps = list(steps)
    if axes is None:
        _, axes = new_figure(1, len(steps), width=3.4 * len(steps), height=3.4)
    axes = np.atleast_1d(axes)
    for ax, step in zip(axes, steps):
        s, r, F = decision_plane(run.w_plane[seed_index, run.index(step)], run.mu_norm, extent=extent)
        lim = np.max(np.abs(F)) or 1.0
        ax.pcolormesh(s, r, F, cmap="PuOr", vmin=-lim, vmax=lim, shading="auto")
        ax.contour(s, r, F, levels=[0.0], colors="k", linewidths=1.2)
        for (x0, y0, lab) in [(1, 0, "+1"), (-1, 0, "+1"), (0, 1, "-1"), (0, -1, "-1")]:
            ax.text(x0, y0, lab, ha="center", va="center", fontsize=10, weight="bold",
                    bbox=dict(boxstyle="round", fc="white", alpha=0.8))
        ax.set_aspect("equal")
        ax.set_xlabel(r"coordinate along $\mu_1$ / $\|\mu\|$")
        ax.set_ylabel(r"coordinate along $\mu_2$ / $\|\mu\|$")
        ax.set_title(f"f on span(mu1, mu2), t = {step}")
    return axes


def plot_alignment(run, axes=None):
    """Mean ``|cos(w_j, mu_k)|`` for positive/negative neurons (left) and delta1, delta2 (right)."""
    run = _check_run(run)
    if axes is None:
        _, axes = new_figure(1, 2, width=11, height=3.8)
    ax, ax2 = axes
    t = run.steps
    for (g, k, c, ls, lab) in [(0, 0, PALETTE[0], "-", r"positive neurons · $\mu_1$"),
                               (0, 1, PALETTE[0], ":", r"positive neurons · $\mu_2$"),
                               (1, 1, PALETTE[1], "-", r"negative neurons · $\mu_2$"),
                               (1, 0, PALETTE[1], ":", r"negative neurons · $\mu_1$")]:
        _band(ax, t, run.cos_align[:, :, g, k], c, lab, ls=ls)
    _log_steps(ax, t)
    ax.set_ylabel(r"mean $|\cos(w_j, \mu_k)|$")
    ax.set_title("neurons align with their cluster axis")
    ax.legend(fontsize=8)
    _band(ax2, t, run.delta[:, :, 0], PALETTE[2], r"$\delta_1$")
    _band(ax2, t, run.delta[:, :, 1], PALETTE[3], r"$\delta_2$")
    ax2.axhline(0, color="grey", lw=0.8)
    _log_steps(ax2, t)
    ax2.set_ylabel("imbalance")
    ax2.set_title(r"imbalances $\delta_1, \delta_2$")
    ax2.legend(fontsize=8)
    return axes


def plot_linearity(run, step: int = 1, axes=None):
    """Correlation with the linear classifier and even/odd ratio over steps; per-cluster accuracy at ``step``."""
    run = _check_run(run)
    if axes is None:
        _, axes = new_figure(1, 2, width=11, height=3.8)
    ax, ax2 = axes
    t = run.steps
    _band(ax, t, run.corr_linear, PALETTE[0], r"corr$(f, \langle\sum_i y_i x_i, x\rangle)$")
    _band(ax, t, run.even_odd, PALETTE[1], r"mean$|f_{\rm even}|$ / mean$|f_{\rm odd}|$")
    ax.axhline(1.0, color="grey", lw=0.8)
    _log_steps(ax, t)
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_ylabel("diagnostic value")
    ax.set_title("linear after step 1, even part later")
    ax.legend(fontsize=8)
    i = run.index(step)
    acc = run.cluster_acc[:, i, :]
    x = np.arange(len(run.seeds))
    for k, (name, c) in enumerate(zip((r"$+\mu_1$", r"$-\mu_1$", r"$+\mu_2$", r"$-\mu_2$"), PALETTE)):
        ax2.bar(x + (k - 1.5) * 0.2, acc[:, k], width=0.2, color=c, label=name)
    ax2.set_xticks(x, [str(s) for s in run.seeds])
    ax2.set_xlabel("seed")
    ax2.set_ylabel("clean test accuracy on the cluster")
    ax2.set_title(f"per-cluster accuracy at t = {step}")
    ax2.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return axes


def plot_margin_theory(etas, margins, theory, ax=None):
    """Measured mean step-1 margin (points, one per seed) against eq. (xor-step1-margin) (dashed)."""
    etas = np.asarray(etas, dtype=float)
    margins = np.asarray(margins, dtype=float)
    if ax is None:
        _, ax = new_figure(width=5.5, height=4)
    for k in range(margins.shape[1]):
        ax.plot(etas, margins[:, k], "o", color=PALETTE[0], alpha=0.5, ms=4,
                label="simulation (one point per seed)" if k == 0 else None)
    ax.plot(etas, theory, **THEORY_STYLE, label=r"$\eta(p+\|\mu\|^2)/(8n)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"step size $\eta$")
    ax.set_ylabel(r"mean training margin $y_i f(x_i)$ at t = 1")
    ax.set_title("step-1 margin: theory meets simulation")
    ax.legend(fontsize=8)
    return ax


def plot_controls(runs: dict, ax=None):
    """Median clean test accuracy (band = range over seeds) for several named runs."""
    if ax is None:
        _, ax = new_figure(width=7, height=4)
    for (name, run), c in zip(runs.items(), PALETTE):
        _check_run(run)
        _band(ax, run.steps, run.test_clean, c, name)
    ax.axhline(0.5, color="grey", lw=0.8)
    _log_steps(ax, max((r.steps for r in runs.values()), key=lambda s: s[-1]))
    ax.set_ylabel("clean test accuracy")
    ax.set_title("controls: what breaks benign overfitting")
    ax.legend(fontsize=8)
    return ax


def plot_seed_variability(run, ax=None):
    """Clean test accuracy of every seed, labelled by its largest per-cluster flip rate."""
    run = _check_run(run)
    if ax is None:
        _, ax = new_figure(width=7, height=4)
    worst = np.nanmax(run.cluster_flip_rate, axis=1)
    cmap = matplotlib.colormaps["cividis"]
    lo, hi = worst.min(), max(worst.max(), worst.min() + 1e-9)
    for k, s in enumerate(run.seeds):
        ax.plot(run.steps, run.test_clean[k], color=cmap((worst[k] - lo) / (hi - lo)), marker="o", ms=3,
                label=f"seed {s}: max cluster flip rate {worst[k]:.2f}")
    _log_steps(ax, run.steps)
    ax.set_ylabel("clean test accuracy")
    ax.set_title("seed variability (colour = worst cluster's flip rate)")
    ax.legend(fontsize=7, ncol=2)
    return ax


# ----------------------------------------------------------------------------- explorer
_EXPLORER_DEFAULTS = dict(eta=0.32, signal=10.0, rho=0.15, log10_init=-6.0)


def explorer_figure(eta: float = 0.32, signal: float = 10.0, rho: float = 0.15, init_std: float = 1e-6,
                    *, n: int = 40, p: int = 2000, m: int = 100, steps: int = 100, seed: int = 0, axes=None):
    """Fast small-``p`` run (default n = 40, p = 2000) drawn as accuracy curves: the explorer's view."""
    steps = check_int("steps", steps, minimum=2, maximum=2000)
    cfg = XORConfig(n=n, p=p, m=m, signal=signal, rho=rho, eta=eta, init_std=init_std, n_test=400)
    ckpt = np.unique(np.r_[0, 1, 2, np.geomspace(1, steps, 24).astype(int)])
    run = run_xor(cfg, [seed], ckpt)
    if axes is None:
        _, axes = new_figure(1, 1, width=7, height=3.8)
    ax = np.atleast_1d(axes)[0]
    t = run.steps
    ax.plot(t, run.train_acc[0], color=PALETTE[0], marker="o", ms=3, label="train (noisy labels)")
    ax.plot(t, run.test_clean[0], color=PALETTE[1], marker="o", ms=3, label="test, clean labels")
    ax.plot(t, run.test_noisy[0], color=PALETTE[2], marker="o", ms=3, label="test, noisy labels")
    ax.axhline(1 - rho, **THEORY_STYLE, label=r"$1-\rho$")
    _log_steps(ax, t)
    ax.set_ylim(0.3, 1.03)
    ax.set_ylabel("accuracy")
    ax.set_title(f"n={n}, p={p}: eta={eta:g}, signal={signal:g}, rho={rho:g}, init={init_std:.0e}")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def explorer(*, n: int = 40, p: int = 2000, m: int = 100, steps: int = 100, seed: int = 0):
    """Sliders for step size, signal strength ``||mu||^2/sqrt(p)``, flip rate and log10 init scale.

    Each move reruns a small problem (default n = 40, p = 2000) from cached Gram products.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    check_int("n", n, minimum=4)
    check_int("p", p, minimum=2)
    from IPython.display import display

    out = w.Output()
    sliders = dict(
        eta=w.FloatLogSlider(value=0.32, base=10, min=-2, max=1, step=0.1, description="step size"),
        signal=w.FloatSlider(value=10.0, min=0.5, max=30.0, step=0.5, description="signal"),
        rho=w.FloatSlider(value=0.15, min=0.0, max=0.45, step=0.01, description="flip rate"),
        log10_init=w.FloatSlider(value=-6.0, min=-7.0, max=-0.5, step=0.25, description="log10 init"))

    def redraw(_=None):
        with out:
            out.clear_output(wait=True)
            fig, ax = new_figure(1, 1, width=7, height=3.8)
            explorer_figure(sliders["eta"].value, sliders["signal"].value, sliders["rho"].value,
                            10 ** sliders["log10_init"].value, n=n, p=p, m=m, steps=steps, seed=seed, axes=ax)
            display(fig)
            plt.close(fig)

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox(list(sliders.values())[:2]), w.HBox(list(sliders.values())[2:]), out])
