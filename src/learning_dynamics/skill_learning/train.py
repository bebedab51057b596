"""Simulations of chapter 7: the Geometry model under SGD, SignGD and Adam, the
exact SGD reduction, a two-layer linear network and the two-task parity MLP.

The naive engine :func:`geometry_run` moves the full parameter vector ``x`` in
``R^d`` (numpy, or ``torch.optim`` for the PyTorch check); :func:`sgd_skills` is the
exact reduction of SGD with orthonormal tasks to one multiplicative scalar chain per
skill (eq. (sl-sgd-step)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..seeding import make_rng, torch_generator
from ..validation import (
    check_array,
    check_choice,
    check_float,
    check_int,
    check_memory,
)
from .data import check_frequencies, draw_counts
from .theory import THRESHOLD

__all__ = [
    "MAX_STEPS",
    "SkillRun",
    "learning_times",
    "sgd_skills",
    "geometry_run",
    "deep_linear_sgd",
    "ParityRun",
    "train_parity_mlp",
]

#: Largest number of optimiser steps a simulation accepts.
MAX_STEPS = 200_000


@dataclass(frozen=True)
class SkillRun:
    """Skill trajectories of a batch of runs.

    Attributes
    ----------
    s : numpy.ndarray
        Skills ``s_k`` before each step and after the last, shape
        ``(steps + 1, seeds, n)`` (``None`` when only times were kept).
    learning_time : numpy.ndarray
        First step index with ``s_k > threshold`` (the number of steps completed),
        ``inf`` if never; shape ``(seeds, n)``.
    """

    s: np.ndarray | None
    learning_time: np.ndarray


def learning_times(s, threshold: float = THRESHOLD) -> np.ndarray:
    """First index along axis 0 at which ``s > threshold`` (``inf`` if never).

    Parameters
    ----------
    s : array_like
        Skill trajectories, shape ``(steps + 1, ...)``.
    threshold : float
        Level in (0, 1).
    """
    s = check_array("s", s)
    threshold = check_float("threshold", threshold, minimum=0.0, maximum=1.0,
                            min_inclusive=False, max_inclusive=False)
    above = s > threshold
    first = np.argmax(above, axis=0).astype(np.float64)
    first[~above.any(axis=0)] = np.inf
    return first


def sgd_skills(p, eta: float, steps: int, *, batch: int | None = 128, seeds: int = 1,
               seed: int = 0, counts=None, keep: bool = False,
               threshold: float = THRESHOLD) -> SkillRun:
    """Exact reduction of minibatch SGD with orthonormal tasks, eq. (sl-sgd-step).

    Each residual obeys ``u_k <- u_k (1 - eta n_k / B)`` with ``n_k`` the count of
    task ``k`` in the minibatch (``p_k`` for exact gradients). Runs are batched.

    Parameters
    ----------
    p : array_like
        Frequencies, shape ``(n,)`` or ``(seeds, n)``.
    eta : float
        Step size, ``0 < eta < 1``.
    steps : int
        Steps, at most ``MAX_STEPS``.
    batch : int or None
        Minibatch size ``B``; None for exact gradients.
    seeds : int
        Runs (ignored when ``p`` or ``counts`` fix it).
    seed : int
        Seed of the task counts.
    counts : array_like, optional
        Given task counts, shape ``(steps, seeds, n)`` (for example those of a naive
        run); drawn here otherwise.
    keep : bool
        Keep the whole trajectory (memory ``8 (steps + 1) seeds n`` bytes).
    threshold : float
        Level that counts as learned.
    """
    p = check_frequencies("p", p)
    eta = check_float("eta", eta, minimum=0.0, maximum=1.0, min_inclusive=False,
                      max_inclusive=False)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    seeds = check_int("seeds", seeds, minimum=1, maximum=100_000)
    if p.ndim == 1:
        p = np.broadcast_to(p, (seeds, p.size)).copy()
    if counts is not None:
        counts = check_array("counts", counts, shape=(steps,) + p.shape)
        batch = int(round(counts[0, 0].sum()))
    elif batch is not None:
        batch = check_int("batch", batch, minimum=1, maximum=10**6)
    if keep:
        check_memory("steps * seeds * n", steps * p.size, 8.0 * (steps + 1) * p.size)
    log_u = np.zeros(p.shape)
    threshold_log = np.log1p(-threshold)
    first = np.full(p.shape, np.inf)
    kept = [np.zeros((1,) + p.shape)] if keep else None
    chunk = max(1, min(steps, int(2e6 // p.size)))
    rng_seed = seed
    for start in range(0, steps, chunk):
        m = min(chunk, steps - start)
        if counts is not None:
            frac = counts[start:start + m] / batch
        elif batch is None:
            frac = np.broadcast_to(p, (m,) + p.shape)
        else:
            frac = draw_counts(p, batch, m, seed=rng_seed) / batch
            rng_seed += 1  # a fresh, distinct stream per chunk
        path = log_u + np.cumsum(np.log1p(-eta * frac), axis=0)
        crossed = path < threshold_log
        hit = crossed.any(axis=0) & np.isinf(first)
        first[hit] = start + 1 + np.argmax(crossed, axis=0)[hit]
        log_u = path[-1]
        if keep:
            kept.append(1 - np.exp(path))
    s = np.concatenate(kept, axis=0) if keep else None
    return SkillRun(s=s, learning_time=first)


def _gradient_weights(p, u, counts_step, batch):
    """Per-task weights of the negative gradient: ``(n_k/B) u_k`` or ``p_k u_k``."""
    return (p if counts_step is None else counts_step / batch) * u


def geometry_run(tasks, p, optimiser: str, eta: float, steps: int, *,
                 batch: int | None = None, seed: int = 0, counts=None,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 backend: str = "numpy") -> SkillRun:
    """Naive Geometry-model training of ``x in R^d`` from ``x = 0``, eq. (sl-geometry).

    Each step uses the negative gradient ``sum_k w_k (1 - s_k) e_k`` of the minibatch
    loss ``(1/B) sum_b (1/2)(1 - s_{k_b})^2`` (``w_k = n_k/B``; ``w_k = p_k`` for exact
    gradients) and moves ``x`` by SGD, SignGD (``x += eta g / (|g| + eps)`` per
    coordinate: Adam with betas ``(0, 0)``) or Adam.

    Parameters
    ----------
    tasks : array_like
        Task directions, shape ``(seeds, n, d)``.
    p : array_like
        Frequencies, shape ``(n,)`` or ``(seeds, n)``.
    optimiser : {"sgd", "signgd", "adam"}
    eta : float
        Step size (> 0, at most 1).
    steps : int
        Steps, at most ``MAX_STEPS``; ``steps * seeds * d`` is bounded too.
    batch : int or None
        Minibatch size ``B`` (task counts drawn with ``seed``); None: exact gradients.
    seed : int
        Seed of the task counts.
    counts : array_like, optional
        Given task counts ``(steps, seeds, n)`` (overrides ``batch`` and ``seed``).
    betas, eps : tuple of float, float
        Adam's coefficients (``optimiser="adam"``; SignGD uses ``(0, 0)``).
    backend : {"numpy", "torch"}
        ``"torch"`` builds the loss and lets ``torch.optim`` (SGD or Adam) step.

    Returns
    -------
    SkillRun
        Skills before each step and after the last, and the learning times.
    """
    tasks = check_array("tasks", tasks, ndim=3)
    S, n, d = tasks.shape
    p = check_frequencies("p", p)
    p = np.broadcast_to(p, (S, n)).copy() if p.ndim == 1 else p
    if p.shape != (S, n):
        raise ValueError(f"p must have shape ({n},) or ({S}, {n}); got {p.shape}")
    optimiser = check_choice("optimiser", optimiser, ("sgd", "signgd", "adam"))
    eta = check_float("eta", eta, minimum=0.0, maximum=1.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    backend = check_choice("backend", backend, ("numpy", "torch"))
    eps = check_float("eps", eps, minimum=0.0)
    b1, b2 = (check_float(f"betas[{i}]", b, minimum=0.0, maximum=1.0,
                          max_inclusive=False) for i, b in enumerate(betas))
    if optimiser == "signgd":
        b1, b2 = 0.0, 0.0
    if steps * S * d > 5e9:
        raise ValueError(f"steps * seeds * d must be <= 5e9 (minutes of work); got "
                         f"{steps} * {S} * {d}")
    check_memory("steps * seeds * n", steps * S * n, 8.0 * (steps + 1) * S * n)
    if counts is not None:
        counts = check_array("counts", counts, shape=(steps, S, n))
        batch = int(round(counts[0, 0].sum()))
    elif batch is not None:
        batch = check_int("batch", batch, minimum=1, maximum=10**6)
        counts = draw_counts(p, batch, steps, seed=seed)
    if backend == "torch":
        s = _geometry_torch(tasks, p, optimiser, eta, steps, batch, counts,
                            (b1, b2), eps)
    else:
        s = _geometry_numpy(tasks, p, optimiser, eta, steps, batch, counts,
                            (b1, b2), eps)
    return SkillRun(s=s, learning_time=learning_times(s))


def _geometry_numpy(tasks, p, optimiser, eta, steps, batch, counts, betas, eps):
    S, n, d = tasks.shape
    x = np.zeros((S, d))
    m, v = np.zeros((S, d)), np.zeros((S, d))
    b1, b2 = betas
    s = np.zeros((steps + 1, S, n))
    for i in range(steps):
        u = 1 - s[i]
        w = _gradient_weights(p, u, None if counts is None else counts[i], batch)
        grad = -np.einsum("sk,skd->sd", w, tasks)  # gradient of the loss
        if optimiser == "sgd":
            x = x - eta * grad
        else:
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad**2
            m_hat = m / (1 - b1 ** (i + 1))
            v_hat = v / (1 - b2 ** (i + 1))
            x = x - eta * m_hat / (np.sqrt(v_hat) + eps)
        s[i + 1] = np.einsum("skd,sd->sk", tasks, x)
    return s


def _geometry_torch(tasks, p, optimiser, eta, steps, batch, counts, betas, eps):
    import torch

    S, n, d = tasks.shape
    t = torch.from_numpy(tasks)
    x = torch.zeros((S, d), dtype=torch.float64, requires_grad=True)
    if optimiser == "sgd":
        opt = torch.optim.SGD([x], lr=eta)
    else:
        opt = torch.optim.Adam([x], lr=eta, betas=betas, eps=eps)
    weights = torch.from_numpy(p)
    s = np.zeros((steps + 1, S, n))
    for i in range(steps):
        if counts is not None:
            weights = torch.from_numpy(counts[i] / batch)
        skills = torch.einsum("skd,sd->sk", t, x)
        loss = (weights * 0.5 * (1 - skills) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            s[i + 1] = torch.einsum("skd,sd->sk", t, x).numpy()
    return s


def deep_linear_sgd(p, eta: float, steps: int, *, hidden: int = 8, batch: int = 16,
                    seeds: int = 1, seed: int = 0, init_scale: float = 1e-3,
                    rotated: bool = True) -> np.ndarray:
    """Minibatch SGD on a two-layer linear network ``W_2 W_1``, eq. (sl-deep-linear).

    Each example is input ``v_k`` with target ``u_k`` (skill ``k`` drawn with
    probability ``p_k``); ``v_k``, ``u_k`` are the coordinate axes (``rotated=False``)
    or the columns of random orthogonal matrices. Loss ``(1/2B) sum ||y - W_2 W_1
    x||^2``; weights start i.i.d. Gaussian with standard deviation ``init_scale``.

    Returns
    -------
    numpy.ndarray
        Mode strengths ``a_k = u_k^T W_2 W_1 v_k`` before each step and after the
        last, shape ``(steps + 1, seeds, n)``.
    """
    p = check_frequencies("p", p)
    if p.ndim != 1:
        raise ValueError(f"p must be one-dimensional; got shape {p.shape}")
    n = p.size
    eta = check_float("eta", eta, minimum=0.0, maximum=10.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    hidden = check_int("hidden", hidden, minimum=1, maximum=1000)
    batch = check_int("batch", batch, minimum=1, maximum=10**5)
    seeds = check_int("seeds", seeds, minimum=1, maximum=10_000)
    init_scale = check_float("init_scale", init_scale, minimum=0.0, maximum=1.0,
                             min_inclusive=False)
    if steps * seeds * hidden * n > 5e9:
        raise ValueError("steps * seeds * hidden * n must be <= 5e9 (minutes of work)")
    check_memory("steps * seeds * n", steps * seeds * n, 8.0 * (steps + 1) * seeds * n)
    rng = make_rng(seed)
    if rotated:
        V = np.linalg.qr(rng.standard_normal((seeds, n, n)))[0]
        U = np.linalg.qr(rng.standard_normal((seeds, n, n)))[0]
    else:
        V = U = np.broadcast_to(np.eye(n), (seeds, n, n))
    W1 = init_scale * rng.standard_normal((seeds, hidden, n))
    W2 = init_scale * rng.standard_normal((seeds, n, hidden))
    counts = draw_counts(np.broadcast_to(p, (seeds, n)).copy(), batch, steps,
                         seed=seed + 1)
    a = np.zeros((steps + 1, seeds, n))

    def modes(W2, W1):
        return np.einsum("sik,sij,sjl,slk->sk", U, W2, W1, V)

    a[0] = modes(W2, W1)
    for i in range(steps):
        # sum over the batch of (y - W x) x^T with x = v_k, y = u_k: sum_k n_k (...)
        M = W2 @ W1
        resid = U - M @ V  # columns: u_k - M v_k
        E = np.einsum("sik,sk,sjk->sij", resid, counts[i] / batch, V)
        W1, W2 = (W1 + eta * np.swapaxes(W2, 1, 2) @ E,
                  W2 + eta * E @ np.swapaxes(W1, 1, 2))
        a[i + 1] = modes(W2, W1)
    return a


@dataclass(frozen=True)
class ParityRun:
    """Two-task parity MLP runs.

    Attributes
    ----------
    accuracy : numpy.ndarray
        Accuracy of each task on held-out inputs, shape ``(records, seeds, 2)``.
    loss : numpy.ndarray
        Unmasked training loss of each task, shape ``(records, seeds, 2)``.
    step : numpy.ndarray
        Step of each record, shape ``(records,)``.
    """

    accuracy: np.ndarray
    loss: np.ndarray
    step: np.ndarray


def train_parity_mlp(x, y, x_test, y_test, p2: float, optimiser: str, eta: float,
                     steps: int, *, hidden: int = 50, seeds: int = 4, seed: int = 0,
                     record_every: int = 10) -> ParityRun:
    """Full-batch training of ``seeds`` ReLU MLPs ``bits-hidden-2`` on two-task parity.

    Loss ``mean((out - y)^2 mask)`` where task 2's term is kept on a random fraction
    ``p2`` of the rows, redrawn at every step (the authors' code's masking). All
    ``seeds`` networks train at once (batched matrix products), float64, torch's
    default (uniform) initialisation drawn from ``seed``.

    Parameters
    ----------
    x, y, x_test, y_test : array_like
        Training and test data from
        :func:`~learning_dynamics.skill_learning.data.parity_data`.
    p2 : float
        Frequency of task 2, in (0, 1].
    optimiser : {"adam", "sgd"}
    eta : float
        Learning rate (> 0, at most 100).
    steps : int
        Steps, at most ``MAX_STEPS``; ``steps * seeds * P * hidden`` is bounded.
    hidden, seeds, seed, record_every : int
    """
    import torch

    x = check_array("x", x, ndim=2)
    y = check_array("y", y, shape=(x.shape[0], 2))
    x_test = check_array("x_test", x_test, ndim=2)
    y_test = check_array("y_test", y_test, shape=(x_test.shape[0], 2))
    p2 = check_float("p2", p2, minimum=0.0, maximum=1.0, min_inclusive=False)
    optimiser = check_choice("optimiser", optimiser, ("adam", "sgd"))
    eta = check_float("eta", eta, minimum=0.0, maximum=100.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    hidden = check_int("hidden", hidden, minimum=1, maximum=4096)
    seeds = check_int("seeds", seeds, minimum=1, maximum=1000)
    record_every = check_int("record_every", record_every, minimum=1, maximum=steps)
    P, bits = x.shape
    if steps * seeds * P * hidden * bits > 2e12:
        raise ValueError("steps * seeds * P * hidden * bits must be <= 2e12 "
                         "(minutes of work)")
    gen = torch_generator(seed)
    bound1, bound2 = 1 / bits**0.5, 1 / hidden**0.5

    def uniform(shape, bound):
        return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound

    params = [uniform((seeds, bits, hidden), bound1),
              uniform((seeds, 1, hidden), bound1),
              uniform((seeds, hidden, 2), bound2), uniform((seeds, 1, 2), bound2)]
    for q in params:
        q.requires_grad_(True)
    opt = (torch.optim.Adam(params, lr=eta) if optimiser == "adam"
           else torch.optim.SGD(params, lr=eta))
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    Xt, Yt = torch.from_numpy(x_test), torch.from_numpy(y_test)
    keep2 = int(round(p2 * P))

    def forward(inp):
        h = torch.relu(inp @ params[0] + params[1])
        return h @ params[2] + params[3]

    records = steps // record_every + 1
    acc = np.zeros((records, seeds, 2))
    losses = np.zeros((records, seeds, 2))
    for i in range(steps + 1):
        if i % record_every == 0:
            with torch.no_grad():
                j = i // record_every
                acc[j] = ((forward(Xt) > 0.5) == (Yt > 0.5)).double().mean(1).numpy()
                losses[j] = ((forward(X) - Y) ** 2).mean(1).numpy()
        if i == steps:
            break
        mask = torch.ones((seeds, P, 2), dtype=torch.float64)
        rows = torch.rand((seeds, P), generator=gen, dtype=torch.float64)
        order = rows.argsort(dim=1)
        drop = torch.ones((seeds, P), dtype=torch.float64)
        drop.scatter_(1, order[:, keep2:], 0.0)
        mask[:, :, 1] = drop
        out = forward(X)
        loss = (((out - Y) ** 2) * mask).mean(dim=(1, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return ParityRun(accuracy=acc, loss=losses,
                     step=np.arange(records) * record_every)
