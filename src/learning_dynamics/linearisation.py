"""Lazy and rich training: a network against its linearisation (chapter 1, Preliminaries).

The chapter derives that, with a centred output of scale ``alpha``,
``f(x) = alpha * (g(theta, x) - g(theta0, x))``, and a step ``eta = eta0 / alpha**2``,

* the function-space dynamics do not depend on ``alpha`` at first, eq. (pre-function-gd);
* the weights move by ``O(1/alpha)``, eq. (pre-weight-move);
* the network departs from its linearisation by ``O(1/alpha)``, eq. (pre-lin-gap);
* the linearised model is solved in closed form by the eigen-decomposition of the
  initial tangent kernel, eq. (pre-lin-closed-form), and gradient descent tracks gradient
  flow with an ``O(eta0)`` error, eq. (pre-gd-vs-flow).

The network is ``g(theta, x) = N**-0.5 * sum_i a_i tanh(w_i . x)`` with both layers
trained, numpy float64 throughout (the problem is small).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plotting import PALETTE, THEORY_STYLE, new_figure
from .seeding import make_rng
from .validation import (
    check_array,
    check_choice,
    check_finite_loss,
    check_float,
    check_int,
    check_times,
)

__all__ = [
    "Params",
    "Dataset",
    "History",
    "LazyScaling",
    "init_params",
    "make_teacher_data",
    "network_output",
    "jacobian",
    "tangent_kernel",
    "gd_residual_closed_form",
    "gradient_flow_residual",
    "stability_limit",
    "train",
    "lazy_scaling",
    "fit_power_law",
    "plot_training_curves",
    "plot_lazy_scaling",
]


# ----------------------------------------------------------------------------- closed forms
def gd_residual_closed_form(kernel: np.ndarray, y: np.ndarray, eta0: float, steps) -> np.ndarray:
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
    """
    K = check_array("kernel", kernel, ndim=2)
    P = K.shape[0]
    if K.shape != (P, P):
        raise ValueError(f"kernel must be square; got shape {K.shape}")
    y = check_array("y", y, shape=(P,))
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    ks = check_times("steps", steps)
    lam, U = np.linalg.eigh(K / P)
    coef = U.T @ y
    factors = (1.0 - eta0 * lam)[None, :] ** ks[:, None]
    return -(factors * coef[None, :]) @ U.T


def gradient_flow_residual(kernel: np.ndarray, y: np.ndarray, times) -> np.ndarray:
    """Training residuals of the linearised model under gradient flow, eq. (pre-gd-vs-flow).

    ``r(t) = -exp(-t K0 / P) y``, with ``t`` in units of ``eta0`` steps (``t = k * eta0``).

    Returns
    -------
    ndarray, shape (len(times), P)
    """
    K = check_array("kernel", kernel, ndim=2)
    P = K.shape[0]
    y = check_array("y", y, shape=(P,))
    t = check_array("times", np.atleast_1d(times), ndim=1)
    if np.any(t < 0):
        raise ValueError(f"times must be >= 0; got min {t.min():g}")
    lam, U = np.linalg.eigh(K / P)
    coef = U.T @ y
    return -(np.exp(-t[:, None] * lam[None, :]) * coef[None, :]) @ U.T


def stability_limit(kernel: np.ndarray) -> float:
    """Largest stable ``eta0`` for the linearised dynamics: ``2 / lambda_max(K0 / P)``."""
    K = check_array("kernel", kernel, ndim=2)
    return float(2.0 / np.linalg.eigvalsh(K / K.shape[0])[-1])


# ----------------------------------------------------------------------------- data and model
@dataclass(frozen=True)
class Params:
    """Parameters of ``g(theta, x) = N**-0.5 * sum_i a_i tanh(w_i . x)``.

    Attributes
    ----------
    W : ndarray, shape (N, d)
        First-layer weights, rows ``w_i``.
    a : ndarray, shape (N,)
        Readout weights.
    """

    W: np.ndarray
    a: np.ndarray

    def flat(self) -> np.ndarray:
        """All parameters as one vector ``(a, vec W)``."""
        return np.concatenate([self.a, self.W.ravel()])


@dataclass(frozen=True)
class Dataset:
    """A regression task: inputs ``x ~ N(0, I/d)`` and targets from a narrow teacher.

    Attributes
    ----------
    x_train, y_train : ndarray, shapes (P, d), (P,)
    x_test, y_test : ndarray, shapes (P_test, d), (P_test,)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def init_params(d: int, N: int, seed=0) -> Params:
    """Standard-normal initialisation ``w_i ~ N(0, I_d)``, ``a_i ~ N(0, 1)``."""
    d = check_int("d", d, minimum=1)
    N = check_int("N", N, minimum=1)
    rng = make_rng(seed)
    return Params(W=rng.standard_normal((N, d)), a=rng.standard_normal(N))


def make_teacher_data(P: int, d: int, *, P_test: int = 500, teacher_width: int = 2, seed=0) -> Dataset:
    """Inputs ``x ~ N(0, I/d)``; targets ``y = teacher_width**-0.5 * sum_k tanh(2 u_k . x)``.

    The teacher has a few unit-norm directions ``u_k``: a target the initial kernel does
    not fit exactly, so that lazy and rich training can differ.
    """
    P = check_int("P", P, minimum=1)
    d = check_int("d", d, minimum=1)
    P_test = check_int("P_test", P_test, minimum=1)
    teacher_width = check_int("teacher_width", teacher_width, minimum=1)
    rng = make_rng(seed)
    U = rng.standard_normal((teacher_width, d))
    U /= np.linalg.norm(U, axis=1, keepdims=True)

    def teacher(x):
        return np.tanh(2.0 * np.sqrt(d) * x @ U.T).sum(axis=1) / np.sqrt(teacher_width)

    x_train = rng.standard_normal((P, d)) / np.sqrt(d)
    x_test = rng.standard_normal((P_test, d)) / np.sqrt(d)
    return Dataset(x_train, teacher(x_train), x_test, teacher(x_test))


def _check_params(params) -> Params:
    if not isinstance(params, Params):
        raise TypeError(f"params must be a Params instance (see init_params); got {type(params).__name__}")
    return params


def _check_inputs(x, d: int) -> np.ndarray:
    return check_array("x", x, ndim=2, shape=(None, d))


def network_output(params: Params, x: np.ndarray) -> np.ndarray:
    """``g(theta, x)`` for each row of ``x``, eq. (pre-network)."""
    params = _check_params(params)
    x = _check_inputs(x, params.W.shape[1])
    return np.tanh(x @ params.W.T) @ params.a / np.sqrt(params.a.size)


def jacobian(params: Params, x: np.ndarray) -> np.ndarray:
    """Jacobian ``d g(theta, x_mu) / d theta`` as a ``(P, N + N d)`` matrix, in ``Params.flat`` order."""
    params = _check_params(params)
    x = _check_inputs(x, params.W.shape[1])
    N = params.a.size
    h = x @ params.W.T                      # (P, N)
    th = np.tanh(h)
    d_a = th / np.sqrt(N)                   # (P, N)
    d_W = ((1.0 - th**2) * params.a / np.sqrt(N))[:, :, None] * x[:, None, :]  # (P, N, d)
    return np.concatenate([d_a, d_W.reshape(x.shape[0], -1)], axis=1)


def _vjp(params: Params, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``J(theta)^T r`` without forming the Jacobian (the backward pass of the network)."""
    N = params.a.size
    th = np.tanh(x @ params.W.T)
    d_a = th.T @ r / np.sqrt(N)
    d_W = (((1.0 - th**2) * r[:, None]) * params.a / np.sqrt(N)).T @ x
    return np.concatenate([d_a, d_W.ravel()])


def tangent_kernel(params: Params, x1: np.ndarray, x2: np.ndarray | None = None) -> np.ndarray:
    """Tangent kernel ``K(x, x') = grad g(x) . grad g(x')``, eq. (pre-ntk)."""
    J1 = jacobian(params, x1)
    J2 = J1 if x2 is None else jacobian(params, x2)
    return J1 @ J2.T


# ----------------------------------------------------------------------------- training
@dataclass(frozen=True)
class History:
    """Record of one training run.

    Attributes
    ----------
    t : ndarray of int
        Checkpoint steps.
    train_loss, test_loss : ndarray
        ``(1/2P) sum (f - y)**2`` on the training and test sets at each checkpoint.
    weight_change : ndarray
        Relative parameter movement ``|theta_t - theta_0| / |theta_0|``.
    f_test : ndarray, shape (P_test,)
        Predictions on the test inputs at the last checkpoint.
    kernel_change : float
        ``|K_T - K_0|_F / |K_0|_F`` on the training inputs at the end (0 for the linearised model).
    model : str
        ``"network"`` or ``"linearised"``.
    """

    t: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    weight_change: np.ndarray
    f_test: np.ndarray
    kernel_change: float
    model: str


def train(data: Dataset, params0: Params, *, alpha: float, eta0: float, steps: int,
          checkpoints=None, model: str = "network") -> History:
    """Full-batch gradient descent on ``(1/2P) sum (f - y)**2`` with ``eta = eta0 / alpha**2``.

    ``f = alpha (g(theta) - g(theta0))`` for ``model="network"``; for ``model="linearised"``,
    ``f = alpha J0 (theta - theta0)``, eq. (pre-linearised).

    Parameters
    ----------
    data : Dataset
    params0 : Params
        Initial parameters ``theta0``.
    alpha : float
        Output scale (> 0).
    eta0 : float
        Step size in alpha-independent units (> 0); diverges above ``stability_limit``.
    steps : int
        Number of GD steps.
    checkpoints : sequence of int, optional
        Steps at which losses are recorded (default: 50 log-spaced steps and the last).
    model : {"network", "linearised"}
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a Dataset (see make_teacher_data); got {type(data).__name__}")
    params0 = _check_params(params0)
    alpha = check_float("alpha", alpha, minimum=0.0, min_inclusive=False)
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=1)
    model = check_choice("model", model, ("network", "linearised"))
    if checkpoints is None:
        checkpoints = np.unique(np.r_[0, np.round(np.logspace(0, np.log10(steps), 50)).astype(int)])
    ts = check_times("checkpoints", checkpoints, maximum=steps)
    x, y, xt, yt = data.x_train, data.y_train, data.x_test, data.y_test
    if x.shape[1] != params0.W.shape[1]:
        raise ValueError(f"data has input dimension {x.shape[1]} but params0 expects {params0.W.shape[1]}")
    P = x.shape[0]
    eta = eta0 / alpha**2
    N, d = params0.W.shape
    theta0 = params0.flat()
    g0, g0t = network_output(params0, x), network_output(params0, xt)
    J0 = jacobian(params0, x)
    J0t = jacobian(params0, xt) if model == "linearised" else None
    theta = theta0.copy()
    limit = stability_limit(J0 @ J0.T)
    record = {"train": [], "test": [], "move": []}
    ts_set = set(ts.tolist())

    def unpack(th):
        return Params(W=th[N:].reshape(N, d), a=th[:N])

    for k in range(steps + 1):
        if model == "network":
            p = unpack(theta)
            f = alpha * (network_output(p, x) - g0)
        else:
            f = alpha * (J0 @ (theta - theta0))
        r = f - y
        with np.errstate(over="ignore", invalid="ignore"):
            loss = 0.5 * np.mean(r**2)
        check_finite_loss(loss, k, knob=f"eta0 = {eta0:g}",
                          hint=f"The linearised dynamics are stable only for eta0 < 2/lambda_max(K0/P) = {limit:.3g}.")
        if k in ts_set:
            ft = (alpha * (network_output(unpack(theta), xt) - g0t) if model == "network"
                  else alpha * (J0t @ (theta - theta0)))
            record["train"].append(loss)
            record["test"].append(0.5 * np.mean((ft - yt) ** 2))
            record["move"].append(np.linalg.norm(theta - theta0) / np.linalg.norm(theta0))
        if k == steps:
            break
        grad = alpha * (_vjp(unpack(theta), x, r) if model == "network" else J0.T @ r) / P
        theta = theta - eta * grad
    if model == "network":
        p = unpack(theta)
        f_test = alpha * (network_output(p, xt) - g0t)
        JT = jacobian(p, x)
        K0, KT = J0 @ J0.T, JT @ JT.T
        kchange = float(np.linalg.norm(KT - K0) / np.linalg.norm(K0))
    else:
        f_test = alpha * (J0t @ (theta - theta0))
        kchange = 0.0
    return History(t=ts, train_loss=np.array(record["train"]), test_loss=np.array(record["test"]),
                   weight_change=np.array(record["move"]), f_test=f_test, kernel_change=kchange, model=model)


# ----------------------------------------------------------------------------- diagnostics
@dataclass(frozen=True)
class LazyScaling:
    """How far a network strays from its linearisation, as a function of ``alpha``.

    Attributes
    ----------
    alpha : ndarray
        Output scales.
    lin_gap : ndarray
        RMS over test inputs of ``f_network - f_linearised`` after training, eq. (pre-lin-gap).
    weight_change : ndarray
        Relative parameter movement at the end, eq. (pre-weight-move).
    kernel_change : ndarray
        Relative change of the tangent kernel at the end.
    train_loss, test_loss : ndarray
        Final losses of the network.
    lin_test_loss : float
        Final test loss of the linearised model (independent of alpha).
    """

    alpha: np.ndarray
    lin_gap: np.ndarray
    weight_change: np.ndarray
    kernel_change: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    lin_test_loss: float


def lazy_scaling(data: Dataset, params0: Params, alphas, *, eta0: float, steps: int) -> LazyScaling:
    """Train the network at each ``alpha`` and the linearised model once; compare them.

    The linearised model's predictions do not depend on ``alpha`` (eq. pre-function-gd),
    so one linearised run serves every ``alpha``.
    """
    alphas = check_array("alphas", alphas, ndim=1)
    if np.any(alphas <= 0):
        raise ValueError(f"alphas must all be > 0; got min {alphas.min():g}")
    lin = train(data, params0, alpha=1.0, eta0=eta0, steps=steps, checkpoints=[steps], model="linearised")
    gap, move, kch, tr, te = [], [], [], [], []
    for a in alphas:
        h = train(data, params0, alpha=float(a), eta0=eta0, steps=steps, checkpoints=[steps])
        gap.append(np.sqrt(np.mean((h.f_test - lin.f_test) ** 2)))
        move.append(h.weight_change[-1])
        kch.append(h.kernel_change)
        tr.append(h.train_loss[-1])
        te.append(h.test_loss[-1])
    return LazyScaling(alphas, np.array(gap), np.array(move), np.array(kch), np.array(tr), np.array(te),
                       float(lin.test_loss[-1]))


def fit_power_law(x, y) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (the exponent of ``y ~ x**slope``)."""
    x = check_array("x", x, ndim=1)
    y = check_array("y", y, shape=(x.size,))
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive to fit a power law")
    if x.size < 2:
        raise ValueError(f"x must hold at least 2 points; got {x.size}")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# ----------------------------------------------------------------------------- figures
def plot_training_curves(histories: dict, lin: History, ax=None):
    """Train (dashed) and test (solid) loss of the network for several alphas, linearised model in black."""
    fig = None
    if ax is None:
        fig, ax = new_figure(width=6.4, height=4.0)
    for i, (alpha, h) in enumerate(histories.items()):
        c = PALETTE[i % len(PALETTE)]
        ax.plot(h.t[1:], h.test_loss[1:], color=c, label=f"network, alpha = {alpha:g} (test)")
        ax.plot(h.t[1:], h.train_loss[1:], color=c, ls=":", lw=1.4)
    ax.plot(lin.t[1:], lin.test_loss[1:], **THEORY_STYLE, label="linearised model (test)")
    ax.plot(lin.t[1:], lin.train_loss[1:], color="black", ls=":", lw=1.4, label="dotted: train loss")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training step k (eta0 units)")
    ax.set_ylabel("loss (1/2P) sum (f - y)^2")
    ax.set_title("Large alpha tracks the linearised model")
    ax.legend(loc="lower left")
    return fig


def plot_lazy_scaling(res: LazyScaling, ax=None):
    """Log-log plot of the gap to the linearisation, weight and kernel movement against alpha, with a 1/alpha guide."""
    fig = None
    if ax is None:
        fig, ax = new_figure(width=6.4, height=4.0)
    a = res.alpha
    ax.loglog(a, res.lin_gap, "o-", color=PALETTE[0], label="RMS |f - f_lin| on test inputs")
    ax.loglog(a, res.weight_change, "s-", color=PALETTE[1], label="|theta - theta0| / |theta0|")
    ax.loglog(a, res.kernel_change, "^-", color=PALETTE[2], label="|K_T - K_0| / |K_0|")
    ref = res.lin_gap[-1] * a[-1] / a
    ax.loglog(a, ref, **THEORY_STYLE, label="slope -1 (eq. pre-lin-gap)")
    ax.set_xlabel("output scale alpha (dimensionless)")
    ax.set_ylabel("distance after training (dimensionless)")
    ax.set_title("Departure from the linearisation shrinks like 1/alpha")
    ax.legend(loc="lower left")
    return fig
