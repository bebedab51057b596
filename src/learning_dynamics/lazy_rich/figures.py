"""Figures and the explorer of chapter 3 (grokking as the transition from lazy to rich).

Each figure function draws simulation in colour and theory (closed forms of
:mod:`learning_dynamics.lazy_rich.theory`) as dashed black or grey lines, and returns
its axes; the chapter shows them with :func:`~learning_dynamics.plotting.show_figure`.
"""

from __future__ import annotations

import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, log_time_axis, new_figure
from ..validation import check_float, check_int, check_seed
from .data import Committee, make_network, make_teacher_data
from .modular import ModularResult
from .theory import lazy_limit_losses, stability_limit
from .train import History, train_recursion

__all__ = [
    "plot_grokking",
    "plot_decomposition",
    "plot_alpha_sweep",
    "plot_p_sweep",
    "plot_phase_diagram",
    "plot_modular",
    "explorer",
]


def _alpha_label(a: float) -> str:
    if a >= 1000:
        return rf"$\alpha = 10^{{{int(round(np.log10(a)))}}}$"
    if a < 1:
        return rf"$\alpha = 1/{int(round(1 / a))}$"
    return rf"$\alpha = {a:g}$"


_TIME = r"time $t$ ($\eta_0 = 1$ steps)"


def _lazy_curves(ax, lazy, train0, test0, *, label=r"lazy limit $\alpha \to \infty$"):
    """Dashed (test) and dotted (train) black curves of the linearised closed form."""
    if lazy is None:
        return
    t_lazy, train_lazy, test_lazy = lazy
    ax.plot(
        t_lazy, np.asarray(test_lazy) / test0, **THEORY_STYLE, label=label + ", test"
    )
    ax.plot(
        t_lazy,
        np.asarray(train_lazy) / train0,
        color="black",
        ls=":",
        lw=1.4,
        label=label + ", train",
    )


def plot_grokking(
    history: History,
    run: int = 0,
    *,
    lazy=None,
    kernel_loss: float | None = None,
    ax=None,
):
    """Train and test loss / L0 of one run, with the lazy closed form as theory.

    ``lazy = (t, train, test)`` from :func:`.lazy_limit_losses`, eq.
    (lr-lazy-closed-form); ``kernel_loss`` is its ``t -> infinity`` test loss.
    """
    if ax is None:
        _, ax = new_figure(1, 1, width=6.6, height=4.0)
    t = history.t[1:]
    ax.plot(t, history.train[run, 1:] / history.train0, color=PALETTE[0], label="train")
    ax.plot(
        t,
        history.test[run, 1:] / history.test0,
        color=PALETTE[1],
        label="test (exact population loss)",
    )
    _lazy_curves(ax, lazy, history.train0, history.test0)
    if kernel_loss is not None:
        ax.axhline(
            kernel_loss / history.test0,
            color="0.5",
            ls="-.",
            lw=1.2,
            label="ridgeless regression with $K_0$",
        )
    log_time_axis(ax, _TIME, ylabel="loss / initial loss")
    ax.set_title(f"grokking at {_alpha_label(history.alpha[run])}")
    ax.legend(loc="lower left", fontsize=8)
    return ax


def plot_decomposition(
    history: History,
    run: int = 0,
    *,
    lazy_run: int | None = None,
    chance_linear: float | None = None,
    axes=None,
):
    """Loss terms of eq. (lr-pop-loss), alignment, weight norm, and ``M - M0``.

    ``chance_linear``: the predicted peak of the linear term, eq. (lr-chance-linear),
    drawn dashed; ``lazy_run``: a lazier run drawn in grey for comparison.  The
    fourth panel splits ``alpha eps (M - M0)`` into the learned fraction ``q`` of
    the teacher direction and the size of the rest (``History.teacher``,
    ``History.spurious``); the optimum ``q = 1`` is drawn dashed.
    """
    if axes is None:
        _, axes = new_figure(2, 2, width=6.8, height=5.8)
        axes = axes.ravel()
    t = history.t[1:]
    L0 = history.test0
    ax = axes[0]
    ax.plot(t, history.test[run, 1:] / L0, color="k", lw=1.0, label="test (sum)")
    for key, col in (
        ("variance", PALETTE[2]),
        ("misalignment", PALETTE[1]),
        ("linear", PALETTE[0]),
    ):
        ax.plot(t, getattr(history, key)[run, 1:] / L0, color=col, label=key)
    if chance_linear is not None:
        ax.axhline(
            chance_linear / L0,
            color="0.3",
            ls="--",
            lw=1.2,
            label="chance linear power",
        )
    log_time_axis(ax, _TIME, ylabel="term / initial test loss")
    ax.set_title("population-loss terms")
    ax.legend(fontsize=7)
    runs = [(run, PALETTE[3])] + ([(lazy_run, "0.5")] if lazy_run is not None else [])
    for i, col in runs:
        axes[1].plot(
            t, history.alignment[i, 1:], color=col, label=_alpha_label(history.alpha[i])
        )
        axes[2].plot(
            t,
            history.weight_norm[i, 1:],
            color=col,
            label=_alpha_label(history.alpha[i]),
        )
    log_time_axis(axes[1], _TIME, ylabel=r"$\cos(M - M_0, \beta\beta^\top)$")
    axes[1].set_title("alignment of the learned feature")
    axes[1].legend(fontsize=8)
    log_time_axis(axes[2], _TIME, ylabel=r"weight norm $\sqrt{\mathrm{Tr}\,M}$")
    axes[2].set_title("weight norm (no weight decay)")
    axes[2].legend(fontsize=8)
    ax = axes[3]
    ax.plot(t, history.teacher[run, 1:], color=PALETTE[3], label=r"teacher part $q$")
    rest = r"rest $\|R\|_F/|\beta|^2$"
    ax.plot(t, history.spurious[run, 1:], color=PALETTE[4], label=rest)
    ax.axhline(1.0, **THEORY_STYLE, label="optimum $q = 1$")
    log_time_axis(ax, _TIME, ylabel=r"share of $\beta\beta^\top$ scale")
    ax.set_title(r"$\alpha\varepsilon(M - M_0) = q\,\beta\beta^\top + R$")
    ax.legend(fontsize=7)
    return axes


def plot_alpha_sweep(
    history: History, t_train, t_test, *, lazy=None, t_feat=None, axes=None
):
    """Left: loss / L0 for every alpha. Right: crossing times against alpha.

    ``lazy = (t, train, test)``: the lazy closed form, eq. (lr-lazy-closed-form);
    ``t_feat``: the heuristic feature-learning time, eq. (lr-t-feat), per alpha.
    """
    if axes is None:
        _, axes = new_figure(1, 2, width=7.0, height=3.8)
    cols = list(PALETTE[:7]) * 3
    cols[len(history.alpha) - 1] = "0.55"  # the laziest run in grey
    t = history.t[1:]
    for i, a in enumerate(history.alpha):
        axes[0].plot(
            t, history.test[i, 1:] / history.test0, color=cols[i], label=_alpha_label(a)
        )
        axes[0].plot(
            t, history.train[i, 1:] / history.train0, color=cols[i], ls=":", lw=1.0
        )
    _lazy_curves(axes[0], lazy, history.train0, history.test0, label="lazy")
    log_time_axis(axes[0], _TIME, ylabel="loss / initial (test solid, train dotted)")
    axes[0].set_title("laziness sets the delay")
    axes[0].legend(fontsize=6, ncol=2, loc="lower left")
    for values, marker, col, label in (
        (t_train, "o-", PALETTE[0], "train < 0.1 L0"),
        (t_test, "s-", PALETTE[1], "test < 0.1 L0"),
    ):
        fin = np.isfinite(values)
        axes[1].loglog(
            history.alpha[fin], np.asarray(values)[fin], marker, color=col, label=label
        )
    if t_feat is not None:  # drawn where the training loss was seen to cross
        fin = np.isfinite(t_train)
        axes[1].loglog(
            history.alpha[fin],
            np.asarray(t_feat)[fin],
            **THEORY_STYLE,
            label=r"$t_{feat}$ (heuristic)",
        )
    axes[1].set_xlabel(r"output scale $\alpha$")
    axes[1].set_ylabel(r"crossing time ($\eta_0 = 1$ steps)")
    axes[1].set_title("crossing times")
    axes[1].legend(fontsize=8)
    return axes


def plot_p_sweep(histories, Ps, *, lazy=None, ax=None):
    """Train (dotted) and test (solid) loss / L0 for several sizes ``P``.

    ``lazy``: per ``P`` a ``(t, train, test)`` lazy closed form or ``None``; its
    test loss is drawn dashed in the run's colour.
    """
    if ax is None:
        _, ax = new_figure(1, 1, width=6.6, height=4.0)
    lazy = [None] * len(Ps) if lazy is None else lazy
    for i, (h, P, lz) in enumerate(zip(histories, Ps, lazy, strict=True)):
        col = PALETTE[i % len(PALETTE)]
        ax.plot(h.t[1:], h.test[0, 1:] / h.test0, color=col, label=f"P = {P}")
        ax.plot(h.t[1:], h.train[0, 1:] / h.train0, color=col, ls=":", lw=1.2)
        if lz is not None:
            ax.plot(lz[0], np.asarray(lz[2]) / h.test0, color=col, ls="--", lw=1.0)
    log_time_axis(ax, _TIME, ylabel="loss / initial (test solid, train dotted)")
    ax.set_title("the goldilocks range of P (dashed: lazy test)")
    ax.legend(fontsize=8)
    return ax


def plot_phase_diagram(alphas, epss, gap, ax=None):
    """Heat map of ``log10`` of the train-to-test delay over (alpha, eps)."""
    if ax is None:
        _, ax = new_figure(1, 1, width=6, height=4.4)
    im = ax.imshow(np.log10(gap), origin="lower", aspect="auto", cmap="cividis")
    ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_yticks(range(len(epss)), [f"{e:g}" for e in epss])
    ax.set_xlabel(r"output scale $\alpha$")
    ax.set_ylabel(r"quadratic strength $\varepsilon$")
    ax.set_title("grokking delay")
    cb = ax.figure.colorbar(im, ax=ax)
    cb.set_label(r"$\log_{10}(t_{test}/t_{train})$ at 0.5 L0")
    return ax


# ----------------------------------------------------------------------------- explorer
def _slider_widget(draw, alphas, epss, Ps):
    """Three selection sliders redrawing ``draw(alpha, eps, P)`` into an output area."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    out = widgets.Output()
    sa = widgets.SelectionSlider(
        options=list(alphas), value=alphas[1], description="alpha"
    )
    se = widgets.SelectionSlider(options=list(epss), value=epss[-1], description="eps")
    sp = widgets.SelectionSlider(options=list(Ps), value=Ps[1], description="P")

    def update(*_):
        with out:
            out.clear_output(wait=True)
            fig = draw(sa.value, se.value, sp.value)
            display(fig)
            plt.close(fig)

    for slider in (sa, se, sp):
        slider.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([sa, se, sp]), out])


def _explorer_runs(d, P, grid, t_max, t_lazy, seed):
    """All (alpha, eps) runs of one ``P`` in one batched recursion, with lazy curves."""
    alphas, epss = grid
    data = make_teacher_data(d, P, seed=seed)
    net = make_network(d, 500, float(max(epss)), seed=seed)
    cap = 0.3 * stability_limit(data, net)
    h = train_recursion(
        data, net, alphas, t_max, eps=epss, eta0=1.0, eta0_max=cap, rel_step=0.05
    )
    runs = {}
    for i, (alpha, eps) in enumerate(zip(alphas, epss, strict=True)):
        lazy = None
        if P <= d * (d + 3) // 2:
            net_e = Committee(net.W0, float(eps), net.w_bar0, net.M0)
            lazy = lazy_limit_losses(data, net_e, t_lazy)
        runs[(alpha, eps, P)] = (
            h.t,
            h.train[i] / h.train0,
            h.test[i] / h.test0,
            lazy,
            data.train_loss0,
            data.test_loss0,
        )
    return runs


def explorer(
    d: int = 20,
    *,
    alphas=(0.5, 2.0, 8.0),
    epss=(0.05, 0.1, 0.2),
    Ps=(40, 100, 300),
    t_max: float = 3e3,
    seed: int = 0,
):
    """Sliders for alpha, eps and P over recursion runs at ``d = 20``.

    The runs of one ``P`` (all alpha x eps, one batched recursion) are computed the
    first time that ``P`` is shown.  The dashed curves are the lazy closed form,
    eq. (lr-lazy-closed-form), where the initial kernel is invertible
    (``P <= d(d+3)/2``).  Returns ``(widget, draw)``; ``draw(alpha, eps, P)``
    returns the figure shown.
    """
    d = check_int("d", d, minimum=2, maximum=60)
    seed = check_seed("seed", seed)
    t_max = check_float("t_max", t_max, minimum=1.0, maximum=1e5)
    A, E = np.meshgrid(
        np.asarray(alphas, float), np.asarray(epss, float), indexing="ij"
    )
    runs = {}
    t_lazy = np.geomspace(1.0, t_max, 30)
    grid = (A.ravel(), E.ravel())

    def draw(alpha, eps, P):
        if (alpha, eps, P) not in runs:
            runs.update(_explorer_runs(d, P, grid, t_max, t_lazy, seed))
        t, train, test, lazy, train0, test0 = runs[(alpha, eps, P)]
        fig, ax = new_figure(1, 1, width=6.6, height=4.0)
        ax.plot(t[1:], train[1:], color=PALETTE[0], label="train")
        ax.plot(t[1:], test[1:], color=PALETTE[1], label="test")
        if lazy is not None:
            _lazy_curves(ax, (t_lazy,) + tuple(lazy), train0, test0, label="lazy")
        ax.set_ylim(0, 1.5)
        log_time_axis(ax, _TIME, ylabel="loss / initial loss")
        ax.set_title(
            rf"d = {d}, P = {P}, $\alpha$ = {alpha:g}, $\varepsilon$ = {eps:g}"
        )
        ax.legend(loc="lower left", fontsize=8)
        return fig

    return _slider_widget(draw, alphas, epss, Ps), draw


def plot_modular(results, ax=None):
    """Test (solid) and train (dotted) accuracy against step, one colour per ``alpha``.

    ``results`` is a :class:`ModularResult` or a list of them (several seeds; later
    seeds are drawn thinner and unlabelled).
    """
    if isinstance(results, ModularResult):
        results = [results]
    if not results or not all(isinstance(r, ModularResult) for r in results):
        raise TypeError(
            "results must be a ModularResult or a non-empty list of ModularResult"
        )
    if ax is None:
        _, ax = new_figure(1, 1, width=6.4, height=3.8)
    for j, res in enumerate(results):
        for i, a in enumerate(res.alphas):
            col = PALETTE[i % len(PALETTE)]
            lw = 2.0 if j == 0 else 1.0
            ax.plot(
                res.steps,
                res.test_acc[i],
                color=col,
                lw=lw,
                alpha=1.0 if j == 0 else 0.6,
                label=rf"$\alpha$ = {a:g} (test)" if j == 0 else None,
            )
            if j == 0:
                ax.plot(res.steps, res.train_acc[i], color=col, ls=":", lw=1.2)
    ax.axhline(
        1.0 / results[0].p,
        color="0.5",
        lw=0.8,
        ls="--",
        label=f"chance 1/p = {1 / results[0].p:.2f}",
    )
    ax.set_xlabel("gradient-descent step t")
    ax.set_ylabel("accuracy (test solid, train dotted)")
    kind = "centred" if results[0].centred else "uncentred"
    ax.set_title(
        f"modular addition, p = {results[0].p}, {kind} output, no weight decay"
    )
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="center right")
    return ax
