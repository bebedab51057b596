"""Chapter 3: grokking as the transition from lazy to rich training.

The chapter follows Kumar, Bordelon, Gershman & Pehlevan (ICLR 2024).  A committee
machine ``f(x) = (alpha/N) sum_i phi(w_i . x)`` with ``phi(h) = h + (eps/2) h**2``
learns ``y = (beta . x)**2 / 2`` on ``x ~ N(0, I/d)``.

Modules (imports point one way: figures -> train -> theory -> data):

- :mod:`~learning_dynamics.lazy_rich.data` — the teacher data and the committee machine;
- :mod:`~learning_dynamics.lazy_rich.theory` — population loss, tangent kernel, lazy
  limit, time scales;
- :mod:`~learning_dynamics.lazy_rich.schedule` — step-size schedule and size limits;
- :mod:`~learning_dynamics.lazy_rich.train` — the exact ``(w_bar, M)`` recursion;
- :mod:`~learning_dynamics.lazy_rich.network` — the width-``N`` network, diagnostics;
- :mod:`~learning_dynamics.lazy_rich.modular` — modular addition with an output scale;
- :mod:`~learning_dynamics.lazy_rich.figures` — the chapter's figures and explorer.

``from learning_dynamics import lazy_rich as lr`` gives all of them.
"""

from __future__ import annotations

from .data import (
    D_MAX,
    P_MAX,
    WEIGHTS_MAX,
    Committee,
    TeacherData,
    make_network,
    make_teacher_data,
    network_output,
)
from .figures import (
    explorer,
    plot_alpha_sweep,
    plot_decomposition,
    plot_grokking,
    plot_modular,
    plot_p_sweep,
    plot_phase_diagram,
)
from .modular import (
    ModularData,
    ModularResult,
    modular_addition_data,
    steps_to_accuracy,
    train_modular_addition,
    train_modular_addition_autograd,
)
from .network import (
    MC_SAMPLES_MAX,
    crossing_time,
    monte_carlo_test_loss,
    train_full_network,
)
from .schedule import ALPHA_MAX, ALPHA_MIN, MAX_STEPS, count_steps, time_grid
from .theory import (
    LossTerms,
    chance_linear_power,
    expected_chance_linear_power,
    feature_learning_time,
    initial_kernel,
    kernel_regression_loss,
    lazy_gd_losses,
    lazy_limit_losses,
    population_loss_terms,
    stability_limit,
)
from .train import History, train_recursion

__all__ = [
    "D_MAX",
    "P_MAX",
    "WEIGHTS_MAX",
    "Committee",
    "TeacherData",
    "make_network",
    "make_teacher_data",
    "network_output",
    "LossTerms",
    "chance_linear_power",
    "expected_chance_linear_power",
    "feature_learning_time",
    "initial_kernel",
    "kernel_regression_loss",
    "lazy_gd_losses",
    "lazy_limit_losses",
    "population_loss_terms",
    "stability_limit",
    "ALPHA_MAX",
    "ALPHA_MIN",
    "MAX_STEPS",
    "MC_SAMPLES_MAX",
    "History",
    "count_steps",
    "crossing_time",
    "monte_carlo_test_loss",
    "time_grid",
    "train_full_network",
    "train_recursion",
    "ModularData",
    "ModularResult",
    "modular_addition_data",
    "steps_to_accuracy",
    "train_modular_addition",
    "train_modular_addition_autograd",
    "plot_alpha_sweep",
    "plot_decomposition",
    "plot_grokking",
    "plot_modular",
    "plot_p_sweep",
    "plot_phase_diagram",
    "explorer",
]
