"""Gradient-descent simulations of chapter 2 (deep linear networks).

:func:`train` runs full-batch gradient descent, eq. (dl-gd), on
``L = 1/2 sum_mu ||y_mu - W_{N_l-1} ... W_1 x_mu||^2`` and records, at the requested
steps, what the chapter compares with theory (mode strengths, loss, hidden
representations, chosen outputs, the conserved quantity of eq. (dl-conserved)).
Conventions: inputs are the columns of ``x`` (``d x P``), targets the columns of ``y``
(``N_out x P``), ``Sigma_yx = y x^T``; gradient descent with step ``eta`` is Euler's
method for gradient flow with ``tau = 1/eta`` and ``t = step * eta``. Float64
throughout.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..device import single_threaded
from ..progress import progress
from ..seeding import make_rng
from ..validation import (
    check_array,
    check_bool,
    check_choice,
    check_finite_loss,
    check_float,
    check_int,
    check_times,
)
from .data import Dataset, DataSVD, check_dataset, data_svd
from .engine import (
    Backend,
    OutputReduction,
    Recorder,
    forward,
    gradients,
    loss_and_feedback,
)
from .theory import MAX_LAYERS, check_time_points, positive_float, stability_limit

__all__ = ["History", "init_weights", "train", "simulate_gradient_flow"]

#: Most bytes the recorded history of one run may take.
MAX_RECORD_BYTES = 500_000_000
#: Most bytes the default record (every step) may take before it becomes sparse.
DEFAULT_RECORD_BYTES = 100_000_000
#: Recorded steps when ``record`` is not given and every step would not fit.
DEFAULT_SPARSE_RECORDS = 1001


@dataclass(frozen=True)
class History:
    """What :func:`train` records at the requested steps.

    Attributes
    ----------
    step : numpy.ndarray
        Recorded gradient-descent steps, shape ``(n_rec,)``.
    t : numpy.ndarray
        The same times in units of ``tau = 1/eta`` (``t = step * eta``).
    loss : numpy.ndarray
        ``1/2 sum_mu ||y_mu - W x_mu||^2`` at those steps.
    mode_matrix : numpy.ndarray
        ``U^T W(t) V`` in the data's SVD basis, ``(n_rec, r, r)``; its diagonal holds
        the mode strengths.
    mode_strength : numpy.ndarray
        Its diagonal ``a_alpha(t) = u_alpha^T W v_alpha``, ``(n_rec, r)``.
    hidden : numpy.ndarray or None
        First hidden layer's representation of each item, ``W1 x``, ``(n_rec, N, P)``;
        None for a shallow net.
    predictions : numpy.ndarray
        Outputs ``W x`` for the rows ``prediction_rows``, ``(n_rec, len(rows), P)``.
    prediction_rows : tuple of int
        Which output features are in ``predictions``.
    balance_drift : numpy.ndarray
        ``max_i ||Q_i(t) - Q_i(0)||_F`` with ``Q_i = W_i W_i^T - W_{i+1}^T W_{i+1}``,
        eq. (dl-conserved).
    weights0, weights : tuple of numpy.ndarray
        Initial and final weight matrices ``(W_1, ..., W_{N_l - 1})``.
    svd : DataSVD
        The data's SVD used for the mode basis.
    eta : float
        Step size (``tau = 1/eta`` steps).
    n_layers : int
        Number of layers of units ``N_l``.
    """

    step: np.ndarray
    t: np.ndarray
    loss: np.ndarray
    mode_matrix: np.ndarray
    mode_strength: np.ndarray
    hidden: np.ndarray | None
    predictions: np.ndarray
    prediction_rows: tuple
    balance_drift: np.ndarray
    weights0: tuple
    weights: tuple
    svd: DataSVD
    eta: float
    n_layers: int


def _orthonormal(rng: np.random.Generator, n: int, rank: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, rank)))
    return q * np.sign(np.diag(r))


def init_weights(data: Dataset, *, hidden: int = 16, n_layers: int = 3,
                 init: str = "random", scale: float = 0.01, seed=0) -> tuple:
    """Initial weights ``(W_1, ..., W_{N_l-1})`` for a linear net on ``data``.

    Parameters
    ----------
    data : Dataset
    hidden : int
        Width ``N`` of every hidden layer (at most 4096).
    n_layers : int
        Layers of units ``2 <= N_l <= 12`` (``2`` = shallow, ``3`` = ``W2 W1``).
    init : {"random", "scaled_normal", "balanced"}
        ``"random"``: i.i.d. ``N(0, scale^2)`` entries; ``"scaled_normal"``: std
        ``scale / sqrt(n_in + n_out)`` (the Neuromatch initialiser); ``"balanced"``: the
        decoupled, balanced start ``W_1 = R_1 c V^T, ..., W_L = U c R_{L-1}^T`` with
        ``c^{N_l-1} = scale``, so every mode starts at strength ``a0 = scale`` (needs
        ``hidden >= rank``).
    scale : float
        Standard deviation, or the initial mode strength for ``"balanced"``.
    seed : int or numpy.random.Generator
    """
    data = check_dataset(data)
    hidden = check_int("hidden", hidden, minimum=1, maximum=4096)
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=MAX_LAYERS)
    init = check_choice("init", init, ("random", "scaled_normal", "balanced"))
    scale = positive_float("scale", scale)
    rng = make_rng(seed)
    dims = [data.x.shape[0]] + [hidden] * (n_layers - 2) + [data.y.shape[0]]
    if init == "balanced":
        svd = data_svd(data)
        rank = svd.s.size
        if n_layers > 2 and hidden < rank:
            raise ValueError(f"hidden must be >= the rank of Sigma_yx ({rank}) for a "
                             f"balanced start; got {hidden}")
        per_layer = scale ** (1.0 / (n_layers - 1))
        frames = (
            [svd.v]
            + [_orthonormal(rng, hidden, rank) for _ in range(n_layers - 2)]
            + [svd.u]
        )
        return tuple(
            per_layer * frames[i + 1] @ frames[i].T for i in range(n_layers - 1)
        )
    weights = []
    for i in range(n_layers - 1):
        std = scale if init == "random" else scale / math.sqrt(dims[i] + dims[i + 1])
        weights.append(std * rng.standard_normal((dims[i + 1], dims[i])))
    return tuple(weights)


def _check_weights0(data: Dataset, weights0, n_layers: int) -> tuple:
    if (isinstance(weights0, np.ndarray) or not hasattr(weights0, "__len__")
            or len(weights0) != n_layers - 1):
        raise ValueError(
            f"weights0 must be a sequence of n_layers - 1 = {n_layers - 1} matrices"
        )
    weights0 = tuple(
        check_array(f"weights0[{i}]", w, ndim=2) for i, w in enumerate(weights0)
    )
    dims = [data.x.shape[0]] + [w.shape[0] for w in weights0]
    for i, w in enumerate(weights0):
        if w.shape[1] != dims[i]:
            raise ValueError(
                f"weights0[{i}] must have {dims[i]} columns; got shape {w.shape}"
            )
    if dims[-1] != data.y.shape[0]:
        raise ValueError(f"weights0[-1] must have {data.y.shape[0]} rows (outputs); "
                         f"got {dims[-1]}")
    return weights0


def _record_steps(record, steps: int, bytes_per_record: int) -> np.ndarray:
    """Steps to record: as asked, or every step if it fits, else a sparse grid."""
    if record is None:
        if (steps + 1) * bytes_per_record <= DEFAULT_RECORD_BYTES:
            return np.arange(steps + 1)
        return np.unique(np.linspace(0, steps, DEFAULT_SPARSE_RECORDS).astype(np.int64))
    need = int(np.size(record)) * bytes_per_record  # refuse before sorting huge input
    if need > MAX_RECORD_BYTES:
        raise ValueError(
            f"record asks for {np.size(record)} snapshots of {bytes_per_record} "
            f"bytes = {need / 1e9:.1f} GB; the limit is "
            f"{MAX_RECORD_BYTES / 1e9:.1f} GB. Record fewer steps or fewer "
            f"prediction_rows."
        )
    return check_times("record", record, maximum=steps)


def _one_thread(function):
    """Run ``function`` with torch and OpenBLAS on one thread (small products)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with single_threaded():
            return function(*args, **kwargs)

    return wrapper


def _check_eta(
    data: Dataset, eta, n_layers: int, check_stability
) -> tuple[float, float]:
    eta = positive_float("eta", eta)
    limit = stability_limit(data, n_layers)
    if check_bool("check_stability", check_stability) and eta >= limit:
        raise ValueError(
            f"eta = {eta:g} is at or above the stability limit {limit:.4g} of eq. "
            f"(dl-stability) for N_l = {n_layers} layers on these data: near "
            f"convergence gradient descent would oscillate or diverge instead of "
            f"converging. Reduce eta "
            f"below {limit:.4g} (or pass check_stability=False to watch it happen). "
            f"The limit is necessary, not sufficient: it holds at the balanced fixed "
            f"point with whitened inputs, and an unbalanced start can diverge below "
            f"it."
        )
    return eta, limit


@_one_thread
def train(
    data: Dataset,
    *,
    hidden: int = 16,
    n_layers: int = 3,
    eta: float = 1e-3,
    steps: int = 1000,
    init: str = "random",
    init_scale: float = 0.01,
    seed=0,
    weights0: Sequence[np.ndarray] | None = None,
    record=None,
    prediction_rows=None,
    backend: str = "numpy",
    reduce_outputs: bool | None = None,
    check_stability: bool = True,
) -> History:
    """Full-batch gradient descent on ``L = 1/2 sum_mu ||y_mu - W x_mu||^2``, eq.
    (dl-gd).

    Parameters
    ----------
    data : Dataset
    hidden, n_layers, init, init_scale, seed
        Passed to :func:`init_weights` (ignored when ``weights0`` is given).
    eta : float
        Step size; must be below ``stability_limit``, eq. (dl-stability).
    steps : int
        Number of steps, at most 10 000 000.
    weights0 : sequence of arrays, optional
        Explicit initial weights.
    record : sequence of int, optional
        Steps at which to record. Default: every step when that fits in 100 MB, else
        1001 evenly spaced steps. A request above 500 MB raises ``ValueError``.
    prediction_rows : sequence of int, optional
        Output features whose predictions are recorded (default all).
    backend : {"numpy", "torch"}
        Array library (float64, CPU); both give the same numbers to rounding.
    reduce_outputs : bool, optional
        Use the exact output-space reduction of eq. (dl-reduction) (default: when
        ``N_out`` is much larger than ``P`` and ``N``); ``False`` is the straightforward
        full-width update. Both agree to rounding.
    check_stability : bool
        Refuse ``eta`` at or above the stability limit (default True).

    Raises
    ------
    ValueError
        For ``eta`` above the stability limit (the message names both), or a record
        that would not fit in memory.
    DivergenceError
        If the loss stops being finite (only possible with ``check_stability=False``
        or a large start).
    """
    data = check_dataset(data)
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=MAX_LAYERS)
    init_scale = positive_float("init_scale", init_scale)
    eta, limit = _check_eta(data, eta, n_layers, check_stability)
    steps = check_int("steps", steps, minimum=1, maximum=10_000_000)
    backend = Backend(check_choice("backend", backend, ("numpy", "torch")))
    if weights0 is None:
        weights0 = init_weights(data, hidden=hidden, n_layers=n_layers, init=init,
                                scale=init_scale, seed=seed)
    else:
        check_int("hidden", hidden, minimum=1)
        weights0 = _check_weights0(data, weights0, n_layers)
    n_out, n_items = data.y.shape
    rows = (
        tuple(range(n_out))
        if prediction_rows is None
        else tuple(
            int(r)
            for r in check_times("prediction_rows", prediction_rows, maximum=n_out - 1)
        )
    )
    widths = [w.shape[0] for w in weights0[:-1]]
    if reduce_outputs is None:
        reduce_outputs = n_out > 4 * (n_items + max(widths, default=n_items))
    reduce_outputs = check_bool("reduce_outputs", reduce_outputs)
    svd = data_svd(data)
    rank = svd.s.size
    per_record = 8 * (rank * rank + rank + 2 + (widths[0] if widths else 0) * n_items
                      + len(rows) * n_items)
    record_at = _record_steps(record, steps, per_record)
    return _run(data, svd, weights0, eta, limit, steps, record_at, rows, backend,
                reduce_outputs, n_layers)


def _run(
    data,
    svd,
    weights0,
    eta,
    limit,
    steps,
    record_at,
    rows,
    backend,
    reduce_outputs,
    n_layers,
) -> History:
    """The gradient-descent loop of :func:`train` (arguments already validated)."""
    reduction = (OutputReduction.build(data, weights0[-1], backend) if reduce_outputs
                 else None)
    if reduction:
        targets = backend.array(reduction.basis.T @ data.y)
        weights = ([backend.array(w) for w in weights0[:-1]]
                   + [backend.array(reduction.basis.T @ weights0[-1])])
        shrink = backend.array(np.eye(weights0[-1].shape[1]))
    else:
        targets, weights = backend.array(data.y), [backend.array(w) for w in weights0]
    x = backend.array(data.x)
    recorder = Recorder(weights, reduction, svd, rows, backend)
    wanted = set(record_at.tolist())
    knob = f"eta (learning rate) = {eta:g}"
    hint = f"Gradient descent is stable near convergence only for eta < {limit:.3g}."
    with np.errstate(over="ignore", invalid="ignore"):
        for step in progress(range(steps + 1), desc="training"):
            activations = forward(weights, x)
            residual = targets - activations[-1]
            loss, feedback = loss_and_feedback(residual, activations, reduction)
            if step % 10 == 0 or step == steps or step in wanted:
                check_finite_loss(loss, step, knob=knob, hint=hint)
            if step in wanted:
                recorder.add(step, loss, weights, activations)
            if step == steps:
                break
            grads = gradients(weights, activations, residual, feedback)
            if reduction:
                hidden_last = activations[-2]
                reduction.propagator = reduction.propagator @ (
                    shrink - eta * (hidden_last @ hidden_last.T))
            weights = [w + eta * g for w, g in zip(weights, grads, strict=True)]
    final = [np.array(backend.numpy(w)) for w in weights]
    if reduction:
        final[-1] = (reduction.basis @ final[-1]
                     + reduction.perp0 @ np.array(backend.numpy(reduction.propagator)))
    modes, step_arr = np.array(recorder.modes), np.array(recorder.steps)
    return History(step=step_arr, t=step_arr * eta, loss=np.array(recorder.loss),
                   mode_matrix=modes, mode_strength=np.einsum("tii->ti", modes).copy(),
                   hidden=np.array(recorder.hidden) if len(weights) > 1 else None,
                   predictions=np.array(recorder.pred), prediction_rows=rows,
                   balance_drift=np.array(recorder.drift),
                   weights0=tuple(np.array(w) for w in weights0),
                   weights=tuple(final), svd=svd, eta=eta, n_layers=n_layers)


def simulate_gradient_flow(sigma_yx, t, a0: float = 1e-3, *, dt: float = 1e-3,
                           hidden: int | None = None, n_layers: int = 3) -> np.ndarray:
    """Mode strengths by Euler-integrating the *coupled* matrix gradient flow, eq.
    (dl-flow).

    Starts from the balanced, decoupled state with every mode at ``a0`` (``tau = 1``,
    whitened inputs) and returns ``a_alpha(t)`` at the times ``t`` (rounded to multiples
    of ``dt``), shape ``(len(t), rank)``. This is the straightforward computation that
    :func:`~learning_dynamics.deep_linear.theory.mode_strength` replaces.
    """
    sigma_yx = check_array("sigma_yx", sigma_yx, ndim=2)
    t = check_time_points("t", t)
    dt = check_float("dt", dt, minimum=0.0, min_inclusive=False, maximum=0.5)
    a0 = positive_float("a0", a0)
    n_items = sigma_yx.shape[1]
    data = Dataset(x=np.eye(n_items), y=sigma_yx, item_names=tuple(range(n_items)),
                   feature_names=tuple(range(sigma_yx.shape[0])))
    rank = data_svd(data).s.size
    hidden = rank if hidden is None else check_int("hidden", hidden, minimum=1)
    steps = np.rint(t / dt).astype(np.int64)
    if steps.max() > 10_000_000:
        raise ValueError(f"t / dt must be at most 10 000 000 steps; got {steps.max()}")
    hist = train(
        data,
        hidden=hidden,
        n_layers=n_layers,
        eta=dt,
        steps=max(1, int(steps.max())),
        init="balanced",
        init_scale=a0,
        record=steps,
        prediction_rows=[0],
    )
    return hist.mode_strength[np.searchsorted(hist.step, steps)]
