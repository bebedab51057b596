"""Chapter 2: deep linear networks and the stage-like transitions of semantic
development.

The chapter follows Saxe, McClelland & Ganguli (ICLR 2014; PNAS 2019). One import gives
the whole chapter: ``from learning_dynamics import deep_linear as dl``.

* :mod:`.data` — the toy set, branching-diffusion (tree) data, typicality and category
  sets, the SVD of ``Sigma_yx``, eq. (dl-svd);
* :mod:`.theory` — the sigmoid of each mode, eq. (dl-sigmoid), half-times,
  eqs. (dl-half-time), (dl-discrete), (dl-shallow), the mode equation at any depth,
  eq. (dl-depth-ode), effective initial strengths, eqs. (dl-u0-eff), (dl-u0-comp), the
  tree spectrum, eq. (dl-tree-spectrum), a category in noise, eq. (dl-bbp), ``tau`` from
  code hyper-parameters, eq. (dl-tau-map), and the stability limit, eq. (dl-stability);
* :mod:`.spectra` — the tree spectrum, eq. (dl-tree-spectrum), and a category in noise,
  eq. (dl-bbp);
* :mod:`.train` — full-batch gradient descent, eq. (dl-gd), and what it records;
  :mod:`.ensemble` — the same for many seeds at once;
* :mod:`.diagnostics` — half-times, similarity matrices, inductive projection;
* :mod:`.figures` — one function per figure (:mod:`.figures.plots`) and the explorer
  (:mod:`.figures.explorer`).
"""
from __future__ import annotations

from .data import (
    Dataset,
    DataSVD,
    add_property,
    branching_diffusion,
    category_data,
    data_svd,
    noisy_category_data,
    toy_data,
    typicality_data,
)
from .diagnostics import (
    block_strength,
    crossing_time,
    inductive_projection,
    mode_half_times,
    procrustes_residual,
    rsm,
    rsm_correlation,
)
from .ensemble import SeedsHistory, train_seeds
from .experiments import (
    LEVEL_TOL,
    StageCheck,
    StageSample,
    category_noise_sample,
    check_stages,
    competition_overlap,
    level_groups,
    plateau_steps,
    remove_competition,
    seed_half_time_errors,
    stage_sample,
)
from .figures import (
    explorer,
    explorer_figure,
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
from .spectra import category_outlier, tree_level_spectrum, tree_singular_values
from .theory import (
    blowup_time,
    deep_half_time,
    discrete_half_time,
    discrete_mode_strength,
    effective_initial_blocks,
    effective_initial_strength,
    half_time,
    integrate_mode_ode,
    map_half_time,
    map_mode_matrix,
    map_mode_strength,
    mode_strength,
    predicted_loss,
    predicted_outputs,
    predicted_rsm,
    shallow_half_time,
    shallow_mode_strength,
    stability_limit,
    tau_from_hyperparameters,
)
from .train import History, init_weights, simulate_gradient_flow, train

__all__ = [
    # data
    "Dataset",
    "DataSVD",
    "data_svd",
    "toy_data",
    "branching_diffusion",
    "add_property",
    "typicality_data",
    "category_data",
    "noisy_category_data",
    # theory
    "mode_strength",
    "half_time",
    "discrete_half_time",
    "discrete_mode_strength",
    "map_mode_strength",
    "map_half_time",
    "shallow_mode_strength",
    "shallow_half_time",
    "integrate_mode_ode",
    "deep_half_time",
    "blowup_time",
    "stability_limit",
    "effective_initial_strength",
    "effective_initial_blocks",
    "map_mode_matrix",
    "predicted_outputs",
    "predicted_rsm",
    "predicted_loss",
    "tree_level_spectrum",
    "tree_singular_values",
    "category_outlier",
    "tau_from_hyperparameters",
    # train
    "History",
    "init_weights",
    "train",
    "simulate_gradient_flow",
    "SeedsHistory",
    "train_seeds",
    # diagnostics
    "crossing_time",
    "mode_half_times",
    "block_strength",
    "rsm",
    "rsm_correlation",
    "inductive_projection",
    "procrustes_residual",
    # experiments (the chapter's comparisons)
    "LEVEL_TOL",
    "StageCheck",
    "level_groups",
    "seed_half_time_errors",
    "competition_overlap",
    "check_stages",
    "plateau_steps",
    "remove_competition",
    "StageSample",
    "stage_sample",
    "category_noise_sample",
    # figures
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
    "explorer_figure",
    "explorer",
]
