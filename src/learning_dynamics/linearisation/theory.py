"""Closed forms of the linearised model (chapter 1).

The linearised model ``f_lin = alpha J0 (theta - theta0)`` trained by gradient descent
with ``eta = eta0 / alpha**2`` is a linear recursion for the training residuals,
solved through the eigen-decomposition of ``K0 / P``: eq. (pre-lin-closed-form), its
gradient-flow limit, eq. (pre-gd-vs-flow), and its stability limit,
eq. (pre-stability).
"""
from __future__ import annotations

import numpy as np

from ..validation import DivergenceError, check_array, check_float, check_times

__all__ = ["euler_ratio_interval", "gd_residual_closed_form", "gradient_flow_residual",
           "stability_limit"]


def _check_kernel(kernel) -> np.ndarray:
    """A square, symmetric kernel matrix (symmetric to 1e-8 of its largest entry)."""
    kernel = check_array("kernel", kernel, ndim=2)
    P = len(kernel)
    if kernel.shape != (P, P):
        raise ValueError(f"kernel must be square; got shape {kernel.shape}")
    scale = max(float(np.abs(kernel).max()), 1e-300)
    asymmetry = float(np.abs(kernel - kernel.T).max()) / scale
    if asymmetry > 1e-8:
        raise ValueError("kernel must be symmetric; got a relative asymmetry "
                         f"max|K - K^T| / max|K| = {asymmetry:.2g} (accepted: <= 1e-8)")
    return kernel


def _kernel_modes(kernel: np.ndarray, y: np.ndarray):
    """Eigenvalues of ``K0 / P`` and the targets' coordinates on its eigenvectors."""
    eigenvalues, eigenvectors = np.linalg.eigh(kernel / len(kernel))
    return eigenvalues, eigenvectors, eigenvectors.T @ y


def gd_residual_closed_form(kernel: np.ndarray, y: np.ndarray, eta0: float,
                            steps) -> np.ndarray:
    """Training residuals ``f_k - y`` of the linearised model after ``k`` GD steps.

    Eq. (pre-lin-closed-form): ``r_k = -(I - eta0 K0 / P)**k y`` with ``r_0 = -y``
    (the centred model starts at zero), evaluated through the eigen-decomposition of
    the ``P x P`` kernel.

    Parameters
    ----------
    kernel : ndarray, shape (P, P)
        Initial tangent kernel on the training inputs (symmetric, PSD).
    y : ndarray, shape (P,)
        Targets.
    eta0 : float
        Step size in the alpha-independent units of eq. (pre-function-gd).
    steps : int or sequence of int
        Step counts ``k``.

    Returns
    -------
    ndarray, shape (len(steps), P)

    Raises
    ------
    DivergenceError
        If ``eta0`` is above the stability limit, eq. (pre-stability), by enough
        that a residual would overflow float64 within ``max(steps)`` steps (the
        message names ``eta0``, the limit and the step); checked before the powers
        are formed.
    """
    kernel = _check_kernel(kernel)
    y = check_array("y", y, shape=(len(kernel),))
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    steps = check_times("steps", steps)
    eigenvalues, eigenvectors, coords = _kernel_modes(kernel, y)
    growth = np.abs(1.0 - eta0 * eigenvalues)
    # log10 of the largest factor (times |coordinate| when that is > 1) at the last
    # step: float64 ends at 1e308
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.maximum(np.log10(np.abs(coords) + 1e-300), 0.0)
        log_size = steps[-1] * np.log10(growth) + lift
    if np.any(log_size > 300):
        top = float(eigenvalues[-1])
        limit = 2.0 / top if top > 0 else np.inf
        mode = int(np.argmax(log_size))
        first = int(np.ceil((300 - lift[mode]) / np.log10(growth[mode])))
        raise DivergenceError(
            f"eta0 = {eta0:g} is above the stability limit 2 / lambda_max(K0/P) = "
            f"{limit:.4g} of eq. (pre-stability): the residual grows by "
            f"|1 - eta0 lambda| = {growth[mode]:.4g} per step and overflows float64 "
            f"near step {first} (steps go to {int(steps[-1])}); reduce eta0 below "
            f"{limit:.4g} or the number of steps.")
    factors = (1.0 - eta0 * eigenvalues)[None, :] ** steps[:, None]
    return -(factors * coords[None, :]) @ eigenvectors.T


def gradient_flow_residual(kernel: np.ndarray, y: np.ndarray, times) -> np.ndarray:
    """Training residuals of the linearised model under gradient flow.

    ``r(t) = -exp(-t K0 / P) y``, eq. (pre-gd-vs-flow), with ``t`` in units of
    ``eta0`` steps (``t = k * eta0``).

    Returns
    -------
    ndarray, shape (len(times), P)
    """
    kernel = _check_kernel(kernel)
    y = check_array("y", y, shape=(len(kernel),))
    times = check_array("times", np.atleast_1d(times), ndim=1)
    if np.any(times < 0):
        raise ValueError(f"times must be >= 0; got min {times.min():g}")
    eigenvalues, eigenvectors, coords = _kernel_modes(kernel, y)
    decay = np.exp(-times[:, None] * eigenvalues[None, :])
    return -(decay * coords[None, :]) @ eigenvectors.T


def stability_limit(kernel: np.ndarray) -> float:
    """Largest stable ``eta0`` of the linearised dynamics, eq. (pre-stability).

    ``2 / lambda_max(K0 / P)``: above it the residual along the top eigenvector of
    the kernel is multiplied by ``|1 - eta0 lambda_max| > 1`` at every step.
    """
    kernel = _check_kernel(kernel)
    top = float(np.linalg.eigvalsh(kernel / len(kernel))[-1])
    if top <= 0:
        raise ValueError(f"kernel must have a positive eigenvalue; got largest {top:g}")
    return 2.0 / top


def euler_ratio_interval(kernel: np.ndarray, y: np.ndarray, flow_time: float,
                         step: float) -> tuple[float, float]:
    """Interval that must hold the ratio of GD-flow distances when the step halves.

    Let ``E(h) = ||r_GD(h) - r_flow||`` at flow time ``s = flow_time`` (GD with step
    ``h`` run for ``s / h`` steps, eq. (pre-lin-closed-form), against gradient flow).
    Eq. (pre-gd-vs-flow) gives the first-order term ``F_j(h) = -(h lambda_j^2 s / 2)
    exp(-lambda_j s)`` per eigen-direction, exactly linear in ``h``, so the law is
    ``E(2h) / E(h) = 2``.  Per direction the exact difference is ``a_j F_j`` with
    ``1 - x_j (1 + delta_j) / 2 <= a_j <= 1 + delta_j``, where ``u = lambda h``,
    ``x_j = s lambda_j^2 h / 2`` and ``delta_j = 2u / (3 (1 - u))`` bound the
    higher-order terms of ``log(1 - u)`` and of ``1 - exp(-x)``.  Hence
    ``2 ||lo(2h) w|| / ||hi(h) w|| <= E(2h) / E(h) <= 2 ||hi(2h) w|| / ||lo(h) w||``
    with ``w_j = F_j(h) (v_j . y)``: rigorous for every kernel, no tolerance chosen.

    Parameters
    ----------
    kernel : ndarray, shape (P, P)
        Initial tangent kernel.
    y : ndarray, shape (P,)
        Targets.
    flow_time : float
        Flow time ``s`` (> 0).
    step : float
        The smaller step ``h``; ``2 h lambda_max(K0/P)`` must be below 1.

    Returns
    -------
    (float, float)
        Lower and upper end of the interval for ``E(2h) / E(h)``.
    """
    kernel = _check_kernel(kernel)
    y = check_array("y", y, shape=(len(kernel),))
    s = check_float("flow_time", flow_time, minimum=0.0, min_inclusive=False)
    h = check_float("step", step, minimum=0.0, min_inclusive=False)
    eigenvalues, _, coords = _kernel_modes(kernel, y)
    lam = np.maximum(eigenvalues, 0.0)
    if 2 * h * lam[-1] >= 1:
        raise ValueError(f"step must satisfy 2 step lambda_max(K0/P) < 1; got step = "
                         f"{h:g}, lambda_max = {lam[-1]:.4g}")

    def ends(step_size):
        u = lam * step_size
        delta = 2 * u / (3 * (1 - u))
        x = s * lam**2 * step_size / 2
        return np.maximum(1 - x * (1 + delta) / 2, 0.0), 1 + delta

    weights = (h * lam**2 * s / 2) * np.exp(-lam * s) * coords
    lo_big, hi_big = ends(2 * h)
    lo_small, hi_small = ends(h)
    lower = 2 * np.linalg.norm(lo_big * weights) / np.linalg.norm(hi_small * weights)
    denominator = np.linalg.norm(lo_small * weights)
    upper = (2 * np.linalg.norm(hi_big * weights) / denominator if denominator > 0
             else np.inf)
    return float(lower), float(upper)
