"""Training the network and its linearisation (chapter 1), and the 1/alpha diagnostics.

With a centred output of scale ``alpha``, ``f(x) = alpha (g(theta, x) - g(theta0, x))``,
eq. (pre-centred), and a step ``eta = eta0 / alpha**2``, eq. (pre-function-gd):

* the weights move by ``O(1/alpha)``, eq. (pre-weight-move);
* the network departs from its linearisation by ``O(1/alpha)``, eq. (pre-lin-gap).

Runs record sparsely: losses at about 50 log-spaced checkpoints by default, the test
predictions only at the end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import (
    check_array,
    check_choice,
    check_finite_loss,
    check_float,
    check_int,
    check_times,
)
from .data import Dataset
from .model import (
    Params,
    check_memory,
    check_params,
    jacobian,
    kernel_memory_bytes,
    network_output,
    output_and_pullback,
)
from .theory import stability_limit

__all__ = [
    "History",
    "LazyScaling",
    "train",
    "lazy_scaling",
    "summarise_scaling",
    "fit_power_law",
    "MAX_STEPS",
    "ALPHA_RANGE",
]

#: Largest number of gradient-descent steps ``train`` runs.  One step of the chapter's
#: network costs about a millisecond, so this is a quarter of an hour of CPU.
MAX_STEPS = 1_000_000

#: Accepted output scales.  Below 1e-3 the step ``eta0 / alpha**2`` exceeds 1e6 and
#: (at 1e-300) ``alpha**2`` underflows to zero; above 1e6 the centred output
#: ``alpha (g - g0)`` loses more than 6 digits to cancellation.
ALPHA_RANGE = (1e-3, 1e6)


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
        ``|K_T - K_0|_F / |K_0|_F`` on the training inputs at the end (0 for the
        linearised model).
    model : str
        ``"network"`` or ``"linearised"``.
    params_end : Params or None
        Parameters after the last step (None where not recorded).
    """

    t: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    weight_change: np.ndarray
    f_test: np.ndarray
    kernel_change: float
    model: str
    params_end: Params | None = None


def check_alpha(name: str, alpha) -> float:
    """An output scale inside ``ALPHA_RANGE``."""
    low, high = ALPHA_RANGE
    return check_float(name, alpha, minimum=low, maximum=high)


@dataclass(frozen=True)
class _Run:
    """A validated run: data, initial state and the model's two linear maps."""

    data: Dataset
    params0: Params
    alpha: float
    model: str
    g0_train: np.ndarray
    g0_test: np.ndarray
    jacobian0: np.ndarray
    jacobian0_test: np.ndarray | None

    def predict_test(self, theta: np.ndarray) -> np.ndarray:
        """Centred, scaled output ``f`` on the test inputs."""
        if self.model == "network":
            output = network_output(self.params0.unflatten(theta), self.data.x_test)
            return self.alpha * (output - self.g0_test)
        return self.alpha * (self.jacobian0_test @ (theta - self.params0.flat()))

    def residual_and_gradient(self, theta: np.ndarray):
        """Training residuals ``f - y`` and a function giving the loss gradient.

        For the network both share one forward pass; the gradient of
        ``(1/2P) sum r**2`` is ``alpha J^T r / P``.
        """
        y, P = self.data.y_train, self.data.y_train.size
        if self.model == "network":
            params = self.params0.unflatten(theta)
            output, pullback = output_and_pullback(params, self.data.x_train)
            residual = self.alpha * (output - self.g0_train) - y
        else:
            residual = self.alpha * (self.jacobian0 @ (theta - self.params0.flat())) - y

            def pullback(r):
                return self.jacobian0.T @ r
        return residual, lambda: self.alpha * pullback(residual) / P


def _prepare_run(data, params0, alpha, model) -> _Run:
    if not isinstance(data, Dataset):
        raise TypeError("data must be a Dataset (see make_teacher_data); "
                        f"got {type(data).__name__}")
    params0 = check_params(params0)
    alpha = check_alpha("alpha", alpha)
    model = check_choice("model", model, ("network", "linearised"))
    if data.x_train.shape[1] != params0.input_dim:
        raise ValueError(f"data has input dimension {data.x_train.shape[1]} but "
                         f"params0 expects {params0.input_dim}")
    P, P_test = data.x_train.shape[0], data.x_test.shape[0]
    needed = kernel_memory_bytes(params0.size, P)
    if model == "linearised":
        needed += 16 * P_test * params0.size
    check_memory("data", needed, f"training on {P} examples ({P_test} test) "
                 f"with {params0.size} parameters")
    linearised = model == "linearised"
    return _Run(
        data=data, params0=params0, alpha=alpha, model=model,
        g0_train=network_output(params0, data.x_train),
        g0_test=network_output(params0, data.x_test),
        jacobian0=jacobian(params0, data.x_train),
        jacobian0_test=jacobian(params0, data.x_test) if linearised else None,
    )


def _default_checkpoints(steps: int) -> np.ndarray:
    log_spaced = np.round(np.logspace(0, np.log10(steps), 50)).astype(int)
    return np.unique(np.r_[0, log_spaced])


def _final_kernel_change(run: _Run, theta: np.ndarray) -> float:
    if run.model == "linearised":
        return 0.0
    kernel0 = run.jacobian0 @ run.jacobian0.T
    jacobian_end = jacobian(run.params0.unflatten(theta), run.data.x_train)
    kernel_end = jacobian_end @ jacobian_end.T
    return float(np.linalg.norm(kernel_end - kernel0) / np.linalg.norm(kernel0))


def train(data: Dataset, params0: Params, *, alpha: float, eta0: float, steps: int,
          checkpoints=None, model: str = "network",
          trainable: str = "both") -> History:
    """Full-batch GD on ``(1/2P) sum (f - y)**2`` with ``eta = eta0 / alpha**2``.

    ``f = alpha (g(theta) - g(theta0))`` for ``model="network"``, eq. (pre-centred);
    for ``model="linearised"``, ``f = alpha J0 (theta - theta0)``, eq. (pre-linearised).

    Parameters
    ----------
    data : Dataset
    params0 : Params
        Initial parameters ``theta0``.
    alpha : float
        Output scale, within ``ALPHA_RANGE`` = [1e-3, 1e6].
    eta0 : float
        Step size in alpha-independent units (> 0); the linearised dynamics diverge
        above ``stability_limit``, eq. (pre-stability).
    steps : int
        Number of GD steps, at most ``MAX_STEPS``.
    checkpoints : sequence of int, optional
        Steps at which losses are recorded (default: 50 log-spaced steps and 0).
    model : {"network", "linearised"}
    trainable : {"both", "first_layer", "readout"}
        Which layer gradient descent moves; the other stays at ``theta0`` (an
        ablation: ``"readout"`` freezes ``W``, ``"first_layer"`` freezes ``a``).

    Raises
    ------
    DivergenceError
        If the loss stops being finite ("reduce eta0").
    """
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    trainable = check_choice("trainable", trainable,
                             ("both", "first_layer", "readout"))
    run = _prepare_run(data, params0, alpha, model)
    N = run.params0.width
    mask = np.ones(run.params0.size)
    if trainable == "first_layer":
        mask[:N] = 0.0          # flat() stores a first, then W
    elif trainable == "readout":
        mask[N:] = 0.0
    if checkpoints is None:
        checkpoints = _default_checkpoints(steps)
    checkpoints = check_times("checkpoints", checkpoints, maximum=steps)
    record = set(checkpoints.tolist())
    limit = stability_limit(run.jacobian0 @ run.jacobian0.T)
    hint = ("The linearised dynamics are stable only for "
            f"eta0 < 2/lambda_max(K0/P) = {limit:.3g}.")
    eta = eta0 / run.alpha**2
    theta0 = run.params0.flat()
    theta = theta0.copy()
    train_loss, test_loss, weight_change = [], [], []
    for step in range(steps + 1):
        residual, gradient = run.residual_and_gradient(theta)
        with np.errstate(over="ignore", invalid="ignore"):
            loss = 0.5 * np.mean(residual**2)
        check_finite_loss(loss, step, knob=f"eta0 = {eta0:g}", hint=hint)
        if step in record:
            test_residual = run.predict_test(theta) - data.y_test
            train_loss.append(loss)
            test_loss.append(0.5 * np.mean(test_residual**2))
            moved = np.linalg.norm(theta - theta0) / np.linalg.norm(theta0)
            weight_change.append(moved)
        if step < steps:
            theta = theta - eta * (gradient() * mask)
    return History(t=checkpoints, train_loss=np.array(train_loss),
                   test_loss=np.array(test_loss), weight_change=np.array(weight_change),
                   f_test=run.predict_test(theta),
                   kernel_change=_final_kernel_change(run, theta), model=run.model,
                   params_end=run.params0.unflatten(theta))


@dataclass(frozen=True)
class LazyScaling:
    """How far a network strays from its linearisation, as a function of ``alpha``.

    Attributes
    ----------
    alpha : ndarray
        Output scales.
    lin_gap : ndarray
        RMS over test inputs of ``f_network - f_linearised`` after training,
        eq. (pre-lin-gap).
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


def summarise_scaling(runs: dict, linearised: History) -> LazyScaling:
    """Compare finished network runs with the linearised run: the 1/alpha diagnostics.

    Parameters
    ----------
    runs : dict of float -> History
        Network runs (``model="network"``) keyed by ``alpha``, all of the same length.
    linearised : History
        The linearised model's run of the same length (any ``alpha``: its predictions
        do not depend on it, eq. (pre-function-gd)).
    """
    if not isinstance(runs, dict) or not runs:
        raise TypeError("runs must be a non-empty dict {alpha: History}; "
                        f"got {type(runs).__name__}")
    histories = list(runs.values())
    if not all(isinstance(h, History) and h.model == "network" for h in histories):
        raise TypeError("runs must map alpha to network History objects (see train)")
    if not isinstance(linearised, History) or linearised.model != "linearised":
        raise TypeError("linearised must be the History of a model='linearised' run")
    lengths = {int(h.t[-1]) for h in histories} | {int(linearised.t[-1])}
    if len(lengths) != 1:
        raise ValueError("runs and linearised must end at the same step; "
                         f"got {lengths}")
    return LazyScaling(
        alpha=np.array([float(alpha) for alpha in runs]),
        lin_gap=np.array([np.sqrt(np.mean((h.f_test - linearised.f_test) ** 2))
                          for h in histories]),
        weight_change=np.array([h.weight_change[-1] for h in histories]),
        kernel_change=np.array([h.kernel_change for h in histories]),
        train_loss=np.array([h.train_loss[-1] for h in histories]),
        test_loss=np.array([h.test_loss[-1] for h in histories]),
        lin_test_loss=float(linearised.test_loss[-1]),
    )


def lazy_scaling(data: Dataset, params0: Params, alphas, *, eta0: float,
                 steps: int) -> LazyScaling:
    """Train the network at each ``alpha`` and the linearised model once; compare them.

    The linearised model's predictions do not depend on ``alpha``,
    eq. (pre-function-gd), so one linearised run serves every ``alpha``.
    """
    alphas = check_array("alphas", alphas, ndim=1)
    for alpha in alphas:
        check_alpha("alphas", float(alpha))
    linearised = train(data, params0, alpha=1.0, eta0=eta0, steps=steps,
                       checkpoints=[steps], model="linearised")
    runs = {float(alpha): train(data, params0, alpha=float(alpha), eta0=eta0,
                                steps=steps, checkpoints=[steps]) for alpha in alphas}
    return summarise_scaling(runs, linearised)


def fit_power_law(x, y) -> float:
    """Slope of ``log y`` against ``log x`` by least squares (``y ~ x**slope``).

    Raises ``ValueError`` for non-positive values, fewer than two points, or ``x``
    without two distinct values (the slope is then undefined).
    """
    x = check_array("x", x, ndim=1)
    y = check_array("y", y, shape=(x.size,))
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive to fit a power law; got min x "
                         f"{x.min():g}, min y {y.min():g}")
    if x.size < 2:
        raise ValueError(f"x must hold at least 2 points; got {x.size}")
    log_x = np.log(x)
    if np.ptp(log_x) == 0.0:
        raise ValueError("x must hold at least two distinct values; "
                         f"got all x = {x[0]:g}")
    return float(np.polyfit(log_x, np.log(y), 1)[0])
