"""Deep linear networks and the stage-like transitions of semantic development (chapter 2).

The chapter follows Saxe, McClelland & Ganguli (ICLR 2014; PNAS 2019) and derives:

* gradient flow of ``y = W2 W1 x`` on the squared error decouples, in the SVD basis of the
  input-output correlation ``Sigma_yx = U S V^T``, into one scalar equation per mode,
  ``tau da/dt = 2 a (s - a)``, eq. (dl-mode-ode);
* from a small balanced start each mode follows the sigmoid of eq. (dl-sigmoid),
  :func:`mode_strength`, with half-time ``(tau / 2s) ln(s/a0 - 1)``, eq. (dl-half-time);
* a shallow network learns every mode with the same time constant, eq. (dl-shallow);
* from a small random start each mode behaves as if it started at
  ``u0_eff = |a0 + b0|^2 / 4``, eq. (dl-u0-eff), :func:`effective_initial_strength`;
* the singular values of branching-diffusion (tree) data have one level per depth of the
  tree, eq. (dl-tree-spectrum), :func:`tree_level_spectrum`;
* ``N_l``-layer networks obey ``tau du/dt = (N_l-1) u^(2-2/(N_l-1)) (s-u)``, eq. (dl-depth-ode);
* code hyper-parameters map to ``tau`` (:func:`tau_from_hyperparameters`) and large steps
  need the discrete-time half-time of eq. (dl-discrete), :func:`discrete_half_time`.

Closed forms live in ``learning_dynamics.deep_linear_theory`` and data sets in
``learning_dynamics.deep_linear_data``; both are re-exported here, so `deep_linear` is the chapter's API.

Conventions (the book's): the loss is ``L = 1/2 sum_mu ||y_mu - W x_mu||^2`` (a *sum* over the
``P`` examples), inputs are the columns of ``x`` (``d x P``), targets the columns of ``y``
(``N_out x P``), ``Sigma_yx = y x^T`` and ``Sigma_x = x x^T`` (sums, as in the ICLR paper). With
one-hot items ``Sigma_x = I`` and ``Sigma_yx = y``. Gradient descent with step ``eta`` is Euler's
method for gradient flow with ``tau = 1/eta``; time ``t`` is reported in units of ``tau``
(``t = step * eta``). Everything is float64. Figures and the explorer live in
:mod:`learning_dynamics.deep_linear_figures`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .deep_linear_data import (DataSVD, Dataset, _check_dataset, add_property, branching_diffusion,
                               category_data, data_svd, toy_data, typicality_data)
from .deep_linear_theory import (_times, deep_half_time, discrete_half_time, half_time, integrate_mode_ode,
                                 mode_strength, shallow_half_time, shallow_mode_strength, tau_from_hyperparameters,
                                 tree_level_spectrum, tree_singular_values)
from .progress import progress
from .seeding import make_rng
from .validation import (
    check_array,
    check_bool,
    check_choice,
    check_finite_loss,
    check_float,
    check_int,
    check_times,
)

__all__ = [
    # closed forms
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
    # data
    "Dataset",
    "DataSVD",
    "data_svd",
    "toy_data",
    "branching_diffusion",
    "add_property",
    "typicality_data",
    "category_data",
    # training
    "History",
    "init_weights",
    "train",
    "simulate_gradient_flow",
    # diagnostics
    "effective_initial_strength",
    "crossing_time",
    "mode_half_times",
    "block_strength",
    "rsm",
    "rsm_correlation",
    "inductive_projection",
    "stability_limit",
]


# ============================================================================ training
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
        ``U^T W(t) V`` in the data's SVD basis, ``(n_rec, r, r)``; diagonal = mode strengths.
    mode_strength : numpy.ndarray
        Its diagonal ``a_alpha(t) = u_alpha^T W v_alpha``, ``(n_rec, r)``.
    hidden : numpy.ndarray or None
        First hidden layer's representation of each item, ``W1 x``, ``(n_rec, N, P)``; None for a shallow net.
    predictions : numpy.ndarray
        Outputs ``W x`` for the rows ``prediction_rows``, ``(n_rec, len(prediction_rows), P)``.
    prediction_rows : tuple of int
        Which output features are in ``predictions``.
    balance_drift : numpy.ndarray
        ``max_i ||Q_i(t) - Q_i(0)||_F`` with ``Q_i = W_i W_i^T - W_{i+1}^T W_{i+1}``, eq. (dl-conserved).
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


def _orthonormal(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    q, rr = np.linalg.qr(rng.standard_normal((n, r)))
    return q * np.sign(np.diag(rr))


def init_weights(data: Dataset, *, hidden: int = 16, n_layers: int = 3, init: str = "random",
                 scale: float = 0.01, seed=0) -> tuple:
    """Initial weights ``(W_1, ..., W_{N_l-1})`` for a linear net on ``data``.

    Parameters
    ----------
    data : Dataset
    hidden : int
        Width ``N`` of every hidden layer.
    n_layers : int
        Layers of units ``N_l >= 2`` (``2`` = shallow, ``3`` = ``W2 W1``).
    init : {"random", "scaled_normal", "balanced"}
        ``"random"``: i.i.d. ``N(0, scale^2)`` entries; ``"scaled_normal"``: std
        ``scale / sqrt(n_in + n_out)`` (the Neuromatch initialiser); ``"balanced"``: the decoupled,
        balanced start ``W_1 = R_1 c V^T, ..., W_L = U c R_{L-1}^T`` with ``c^{N_l-1} = scale``, so
        every mode starts at strength ``a0 = scale`` (needs ``hidden >= rank``).
    scale : float
        Standard deviation, or the initial mode strength for ``"balanced"``.
    seed : int or numpy.random.Generator
    """
    data = _check_dataset(data)
    N = check_int("hidden", hidden, minimum=1)
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=8)
    init = check_choice("init", init, ("random", "scaled_normal", "balanced"))
    scale = check_float("scale", scale, minimum=0.0, min_inclusive=False)
    rng = make_rng(seed)
    d, n_out = data.x.shape[0], data.y.shape[0]
    dims = [d] + [N] * (n_layers - 2) + [n_out]
    if init == "balanced":
        svd = data_svd(data)
        r = svd.s.size
        if n_layers > 2 and N < r:
            raise ValueError(f"hidden must be >= the rank of Sigma_yx ({r}) for a balanced start; got {N}")
        c = scale ** (1.0 / (n_layers - 1))
        frames = [svd.v] + [_orthonormal(rng, N, r) for _ in range(n_layers - 2)] + [svd.u]
        return tuple(c * frames[i + 1] @ frames[i].T for i in range(n_layers - 1))
    out = []
    for i in range(n_layers - 1):
        std = scale if init == "random" else scale / math.sqrt(dims[i] + dims[i + 1])
        out.append(std * rng.standard_normal((dims[i + 1], dims[i])))
    return tuple(out)


def stability_limit(data: Dataset, n_layers: int = 3) -> float:
    """Largest stable step near convergence, ``eta < 2 / ((N_l-1) s_max^(2-2/(N_l-1)))``, eq. (dl-stability)."""
    data = _check_dataset(data)
    n_layers = check_int("n_layers", n_layers, minimum=2)
    s_max = float(np.linalg.svd(data.sigma_yx, compute_uv=False)[0])
    m = n_layers - 1
    return 2.0 / (m * s_max ** (2.0 - 2.0 / m))


def train(data: Dataset, *, hidden: int = 16, n_layers: int = 3, eta: float = 1e-3, steps: int = 1000,
          init: str = "random", init_scale: float = 0.01, seed=0, weights0: Sequence[np.ndarray] | None = None,
          record=None, prediction_rows=None, backend: str = "numpy",
          reduce_outputs: bool | None = None) -> History:
    """Full-batch gradient descent on ``L = 1/2 sum_mu ||y_mu - W_L ... W_1 x_mu||^2``, eq. (dl-gd).

    Parameters
    ----------
    data : Dataset
    hidden, n_layers, init, init_scale, seed
        Passed to :func:`init_weights` (ignored when ``weights0`` is given).
    eta : float
        Step size; gradient-flow time is ``t = step * eta`` in units of ``tau``.
    steps : int
        Number of steps.
    weights0 : sequence of arrays, optional
        Explicit initial weights.
    record : sequence of int, optional
        Steps at which to record (default: every step).
    prediction_rows : sequence of int, optional
        Output features whose predictions are recorded (default: all; pass a few for wide outputs).
    backend : {"numpy", "torch"}
        Array library (float64, CPU); both give the same numbers to rounding.
    reduce_outputs : bool, optional
        Use the exact output-space reduction of eq. (dl-reduction), which never touches an array of
        size ``N_out`` during training (default: when ``N_out`` is much larger than ``P`` and ``N``).
        ``False`` is the straightforward full-width update; both agree to rounding.

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        If the loss stops being finite (``eta`` above :func:`stability_limit`).
    """
    data = _check_dataset(data)
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=1, maximum=10_000_000)
    backend = check_choice("backend", backend, ("numpy", "torch"))
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=8)
    if weights0 is None:
        weights0 = init_weights(data, hidden=hidden, n_layers=n_layers, init=init, scale=init_scale, seed=seed)
    else:
        check_int("hidden", hidden, minimum=1)
        if isinstance(weights0, np.ndarray) or not hasattr(weights0, "__len__") or len(weights0) != n_layers - 1:
            raise ValueError(f"weights0 must be a sequence of n_layers - 1 = {n_layers - 1} matrices")
        weights0 = tuple(check_array(f"weights0[{i}]", w, ndim=2) for i, w in enumerate(weights0))
        dims = [data.x.shape[0]] + [w.shape[0] for w in weights0]
        for i, w in enumerate(weights0):
            if w.shape[1] != dims[i]:
                raise ValueError(f"weights0[{i}] must have {dims[i]} columns; got shape {w.shape}")
        if dims[-1] != data.y.shape[0]:
            raise ValueError(f"weights0[-1] must have {data.y.shape[0]} rows (outputs); got {dims[-1]}")
    rec = np.arange(steps + 1) if record is None else check_times("record", record, maximum=steps)
    n_out, P = data.y.shape
    rows = tuple(range(n_out)) if prediction_rows is None else tuple(
        int(r) for r in check_times("prediction_rows", prediction_rows, maximum=n_out - 1))
    svd = data_svd(data)
    limit = stability_limit(data, n_layers)
    if reduce_outputs is None:
        reduce_outputs = n_out > 4 * (P + max(w.shape[0] for w in weights0[:-1] or [np.zeros((P, 1))]))
    reduce_outputs = check_bool("reduce_outputs", reduce_outputs)

    if backend == "torch":
        import torch

        def to(a):
            return torch.from_numpy(np.array(a, dtype=np.float64))

        def tonp(a):
            return a.detach().cpu().numpy()
    else:
        def to(a):
            return np.array(a, dtype=np.float64)

        def tonp(a):
            return a

    L = len(weights0)
    rows_idx = list(rows)
    X, V = to(data.x), to(svd.v)
    if reduce_outputs:
        # Exact reduction (eq. dl-reduction): W_L = Q A + W_perp with Q an orthonormal basis of the
        # column space of y. Then W_perp(t) = W_perp(0) Pi(t), Pi <- Pi (I - eta F F^T), and only
        # A (r x N) and Pi (N x N) are updated; nothing of size N_out is touched during training.
        Qf, sq, _ = np.linalg.svd(data.y, full_matrices=False)
        Qf = Qf[:, sq > 1e-12 * sq[0]]
        Wl0 = np.asarray(weights0[-1], dtype=np.float64)
        perp0 = Wl0 - Qf @ (Qf.T @ Wl0)
        Y, Ut = to(Qf.T @ data.y), to(svd.u.T @ Qf)
        const_loss = 0.5 * float(np.sum((data.y - Qf @ (Qf.T @ data.y)) ** 2))
        G0, perp_rows, Q_rows = to(perp0.T @ perp0), to(perp0[rows_idx]), to(Qf[rows_idx])
        Ws = [to(w) for w in weights0[:-1]] + [to(Qf.T @ Wl0)]
        Pi = to(np.eye(Wl0.shape[1]))
        eye = to(np.eye(Wl0.shape[1]))
    else:
        Y, Ut, const_loss = to(data.y), to(svd.u.T), 0.0
        Ws = [to(w) for w in weights0]

    def last_layer_gram():
        if reduce_outputs:
            return Ws[-1].T @ Ws[-1] + Pi.T @ G0 @ Pi
        return Ws[-1].T @ Ws[-1]

    def balance():
        grams = [Ws[i + 1].T @ Ws[i + 1] for i in range(L - 2)] + ([last_layer_gram()] if L > 1 else [])
        return [tonp(grams[i] - Ws[i] @ Ws[i].T) for i in range(L - 1)]

    Q0 = balance()
    out_t, out_loss, out_modes, out_hidden, out_pred, out_drift = [], [], [], [], [], []
    rec_set = set(rec.tolist())
    knob = f"eta (learning rate) = {eta:g}"
    hint = (f"Near convergence gradient descent is stable only for eta < {limit:.3g} "
            f"(eta (N_l-1) s_max^(2-2/(N_l-1)) < 2).")
    with np.errstate(over="ignore", invalid="ignore"):
        for k in progress(range(steps + 1), desc="training"):
            F = [X]
            for W in Ws:
                F.append(W @ F[-1])
            R = Y - F[-1]
            loss = 0.5 * float((R * R).sum()) + const_loss
            if reduce_outputs:
                GF = (Pi.T @ (G0 @ (Pi @ F[-2])))
                loss += 0.5 * float((F[-2] * GF).sum())
            if k % 10 == 0 or k == steps or k in rec_set:
                check_finite_loss(loss, k, knob=knob, hint=hint)
            if k in rec_set:
                M = Ut
                for W in reversed(Ws):
                    M = M @ W
                out_modes.append(tonp(M @ V))
                out_loss.append(loss)
                out_t.append(k)
                out_hidden.append(tonp(F[1]) if L > 1 else None)
                if reduce_outputs:
                    out_pred.append(tonp((Q_rows @ Ws[-1] + perp_rows @ Pi) @ F[-2]))
                else:
                    out_pred.append(tonp(F[-1][rows_idx]))
                out_drift.append(max((float(np.linalg.norm(q - q0)) for q, q0 in zip(balance(), Q0)), default=0.0))
            if k == steps:
                break
            B = R
            grads = [None] * L
            for i in range(L - 1, -1, -1):
                grads[i] = B @ F[i].T
                if i:
                    B = Ws[i].T @ B
                    if reduce_outputs and i == L - 1:
                        B = B - GF
            if reduce_outputs:
                Pi = Pi @ (eye - eta * (F[-2] @ F[-2].T))
            Ws = [W + eta * g for W, g in zip(Ws, grads)]
    weights = [np.array(tonp(w)) for w in Ws]
    if reduce_outputs:
        weights[-1] = Qf @ weights[-1] + perp0 @ np.array(tonp(Pi))
    modes = np.array(out_modes)
    step_arr = np.array(out_t)
    return History(step=step_arr, t=step_arr * eta, loss=np.array(out_loss), mode_matrix=modes,
                   mode_strength=np.einsum("tii->ti", modes).copy(),
                   hidden=np.array(out_hidden) if L > 1 else None, predictions=np.array(out_pred),
                   prediction_rows=rows, balance_drift=np.array(out_drift),
                   weights0=tuple(np.array(w, dtype=np.float64) for w in weights0),
                   weights=tuple(weights), svd=svd, eta=eta, n_layers=n_layers)


def simulate_gradient_flow(sigma_yx, t, a0: float = 1e-3, *, dt: float = 1e-3, hidden: int | None = None,
                           n_layers: int = 3) -> np.ndarray:
    """Mode strengths by Euler-integrating the *coupled* matrix gradient flow, eq. (dl-flow).

    Starts from the balanced, decoupled state with every mode at ``a0`` (``tau = 1``, whitened
    inputs) and returns ``a_alpha(t)`` at the times ``t`` (rounded to multiples of ``dt``), shape
    ``(len(t), rank)``. This is the straightforward computation that :func:`mode_strength` replaces.
    """
    sigma_yx = check_array("sigma_yx", sigma_yx, ndim=2)
    t = _times("t", t)
    dt = check_float("dt", dt, minimum=0.0, min_inclusive=False, maximum=0.5)
    a0 = check_float("a0", a0, minimum=0.0, min_inclusive=False)
    data = Dataset(x=np.eye(sigma_yx.shape[1]), y=sigma_yx, item_names=tuple(range(sigma_yx.shape[1])),
                   feature_names=tuple(range(sigma_yx.shape[0])))
    r = data_svd(data).s.size
    hidden = r if hidden is None else check_int("hidden", hidden, minimum=1)
    steps = np.rint(t / dt).astype(np.int64)
    hist = train(data, hidden=hidden, n_layers=n_layers, eta=dt, steps=max(1, int(steps.max())),
                 init="balanced", init_scale=a0, record=steps, prediction_rows=[0])
    return hist.mode_strength[np.searchsorted(hist.step, steps)]


# ============================================================================ diagnostics
def effective_initial_strength(weights, svd: DataSVD) -> np.ndarray:
    """Effective initial strength of each mode from a random two-layer start, eq. (dl-u0-eff).

    For mode ``alpha`` let ``a0 = W1 v_alpha`` and ``b0 = W2^T u_alpha`` (hidden-space vectors); the
    growing part of ``a . b`` starts at ``|a0 + b0|^2 / 4``. Inside a degenerate group the same
    construction gives a matrix ``(A + B)^T (A + B) / 4`` whose eigenvalues (descending) are returned.
    """
    if not hasattr(weights, "__len__") or len(weights) != 2:
        raise ValueError("weights must be the pair (W1, W2) of a two-layer net (n_layers = 3)")
    if not isinstance(svd, DataSVD):
        raise TypeError(f"svd must be a DataSVD; got {type(svd).__name__}")
    W1 = check_array("weights[0]", weights[0], ndim=2)
    W2 = check_array("weights[1]", weights[1], ndim=2)
    if W1.shape[1] != svd.v.shape[0] or W2.shape[0] != svd.u.shape[0] or W1.shape[0] != W2.shape[1]:
        raise ValueError(f"weights shapes {W1.shape}, {W2.shape} do not match the data "
                         f"({svd.v.shape[0]} inputs, {svd.u.shape[0]} outputs)")
    out = np.empty(svd.s.size)
    for g in svd.groups:
        idx = list(g)
        Pm = W1 @ svd.v[:, idx] + W2.T @ svd.u[:, idx]
        out[idx] = np.sort(np.linalg.eigvalsh(Pm.T @ Pm / 4.0))[::-1]
    return out


def crossing_time(t, values, level) -> np.ndarray:
    """First time each column of ``values`` reaches ``level`` (linear interpolation; NaN if never).

    ``values`` has shape ``(len(t),)`` or ``(len(t), k)``; ``level`` is a scalar or one per column.
    """
    t = _times("t", t)
    vals = check_array("values", values)
    single = vals.ndim == 1
    vals = vals[:, None] if single else vals
    if vals.ndim != 2 or vals.shape[0] != t.size:
        raise ValueError(f"values must have shape (len(t), k) = ({t.size}, k); got {np.shape(values)}")
    lev = np.broadcast_to(np.atleast_1d(check_array("level", level)), (vals.shape[1],))
    out = np.full(vals.shape[1], np.nan)
    for j in range(vals.shape[1]):
        above = np.nonzero(vals[:, j] >= lev[j])[0]
        if above.size == 0:
            continue
        i = above[0]
        if i == 0:
            out[j] = t[0]
        else:
            f = (lev[j] - vals[i - 1, j]) / (vals[i, j] - vals[i - 1, j])
            out[j] = t[i - 1] + f * (t[i] - t[i - 1])
    return out[0] if single else out


def mode_half_times(history: History, *, in_steps: bool = False) -> np.ndarray:
    """Measured time at which each mode strength first reaches ``s/2`` (units of ``tau``, or steps)."""
    if not isinstance(history, History):
        raise TypeError(f"history must be a History; got {type(history).__name__}")
    check_bool("in_steps", in_steps)
    t = history.step.astype(float) if in_steps else history.t
    return crossing_time(t, history.mode_strength, history.svd.s / 2.0)


def block_strength(history: History, group) -> np.ndarray:
    """Summed strength ``tr(U_g^T W V_g)`` of a group of modes (basis-independent inside a degenerate group)."""
    if not isinstance(history, History):
        raise TypeError(f"history must be a History; got {type(history).__name__}")
    idx = [int(i) for i in check_times("group", group, maximum=history.svd.s.size - 1)]
    return np.trace(history.mode_matrix[:, idx][:, :, idx], axis1=1, axis2=2)


def rsm(hidden) -> np.ndarray:
    """Representational similarity matrix ``H^T H`` of hidden representations (items as columns).

    ``hidden`` is ``(N, P)`` or a stack ``(n, N, P)``; returns ``(P, P)`` or ``(n, P, P)``.
    """
    H = check_array("hidden", hidden)
    if H.ndim not in (2, 3):
        raise ValueError(f"hidden must have shape (N, P) or (n, N, P); got {H.shape}")
    return np.swapaxes(H, -1, -2) @ H


def rsm_correlation(rsm_a, rsm_b, *, include_diagonal: bool = False) -> float:
    """Pearson correlation of the upper triangles of two ``P x P`` similarity matrices."""
    A = check_array("rsm_a", rsm_a, ndim=2)
    B = check_array("rsm_b", rsm_b, ndim=2)
    if A.shape != B.shape or A.shape[0] != A.shape[1] or A.shape[0] < 3:
        raise ValueError(f"rsm_a and rsm_b must be square matrices of the same size >= 3; got {A.shape}, {B.shape}")
    check_bool("include_diagonal", include_diagonal)
    iu = np.triu_indices(A.shape[0], k=0 if include_diagonal else 1)
    return float(np.corrcoef(A[iu], B[iu])[0, 1])


def inductive_projection(hidden, item: int) -> np.ndarray:
    """How a property taught for ``item`` generalises to every item, eq. (dl-projection).

    Training only a new output row on ``item`` (hidden layer frozen) gives the min-norm row
    ``w = h_i^T / ||h_i||^2``, which predicts ``h_j . h_i / ||h_i||^2`` for item ``j``.
    ``hidden`` is ``(N, P)`` or ``(n, N, P)``.
    """
    H = check_array("hidden", hidden)
    if H.ndim not in (2, 3):
        raise ValueError(f"hidden must have shape (N, P) or (n, N, P); got {H.shape}")
    item = check_int("item", item, minimum=0, maximum=H.shape[-1] - 1)
    hi = H[..., item]
    return np.einsum("...np,...n->...p", H, hi) / np.sum(hi * hi, axis=-1)[..., None]
