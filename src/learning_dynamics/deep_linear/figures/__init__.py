"""Figures of chapter 2 (deep linear networks): one function per figure, the explorer.

Simulation in colour, the chapter's predictions dashed on top; see :mod:`.plots` and
:mod:`.explorer`.
"""
from __future__ import annotations

from .explorer import explorer, explorer_figure
from .plots import (
    plot_category_noise,
    plot_coherence,
    plot_deep_vs_shallow,
    plot_depth,
    plot_isometry,
    plot_loss_stages,
    plot_modes,
    plot_prediction,
    plot_projection,
    plot_rsm_snapshots,
    plot_seed_errors,
    plot_spectrum,
    plot_typicality,
)

__all__ = [
    "plot_modes", "plot_seed_errors", "plot_loss_stages", "plot_deep_vs_shallow",
    "plot_depth", "plot_isometry", "plot_spectrum", "plot_rsm_snapshots",
    "plot_prediction", "plot_projection", "plot_typicality", "plot_coherence",
    "plot_category_noise", "explorer_figure", "explorer",
]
