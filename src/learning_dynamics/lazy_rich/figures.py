"""Figures and the explorer of chapter 3 (grokking as the transition from lazy to rich).

Each figure function draws simulation in colour and theory (closed forms of
:mod:`learning_dynamics.lazy_rich.theory`) as dashed black or grey lines, and returns
its axes; the chapter shows them with :func:`learning_dynamics.show_figure`.
"""

from __future__ import annotations

import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, new_figure
from ..validation import check_float, check_int, check_seed
from .data import Committee, make_network, make_teacher_data
from .modular import ModularResult
from .theory import kernel_regression_loss, stability_limit
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


def plot_grokking(
    history: History, run: int = 0, *, kernel_loss: float | None = None, ax=None
):
    """Train and test loss / L0 on log time, with the K0-regression test loss."""
    if ax is None:
        _, ax = new_figure(1, 1, width=6.4, height=3.8)
    t = history.t[1:]
    ax.plot(t, history.train[run, 1:] / history.train0, color=PALETTE[0], label="train")
    ax.plot(
        t,
        history.test[run, 1:] / history.test0,
        color=PALETTE[1],
        label="test (exact population loss)",
    )
    if kernel_loss is not None:
        ax.axhline(
            kernel_loss / history.test0,
            **THEORY_STYLE,
            label="ridgeless regression with $K_0$",
        )
    ax.set_xscale("log")
    ax.set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    ax.set_ylabel("loss / initial loss")
    ax.set_title(f"grokking at {_alpha_label(history.alpha[run])}")
    ax.legend(loc="lower left")
    return ax


def plot_decomposition(history: History, run: int = 0, axes=None):
    """Loss terms of eq. (lr-pop-loss), alignment and weight norm against time."""
    if axes is None:
        _, axes = new_figure(1, 3, width=12, height=3.6)
    t = history.t[1:]
    L0 = history.test0
    ax = axes[0]
    ax.plot(t, history.test[run, 1:] / L0, color="k", label="test (sum)")
    for key, col in (
        ("variance", PALETTE[2]),
        ("misalignment", PALETTE[1]),
        ("linear", PALETTE[0]),
    ):
        ax.plot(t, getattr(history, key)[run, 1:] / L0, color=col, label=key)
    ax.set_xscale("log")
    ax.set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    ax.set_ylabel("term / initial test loss")
    ax.set_title("population-loss terms")
    ax.legend(fontsize=8)
    axes[1].plot(t, history.alignment[run, 1:], color=PALETTE[3])
    axes[1].set_xscale("log")
    axes[1].set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    axes[1].set_ylabel(r"cos$(M - M_0, \beta\beta^T)$")
    axes[1].set_title("alignment of the learned feature")
    axes[2].plot(t, history.weight_norm[run, 1:], color=PALETTE[4])
    axes[2].set_xscale("log")
    axes[2].set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    axes[2].set_ylabel(r"weight norm $\sqrt{\mathrm{Tr}\,M}$")
    axes[2].set_title("weight norm (no weight decay)")
    return axes


def plot_alpha_sweep(history: History, t_train, t_test, axes=None):
    """Left: loss / L0 for every alpha. Right: crossing times against alpha."""
    if axes is None:
        _, axes = new_figure(1, 2, width=12, height=4)
    cols = list(PALETTE) * 3
    t = history.t[1:]
    for i, a in enumerate(history.alpha):
        axes[0].plot(
            t, history.test[i, 1:] / history.test0, color=cols[i], label=_alpha_label(a)
        )
        axes[0].plot(
            t, history.train[i, 1:] / history.train0, color=cols[i], ls=":", lw=1.2
        )
    axes[0].set_xscale("log")
    axes[0].set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    axes[0].set_ylabel("loss / initial (test solid, train dotted)")
    axes[0].set_title("laziness sets the delay")
    axes[0].legend(fontsize=7, ncol=2)
    fin = np.isfinite(t_train)
    axes[1].loglog(
        history.alpha[fin],
        np.asarray(t_train)[fin],
        "o-",
        color=PALETTE[0],
        label="train < 0.1 L0",
    )
    fin = np.isfinite(t_test)
    axes[1].loglog(
        history.alpha[fin],
        np.asarray(t_test)[fin],
        "s-",
        color=PALETTE[1],
        label="test < 0.1 L0",
    )
    axes[1].set_xlabel(r"output scale $\alpha$")
    axes[1].set_ylabel(r"crossing time ($\eta_0 = 1$ steps)")
    axes[1].set_title("crossing times")
    axes[1].legend()
    return axes


def plot_p_sweep(histories, Ps, ax=None):
    """Train (dotted) and test (solid) loss / L0 for several sizes ``P``."""
    if ax is None:
        _, ax = new_figure(1, 1, width=6.4, height=4)
    for i, (h, P) in enumerate(zip(histories, Ps, strict=True)):
        col = PALETTE[i % len(PALETTE)]
        ax.plot(h.t[1:], h.test[0, 1:] / h.test0, color=col, label=f"P = {P}")
        ax.plot(h.t[1:], h.train[0, 1:] / h.train0, color=col, ls=":", lw=1.2)
    ax.set_xscale("log")
    ax.set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    ax.set_ylabel("loss / initial (test solid, train dotted)")
    ax.set_title("the goldilocks range of P")
    ax.legend()
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
def explorer(
    d: int = 20,
    *,
    alphas=(0.5, 2.0, 8.0),
    epss=(0.05, 0.1, 0.2),
    Ps=(40, 100, 300),
    t_max: float = 5e3,
    seed: int = 0,
):
    """Sliders for alpha, eps and P over precomputed recursion runs at ``d = 20``.

    Returns ``(widget, draw)``; ``draw(alpha, eps, P)`` returns the figure shown.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    d = check_int("d", d, minimum=2)
    seed = check_seed("seed", seed)
    t_max = check_float("t_max", t_max, minimum=1.0)
    runs = {}
    A, E = np.meshgrid(
        np.asarray(alphas, float), np.asarray(epss, float), indexing="ij"
    )
    for P in Ps:
        data = make_teacher_data(d, P, seed=seed)
        net = make_network(d, 500, float(epss[0]), seed=seed)
        h = train_recursion(
            data,
            net,
            A.ravel(),
            t_max,
            eps=E.ravel(),
            eta0=1.0,
            eta0_max=0.3 * stability_limit(data, net),
            rel_step=0.05,
        )
        kr = {
            e: kernel_regression_loss(
                data, Committee(net.W0, float(e), net.w_bar0, net.M0)
            )
            if P <= d * (d + 3) // 2
            else np.nan
            for e in epss
        }
        for i in range(A.size):
            runs[(A.ravel()[i], E.ravel()[i], P)] = (
                h.t,
                h.train[i] / h.train0,
                h.test[i] / h.test0,
                kr[E.ravel()[i]] / h.test0,
            )

    def draw(alpha, eps, P):
        t, tr, te, kr = runs[(alpha, eps, P)]
        fig, ax = new_figure(1, 1, width=6.4, height=3.8)
        ax.plot(t[1:], tr[1:], color=PALETTE[0], label="train")
        ax.plot(t[1:], te[1:], color=PALETTE[1], label="test")
        if np.isfinite(kr):
            ax.axhline(kr, **THEORY_STYLE, label="K0 regression")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.5)
        ax.set_xlabel(r"time t ($\eta_0 = 1$ steps)")
        ax.set_ylabel("loss / initial loss")
        ax.set_title(
            rf"d = {d}, P = {P}, $\alpha$ = {alpha:g}, $\varepsilon$ = {eps:g}"
        )
        ax.legend(loc="lower left")
        return fig

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

    for s in (sa, se, sp):
        s.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([sa, se, sp]), out]), draw


def plot_modular(results, ax=None):
    """Test (solid) and train (dotted) accuracy against step, one colour per ``alpha``.

    ``results`` is a :class:`ModularResult` or a list of them (several seeds; later
    seeds are drawn thinner
    and unlabelled).
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
