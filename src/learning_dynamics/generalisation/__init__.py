"""Chapter 6: generalisation dynamics of gradient descent in high dimensions.

A linear student learns from a noisy linear teacher by full-batch gradient descent.
Mode by mode (eq. (gen-modes)) and, for ``d -> inf``, through the Marchenko-Pastur
law (eq. (gen-eg-mp)), the test error is known in closed form at every time: it
predicts overtraining, its divergence at ``alpha = P/d = 1`` (eq. (gen-growth)),
early stopping as ridge regression (eq. (gen-ridge)), and the frozen subspace
(eq. (gen-frozen)). The random-features readout (eq. (gen-rf)) extends the picture to
a two-layer network.

``from learning_dynamics import generalisation as gen`` gives everything.
"""

from .data import (
    MAX_DIM,
    MAX_SEEDS,
    LinearTask,
    RandomFeaturesTask,
    make_random_features_task,
    make_task,
    noise_variance,
    redraw_init,
    with_snr,
)
from .figures import (
    explorer,
    explorer_figure,
    plot_early_stopping,
    plot_frozen_subspace,
    plot_learning_curves,
    plot_overtraining,
    plot_random_features,
    plot_spectra,
)
from .theory import (
    ALPHA_ONE_PREFACTOR,
    ZERO_EIGENVALUE,
    GlobalStop,
    alpha_one_growth,
    converged_test_error_finite,
    decay,
    global_stopping,
    long_time_test_error,
    long_time_training_error,
    mode_stopping_error_mp,
    mp_density,
    mp_edges,
    mp_nodes,
    optimal_stopping_time,
    ridge_test_error_mp,
    test_error_modes,
    test_error_mp,
    training_error_modes,
    training_error_mp,
)
from .train import (
    MAX_NAIVE_WORK,
    GDRun,
    ReadoutRun,
    Spectrum,
    gd_exact,
    gd_naive,
    gd_torch,
    readout_errors,
    ridge_errors,
    spectrum,
    split_error,
)

__all__ = [
    "ALPHA_ONE_PREFACTOR",
    "MAX_DIM",
    "MAX_NAIVE_WORK",
    "MAX_SEEDS",
    "ZERO_EIGENVALUE",
    "GDRun",
    "GlobalStop",
    "LinearTask",
    "RandomFeaturesTask",
    "ReadoutRun",
    "Spectrum",
    "alpha_one_growth",
    "converged_test_error_finite",
    "decay",
    "explorer",
    "explorer_figure",
    "gd_exact",
    "gd_naive",
    "gd_torch",
    "global_stopping",
    "long_time_test_error",
    "long_time_training_error",
    "make_random_features_task",
    "make_task",
    "mode_stopping_error_mp",
    "mp_density",
    "mp_edges",
    "mp_nodes",
    "noise_variance",
    "optimal_stopping_time",
    "plot_early_stopping",
    "plot_frozen_subspace",
    "plot_learning_curves",
    "plot_overtraining",
    "plot_random_features",
    "plot_spectra",
    "readout_errors",
    "redraw_init",
    "ridge_errors",
    "ridge_test_error_mp",
    "spectrum",
    "split_error",
    "test_error_modes",
    "test_error_mp",
    "training_error_modes",
    "training_error_mp",
    "with_snr",
]
