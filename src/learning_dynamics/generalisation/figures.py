"""Figures and the explorer of chapter 6 (theory dashed black over simulation)."""
from __future__ import annotations

import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, new_figure
from ..validation import check_float
from .data import make_task
from .theory import (
    long_time_test_error,
    mp_density,
    test_error_mp,
    training_error_mp,
)
from .train import gd_exact

__all__ = [
    "explorer",
    "explorer_figure",
    "plot_early_stopping",
    "plot_frozen_subspace",
    "plot_learning_curves",
    "plot_overtraining",
    "plot_random_features",
    "plot_spectra",
]

TIME = "time $t$ (steps $\\times\\,\\eta$)"


def plot_spectra(eigenvalues: dict, d: int):
    """Eigenvalue histograms of ``X X^T`` (non-zero part) with eq. (gen-mp) over them.

    ``eigenvalues`` maps ``alpha`` to an array of eigenvalues pooled over seeds.
    """
    fig, axes = new_figure(1, len(eigenvalues), width=10, height=3.2)
    for ax, (alpha, lam) in zip(np.atleast_1d(axes), eigenvalues.items(), strict=True):
        lam = np.ravel(lam)
        nonzero = lam[lam > 1e-9]
        hi = (np.sqrt(alpha) + 1) ** 2 * 1.05
        bins = np.linspace(0, hi, 60)
        weights = np.full(nonzero.size, 1.0 / lam.size)
        ax.hist(nonzero, bins=bins, weights=weights / np.diff(bins)[0],
                color=PALETTE[0], alpha=0.6, label=f"$d = {d}$")
        grid = np.linspace(1e-4, hi, 600)
        ax.plot(grid, mp_density(grid, alpha), **THEORY_STYLE, label="eq. MP")
        zero = np.mean(lam <= 1e-9)
        ax.set_title(f"$\\alpha = {alpha:g}$: zero mass {zero:.2f}")
        ax.set_xlabel("eigenvalue $\\lambda$ of $XX^\\top$")
        ax.set_ylabel("density")
        ax.set_ylim(0, 1.2 * max(1.0, np.max(mp_density(grid[grid > 0.05], alpha))))
    np.atleast_1d(axes)[0].legend()
    return fig


def _band(ax, t, centre, low, high, color, label):
    ax.plot(t, centre, color=color, lw=1.8, label=label)
    ax.fill_between(t, low, high, color=color, alpha=0.25, lw=0)


def plot_learning_curves(t, curves: dict, theory: dict):
    """Test and training error: simulation bands and eq. (gen-eg-mp) / (gen-et-mp).

    ``curves[(alpha, snr, kind)] = (centre, low, high)`` and
    ``theory[(alpha, snr, kind)] = values``; ``kind`` is ``"test"`` or ``"train"``.
    """
    alphas = sorted({k[0] for k in curves})
    snrs = sorted({k[1] for k in curves}, reverse=True)
    fig, axes = new_figure(1, len(alphas), width=11, height=3.6)
    for ax, alpha in zip(axes, alphas, strict=True):
        for i, snr in enumerate(snrs):
            for kind, shade in (("test", 0), ("train", 2)):
                c, lo, hi = curves[(alpha, snr, kind)]
                _band(ax, t, c, lo, hi, PALETTE[i + shade],
                      f"{kind}, SNR {snr:g}")
                ax.plot(t, theory[(alpha, snr, kind)], **THEORY_STYLE)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"$\\alpha = {alpha:g}$" + (" (medians)" if alpha == 1 else ""))
        ax.set_xlabel(TIME)
        ax.set_ylabel("error / $\\sigma_w^2$")
    axes[0].plot([], [], **THEORY_STYLE, label="theory (MP)")
    axes[0].legend(fontsize=7.5)
    return fig


def plot_overtraining(alphas_theory, limit, best, sim_alphas, sim_limit, sim_best,
                      t_growth, growth_median, growth_band, growth_theory,
                      growth_law):
    """Left: converged and best-in-time test error against ``alpha`` (eq.
    (gen-limits)); right: the growth at ``alpha = 1`` (eq. (gen-growth))."""
    fig, (ax, bx) = new_figure(1, 2, width=10.5, height=3.8)
    ax.plot(alphas_theory, limit, **THEORY_STYLE, label="$E_g(\\infty)$ theory")
    ax.plot(alphas_theory, best, color="grey", ls=":", lw=1.6,
            label="$\\min_t E_g$ theory")
    ax.plot(sim_alphas, sim_limit, "o", color=PALETTE[1],
            label="GD converged (median)")
    ax.plot(sim_alphas, sim_best, "s", color=PALETTE[0], label="GD best time (median)")
    ax.set_yscale("log")
    ax.set_xlabel("load $\\alpha = P/d$")
    ax.set_ylabel("test error / $\\sigma_w^2$")
    ax.set_title("overtraining peaks at $\\alpha = 1$")
    ax.legend(fontsize=8)
    _band(bx, t_growth, growth_median, growth_band[0], growth_band[1], PALETTE[0],
          "GD median, $\\alpha = 1$")
    bx.plot(t_growth, growth_theory, **THEORY_STYLE, label="MP quadrature")
    bx.plot(t_growth, growth_law, color="grey", ls=":", lw=1.6,
            label="$c\\,\\sigma_\\epsilon^2\\sqrt{t}$")
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel(TIME)
    bx.set_ylabel("test error / $\\sigma_w^2$")
    bx.set_title("$\\alpha = 1$: growth like $\\sqrt{t}$")
    bx.legend(fontsize=8)
    return fig


def plot_early_stopping(alphas, ridge, modes, global_stop, sim_alphas, sim_global,
                        sim_ridge):
    """Best ridge (eq. (gen-ridge)), per-mode stopping and one global stopping time,
    theory lines over simulation markers."""
    fig, ax = new_figure(width=6.6, height=3.8)
    ax.plot(alphas, global_stop, **THEORY_STYLE, label="one stopping time (theory)")
    ax.plot(alphas, ridge, color="grey", lw=1.6,
            label="ridge $\\gamma = 1/$SNR (theory)")
    ax.plot(alphas, modes, color="grey", ls=":", lw=2.4,
            label="every mode at its $t_{opt}$ (theory)")
    ax.plot(sim_alphas, sim_global, "o", color=PALETTE[0],
            label="GD at the best time (mean)")
    ax.plot(sim_alphas, sim_ridge, "s", mfc="none", color=PALETTE[1],
            label="ridge solution (mean)")
    ax.set_xlabel("load $\\alpha = P/d$")
    ax.set_ylabel("test error / $\\sigma_w^2$")
    ax.set_title("early stopping against ridge regression")
    ax.legend(fontsize=8)
    return fig


def plot_frozen_subspace(alphas, predicted, sim_alphas, shift_mean, shift_low,
                         shift_high):
    """Shift of the converged test error caused by the initial weights: eq.
    (gen-frozen) (dashed) over paired GD runs (mean and interval)."""
    fig, ax = new_figure(width=6.4, height=3.6)
    ax.plot(alphas, predicted, **THEORY_STYLE, label="$(1-\\alpha)_+\\,\\sigma_0^2$")
    yerr = np.vstack([shift_mean - shift_low, shift_high - shift_mean])
    ax.errorbar(sim_alphas, shift_mean, yerr=yerr, fmt="o", color=PALETTE[1],
                capsize=3, label="paired GD runs")
    ax.set_xlabel("load $\\alpha = P/d$")
    ax.set_ylabel("$E_g(\\sigma_0) - E_g(0)$ at $t = \\infty$")
    ax.set_title("the initial weights stay in the frozen subspace")
    ax.legend()
    return fig


def plot_random_features(widths, P, final_median, final_band, best_median,
                         predicted_median, smallest_median):
    """Random-features readout: converged and early-stopped test error against the
    width ``N`` (simulation) with the noise-averaged closed form of eq.
    (gen-rf-noise); right, the smallest non-zero eigenvalue of the features."""
    fig, (ax, bx) = new_figure(1, 2, width=10.5, height=3.8)
    _band(ax, widths, final_median, final_band[0], final_band[1], PALETTE[1],
          "converged (median)")
    ax.plot(widths, predicted_median, **THEORY_STYLE,
            label="noise average, closed form")
    ax.plot(widths, best_median, "s-", color=PALETTE[0], ms=4,
            label="best stopping time (median)")
    ax.axvline(P, color="grey", lw=0.8)
    for a in (ax, bx):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("hidden width $N$")
    ax.set_ylabel("test error")
    ax.set_title(f"readout only, $P = {P}$")
    ax.legend(fontsize=8)
    bx.plot(widths, smallest_median, "o-", color=PALETTE[2], ms=4)
    bx.axvline(P, color="grey", lw=0.8)
    bx.set_ylabel("smallest non-zero eigenvalue")
    bx.set_title("the gap closes at $N = P$")
    return fig


def _explorer_data(alpha, snr, t_max, d, seeds, seed):
    P = max(1, int(round(alpha * d)))
    t = np.unique(np.round(np.logspace(-1, np.log10(t_max), 40) / 0.1) * 0.1)
    task = make_task(d, P, snr, seeds=seeds, seed=seed)
    run = gd_exact(task, t, eta=0.1)
    noise2 = task.noise2
    return t, run, noise2, P / d


def explorer_figure(alpha: float = 0.8, snr: float = 2.0, t_max: float = 1000.0,
                    *, d: int = 200, seeds: int = 8, seed: int = 0):
    """The explorer's view: eq. (gen-eg-mp) and (gen-et-mp) over gradient descent at
    ``d = 200`` (mean of ``seeds`` runs, exact engine), step ``eta = 0.1``."""
    alpha = check_float("alpha", alpha, minimum=0.1, maximum=4.0)
    snr = check_float("snr", snr, minimum=0.05, maximum=100.0)
    t_max = check_float("t_max", t_max, minimum=1.0, maximum=1e5)
    t, run, noise2, alpha_used = _explorer_data(alpha, snr, t_max, d, seeds, seed)
    fig, ax = new_figure(width=6.6, height=3.8)
    ax.plot(t, run.test_error.mean(0), color=PALETTE[0], label="test, GD")
    ax.plot(t, run.train_error.mean(0), color=PALETTE[2], label="train, GD")
    ax.plot(t, test_error_mp(alpha_used, t, noise2=noise2, eta=0.1), **THEORY_STYLE,
            label="theory (MP)")
    ax.plot(t, training_error_mp(alpha_used, t, noise2=noise2, eta=0.1),
            **THEORY_STYLE)
    limit = long_time_test_error(alpha_used, noise2=noise2)
    if np.isfinite(limit):
        ax.axhline(limit, color="grey", ls=":", lw=1.2, label="$E_g(\\infty)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(TIME)
    ax.set_ylabel("error / $\\sigma_w^2$")
    ax.set_title(f"$\\alpha = {alpha_used:.2f}$, SNR $= {snr:g}$, $d = {d}$")
    ax.legend(fontsize=8)
    return fig


def explorer(alpha: float = 0.8, snr: float = 2.0, t_max: float = 1000.0):
    """Sliders for ``alpha``, SNR and the last time ``t``; redraws
    :func:`explorer_figure` (theory and a live simulation, under a second a move)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    w_alpha = widgets.FloatSlider(value=alpha, min=0.1, max=3.0, step=0.05,
                                  description="alpha")
    w_snr = widgets.FloatLogSlider(value=snr, base=10, min=-1, max=2, step=0.1,
                                   description="SNR")
    w_t = widgets.FloatLogSlider(value=t_max, base=10, min=0, max=4, step=0.25,
                                 description="t")
    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = explorer_figure(w_alpha.value, w_snr.value, w_t.value)
            display(fig)
            plt.close(fig)

    for w in (w_alpha, w_snr, w_t):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([w_alpha, w_snr, w_t]), out])
