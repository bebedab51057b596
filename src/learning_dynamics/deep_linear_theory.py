"""Closed-form mathematics of chapter 2 (deep linear networks); re-exported by :mod:`learning_dynamics.deep_linear`.

Mode strengths and half-times of deep and shallow linear networks, eqs. (dl-sigmoid), (dl-half-time),
(dl-shallow), (dl-discrete), (dl-depth-ode); the level spectrum of branching-diffusion data,
eq. (dl-tree-spectrum); the map from code hyper-parameters to ``tau``, eq. (dl-tau-map).
"""
from __future__ import annotations

import math

import numpy as np

from .validation import check_array, check_choice, check_float, check_int

__all__ = [
    "mode_strength",
    "half_time",
    "discrete_half_time",
    "shallow_mode_strength",
    "shallow_half_time",
    "integrate_mode_ode",
    "deep_half_time",
    "tree_level_spectrum",
    "tree_singular_values",
    "tau_from_hyperparameters",
]


def _positive_vector(name: str, value, *, allow_zero: bool = False) -> np.ndarray:
    arr = np.atleast_1d(check_array(name, value))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a scalar or a 1-dimensional array; got shape {arr.shape}")
    bad = arr < 0 if allow_zero else arr <= 0
    if np.any(bad):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}; got {arr[bad][:3]}")
    return arr


def _times(name: str, t) -> np.ndarray:
    arr = np.atleast_1d(check_array(name, t))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a scalar or a 1-dimensional array of times; got shape {arr.shape}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must hold times >= 0; got min {arr.min():g}")
    return arr


def _initial(name: str, a0, s: np.ndarray, *, below: float = 1.0) -> np.ndarray:
    a0 = _positive_vector(name, a0)
    if a0.size not in (1, s.size):
        raise ValueError(f"{name} must be a scalar or have one entry per singular value ({s.size}); got {a0.size}")
    a0 = np.broadcast_to(a0, s.shape).astype(float)
    if np.any(a0 >= below * s):
        raise ValueError(f"{name} must be smaller than {below:g} * s for every mode; got {name} = {a0} for s = {s}")
    return a0


def mode_strength(t, s, a0, tau: float = 1.0) -> np.ndarray:
    """Exact strength of each mode of a two-layer linear net from a balanced start, eq. (dl-sigmoid).

    ``a(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/a0)``, evaluated as
    ``s / (1 + (s/a0 - 1) e^{-2st/tau})`` so that it never overflows.

    Parameters
    ----------
    t : float or 1-D array
        Times ``>= 0`` (same units as ``tau``).
    s : float or 1-D array
        Singular values ``> 0`` of ``Sigma_yx``.
    a0 : float or 1-D array
        Initial mode strengths, ``0 < a0 < s`` (one per mode or shared).
    tau : float
        Time constant ``> 0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(t), len(s))``.
    """
    t = _times("t", t)
    s = _positive_vector("s", s)
    a0 = _initial("a0", a0, s)
    tau = check_float("tau", tau, minimum=0.0, min_inclusive=False)
    return s / (1.0 + (s / a0 - 1.0) * np.exp(-2.0 * np.outer(t, s) / tau))


def half_time(s, a0, tau: float = 1.0) -> np.ndarray:
    """Time at which a mode reaches half its final strength, eq. (dl-half-time).

    ``t_1/2 = (tau / 2s) ln(s/a0 - 1)``; requires ``0 < a0 < s/2``. Returns one value per mode.
    """
    s = _positive_vector("s", s)
    a0 = _initial("a0", a0, s, below=0.5)
    tau = check_float("tau", tau, minimum=0.0, min_inclusive=False)
    return tau / (2.0 * s) * np.log(s / a0 - 1.0)


def discrete_half_time(s, a0, eta: float) -> np.ndarray:
    """Half-time in *steps* of gradient descent with a finite step ``eta``, eq. (dl-discrete).

    A balanced mode obeys ``u <- u (1 + eta (s - u))^2`` per step, so the odds ``u/(s-u)`` grow by
    about ``(1 + eta s)^2`` per step and reach 1 after ``ln(s/a0 - 1) / (2 ln(1 + eta s))`` steps.
    For ``eta s -> 0`` this tends to ``half_time(s, a0, tau=1/eta)``.
    """
    s = _positive_vector("s", s)
    a0 = _initial("a0", a0, s, below=0.5)
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    return np.log(s / a0 - 1.0) / (2.0 * np.log1p(eta * s))


def shallow_mode_strength(t, s, b0, tau: float = 1.0) -> np.ndarray:
    """Mode strength of a one-layer (shallow) linear net, eq. (dl-shallow).

    ``b(t) = s (1 - e^{-t/tau}) + b0 e^{-t/tau}``; shape ``(len(t), len(s))``.
    """
    t = _times("t", t)
    s = _positive_vector("s", s)
    b0 = np.broadcast_to(np.atleast_1d(check_array("b0", b0)), s.shape).astype(float)
    tau = check_float("tau", tau, minimum=0.0, min_inclusive=False)
    decay = np.exp(-t / tau)[:, None]
    return s * (1.0 - decay) + b0 * decay


def shallow_half_time(s, b0, tau: float = 1.0) -> np.ndarray:
    """Half-time of a shallow mode, ``tau ln(2 (s - b0) / s)`` (``-> tau ln 2`` for small ``b0``)."""
    s = _positive_vector("s", s)
    b0 = _initial("b0", b0, s, below=0.5)
    tau = check_float("tau", tau, minimum=0.0, min_inclusive=False)
    return tau * np.log(2.0 * (s - b0) / s)


def _depth_rate(z: np.ndarray, s: np.ndarray, n_layers: int) -> np.ndarray:
    """d(ln u)/dt for eq. (dl-depth-ode) with tau = 1."""
    m = n_layers - 1
    u = np.exp(z)
    return m * u ** (1.0 - 2.0 / m) * (s - u)


def _ode_rhs(z: np.ndarray, s: np.ndarray, n_layers: int) -> np.ndarray:
    """Right-hand side in the integration variable: ``ln u`` for ``N_l >= 3``, ``u`` itself for ``N_l = 2``."""
    if n_layers == 2:
        return s - z
    return _depth_rate(z, s, n_layers)


def integrate_mode_ode(t, s, u0, tau: float = 1.0, *, n_layers: int = 3, steps_per_unit: int = 400) -> np.ndarray:
    """Numerically integrate the mode equation ``tau du/dt = (N_l-1) u^(2-2/(N_l-1)) (s-u)``, eq. (dl-depth-ode).

    Fourth-order Runge-Kutta in ``z = ln u`` on a uniform grid; ``n_layers = 3`` is the two-layer
    net (eq. (dl-mode-ode), closed form :func:`mode_strength`), ``n_layers = 2`` the shallow net.
    This is the straightforward implementation the closed form replaces.

    Parameters
    ----------
    t : float or 1-D array
        Output times ``>= 0``.
    s, u0 : float or 1-D array
        Singular values and initial strengths, ``0 < u0 < s``.
    tau : float
        Time constant.
    n_layers : int
        Number of layers of units ``N_l >= 2`` (input and output included).
    steps_per_unit : int
        RK4 steps per unit of ``t * max(s)^(2-2/(N_l-1)) / tau``.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(t), len(s))``.
    """
    t = _times("t", t)
    s = _positive_vector("s", s)
    u0 = _initial("u0", u0, s)
    tau = check_float("tau", tau, minimum=0.0, min_inclusive=False)
    n_layers = check_int("n_layers", n_layers, minimum=2)
    steps_per_unit = check_int("steps_per_unit", steps_per_unit, minimum=10)
    order = np.argsort(t)
    rate_scale = (n_layers - 1) * float(np.max(s)) ** (2.0 - 2.0 / (n_layers - 1)) / tau
    z = np.log(u0) if n_layers > 2 else u0.copy()
    out = np.empty((t.size, s.size))
    now = 0.0
    for k in order:
        span = t[k] / tau - now
        n = max(1, int(math.ceil(span * rate_scale * tau * steps_per_unit)))
        h = span / n
        for _ in range(n if span > 0 else 0):
            k1 = _ode_rhs(z, s, n_layers)
            k2 = _ode_rhs(z + 0.5 * h * k1, s, n_layers)
            k3 = _ode_rhs(z + 0.5 * h * k2, s, n_layers)
            k4 = _ode_rhs(z + h * k3, s, n_layers)
            z = z + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        now = t[k] / tau
        out[k] = np.exp(z) if n_layers > 2 else z
    return out


def deep_half_time(s, u0, tau: float = 1.0, *, n_layers: int = 3, n_grid: int = 20001) -> np.ndarray:
    """Half-time of eq. (dl-depth-ode): ``tau/(N_l-1) * int_{u0}^{s/2} du / (u^(2-2/(N_l-1)) (s-u))``.

    Simpson's rule in ``z = ln u``; for ``n_layers = 3`` this equals :func:`half_time`.
    """
    s = _positive_vector("s", s)
    u0 = _initial("u0", u0, s, below=0.5)
    tau = check_float("tau", tau, minimum=0.0, min_inclusive=False)
    n_layers = check_int("n_layers", n_layers, minimum=2)
    n_grid = check_int("n_grid", n_grid, minimum=101)
    n_grid += 1 - n_grid % 2  # odd for Simpson
    out = np.empty(s.size)
    w = np.ones(n_grid)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    for i in range(s.size):
        z = np.linspace(np.log(u0[i]), np.log(s[i] / 2), n_grid)
        f = 1.0 / _depth_rate(z, s[i], n_layers)
        out[i] = tau * (z[1] - z[0]) / 3.0 * np.dot(w, f)
    return out


def tree_level_spectrum(branching: int, depth: int, flip_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of the item covariance of branching-diffusion data, one per level, eq. (dl-tree-spectrum).

    With ``q = (1 - 2 flip_prob)^2``, ``E[f_i f_j] = q^(D - L_ij)`` (``L_ij`` the level of the lowest
    common ancestor). Writing it as ``sum_l w_l M_l`` with ``M_l`` the indicator of sharing a level-``l``
    subtree, ``w_0 = q^D`` and ``w_l = q^(D-l) (1-q)``, the level-``k`` eigenvalue is
    ``lambda_k = sum_{l >= k} w_l B^(D-l)``, with multiplicity 1 for ``k = 0`` and ``(B-1) B^(k-1)``
    otherwise.

    Returns
    -------
    (lambda, multiplicity) : tuple of numpy.ndarray
        Both of length ``depth + 1``, ordered root level first (largest eigenvalue first).
    """
    B = check_int("branching", branching, minimum=2)
    D = check_int("depth", depth, minimum=1)
    eps = _check_flip_prob("flip_prob", flip_prob)
    q = (1.0 - 2.0 * eps) ** 2
    levels = np.arange(D + 1)
    w = np.where(levels == 0, q ** D, q ** (D - levels) * (1.0 - q))
    lam = np.array([np.sum(w[k:] * float(B) ** (D - levels[k:])) for k in levels])
    mult = np.array([1] + [(B - 1) * B ** (k - 1) for k in range(1, D + 1)])
    return lam, mult


def _check_flip_prob(name: str, value) -> float:
    """A flip probability in ``[0, 0.5)`` (0.5 would erase all structure)."""
    return check_float(name, value, minimum=0.0, maximum=0.5, max_inclusive=False)


def tree_singular_values(branching: int, depth: int, flip_prob: float, n_features: int) -> np.ndarray:
    """Predicted singular values ``sqrt(N_f lambda_k)`` of branching-diffusion data, repeated by multiplicity.

    Ordered largest first, length ``branching ** depth`` (the number of items).
    """
    n_features = check_int("n_features", n_features, minimum=1)
    lam, mult = tree_level_spectrum(branching, depth, flip_prob)
    return np.repeat(np.sqrt(n_features * lam), mult)


def tau_from_hyperparameters(eta: float, *, loss: str = "sum", n_samples: int = 1, n_outputs: int = 1) -> float:
    """Gradient-flow time constant (in steps) of full-batch gradient descent with one-hot inputs, eq. (dl-tau-map).

    In the book's convention (``L = 1/2 sum_mu ||.||^2``, ``Sigma_yx = y``, ``s = sigma(y)``):

    * ``loss="sum"``: ``L = 1/2 sum_mu ||.||^2``, ``tau = 1/eta``;
    * ``loss="mean"``: ``L = 1/(2P) sum_mu ||.||^2``, ``tau = P/eta``;
    * ``loss="torch_mse"``: PyTorch ``nn.MSELoss()`` (mean over ``P * N_out`` entries, no 1/2),
      ``tau = P N_out / (2 eta)``.
    """
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    loss = check_choice("loss", loss, ("sum", "mean", "torch_mse"))
    P = check_int("n_samples", n_samples, minimum=1)
    n_out = check_int("n_outputs", n_outputs, minimum=1)
    return {"sum": 1.0 / eta, "mean": P / eta, "torch_mse": P * n_out / (2.0 * eta)}[loss]
