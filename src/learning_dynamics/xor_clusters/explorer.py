"""The chapter-4 explorer: sliders for the knobs, a small accuracy plot per move."""
from __future__ import annotations

import numpy as np

from ..plotting import PALETTE, THEORY_STYLE, new_figure
from ..validation import check_int
from .data import XORConfig
from .train import run_xor

__all__ = ["explorer", "explorer_figure", "EXPLORER_DEFAULTS"]

#: The chapter's main configuration (the explorer starts there).
EXPLORER_DEFAULTS = dict(eta=0.08, signal=10.0, rho=0.15, init_std=1e-6)


def explorer_figure(eta: float = 0.08, signal: float = 10.0, rho: float = 0.15,
                    init_std: float = 1e-6, *, n: int = 100, p: int = 20000,
                    m: int = 200, steps: int = 200, seed: int = 0, axes=None):
    """One seed's accuracy curves at the given knobs (defaults: the chapter's setup)."""
    steps = check_int("steps", steps, minimum=2, maximum=2000)
    config = XORConfig(n=n, p=p, m=m, signal=signal, rho=rho, eta=eta,
                       init_std=init_std, n_test=400)
    checkpoints = np.unique(np.r_[0, 1, 2, np.geomspace(1, steps, 24).astype(int)])
    run = run_xor(config, [seed], checkpoints)
    if axes is None:
        _, axes = new_figure(1, 1, width=6.6, height=3.6)
    ax = np.atleast_1d(axes)[0]
    t = run.steps
    for values, color, label in [(run.train_acc, PALETTE[0], "train (noisy labels)"),
                                 (run.test_clean, PALETTE[1], "test, clean labels"),
                                 (run.test_noisy, PALETTE[2], "test, noisy labels")]:
        ax.plot(t, values[0], color=color, marker="o", ms=3, label=label)
    ax.axhline(1 - rho, **THEORY_STYLE, label=r"$1-\rho$")
    ax.axhline(0.5, color="grey", lw=0.8)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, steps)
    ax.set_xlabel("training step $t$ (symlog axis)")
    ax.set_ylim(0.3, 1.03)
    ax.set_ylabel("accuracy")
    ax.set_title(rf"$\eta$={eta:g}, signal={signal:g}, $\rho$={rho:g}, "
                 rf"$\omega$={init_std:.0e}")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def explorer(*, n: int = 100, p: int = 20000, m: int = 200, steps: int = 200,
             seed: int = 0):
    """Sliders for step size, signal ``||mu||^2/sqrt(p)``, flip rate and log10 init.

    Each move reruns one seed with the Gram engine (cost independent of ``p``).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    XORConfig(n=n, p=p, m=m)  # validate the sizes once
    out = widgets.Output()
    sliders = dict(
        eta=widgets.FloatLogSlider(value=0.08, base=10, min=-3, max=0.5, step=0.1,
                                   description="step size"),
        signal=widgets.FloatSlider(value=10.0, min=0.5, max=30.0, step=0.5,
                                   description="signal"),
        rho=widgets.FloatSlider(value=0.15, min=0.0, max=0.45, step=0.01,
                                description="flip rate"),
        log10_init=widgets.FloatSlider(value=-6.0, min=-7.0, max=-0.5, step=0.25,
                                       description="log10 init"))

    def redraw(_=None):
        with out:
            out.clear_output(wait=True)
            fig, ax = new_figure(1, 1, width=6.6, height=3.6)
            explorer_figure(sliders["eta"].value, sliders["signal"].value,
                            sliders["rho"].value, 10 ** sliders["log10_init"].value,
                            n=n, p=p, m=m, steps=steps, seed=seed, axes=ax)
            display(fig)
            plt.close(fig)

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
    rows = list(sliders.values())
    return widgets.VBox([widgets.HBox(rows[:2]), widgets.HBox(rows[2:]), out])
