"""Simulations of chapter 6: gradient descent on the linear student, exactly (the
eigen-solution, eq. (gen-modes)) and naively (an explicit loop, numpy or PyTorch),
and the readout of a random-features network (eq. (gen-rf)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import check_array, check_float, check_memory, check_times
from .data import LinearTask, RandomFeaturesTask
from .theory import ZERO_EIGENVALUE, decay

__all__ = [
    "MAX_NAIVE_WORK",
    "GDRun",
    "ReadoutRun",
    "Spectrum",
    "gd_exact",
    "gd_naive",
    "gd_torch",
    "readout_errors",
    "ridge_errors",
    "spectrum",
    "split_error",
]

MAX_NAIVE_WORK = 2e10
"""Largest ``seeds * steps * d * P`` an explicit loop accepts (minutes of CPU)."""


@dataclass(frozen=True)
class Spectrum:
    """Eigen-decomposition ``X X^T = V diag(lam) V^T`` of each seed.

    Attributes
    ----------
    eigenvalues : ndarray, shape (seeds, d)
        Ascending eigenvalues, clipped at 0.
    eigenvectors : ndarray, shape (seeds, d, d)
        Orthonormal eigenvectors as columns.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray


@dataclass(frozen=True)
class GDRun:
    """Errors (and optionally weights) of gradient descent at the requested times.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Times ``steps * eta`` (or flow time).
    test_error : ndarray, shape (seeds, T)
        ``||w - w_teacher||^2 / d + noise2`` (eq. (gen-eg)): exact over fresh inputs.
    train_error : ndarray, shape (seeds, T)
        ``(1/P) sum_mu (y_mu - w x_mu)^2``.
    weights : ndarray, shape (seeds, T, d), or None
        The weights, when asked for.
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    weights: np.ndarray | None


def _check_task(task) -> LinearTask:
    if not isinstance(task, LinearTask):
        raise TypeError(f"task must be a LinearTask (from make_task); got "
                        f"{type(task).__name__}")
    return task


def spectrum(task: LinearTask) -> Spectrum:
    """Eigen-decomposition of ``X X^T`` for every seed (eq. (gen-modes)).

    The ``d - P`` smallest eigenvalues (``P < d``) are set to exactly 0: Gaussian
    inputs have rank ``min(d, P)`` with probability one, and a threshold would
    misclassify the genuinely tiny smallest eigenvalue that occurs near ``P = d``.
    """
    task = _check_task(task)
    check_memory("task", (task.seeds, task.d), 8.0 * 3 * task.seeds * task.d**2)
    C = task.X @ np.swapaxes(task.X, 1, 2)
    lam, V = np.linalg.eigh(C)
    lam = np.maximum(lam, 0.0)
    lam[:, : max(0, task.d - task.P)] = 0.0  # rank min(d, P): structural zeros
    return Spectrum(lam, V)


def _errors(task: LinearTask, w: np.ndarray):
    """Test and training errors of weights ``w`` of shape (seeds, T, d)."""
    test = np.sum((w - task.w_teacher[:, None, :]) ** 2, axis=-1) / task.d + task.noise2
    residual = task.y[:, None, :] - w @ task.X
    return test, np.mean(residual**2, axis=-1)


def gd_exact(task: LinearTask, t, *, eta: float | None = None,
             return_weights: bool = False, spec: Spectrum | None = None) -> GDRun:
    """Gradient descent on ``(1/2) sum_mu (y_mu - w x_mu)^2`` solved exactly, mode by
    mode: eq. (gen-modes).

    In the eigenbasis of ``X X^T`` each coordinate obeys
    ``z_i(t) = z_i(0) D_i(t) + b_i (1 - D_i(t)) / lam_i`` with ``b = y X^T V`` and
    ``D_i = (1 - eta lam_i)^(t/eta)`` (``exp(-lam_i t)`` for flow, ``eta=None``);
    zero modes keep ``z_i(0)`` (plus ``t b_i``, with ``b_i`` at round-off).
    The cost is one eigen-decomposition per seed, whatever ``t``.

    Parameters
    ----------
    task : LinearTask
    t : array_like
        Times ``steps * eta`` (whole multiples of ``eta``), ``inf`` for the limit.
    eta : float or None
        Step size; must satisfy ``eta * lam_max < 2``.
    return_weights : bool
        Also return the weights at every time.
    spec : Spectrum, optional
        A precomputed :func:`spectrum` of this task.
    """
    task = _check_task(task)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if t.ndim != 1 or t.size > 10_000 or np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(f"t must be 1 to 10000 times >= 0; got {t[:4]}...")
    check_memory("t", t.size, 8.0 * 3 * task.seeds * t.size * (task.d + task.P))
    spec = spectrum(task) if spec is None else spec
    lam, V = spec.eigenvalues, spec.eigenvectors
    D = decay(lam, t, eta)  # (seeds, d, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        G = np.where(lam[..., None] > ZERO_EIGENVALUE, (1.0 - D) / lam[..., None],
                     np.where(np.isinf(t), 0.0, t))
    b = np.einsum("sdp,sp->sd", task.X, task.y)
    b = np.einsum("sd,sdk->sk", b, V)
    z0 = np.einsum("sd,sdk->sk", task.w0, V)
    z = z0[..., None] * D + b[..., None] * G  # (seeds, d, T)
    w = np.einsum("sdk,skT->sTd", V, z)
    test, train = _errors(task, w)
    return GDRun(t, test, train, w if return_weights else None)


def _steps(steps, task, work_per_step):
    steps = check_times("steps", steps, maximum=10**6)
    work = float(steps.max()) * work_per_step
    if work > MAX_NAIVE_WORK:
        raise ValueError(f"steps up to {int(steps.max())} would need {work:.2g} "
                         f"multiply-adds (limit {MAX_NAIVE_WORK:.0e}): use gd_exact")
    return steps


def gd_naive(task: LinearTask, steps, *, eta: float) -> GDRun:
    """Gradient descent by an explicit loop, ``w <- w + eta (y - w X) X^T``
    (eq. (gen-gd)); the reference for :func:`gd_exact`.

    Parameters
    ----------
    task : LinearTask
    steps : array_like of int
        Steps at which to record (the loop runs to the largest, at most 10^6).
    eta : float
        Step size.
    """
    task = _check_task(task)
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False, maximum=100.0)
    steps = _steps(steps, task, 2.0 * task.seeds * task.d * task.P)
    w = task.w0.copy()
    out = np.empty((task.seeds, steps.size, task.d))
    k, j = 0, 0
    while j < steps.size:
        if k == steps[j]:
            out[:, j] = w
            j += 1
            continue
        residual = task.y - np.einsum("sd,sdp->sp", w, task.X)
        w = w + eta * np.einsum("sp,sdp->sd", residual, task.X)
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"gradient descent diverged at step {k}: "
                                     f"reduce eta={eta:g}")
        k += 1
    test, train = _errors(task, out)
    return GDRun(steps * eta, test, train, out)


def gd_torch(task: LinearTask, steps, *, eta: float) -> GDRun:
    """Gradient descent in PyTorch: autograd of ``(1/2) sum (y - w X)^2``, float64
    (eq. (gen-gd)); a second reference for :func:`gd_exact`."""
    import torch

    task = _check_task(task)
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False, maximum=100.0)
    steps = _steps(steps, task, 4.0 * task.seeds * task.d * task.P)
    X, y = torch.from_numpy(task.X), torch.from_numpy(task.y)
    w = torch.from_numpy(task.w0.copy()).requires_grad_(True)
    out = np.empty((task.seeds, steps.size, task.d))
    j = 0
    for k in range(int(steps.max()) + 1):
        while j < steps.size and steps[j] == k:
            out[:, j] = w.detach().numpy()
            j += 1
        if k == steps.max():
            break
        loss = 0.5 * ((y - torch.einsum("sd,sdp->sp", w, X)) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, w)
        with torch.no_grad():
            w -= eta * grad
    test, train = _errors(task, out)
    return GDRun(steps * eta, test, train, out)


def split_error(task: LinearTask, weights, spec: Spectrum | None = None):
    """Split ``||w - w_teacher||^2 / d`` into the frozen (null-space of ``X X^T``)
    and the learned (row-space) parts, eq. (gen-frozen).

    Parameters
    ----------
    weights : array_like, shape (seeds, T, d)

    Returns
    -------
    null_part, range_part : ndarray, shape (seeds, T)
    null_motion : ndarray, shape (seeds, T)
        ``||P_null (w - w0)|| / ||w0 - w_teacher||``: zero up to round-off if the
        frozen subspace never moves.
    """
    task = _check_task(task)
    w = check_array("weights", weights, shape=(task.seeds, None, task.d))
    spec = spectrum(task) if spec is None else spec
    null = spec.eigenvalues <= ZERO_EIGENVALUE  # (seeds, d)
    e = np.einsum("sTd,sdk->sTk", w - task.w_teacher[:, None], spec.eigenvectors)
    m = np.einsum("sTd,sdk->sTk", w - task.w0[:, None], spec.eigenvectors)
    nul = null[:, None, :]
    scale = np.linalg.norm(task.w0 - task.w_teacher, axis=-1)[:, None]
    return (np.sum(np.where(nul, e**2, 0.0), -1) / task.d,
            np.sum(np.where(nul, 0.0, e**2), -1) / task.d,
            np.sqrt(np.sum(np.where(nul, m**2, 0.0), -1)) / scale)


@dataclass(frozen=True)
class ReadoutRun:
    """Test errors of the random-features readout trained by gradient flow from zero.

    Attributes
    ----------
    widths : ndarray, shape (W,)
    t : ndarray, shape (T,)
    test_error : ndarray, shape (seeds, W, T)
        With the drawn label noise (population error, noise variance included).
    predicted : ndarray, shape (seeds, W, T)
        Average over the label noise, in closed form given the features: the error
        of the readout trained on clean labels plus the noise part (eq. (gen-rf-noise)).
    noise_part : ndarray, shape (seeds, W, T)
        The noise part alone.
    smallest_eigenvalue : ndarray, shape (seeds, W)
        Smallest non-zero eigenvalue of the feature correlation ``Phi Phi^T``.
    """

    widths: np.ndarray
    t: np.ndarray
    test_error: np.ndarray
    predicted: np.ndarray
    noise_part: np.ndarray
    smallest_eigenvalue: np.ndarray


def readout_errors(task: RandomFeaturesTask, widths, t) -> ReadoutRun:
    """Train the readout of random-features students of several widths by gradient
    flow on ``(1/2) sum_mu (y_mu - a phi(x_mu))^2`` from ``a = 0``, exactly through
    the SVD of the features (eq. (gen-rf)), and compare with the label-noise average
    of eq. (gen-rf-noise).

    Parameters
    ----------
    task : RandomFeaturesTask
    widths : array_like of int
        Student widths ``N``, each in ``[1, task.width_max]``.
    t : array_like
        Flow times, ``inf`` allowed.
    """
    if not isinstance(task, RandomFeaturesTask):
        raise TypeError(f"task must be a RandomFeaturesTask; got {type(task).__name__}")
    widths = check_times("widths", widths, maximum=task.width_max)
    if widths.min() < 1:
        raise ValueError("widths must be >= 1")
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if t.ndim != 1 or t.size > 10_000 or np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(f"t must be 1 to 10000 times >= 0; got {t[:4]}...")
    seeds, P = task.y.shape
    shape = (seeds, widths.size, t.size)
    test, pred, noise_part = np.empty(shape), np.empty(shape), np.empty(shape)
    smallest = np.empty((seeds, widths.size))
    for s in range(seeds):
        for j, n in enumerate(widths):
            scale = math.sqrt(task.width_max / n)
            phi = task.features[s, :n] * scale
            cov = task.feature_cov[s, :n, :n] * scale**2
            c = task.feature_target[s, :n] * scale
            U, sv, Vt = np.linalg.svd(phi, full_matrices=False)
            r = min(int(n), P)  # rank of the features, with probability one
            U, sv, Vt = U[:, :r], sv[:r], Vt[:r]
            lam = sv**2
            smallest[s, j] = lam.min()
            D = decay(lam, t)
            gain = (1.0 - D) / sv[:, None]  # (r, T): a = U diag(gain) V^T y
            clean = task.y[s] - task.noise[s]

            def readout(labels, U=U, Vt=Vt, gain=gain):
                return U @ (gain * (Vt @ labels)[:, None])  # (n, T)

            def error(a, cov=cov, c=c, s=s):
                return (np.einsum("nT,nm,mT->T", a, cov, a) - 2 * c @ a
                        + task.target_power[s] + task.noise2[s])

            a_clean = readout(clean)
            test[s, j] = error(readout(task.y[s]))
            Ucov = np.einsum("nr,nm,mr->r", U, cov, U)
            noise_part[s, j] = task.noise2[s] * Ucov @ gain**2
            pred[s, j] = error(a_clean) + noise_part[s, j]
    return ReadoutRun(widths, t, test, pred, noise_part, smallest)


def ridge_errors(task: LinearTask, gamma: float) -> np.ndarray:
    """Test error of ridge regression ``w = y X^T (X X^T + gamma I)^-1`` per seed, the
    minimiser of the summed loss plus ``(gamma/2)||w||^2`` (eq. (gen-ridge)).

    Returns
    -------
    ndarray, shape (seeds,)
    """
    task = _check_task(task)
    gamma = check_float("gamma", gamma, minimum=0.0, min_inclusive=False, maximum=1e6)
    check_memory("task", (task.seeds, task.d), 8.0 * 2 * task.seeds * task.d**2)
    C = task.X @ np.swapaxes(task.X, 1, 2) + gamma * np.eye(task.d)
    b = np.einsum("sdp,sp->sd", task.X, task.y)[..., None]
    w = np.linalg.solve(C, b)[..., 0]
    return np.sum((w - task.w_teacher) ** 2, axis=-1) / task.d + task.noise2
