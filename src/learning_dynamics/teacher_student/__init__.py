"""Chapter 5: online SGD in the teacher-student two-layer network.

A student two-layer erf network learns from a teacher of the same kind by online
SGD in high dimension ``d``. The overlaps ``Q``, ``R`` (and ``v``) obey closed ODEs
(eq. (ts-ode-Q)) that predict the learning curve: the plateau of the unspecialised
student, the symmetry-breaking escape, and the effect of over-parameterisation.

``from learning_dynamics import teacher_student as ts`` gives everything: the teacher
and order parameters (:mod:`.data`), the Gaussian averages, ODEs and fixed points
(:mod:`.theory`), the ODE integrator (:mod:`.train`), the SGD engines (:mod:`.sgd`)
and the figures (:mod:`.figures`).
"""

from .data import (
    MAX_INPUT_DIM,
    OrderParameters,
    Teacher,
    activation,
    init_student,
    make_teacher,
    order_parameters,
    pad_students,
    student_overlaps,
    symmetric_order_parameters,
)
from .figures import (
    explorer,
    explorer_figure,
    plot_escape,
    plot_escape_statistics,
    plot_learning_curves,
    plot_overlap_maps,
    plot_overparameterisation,
    plot_plateau_heights,
)
from .sgd import online_sgd, order_parameter_sgd, overlap_step
from .theory import (
    ODE_NOISE_TERMS,
    GaussianAverages,
    SymmetricFixedPoint,
    escape_rate,
    fixed_point,
    gaussian_averages,
    generalisation_error,
    ode_rhs,
    plateau_branch,
    stability_matrix,
    symmetric_fixed_point,
    symmetric_plateau_closed_form,
)
from .train import (
    MAX_ODE_STEPS,
    MAX_SGD_STEPS,
    Trajectory,
    escape_time,
    integrate_ode,
)

__all__ = [
    "explorer",
    "explorer_figure",
    "plot_escape",
    "plot_escape_statistics",
    "plot_learning_curves",
    "plot_overlap_maps",
    "plot_overparameterisation",
    "plot_plateau_heights",
    "MAX_INPUT_DIM",
    "MAX_ODE_STEPS",
    "MAX_SGD_STEPS",
    "ODE_NOISE_TERMS",
    "GaussianAverages",
    "OrderParameters",
    "SymmetricFixedPoint",
    "Teacher",
    "Trajectory",
    "activation",
    "escape_rate",
    "escape_time",
    "fixed_point",
    "pad_students",
    "student_overlaps",
    "gaussian_averages",
    "generalisation_error",
    "init_student",
    "integrate_ode",
    "make_teacher",
    "ode_rhs",
    "plateau_branch",
    "online_sgd",
    "order_parameter_sgd",
    "order_parameters",
    "overlap_step",
    "stability_matrix",
    "symmetric_fixed_point",
    "symmetric_order_parameters",
    "symmetric_plateau_closed_form",
]
