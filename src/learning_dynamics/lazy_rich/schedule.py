"""Step-size schedule and size limits of chapter 3's training runs.

The runs take ``eta0`` (in ``eta0 = 1`` time units) at first, then steps of a fixed
fraction of the elapsed time, capped at ``eta0_max`` (:func:`time_grid`); the number
of steps is bounded in advance (:func:`count_steps`) so that no call can hang.
"""

from __future__ import annotations

import math

import numpy as np

from ..validation import check_float, check_int
from .theory import initial_kernel, stability_limit

__all__ = [
    "ALPHA_MIN",
    "ALPHA_MAX",
    "MAX_STEPS",
    "count_steps",
    "time_grid",
]

#: Range of the output scale: below ``ALPHA_MIN`` a single step moves ``M`` by
#: ``2 eta0 / alpha``; above ``ALPHA_MAX`` the run is the lazy closed form.
ALPHA_MIN, ALPHA_MAX = 1e-6, 1e12
#: Largest number of gradient steps of one call (a few minutes at d = 100).
MAX_STEPS = 1_000_000


def count_steps(
    t_max, *, eta0: float = 1.0, eta0_max: float = 20.0, rel_step: float = 0.02
) -> int:
    """Upper bound on the number of steps :func:`time_grid` takes to reach ``t_max``.

    Constant ``eta0`` up to ``t = eta0 / rel_step`` (``1/rel_step`` steps), then a
    geometric phase (``ln(eta0_max/eta0) / ln(1 + rel_step)`` steps), then steps of
    ``eta0_max``.
    """
    t_max = check_float("t_max", t_max, minimum=0.0, min_inclusive=False)
    constant = t_max / eta0
    if rel_step <= 0:
        return int(math.ceil(constant)) + 1
    geometric = 1.0 / rel_step + math.log(eta0_max / eta0) / math.log1p(rel_step)
    capped = max(0.0, t_max - eta0_max / rel_step) / eta0_max
    return int(math.ceil(min(constant, geometric + capped))) + 2


def check_schedule(t_max, eta0, eta0_max, rel_step, max_steps):
    t_max = check_float("t_max", t_max, minimum=0.0, min_inclusive=False)
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    eta0_max = (
        eta0 if eta0_max is None else check_float("eta0_max", eta0_max, minimum=eta0)
    )
    rel_step = check_float("rel_step", rel_step, minimum=0.0, maximum=1.0)
    n = count_steps(t_max, eta0=eta0, eta0_max=eta0_max, rel_step=rel_step)
    if max_steps is None:  # default bound: 4x the plan (back-offs), at most MAX_STEPS
        max_steps = min(MAX_STEPS, 4 * n + 100)
    max_steps = check_int("max_steps", max_steps, minimum=1, maximum=MAX_STEPS)
    if n > max_steps:
        raise ValueError(
            f"t_max = {t_max:g} needs about {n} steps with eta0 = {eta0:g}, "
            f"eta0_max = {eta0_max:g}, rel_step = {rel_step:g}; the limit is "
            f"max_steps = {max_steps} (at most MAX_STEPS = {MAX_STEPS}): "
            "lower t_max or raise eta0_max / rel_step"
        )
    return t_max, eta0, eta0_max, rel_step, n, max_steps


def next_step(t, t_max, eta0, eta0_max, rel_step):
    return min(max(rel_step * t, eta0), eta0_max, t_max - t)


def time_grid(
    t_max,
    *,
    eta0: float = 1.0,
    eta0_max: float = 20.0,
    rel_step: float = 0.02,
    max_steps: int = MAX_STEPS,
) -> np.ndarray:
    """Step sizes of the chapter's gradient-descent runs, in ``eta0`` units.

    The step is ``clip(rel_step * t, eta0, eta0_max)``: constant ``eta0`` at first,
    then log-spaced (2% of the elapsed time by default), then capped at ``eta0_max``
    below the stability limit (``stability_limit``).
    ``eta0_max = eta0`` gives plain constant-step gradient descent.  Raises
    ``ValueError`` when more than ``max_steps`` steps would be needed.
    """
    t_max, eta0, eta0_max, rel_step, *_ = check_schedule(
        t_max, eta0, eta0_max, rel_step, max_steps
    )
    steps, t = [], 0.0
    while t < t_max * (1 - 1e-12):
        h = next_step(t, t_max, eta0, eta0_max, rel_step)
        steps.append(h)
        t += h
    return np.array(steps)


def check_stable_start(data, net, eta0):
    """``ValueError`` when ``eta0`` exceeds the stability limit at initialisation."""
    kernel = initial_kernel(data.X, data.X, net.eps, net.w_bar0, net.M0)
    if eta0 * np.linalg.norm(kernel) <= data.P:  # lambda_max <= ||K0||_F: surely stable
        return
    limit = stability_limit(data, net)
    if eta0 > limit:
        raise ValueError(
            f"eta0 = {eta0:g} exceeds the stability limit at initialisation "
            f"1/lambda_max(K0/P) = {limit:.4g}; the first steps would diverge: "
            "reduce eta0"
        )
