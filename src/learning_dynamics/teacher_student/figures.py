"""Figures and the explorer of chapter 5 (online SGD in the teacher-student network).

Each function draws one figure from results computed in the chapter (simulation in
colour, ODE or closed form as dashed black lines) and returns the matplotlib
figure; the notebook shows it with :func:`learning_dynamics.plotting.show_figure`.
"""

from __future__ import annotations

import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, new_figure
from ..validation import check_choice, check_float, check_int
from .data import init_student, make_teacher, pad_students, student_overlaps
from .theory import symmetric_fixed_point, symmetric_plateau_closed_form
from .train import integrate_ode

__all__ = [
    "plot_learning_curves",
    "plot_plateau_heights",
    "plot_escape",
    "plot_escape_statistics",
    "plot_overlap_maps",
    "plot_overparameterisation",
    "explorer_figure",
    "explorer",
]

TIME_LABEL = "time $t$ (SGD steps / $d$)"


def plot_learning_curves(
    sgd_t, sgd_eps, ode_t, ode_eps, deviation, *, shown=(0, 1, 2), plateau=None
):
    """Left: SGD learning curves of a few seeds over the ODE from their own start.
    Right: median relative deviation ``|eps_sgd / eps_ode - 1|`` against time for
    each input dimension in ``deviation`` (a dict ``d -> (t, median)``)."""
    fig, (ax, ax2) = new_figure(1, 2, width=6.8, height=3.3)
    for j, b in enumerate(shown):
        ax.plot(
            sgd_t[:, b], sgd_eps[:, b], color=PALETTE[j], lw=1.3, label=f"SGD, seed {b}"
        )
        ax.plot(
            ode_t,
            ode_eps[:, b],
            **{**THEORY_STYLE, "linewidth": 1.0},
            label="ODE, same start" if j == 0 else None,
        )
    if plateau is not None:
        ax.axhline(plateau, color="grey", ls=":", lw=1.0, label="fixed point")
    ax.set_yscale("log")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(r"generalisation error $\varepsilon_g$")
    ax.set_title("learning curves")
    ax.legend(fontsize=8, loc="lower left")
    for j, (dim, (t, med)) in enumerate(sorted(deviation.items())):
        ax2.plot(t, med, color=PALETTE[3 + j], label=f"$d = {dim}$")
    ax2.set_yscale("log")
    ax2.set_xlabel(TIME_LABEL)
    ax2.set_ylabel(r"median $|\varepsilon_g^{\rm SGD}/\varepsilon_g^{\rm ODE}-1|$")
    ax2.set_title("SGD minus ODE")
    ax2.legend(fontsize=8)
    return fig


def plot_plateau_heights(
    eta_grid, fixed_point_eps, sgd_etas, sgd_mean, sgd_error, eta_zero
):
    """Plateau height: the symmetric fixed point against ``eta`` (dashed) and the
    measured SGD plateau (dots with error bars)."""
    fig, ax = new_figure(width=6.4, height=3.4)
    ax.plot(eta_grid, fixed_point_eps, **THEORY_STYLE, label="fixed point of the ODEs")
    ax.axhline(eta_zero, color="grey", ls=":", lw=1.0, label=r"closed form, $\eta\to0$")
    ax.errorbar(
        sgd_etas,
        sgd_mean,
        yerr=sgd_error,
        fmt="o",
        color=PALETTE[0],
        capsize=3,
        label="SGD plateau, $d = 500$",
    )
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel(r"plateau height $\varepsilon_g$")
    ax.set_title("the plateau rises with the learning rate")
    ax.legend(fontsize=8.5)
    return fig


def plot_escape(log_inv_delta, escape_times, etas, rates, eta_grid, rate_grid):
    """Left: ODE escape time against ``ln(1/delta)`` for several ``eta``, with lines
    of slope ``1/omega``. Right: ``omega / eta`` of the linearisation against
    ``eta`` with the measured slopes."""
    fig, (ax, ax2) = new_figure(1, 2, width=6.8, height=3.3)
    for j, (eta, lam) in enumerate(zip(etas, rates, strict=True)):
        times = escape_times[j]
        ax.plot(log_inv_delta, times, "o", color=PALETTE[j], label=rf"$\eta = {eta:g}$")
        offset = np.mean(times - log_inv_delta / lam)
        line = offset + log_inv_delta / lam
        ax.plot(log_inv_delta, line, **{**THEORY_STYLE, "linewidth": 1})
    ax.set_xlabel(r"$\ln(1/\delta)$")
    ax.set_ylabel(r"escape time $t_{\rm esc}$")
    ax.set_title("slope $1/\\omega$")
    ax.legend(fontsize=8)
    ax2.plot(
        eta_grid,
        np.asarray(rate_grid) / np.asarray(eta_grid),
        **THEORY_STYLE,
        label=r"linearisation $\omega/\eta$",
    )
    slopes = [
        np.polyfit(log_inv_delta, escape_times[j], 1)[0] for j in range(len(etas))
    ]
    ax2.plot(
        etas,
        1 / (np.asarray(slopes) * np.asarray(etas)),
        "o",
        color=PALETTE[0],
        label="from the measured slopes",
    )
    ax2.set_xlabel(r"learning rate $\eta$")
    ax2.set_ylabel(r"$\omega/\eta$")
    ax2.set_title(r"$t_{\rm esc} \propto 1/\eta$ at small $\eta$")
    ax2.legend(fontsize=8)
    return fig


def plot_escape_statistics(escape_sgd, escape_ode):
    """Escape time of each SGD run against the ODE from the same start, per ``d``
    (dicts ``d -> array``)."""
    fig, ax = new_figure(width=6.4, height=3.6)
    finite = [np.concatenate([v[np.isfinite(v)] for v in escape_ode.values()])]
    low, high = np.min(finite), np.max(finite)
    ax.plot([low, high], [low, high], **THEORY_STYLE, label="SGD = ODE")
    for j, dim in enumerate(sorted(escape_sgd)):
        ax.plot(
            escape_ode[dim],
            escape_sgd[dim],
            "o",
            ms=4,
            alpha=0.8,
            color=PALETTE[j],
            label=f"$d = {dim}$",
        )
    ax.set_xlabel(r"ODE from the same start: $t_{\rm esc}$")
    ax.set_ylabel(r"SGD: $t_{\rm esc}$")
    ax.set_title("escape times, run by run")
    ax.legend(fontsize=8.5)
    return fig


def plot_overlap_maps(R_snapshots, times):
    """Heat maps of the student-teacher overlaps ``R``, one per time, stacked.

    Cells are drawn wider than tall (``aspect="auto"``), so that each panel is as wide
    as a line plot without a very tall figure.
    """
    fig, axes = new_figure(len(times), 1, width=6.4, height=2.4 * len(times))
    axes = np.atleast_1d(axes)
    for ax, R, t in zip(axes.ravel(), R_snapshots, times, strict=True):
        image = ax.imshow(R, vmin=-0.2, vmax=1.0, cmap="cividis", aspect="auto")
        ax.set_xticks(range(R.shape[1]))
        ax.set_yticks(range(R.shape[0]))
        ax.set_xlabel("teacher unit $n$")
        ax.set_ylabel("student unit $i$")
        ax.set_title(f"$t = {t:g}$")
        for (i, n), value in np.ndenumerate(R):
            ax.text(
                n,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if value < 0.6 else "black",
            )
    fig.colorbar(image, ax=axes, shrink=0.8, label="$R_{in}$")
    return fig


def plot_overparameterisation(
    widths, ode_eps, sgd_eps, sgd_error, labels, ode_same_times=None
):
    """Error against the student width ``K``, one colour per training mode.

    ``ode_eps``: the ODE's late-window value (squares, dashed); ``sgd_eps`` with
    ``sgd_error``: SGD time averages (dots); ``ode_same_times``, optional: the ODE
    over SGD's window (crosses). The chapter states which windows.
    """
    fig, ax = new_figure(width=6.4, height=3.6)
    for j, label in enumerate(labels):
        ax.plot(
            widths,
            ode_eps[j],
            **{**THEORY_STYLE, "color": PALETTE[j]},
            marker="s",
            mfc="none",
        )
        if ode_same_times is not None:
            ax.plot(widths, ode_same_times[j], "x", color=PALETTE[j], ms=7)
        ax.errorbar(
            widths,
            sgd_eps[j],
            yerr=sgd_error[j],
            fmt="o",
            color=PALETTE[j],
            capsize=3,
            label=f"{label}: SGD (dots), ODE (dashed)",
        )
    ax.set_xlabel("student width $K$ (teacher $M = 2$)")
    ax.set_ylabel(r"time-averaged $\varepsilon_g$")
    ax.set_title("over-parameterisation with label noise")
    ax.legend(fontsize=8)
    return fig


def _explorer_curve(eta, hidden, noise, layers, t_max):
    teacher = make_teacher(500, 2, seed=0)
    start = student_overlaps(teacher, init_student(500, hidden, scale=0.1, seed=1))
    params, mask = pad_students([start])
    eta_v = eta if layers == "both" else 0.0
    return integrate_ode(
        params,
        eta,
        t_max,
        dt=0.25,
        eta_v=eta_v,
        noise=noise,
        unit_mask=mask,
        n_record=401,
    )


def explorer_figure(
    eta: float = 1.0,
    hidden: int = 2,
    noise: float = 0.0,
    layers: str = "first",
    t_max: float = 120.0,
):
    """The explorer's view: the ODE learning curve for one setting (teacher ``M = 2``,
    the chapter's start at ``d = 500``), with the symmetric plateau of ``K = M = 2``."""
    eta = check_float("eta", eta, minimum=0.05, maximum=3.0)
    hidden = check_int("hidden", hidden, minimum=1, maximum=5)
    noise = check_float("noise", noise, minimum=0.0, maximum=2.0)
    layers = check_choice("layers", layers, ("first", "both"))
    t_max = check_float("t_max", t_max, minimum=10.0, maximum=1000.0)
    curve = _explorer_curve(eta, hidden, noise, layers, t_max)
    fig, ax = new_figure(width=6.4, height=3.6)
    ax.plot(curve.t, curve.eps_g[:, 0], color=PALETTE[0], label="ODE")
    if hidden == 2 and noise == 0.0:
        ax.axhline(
            symmetric_fixed_point(2, eta).eps_g,
            color="grey",
            ls=":",
            label="symmetric fixed point",
        )
    ax.axhline(
        symmetric_plateau_closed_form(2)[2],
        **{**THEORY_STYLE, "linewidth": 1},
        label=r"plateau at $\eta \to 0$, $K = 2$",
    )
    ax.set_yscale("log")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(r"$\varepsilon_g$")
    ax.set_title(f"K = {hidden}, eta = {eta:g}, sigma = {noise:g}, {layers} layer(s)")
    ax.legend(fontsize=8)
    return fig


def explorer(
    eta: float = 1.0,
    hidden: int = 2,
    noise: float = 0.0,
    layers: str = "first",
    t_max: float = 120.0,
):
    """Sliders for ``eta``, ``K``, ``sigma``, the trained layers and the horizon
    ``t_max`` (at ``eta = 0.3`` the escape comes near ``t = 250``); redraws
    :func:`explorer_figure` (an ODE integration, about a second per 100 time units)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    w_eta = widgets.FloatSlider(
        value=eta, min=0.1, max=2.5, step=0.1, description="eta"
    )
    w_k = widgets.IntSlider(value=hidden, min=1, max=5, description="K")
    w_noise = widgets.FloatSlider(
        value=noise, min=0.0, max=1.0, step=0.1, description="sigma"
    )
    w_layers = widgets.ToggleButtons(
        options=["first", "both"], value=layers, description="layers"
    )
    w_t = widgets.FloatSlider(
        value=t_max, min=20.0, max=1000.0, step=20.0, description="t_max"
    )
    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = explorer_figure(
                w_eta.value, w_k.value, w_noise.value, w_layers.value, w_t.value
            )
            display(fig)
            plt.close(fig)

    for w in (w_eta, w_k, w_noise, w_layers, w_t):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox(
        [widgets.HBox([w_eta, w_k]), widgets.HBox([w_noise, w_layers]), w_t, out]
    )
