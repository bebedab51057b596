"""Chapter 1 (Preliminaries): a network against its linearisation, lazy and rich.

One import gives the whole chapter: ``from learning_dynamics import linearisation as
lin``.  Roles: :mod:`.data` (the teacher task), :mod:`.model` (the two-layer network,
its Jacobian and tangent kernel), :mod:`.theory` (closed forms of the linearised
model), :mod:`.train` (gradient descent and the 1/alpha diagnostics),
:mod:`.figures` (the chapter's plots).
"""
from __future__ import annotations

from .data import MAX_EXAMPLES, Dataset, make_teacher_data
from .figures import plot_lazy_scaling, plot_training_curves
from .model import (
    MAX_MEMORY_BYTES,
    Params,
    init_params,
    jacobian,
    kernel_memory_bytes,
    network_output,
    tangent_kernel,
)
from .theory import (
    euler_ratio_interval,
    gd_residual_closed_form,
    gradient_flow_residual,
    stability_limit,
)
from .train import (
    ALPHA_RANGE,
    MAX_STEPS,
    History,
    LazyScaling,
    fit_power_law,
    lazy_scaling,
    summarise_scaling,
    train,
)

__all__ = [
    "ALPHA_RANGE",
    "MAX_EXAMPLES",
    "MAX_MEMORY_BYTES",
    "MAX_STEPS",
    "Dataset",
    "History",
    "LazyScaling",
    "Params",
    "euler_ratio_interval",
    "fit_power_law",
    "gd_residual_closed_form",
    "gradient_flow_residual",
    "init_params",
    "jacobian",
    "kernel_memory_bytes",
    "lazy_scaling",
    "make_teacher_data",
    "network_output",
    "plot_lazy_scaling",
    "plot_training_curves",
    "stability_limit",
    "summarise_scaling",
    "tangent_kernel",
    "train",
]
