"""Closed forms and mode equations of chapter 2 (deep linear networks).

Mode strengths and half-times of deep and shallow linear networks, eqs. (dl-sigmoid),
(dl-half-time), (dl-shallow), (dl-discrete); the mode equation of an ``N_l``-layer
network, eq. (dl-depth-ode), integrated numerically by one integrator
(:func:`integrate_mode_ode`, :func:`deep_half_time`); the effective initial strength of
a random start, eqs. (dl-u0-eff) and (dl-u0-comp); the level spectrum of
branching-diffusion data, eq. (dl-tree-spectrum); a category in noise,
eq. (dl-bbp); the map from code hyper-parameters to ``tau``, eq. (dl-tau-map); and the
stability limit of gradient descent, eq. (dl-stability). No training loops live here.
"""
from __future__ import annotations

import math

import numpy as np

from ..validation import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_times,
)
from .data import Dataset, DataSVD, check_dataset

__all__ = [
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
    "tau_from_hyperparameters",
]

#: Largest number of layers of units accepted by the depth functions.
MAX_LAYERS = 12
#: Logit ``ln(u / (s - u))`` at which a mode counts as converged (``u = s (1 -
# 4e-18)``).
_LOGIT_END = 40.0
#: Integration nodes per unit of logit; the grid never exceeds ~ 60 000 nodes.
_NODES_PER_LOGIT = 64


def positive_vector(name: str, value) -> np.ndarray:
    """A scalar or 1-D array of positive finite numbers."""
    arr = np.atleast_1d(check_array(name, value))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a scalar or a 1-dimensional array; "
                         f"got shape {arr.shape}")
    bad = arr <= 0
    if np.any(bad):
        raise ValueError(f"{name} must be > 0; got {arr[bad][:3]}")
    return arr


def positive_float(name: str, value) -> float:
    """A finite real number ``> 0``."""
    return check_float(name, value, minimum=0.0, min_inclusive=False)


def check_time_points(name: str, t) -> np.ndarray:
    """A scalar or 1-D array of finite times ``>= 0``."""
    arr = np.atleast_1d(check_array(name, t))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a scalar or a 1-dimensional array of times; "
                         f"got shape {arr.shape}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must hold times >= 0; got min {arr.min():g}")
    return arr


def _initial(name: str, a0, s: np.ndarray, *, below: float = 1.0) -> np.ndarray:
    a0 = positive_vector(name, a0)
    if a0.size not in (1, s.size):
        raise ValueError(
            f"{name} must be a scalar or have one entry per singular value "
            f"({s.size}); got {a0.size}"
        )
    a0 = np.broadcast_to(a0, s.shape)
    if np.any(a0 >= below * s):
        raise ValueError(f"{name} must be smaller than {below:g} * s for every mode; "
                         f"got {name} = {a0} for s = {s}")
    return a0


def _tau(tau) -> float:
    return positive_float("tau", tau)


# ------------------------------------------------------------------ two-layer closed
# forms
def mode_strength(t, s, a0, tau: float = 1.0) -> np.ndarray:
    """Exact strength of each mode of a two-layer net from a balanced start, eq.
    (dl-sigmoid).

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
    t = check_time_points("t", t)
    s = positive_vector("s", s)
    a0 = _initial("a0", a0, s)
    tau = _tau(tau)
    return s / (1.0 + (s / a0 - 1.0) * np.exp(-2.0 * np.outer(t, s) / tau))


def half_time(s, a0, tau: float = 1.0) -> np.ndarray:
    """Time at which a mode reaches half its final strength, eq. (dl-half-time).

    ``t_1/2 = (tau / 2s) ln(s/a0 - 1)``; requires ``0 < a0 < s/2``. One value per mode.
    """
    s = positive_vector("s", s)
    a0 = _initial("a0", a0, s, below=0.5)
    return _tau(tau) / (2.0 * s) * np.log(s / a0 - 1.0)


def discrete_half_time(s, a0, eta: float) -> np.ndarray:
    """Half-time in *steps* of gradient descent with a finite step ``eta``, eq.
    (dl-discrete).

    A balanced mode obeys ``u <- u (1 + eta (s - u))^2`` per step, so the odds
    ``u/(s-u)`` grow by about ``(1 + eta s)^2`` per step and reach 1 after
    ``ln(s/a0 - 1) / (2 ln(1 + eta s))`` steps. For ``eta s -> 0`` this tends to
    ``half_time(s, a0, tau=1/eta)``.
    """
    s = positive_vector("s", s)
    a0 = _initial("a0", a0, s, below=0.5)
    eta = positive_float("eta", eta)
    return np.log(s / a0 - 1.0) / (2.0 * np.log1p(eta * s))


def discrete_mode_strength(steps, s, a0, eta: float) -> np.ndarray:
    """Mode strength after ``k`` steps of gradient descent with step ``eta``, eq.
    (dl-discrete).

    The odds ``a/(s-a)`` grow by ``(1 + eta s)^2`` per step (instead of ``e^{2 eta s}``
    in gradient flow), so ``a_k = s / (1 + (s/a0 - 1) (1 + eta s)^(-2k))``; shape
    ``(len(steps), len(s))``. Tends to :func:`mode_strength` with ``t = k eta`` for
    ``eta s -> 0``.
    """
    steps = check_time_points("steps", steps)
    s = positive_vector("s", s)
    a0 = _initial("a0", a0, s)
    eta = positive_float("eta", eta)
    log_growth = -2.0 * np.outer(steps, np.log1p(eta * s))
    return s / (1.0 + (s / a0 - 1.0) * np.exp(log_growth))


def shallow_mode_strength(t, s, b0, tau: float = 1.0) -> np.ndarray:
    """Mode strength of a one-layer (shallow) linear net, eq. (dl-shallow).

    ``b(t) = s (1 - e^{-t/tau}) + b0 e^{-t/tau}``; shape ``(len(t), len(s))``.
    """
    t = check_time_points("t", t)
    s = positive_vector("s", s)
    b0 = np.atleast_1d(check_array("b0", b0))
    if b0.shape not in ((1,), s.shape):
        raise ValueError(f"b0 must be a scalar or have one entry per singular value "
                         f"({s.size}); got shape {b0.shape}")
    b0 = np.broadcast_to(b0, s.shape)
    decay = np.exp(-t / _tau(tau))[:, None]
    return s * (1.0 - decay) + b0 * decay


def shallow_half_time(s, b0, tau: float = 1.0) -> np.ndarray:
    """Half-time of a shallow mode, ``tau ln(2 (s - b0) / s)``, eq. (dl-shallow).

    Tends to ``tau ln 2`` for small ``b0``; requires ``0 < b0 < s/2``.
    """
    s = positive_vector("s", s)
    b0 = _initial("b0", b0, s, below=0.5)
    return _tau(tau) * np.log(2.0 * (s - b0) / s)


# ------------------------------------------------------------------ any depth: one
# integrator
def _check_depth_args(s, u0, tau, n_layers, *, below: float = 1.0):
    s = positive_vector("s", s)
    u0 = _initial("u0", u0, s, below=below)
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=MAX_LAYERS)
    return s, u0, _tau(tau), n_layers


def _time_per_logit(logit: np.ndarray, s: float, n_layers: int) -> np.ndarray:
    """``dt/dw`` (``tau = 1``) for eq. (dl-depth-ode) in the logit ``w = ln(u / (s -
    u))``.

    With ``u = s sigma(w)``, ``du/dw = u (s - u) / s`` and so
    ``dt/dw = u^(2/(N_l-1) - 1) / ((N_l - 1) s)``: smooth and finite for every ``w``
    (constant for ``N_l = 3``), which is why the integration runs in ``w``.
    """
    depth = n_layers - 1
    log_u = math.log(s) - np.logaddexp(0.0, -logit)
    return np.exp((2.0 / depth - 1.0) * log_u) / (depth * s)


def _logit_time_table(s: float, u0: float, n_layers: int, logit_end: float):
    """Time ``t(w)`` (``tau = 1``) on a uniform logit grid from ``w(u0)`` to
    ``logit_end``.

    Each interval is one classical Runge-Kutta (RK4) step of ``dt/dw``; since the
    right-hand side depends on ``w`` only, RK4 is Simpson's rule here, with error
    ``O(h^4)`` for ``h = 1/64``. This is the book's one integrator of eq.
    (dl-depth-ode).
    """
    start = math.log(u0) - math.log(s - u0)
    n = max(2, int(math.ceil((logit_end - start) * _NODES_PER_LOGIT)))
    logit = np.linspace(start, logit_end, n + 1)
    h = logit[1] - logit[0]
    rate = _time_per_logit(logit, s, n_layers)
    mid = _time_per_logit(logit[:-1] + 0.5 * h, s, n_layers)
    steps = h / 6.0 * (rate[:-1] + 4.0 * mid + rate[1:])
    return logit, np.concatenate([[0.0], np.cumsum(steps)]), rate


def integrate_mode_ode(t, s, u0, tau: float = 1.0, *, n_layers: int = 3) -> np.ndarray:
    """Numerically integrate ``tau du/dt = (N_l-1) u^(2-2/(N_l-1)) (s-u)``, eq.
    (dl-depth-ode).

    The time to reach each strength is tabulated by RK4 in the logit
    ``w = ln(u/(s-u))`` (see ``_logit_time_table``) and inverted by cubic Hermite
    interpolation, using the exact slope ``dw/dt``. The cost does not depend on ``t``:
    beyond ``w = 40`` (``u = s`` to 4e-18) a mode counts as converged, so
    ``t = 1e12`` costs the same as ``t = 1``. ``n_layers = 3`` is the two-layer net
    (closed form :func:`mode_strength`), ``n_layers = 2`` the shallow net.

    Parameters
    ----------
    t : float or 1-D array
        Output times ``>= 0``.
    s, u0 : float or 1-D array
        Singular values and initial strengths, ``0 < u0 < s``.
    tau : float
        Time constant.
    n_layers : int
        Layers of units ``N_l`` (input and output included), ``2 <= N_l <= 12``.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(t), len(s))``.
    """
    t = check_time_points("t", t)
    s, u0, tau, n_layers = _check_depth_args(s, u0, tau, n_layers)
    out = np.empty((t.size, s.size))
    for k in range(s.size):
        logit, time, rate = _logit_time_table(s[k], u0[k], n_layers, _LOGIT_END)
        query = np.minimum(t / tau, time[-1])
        # query >= 0 = time[0], so i >= 0; the last node belongs to the last interval
        i = np.minimum(np.searchsorted(time, query, side="right") - 1, time.size - 2)
        width = time[i + 1] - time[i]
        x = (query - time[i]) / width
        h00, h10 = 2 * x**3 - 3 * x**2 + 1, x**3 - 2 * x**2 + x
        h01, h11 = -2 * x**3 + 3 * x**2, x**3 - x**2
        w = (h00 * logit[i] + h10 * width / rate[i]
             + h01 * logit[i + 1] + h11 * width / rate[i + 1])
        out[:, k] = s[k] / (1.0 + np.exp(-w))
    return out


def deep_half_time(s, u0, tau: float = 1.0, *, n_layers: int = 3) -> np.ndarray:
    """Half-time of eq. (dl-depth-ode), numerically integrated (not a closed form).

    ``t_1/2 = tau/(N_l-1) * int_{u0}^{s/2} du / (u^(2-2/(N_l-1)) (s-u))``, with the same
    RK4 table as :func:`integrate_mode_ode` (ending at ``w = 0``, i.e. ``u = s/2``).
    For ``n_layers = 3`` it equals :func:`half_time`; requires ``0 < u0 < s/2``.
    """
    s, u0, tau, n_layers = _check_depth_args(s, u0, tau, n_layers, below=0.5)
    return np.array([tau * _logit_time_table(s[k], u0[k], n_layers, 0.0)[1][-1]
                     for k in range(s.size)])


def blowup_time(s, u0, tau: float = 1.0, *, n_layers: int = 4) -> np.ndarray:
    """Plateau length of a deep mode, ``tau u0^(-(1-2/(N_l-1))) / ((N_l - 3) s)``.

    While ``u << s``, eq. (dl-depth-ode) is ``tau du/dt = (N_l-1) s u^(2-2/(N_l-1))``,
    whose solution ``u0 (1 - t/t*)^(-(N_l-1)/(N_l-3))`` grows algebraically and blows up
    at ``t*``, eq. (dl-blowup); needs ``N_l >= 4``.
    """
    s = positive_vector("s", s)
    u0 = _initial("u0", u0, s)
    n_layers = check_int("n_layers", n_layers, minimum=4, maximum=MAX_LAYERS)
    power = 1.0 - 2.0 / (n_layers - 1)
    return _tau(tau) * u0 ** (-power) / ((n_layers - 3) * s)


def stability_limit(data: Dataset, n_layers: int = 3) -> float:
    """Largest stable step near convergence, eq. (dl-stability).

    ``eta < 2 / ((N_l-1) s_max^(2-2/(N_l-1)))``: the curvature of the loss along the
    strongest mode at its fixed point is ``(N_l-1) s_max^(2-2/(N_l-1))``.
    """
    data = check_dataset(data)
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=MAX_LAYERS)
    s_max = float(np.linalg.norm(data.sigma_yx, 2))  # largest singular value
    if s_max <= 0.0:
        raise ValueError(
            "data must have targets correlated with the inputs: Sigma_yx = y x^T is "
            "zero (all-zero targets), so there is no mode to learn and no stability "
            "limit, eq. (dl-stability)")
    depth = n_layers - 1
    return 2.0 / (depth * s_max ** (2.0 - 2.0 / depth))


# ------------------------------------------------------------------ random starts
def _check_two_layer_weights(weights, svd):
    if not hasattr(weights, "__len__") or len(weights) != 2:
        raise ValueError(
            "weights must be the pair (W1, W2) of a two-layer net (n_layers = 3)"
        )
    if not isinstance(svd, DataSVD):
        raise TypeError(f"svd must be a DataSVD; got {type(svd).__name__}")
    w1 = check_array("weights[0]", weights[0], ndim=2)
    w2 = check_array("weights[1]", weights[1], ndim=2)
    if (w1.shape[1] != svd.v.shape[0] or w2.shape[0] != svd.u.shape[0]
            or w1.shape[0] != w2.shape[1]):
        raise ValueError(f"weights shapes {w1.shape}, {w2.shape} do not match the data "
                         f"({svd.v.shape[0]} inputs, {svd.u.shape[0]} outputs)")
    return w1, w2


def _check_groups(groups, svd: DataSVD) -> tuple:
    if groups is None:
        return svd.groups
    flat = [int(i) for g in groups for i in g]
    if sorted(flat) != list(range(svd.s.size)):
        raise ValueError(f"groups must partition the modes 0..{svd.s.size - 1} in "
                         f"order; got {groups}")
    return tuple(tuple(int(i) for i in g) for g in groups)


def effective_initial_blocks(weights, svd: DataSVD, *, groups=None,
                             orthogonalise: bool = True):
    """Effective initial strengths and the rotation inside each group of modes.

    As :func:`effective_initial_strength`, eqs. (dl-u0-eff) and (dl-u0-comp), but
    also returns, for each group, the eigenvectors ``R_g`` of the group's matrix
    ``(A + B)^T (A + B) / 4``: in the rotated basis ``U_g R_g, V_g R_g`` the
    growing vectors are orthogonal, so the group's modes grow independently and its
    block of ``U^T W_2 W_1 V`` is predicted as ``R_g diag(a(t)) R_g^T``.

    Parameters
    ----------
    weights : (W1, W2)
        A two-layer start.
    svd : DataSVD
        The data's modes.
    groups : tuple of tuple of int, optional
        Groups of (near-)degenerate modes, in order; default ``svd.groups``.
    orthogonalise : bool
        Project out the stronger groups' growing vectors first (eq. (dl-u0-comp)).

    Returns
    -------
    (u0, rotation) : numpy.ndarray, numpy.ndarray
        Strengths ``(r,)``, descending inside each group, and the block-diagonal
        orthogonal ``(r, r)`` matrix of the ``R_g``.
    """
    w1, w2 = _check_two_layer_weights(weights, svd)
    orthogonalise = check_bool("orthogonalise", orthogonalise)
    groups = _check_groups(groups, svd)
    r = svd.s.size
    out, rotation = np.empty(r), np.zeros((r, r))
    learned = np.zeros((w1.shape[0], 0))  # orthonormal basis of stronger modes' vectors
    for group in groups:
        idx = list(group)
        growing = w1 @ svd.v[:, idx] + w2.T @ svd.u[:, idx]
        if orthogonalise:
            growing = growing - learned @ (learned.T @ growing)
            room = w1.shape[0] - learned.shape[1]  # a width-N layer holds N directions
            basis, _ = np.linalg.qr(growing)
            learned = np.hstack([learned, basis[:, :max(room, 0)]])
        values, vectors = np.linalg.eigh(growing.T @ growing / 4.0)
        order = np.argsort(values)[::-1]
        out[idx] = values[order]
        rotation[np.ix_(idx, idx)] = vectors[:, order]
    return out, rotation


def effective_initial_strength(weights, svd: DataSVD, *,
                               orthogonalise: bool = False, groups=None) -> np.ndarray:
    """Effective initial strength of each mode of a random two-layer start.

    For mode ``alpha`` let ``xi = W1 v_alpha`` and ``zeta = W2^T u_alpha``
    (hidden-space vectors); the growing part of ``xi . zeta`` starts at
    ``|xi + zeta|^2 / 4``, eq. (dl-u0-eff).  Inside a group of (near-)degenerate
    modes (``groups``, default ``svd.groups``) the same construction gives the matrix
    ``(A + B)^T (A + B) / 4``, whose eigenvalues (descending) are returned.

    With ``orthogonalise=True`` the growing vectors are first orthogonalised in
    descending order of ``s`` (Gram-Schmidt; a group is projected as a block on the
    complement of the stronger modes' span): the competitive term of
    eq. (dl-coop-comp) removes the part of a weaker mode that lies along a stronger,
    already learned mode, eq. (dl-u0-comp).
    """
    return effective_initial_blocks(weights, svd, groups=groups,
                                    orthogonalise=orthogonalise)[0]


def map_mode_matrix(steps, s, u0, rotation, eta: float) -> np.ndarray:
    """Predicted ``U^T W_2 W_1 V`` after ``k`` steps: ``R diag(u_k) R^T``, eq. (dl-map).

    ``u_k`` is :func:`map_mode_strength` of each rotated mode and ``R`` the
    block-diagonal rotation of :func:`effective_initial_blocks`.  Shape
    ``(len(steps), r, r)``.
    """
    strengths = map_mode_strength(steps, s, u0, eta)
    rotation = check_array("rotation", rotation, shape=(strengths.shape[1],) * 2)
    if not np.allclose(rotation.T @ rotation, np.eye(rotation.shape[0]), atol=1e-8):
        raise ValueError("rotation must be orthogonal (R^T R = I)")
    return np.einsum("ab,tb,cb->tac", rotation, strengths, rotation)


# ------------------------------------------------------------------ what the modes
# predict
def _check_strengths(svd, strengths):
    """Mode strengths ``(n_t, r)``, returned as mode matrices ``(n_t, r, r)``."""
    if not isinstance(svd, DataSVD):
        raise TypeError(f"svd must be a DataSVD; got {type(svd).__name__}")
    arr = np.asarray(strengths)
    r = svd.s.size
    if arr.ndim == 3:
        return check_array("strengths", arr, shape=(None, r, r))
    arr = check_array("strengths", arr, shape=(None, r))
    return arr[:, :, None] * np.eye(r)


def predicted_outputs(svd: DataSVD, strengths, rows=None) -> np.ndarray:
    """Outputs ``U A(t) V^T`` predicted by mode strengths ``A(t)``, eq. (dl-outputs).

    ``strengths`` is ``(n_t, r)`` (diagonal ``A``) or a stack of mode matrices
    ``(n_t, r, r)`` (e.g. :func:`map_mode_matrix`); returns ``(n_t, len(rows), P)``
    for the output features ``rows`` (default all; sorted, as in
    ``History.predictions``).
    """
    strengths = _check_strengths(svd, strengths)
    n_out = svd.u.shape[0]
    u = svd.u if rows is None else svd.u[check_times("rows", rows, maximum=n_out - 1)]
    return np.einsum("tab,ma,ib->tmi", strengths, u, svd.v)


def predicted_rsm(svd: DataSVD, strengths) -> np.ndarray:
    """Similarity matrix ``V A(t) V^T`` of the hidden layer, eq. (dl-rsm).

    ``strengths``: ``(n_t, r)`` or mode matrices ``(n_t, r, r)``; returns
    ``(n_t, P, P)``.
    """
    strengths = _check_strengths(svd, strengths)
    return np.einsum("ia,tab,jb->tij", svd.v, strengths, svd.v)


def predicted_loss(svd: DataSVD, strengths) -> np.ndarray:
    """Loss ``1/2 ||S - A(t)||_F^2`` of mode strengths or mode matrices, eq. (dl-loss).

    For diagonal ``A`` (``strengths`` of shape ``(n_t, r)``) this is
    ``1/2 sum_alpha (s_alpha - a_alpha(t))^2``.
    """
    strengths = _check_strengths(svd, strengths)
    return 0.5 * np.sum((np.diag(svd.s) - strengths) ** 2, axis=(1, 2))


def tau_from_hyperparameters(eta: float, *, loss: str = "sum", n_samples: int = 1,
                             n_outputs: int = 1) -> float:
    """Gradient-flow time constant (in steps) of full-batch GD on one-hot inputs, eq.
    (dl-tau-map).

    In the book's convention (``L = 1/2 sum_mu ||.||^2``, ``Sigma_yx = y``, ``s =
    sigma(y)``):

    * ``loss="sum"``: ``L = 1/2 sum_mu ||.||^2``, ``tau = 1/eta``;
    * ``loss="mean"``: ``L = 1/(2P) sum_mu ||.||^2``, ``tau = P/eta``;
    * ``loss="torch_mse"``: PyTorch ``nn.MSELoss()`` (mean over ``P * N_out`` entries,
      no 1/2), ``tau = P N_out / (2 eta)``.
    """
    eta = positive_float("eta", eta)
    loss = check_choice("loss", loss, ("sum", "mean", "torch_mse"))
    n_samples = check_int("n_samples", n_samples, minimum=1)
    n_outputs = check_int("n_outputs", n_outputs, minimum=1)
    return {"sum": 1.0 / eta, "mean": n_samples / eta,
            "torch_mse": n_samples * n_outputs / (2.0 * eta)}[loss]


# ------------------------------------------------------------------ the exact per-step
# map of gradient descent
#: Most steps the per-step map iterates (one vector update each: ~ 1 s at the limit).
MAX_MAP_STEPS = 1_000_000


def map_mode_strength(steps, s, a0, eta: float, *, n_layers: int = 3) -> np.ndarray:
    """Mode strength after ``k`` steps of gradient descent: the exact scalar map, eq.
    (dl-map).

    From the balanced, decoupled start each two-layer mode obeys, step by step,
    ``u <- u (1 + eta (s - u))^2`` exactly (each layer's factor ``c = sqrt(u)``
    gains ``eta c (s - u)``).  The odds approximation of eq. (dl-discrete) replaces
    the factor by ``(1 + eta s)^2``; this function iterates the map itself.

    Parameters
    ----------
    steps : int or 1-D array of int
        Step counts ``>= 0`` (returned sorted and without repeats), at most
        ``MAX_MAP_STEPS``.
    s, a0 : float or 1-D array
        Singular values and initial strengths, ``0 < a0 < s``.
    eta : float
        Step size ``> 0``.
    n_layers : int
        Layers of units ``N_l``: with ``L = N_l - 1`` weight matrices each layer's
        factor ``c = a^(1/L)`` of a balanced, decoupled start gains
        ``eta c^(L-1) (s - a)`` per step (``N_l = 3``: the map above; ``N_l = 2``:
        ``a <- a + eta (s - a)``, the shallow net).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(steps), len(s))``.
    """
    steps = check_times("steps", steps, maximum=MAX_MAP_STEPS)
    s = positive_vector("s", s)
    a0 = _initial("a0", a0, s)
    eta = positive_float("eta", eta)
    depth = check_int("n_layers", n_layers, minimum=2, maximum=MAX_LAYERS) - 1
    out = np.empty((steps.size, s.size))
    c, j = np.array(a0, dtype=float) ** (1.0 / depth), 0
    for k in range(int(steps[-1]) + 1):
        while j < steps.size and steps[j] == k:
            out[j], j = c**depth, j + 1
        c = c + eta * c ** (depth - 1) * (s - c**depth)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"eta = {eta:g} makes the map diverge for s = {s}; keep "
                         f"eta s below 1 (eq. (dl-stability))")
    return out


def map_half_time(s, a0, eta: float) -> np.ndarray:
    """Half-time in steps of the exact per-step map, eq. (dl-map).

    The first step ``k`` with ``u_k >= s/2``, linearly interpolated between steps
    ``k - 1`` and ``k`` (as
    :func:`~learning_dynamics.deep_linear.diagnostics.crossing_time` does for a
    simulation recorded at
    every step).  Requires ``0 < a0 < s/2`` and ``eta s < 1``; refuses more than
    ``MAX_MAP_STEPS`` steps.
    """
    s = positive_vector("s", s)
    a0 = _initial("a0", a0, s, below=0.5)
    eta = positive_float("eta", eta)
    if np.any(eta * s >= 1.0):
        raise ValueError(f"eta * s must be < 1 for every mode (eq. (dl-stability)); "
                         f"got eta = {eta:g}, s_max = {s.max():g}")
    guess = discrete_half_time(s, a0, eta)
    if guess.max() > MAX_MAP_STEPS:
        raise ValueError(f"the half-time would need about {guess.max():.3g} steps; "
                         f"the limit is {MAX_MAP_STEPS} (raise a0 or eta)")
    out = np.empty(s.size)
    for i in range(s.size):
        u, k = a0[i], 0
        while u < s[i] / 2:
            prev, u, k = u, u * (1.0 + eta * (s[i] - u)) ** 2, k + 1
        out[i] = 0.0 if k == 0 else k - 1 + (s[i] / 2 - prev) / (u - prev)
    return out
