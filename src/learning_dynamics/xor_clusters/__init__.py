"""Chapter 4: benign overfitting and grokking on XOR clusters.

A two-layer bias-free ReLU network ``f(x) = sum_j a_j relu(<w_j, x>)`` with a fixed
second layer ``a_j = +-1/sqrt(m)``, trained by full-batch gradient descent on the
logistic loss over noisy XOR cluster data (Xu, Wang, Frei, Vardi & Hu, ICLR 2024).

Modules: :mod:`.data` (configuration and data), :mod:`.theory` (closed forms),
:mod:`.gram` (the inner products the network sees), :mod:`.train` (the two
gradient-descent engines), :mod:`.diagnostics` (what is measured), :mod:`.figures` and
:mod:`.explorer` (plots and the explorer).  Everything public is re-exported here.
"""
from ..seeding import make_rng
from .data import (
    MAX_DIRECT_BYTES,
    MAX_P,
    XORConfig,
    XORData,
    direct_memory_bytes,
    gram_memory_bytes,
    make_xor_data,
)
from .diagnostics import (
    MAIN_RATES,
    MAIN_RATES_SEEDS,
    THEOREM_FIT_T1_MISFITS,
    THEOREM_FIT_T1_SEEDS,
    XORRun,
    diagnostics,
)
from .explorer import EXPLORER_DEFAULTS, explorer, explorer_figure
from .figures import (
    plot_alignment,
    plot_controls,
    plot_decision_planes,
    plot_linearity,
    plot_margin_theory,
    plot_phase_diagram,
    plot_seed_failures,
    plot_self_rest,
    plot_step1_fit,
    plot_training_curves,
)
from .gram import XORGram, gram_from_data, sample_gram
from .theory import (
    axis_imbalance,
    decision_plane,
    linear_classifier_accuracy,
    network_output,
    output_weights,
    step1_fit_probability,
    step1_fit_threshold,
    step1_loss_theory,
    step1_margin_theory,
    step1_margins,
    step1_noise_sd,
    step1_signal_score,
)
from .train import (
    MAX_STEPS,
    SelfTermBudget,
    Step2Split,
    Trajectory,
    init_first_layer,
    run_xor,
    self_term_budget,
    step2_split,
    train_direct,
    train_gram,
)

__all__ = [
    "EXPLORER_DEFAULTS",
    "MAIN_RATES",
    "MAIN_RATES_SEEDS",
    "MAX_DIRECT_BYTES",
    "MAX_P",
    "MAX_STEPS",
    "SelfTermBudget",
    "Step2Split",
    "THEOREM_FIT_T1_MISFITS",
    "THEOREM_FIT_T1_SEEDS",
    "Trajectory",
    "XORConfig",
    "XORData",
    "XORGram",
    "XORRun",
    "axis_imbalance",
    "decision_plane",
    "diagnostics",
    "direct_memory_bytes",
    "explorer",
    "explorer_figure",
    "gram_from_data",
    "gram_memory_bytes",
    "init_first_layer",
    "linear_classifier_accuracy",
    "make_rng",
    "make_xor_data",
    "network_output",
    "output_weights",
    "plot_alignment",
    "plot_controls",
    "plot_decision_planes",
    "plot_linearity",
    "plot_margin_theory",
    "plot_phase_diagram",
    "plot_seed_failures",
    "plot_self_rest",
    "plot_step1_fit",
    "plot_training_curves",
    "run_xor",
    "sample_gram",
    "self_term_budget",
    "step1_fit_probability",
    "step1_fit_threshold",
    "step1_margin_theory",
    "step1_loss_theory",
    "step1_margins",
    "step1_noise_sd",
    "step1_signal_score",
    "step2_split",
    "train_direct",
    "train_gram",
]
