"""Training of chapter 3: the exact ``(w_bar, M)`` recursion, eq. (lr-recursion).

:func:`train_recursion` trains the centred committee machine through the exact
closed recursion of its statistics at any width, several runs (``alpha``, ``eps``)
side by side, with a step size that backs off when the loss rises.  The
straightforward width-``N`` network it is checked against is in
:mod:`learning_dynamics.lazy_rich.network`.

Conventions: loss = mean squared error without 1/2; learning rate
``eta = eta0 N / alpha**2``; time ``t`` in ``eta0 = 1`` units (a step of size
``eta0`` advances ``t`` by ``eta0``); numpy float64 throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..device import single_threaded
from ..validation import (
    DivergenceError,
    check_array,
    check_bool,
    check_finite_loss,
    check_float,
)
from .data import Committee, TeacherData, check_pair, positive_values
from .schedule import (
    ALPHA_MAX,
    ALPHA_MIN,
    check_schedule,
    check_stable_start,
    next_step,
)
from .theory import terms_from_coefficients

__all__ = ["History", "train_recursion"]

#: Memory allowed for the recorded history (9 float64 arrays of shape (runs, steps)).
RECORD_BYTES_MAX = 1_000_000_000
#: Successive halvings of the step allowed before a run is declared divergent.
MAX_BACKOFFS = 30
#: After a back-off the step cap regrows by this factor per accepted step (up to
#: ``eta0_max``), so that one unstable moment does not slow the rest of the run.
CAP_RECOVERY = 1.01


@dataclass(frozen=True)
class History:
    """Training history of one or several runs (leading axis = run), at every step.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Time in ``eta0 = 1`` units at which each row was recorded (before the step).
    train, test : ndarray, shape (B, T)
        Training MSE and exact population loss, eq. (lr-pop-loss); NaN after a run
        stopped.
    variance, misalignment, linear : ndarray, shape (B, T)
        The three terms of the population loss.
    alignment : ndarray, shape (B, T)
        ``cos(M - M0, beta beta^T)`` (Frobenius), 0 at ``t = 0``.
    weight_norm : ndarray, shape (B, T)
        ``sqrt(mean_i |w_i|^2) = sqrt(Tr M)``.
    teacher, spurious : ndarray, shape (B, T)
        Decomposition of ``alpha eps (M - M0) = q beta beta^T + R`` with
        ``R`` Frobenius-orthogonal to ``beta beta^T``: ``teacher = q`` (the fraction
        of the teacher direction learned, 1 at the optimum) and
        ``spurious = ||R||_F / |beta|^2``.  The misalignment term of eq.
        (lr-pop-loss) is exactly ``|beta|^4 ((1 - q)^2 + spurious^2) / (2 d^2)``.
    alpha, eps : ndarray, shape (B,)
        Settings of each run.
    train0, test0 : float
        Initial train and test losses (normalisers ``L0``).
    w_bar, M : ndarray or None
        Final statistics (B, d) and (B, d, d) when ``keep_state=True``.
    backoffs : int
        How many times the step cap was halved because the training loss rose.
    steps : int
        Gradient steps taken (the schedule's plan plus the back-offs' extra steps).
    step_bound : int
        The bound on ``steps`` this call ran under (``max_steps``).
    """

    t: np.ndarray
    train: np.ndarray
    test: np.ndarray
    variance: np.ndarray
    misalignment: np.ndarray
    linear: np.ndarray
    alignment: np.ndarray
    weight_norm: np.ndarray
    teacher: np.ndarray
    spurious: np.ndarray
    alpha: np.ndarray
    eps: np.ndarray
    train0: float
    test0: float
    w_bar: np.ndarray | None = None
    M: np.ndarray | None = None
    backoffs: int = 0
    steps: int = 0
    step_bound: int = 0


_RECORDED = (
    "train",
    "test",
    "variance",
    "misalignment",
    "linear",
    "alignment",
    "weight_norm",
    "teacher",
    "spurious",
)


@dataclass
class _Runs:
    """Validated settings and the state of the active runs (internal)."""

    data: TeacherData
    net: Committee
    alpha: np.ndarray
    eps: np.ndarray
    t_max: np.ndarray
    dw_bar: np.ndarray  # w_bar - w_bar0, shape (B, d)
    dM: np.ndarray  # M - M0, shape (B, d, d)


def _observe(runs: _Runs, active, dw_bar, dM):
    """Residuals and diagnostics of the active runs, eq. (lr-summary), (lr-pop-loss)."""
    X, y, beta = runs.data.X, runs.data.y, runs.data.beta
    P, d = X.shape
    alpha, alpha_eps = runs.alpha[active], runs.alpha[active] * runs.eps[active]
    b = alpha.size
    X_dM = (X @ dM.transpose(1, 0, 2).reshape(d, b * d)).reshape(P, b, d)
    quad = np.einsum("pbd,pd->bp", X_dM, X)  # x_mu^T dM x_mu
    residual = alpha[:, None] * (dw_bar @ X.T) + 0.5 * alpha_eps[:, None] * quad - y
    terms = terms_from_coefficients(
        alpha[:, None] * dw_bar, 0.5 * alpha_eps[:, None, None] * dM, beta
    )
    dM_norm = np.sqrt(np.einsum("bij,bij->b", dM, dM))
    overlap = np.einsum("i,bij,j->b", beta, dM, beta) / float(beta @ beta)
    alignment = np.where(dM_norm > 0, overlap / np.maximum(dM_norm, 1e-300), 0.0)
    beta_sq = float(beta @ beta)
    rest_sq = np.maximum(dM_norm**2 - overlap**2, 0.0)  # ||dM - overlap b b^T||^2
    weight_norm = np.sqrt(float(np.trace(runs.net.M0)) + np.trace(dM, axis1=1, axis2=2))
    values = {
        "train": np.mean(residual * residual, axis=1),
        "test": terms.total,
        "variance": terms.variance,
        "misalignment": terms.misalignment,
        "linear": terms.linear,
        "alignment": alignment,
        "weight_norm": weight_norm,
        "teacher": alpha_eps * overlap / beta_sq,
        "spurious": alpha_eps * np.sqrt(rest_sq) / beta_sq,
    }
    return residual, values


def _recursion_step(runs: _Runs, active, dw_bar, dM, residual, h):
    """One gradient step of the statistics, eq. (lr-recursion), for the active runs."""
    X = runs.data.X
    P, d = X.shape
    b = dw_bar.shape[0]
    c = (2.0 * h / runs.alpha[active])[:, None]  # c = 2 eta0 / alpha
    c_eps = c[:, :, None] * runs.eps[active][:, None, None]
    g = residual @ X / P  # eq. (lr-moments)
    G = np.empty((b, d, d))
    X_T = np.ascontiguousarray(X.T)
    for j in range(b):
        np.matmul(X_T * (residual[j] / P), X, out=G[j])
    w_bar = runs.net.w_bar0 + dw_bar
    M = runs.net.M0 + dM
    GM = np.matmul(G, M)
    G_w = np.einsum("bij,bj->bi", G, w_bar)
    A_w = w_bar - c_eps[:, :, 0] * G_w  # A w_bar
    c_g = c * g
    dM_new = (
        dM
        - c_eps * (GM + GM.transpose(0, 2, 1))
        + c_eps**2 * np.matmul(GM, G)
        - (A_w[:, :, None] * c_g[:, None, :] + c_g[:, :, None] * A_w[:, None, :])
        + c_g[:, :, None] * c_g[:, None, :]
    )
    return dw_bar - c_eps[:, :, 0] * G_w - c_g, dM_new


def _check_runs(data, net, alpha, t_max, eps):
    check_pair(data, net)
    alpha = positive_values("alpha", alpha, minimum=ALPHA_MIN, maximum=ALPHA_MAX)
    if eps is None:
        eps = np.array([net.eps])
    else:
        eps = np.atleast_1d(check_array("eps", eps))
        if eps.ndim != 1 or np.any(eps < 0):
            raise ValueError(
                f"eps must be a finite value >= 0 or a 1-d sequence of them; "
                f"got {eps!r}"
            )
    t_max = positive_values("t_max", t_max)
    try:
        alpha, eps, t_max = (
            np.array(a) for a in np.broadcast_arrays(alpha, eps, t_max)
        )
    except ValueError as exc:
        raise ValueError(
            f"alpha, eps and t_max must have broadcastable lengths; got "
            f"{alpha.size}, {eps.size}, {t_max.size}"
        ) from exc
    return alpha, eps, t_max


def _prepare(data, net, alpha, t_max, eps, eta0, eta0_max, rel_step, max_steps):
    """Validate runs and schedule, bound steps and memory; zero initial state."""
    alpha, eps, t_max = _check_runs(data, net, alpha, t_max, eps)
    t_end, eta0, eta0_max, rel_step, n, max_steps = check_schedule(
        float(t_max.max()), eta0, eta0_max, rel_step, max_steps
    )
    check_stable_start(data, net, eta0)
    record_bytes = n * alpha.size * len(_RECORDED) * 8
    if record_bytes > RECORD_BYTES_MAX:
        raise ValueError(
            f"the history of {alpha.size} runs x about {n} steps would need "
            f"{record_bytes / 1e9:.1f} GB (limit 1 GB): "
            "lower t_max, run fewer alphas at once or raise eta0_max"
        )
    zeros = (np.zeros((alpha.size, data.d)), np.zeros((alpha.size, data.d, data.d)))
    runs = _Runs(data, net, alpha, eps, t_max, *zeros)
    return runs, (t_end, eta0, eta0_max, rel_step, max_steps)


def train_recursion(
    data: TeacherData,
    net: Committee,
    alpha,
    t_max,
    *,
    eps=None,
    eta0: float = 1.0,
    eta0_max: float | None = None,
    rel_step: float = 0.02,
    stop_below: float | None = None,
    keep_state: bool = False,
    max_steps: int | None = None,
) -> History:
    """Train the centred committee machine by the exact recursion, eq. (lr-recursion).

    Every neuron receives the same affine update ``w_i <- (I - c eps G) w_i - c g``
    with the moments ``g, G`` of eq. (lr-moments) and ``c = 2 eta0 / alpha``, so the
    statistics ``(w_bar, M)`` close.  A step costs ``O(P d^2)`` whatever ``N``.
    Several runs (``alpha`` and ``eps`` arrays, broadcast) advance together.

    The step is the ``time_grid`` schedule, capped for safety: ``eta0`` must be
    below the stability limit at initialisation (else ``ValueError``), and whenever
    the training loss of a run rises over a step (the kernel grew during feature
    learning, so the step became unstable) the step is undone and the cap halved
    (``History.backoffs`` counts this); the cap then regrows by ``CAP_RECOVERY``
    per accepted step.  ``DivergenceError`` (naming ``eta0_max``) after
    ``MAX_BACKOFFS`` successive halvings, and when the steps pass ``max_steps``.

    Parameters
    ----------
    data, net : TeacherData, Committee
        Training set and initial weights (only ``w_bar0, M0`` are used).
    alpha : float or sequence of float
        Output scales in ``[ALPHA_MIN, ALPHA_MAX]``.
    t_max : float or sequence of float
        Training time of each run in ``eta0 = 1`` units.
    eps : float or sequence, optional
        Overrides ``net.eps`` per run.
    eta0, eta0_max, rel_step : float
        Step-size schedule of ``time_grid`` (``eta0_max=None``: constant ``eta0``).
    stop_below : float, optional
        Stop a run once train and test are both below ``stop_below`` times ``L0``.
    keep_state : bool
        Return the final ``w_bar`` and ``M``.
    max_steps : int, optional
        Largest number of steps (at most ``MAX_STEPS``).  Default: four times the
        steps the schedule plans (``count_steps``) plus 100, so that back-offs can
        at most quadruple the work; past it the run stops with ``DivergenceError``
        naming ``eta0_max`` and ``max_steps``.  ``ValueError`` beforehand when the
        schedule itself needs more, or when the history would exceed 1 GB.
    """
    runs, schedule = _prepare(
        data, net, alpha, t_max, eps, eta0, eta0_max, rel_step, max_steps
    )
    if stop_below is not None:
        stop_below = check_float(
            "stop_below", stop_below, minimum=0.0, maximum=1.0, min_inclusive=False
        )
    keep_state = check_bool("keep_state", keep_state)
    with single_threaded(), np.errstate(over="ignore", invalid="ignore"):
        return _run(runs, schedule, stop_below, keep_state)


@dataclass
class _State:
    """The active runs: their indices, statistics, residuals and diagnostics."""

    active: np.ndarray
    dw_bar: np.ndarray
    dM: np.ndarray
    residual: np.ndarray
    values: dict


def _state(runs: _Runs, active, dw_bar, dM) -> _State:
    residual, values = _observe(runs, active, dw_bar, dM)
    return _State(active, dw_bar, dM, residual, values)


def _store(runs: _Runs, state: _State) -> None:
    """Write the statistics of the active runs back to ``runs``."""
    runs.dw_bar[state.active], runs.dM[state.active] = state.dw_bar, state.dM


def _retire(runs: _Runs, state: _State, keep) -> _State:
    """Store the statistics of the active runs; keep only the runs where ``keep``."""
    _store(runs, state)
    values = {key: val[keep] for key, val in state.values.items()}
    return _State(
        state.active[keep],
        state.dw_bar[keep],
        state.dM[keep],
        state.residual[keep],
        values,
    )


def _safe_step(
    runs: _Runs, state: _State, t, schedule, control
) -> tuple[_State, float]:
    """One step; undo it and halve the step cap while the training loss rises."""
    t_end, eta0, eta0_max, rel_step, _ = schedule
    floor = 1e-12 * runs.data.train_loss0
    halvings = 0
    while True:
        h = next_step(t, t_end, eta0, min(eta0_max, control["cap"]), rel_step)
        new_w, new_M = _recursion_step(
            runs, state.active, state.dw_bar, state.dM, state.residual, h
        )
        new = _state(runs, state.active, new_w, new_M)
        train, before = new.values["train"], state.values["train"]
        if np.all(np.isfinite(train) & (train <= before * (1 + 1e-6) + floor)):
            control["cap"] = min(eta0_max, control["cap"] * CAP_RECOVERY)
            return new, h
        control["backoffs"] += 1
        halvings += 1
        control["cap"] = h / 2
        if halvings > MAX_BACKOFFS:
            check_finite_loss(
                float(np.sum(train)),
                control["steps"],
                knob=f"eta0_max = {eta0_max:g} (step size)",
                hint="the stability limit grows during feature learning",
            )
            raise DivergenceError(
                f"the training loss keeps rising after {halvings} successive halvings "
                f"of the step (now {h:.3g}): reduce eta0_max = {eta0_max:g} or "
                f"eta0 = {eta0:g}"
            )


def _run(runs: _Runs, schedule, stop_below, keep_state) -> History:
    """The training loop: record, retire finished runs, step (with back-off)."""
    t_end, _, eta0_max, _, max_steps = schedule
    L0_train, L0_test = runs.data.train_loss0, runs.data.test_loss0
    state = _state(runs, np.arange(runs.alpha.size), runs.dw_bar, runs.dM)
    rows, times, t = [], [], 0.0
    control = {"cap": eta0_max, "backoffs": 0}  # "steps" is set before each step
    while True:
        row = {key: np.full(runs.alpha.size, np.nan) for key in _RECORDED}
        for key in _RECORDED:
            row[key][state.active] = state.values[key]
        rows.append(row)
        times.append(t)
        done = t >= runs.t_max[state.active] * (1 - 1e-12)
        if stop_below is not None:
            done |= (state.values["train"] < stop_below * L0_train) & (
                state.values["test"] < stop_below * L0_test
            )
        if t >= t_end * (1 - 1e-12) or np.all(done):
            break
        if len(rows) > max_steps:
            raise DivergenceError(
                f"the step bound max_steps = {max_steps} was passed at t = {t:.4g} "
                f"of t_max = {t_end:g} after {control['backoffs']} back-offs (each "
                f"halved the step cap, now {control['cap']:.3g}): start from a "
                f"smaller eta0_max = {eta0_max:g} (the stability limit grows during "
                "feature learning) or raise max_steps"
            )
        if np.any(done):
            state = _retire(runs, state, ~done)
        control["steps"] = len(rows)
        state, h = _safe_step(runs, state, t, schedule, control)
        t += h
    _store(runs, state)
    out = {key: np.array([row[key] for row in rows]).T for key in _RECORDED}
    w0, M0 = runs.net.w_bar0, runs.net.M0
    return History(
        t=np.array(times),
        alpha=runs.alpha.copy(),
        eps=runs.eps.copy(),
        train0=L0_train,
        test0=L0_test,
        w_bar=(w0 + runs.dw_bar) if keep_state else None,
        M=(M0 + runs.dM) if keep_state else None,
        backoffs=control["backoffs"],
        steps=len(rows) - 1,
        step_bound=max_steps,
        **out,
    )
