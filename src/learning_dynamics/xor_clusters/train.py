"""Full-batch gradient descent on the XOR cluster network, and its diagnostics.

Every gradient of the first layer is a combination of training inputs, so
``W(t) = W(0) + C(t) X`` with an ``m x n`` coefficient matrix ``C``, eq. (xor-gram).
:func:`train_gram` runs gradient descent on ``C`` from the inner products of
:class:`~learning_dynamics.xor_clusters.gram.XORGram` (cost ``O(m n^2)`` per step);
:func:`train_direct` is the straightforward ``p``-dimensional gradient descent it
replaces (the reference engine).  Both return the same :class:`Trajectory` to
rounding.  Everything is numpy float64.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..device import single_threaded
from ..progress import progress
from ..seeding import make_rng
from ..validation import (
    check_array,
    check_choice,
    check_finite_loss,
    check_float,
    check_int,
    check_memory,
    check_seed,
    check_times,
    check_work,
)
from .data import XORConfig, XORData, check_direct_affordable, make_xor_data
from .diagnostics import XORRun, diagnostics
from .gram import XORGram, gram_from_data, sample_gram
from .theory import second_layer

__all__ = [
    "Trajectory",
    "init_first_layer",
    "train_gram",
    "train_direct",
    "run_xor",
    "MAX_STEPS",
    "Step2Split",
    "step2_split",
    "SelfTermBudget",
    "self_term_budget",
]

#: Largest number of gradient steps a run may take.
MAX_STEPS = 100_000

_KNOB = "eta (step size) = {:g}"
_HINT = ("The logistic loss is bounded below and cannot blow up, so a non-finite loss "
         "means overflowing inputs.")


@dataclass(frozen=True)
class Trajectory:
    """Raw network state at checkpoints, shared by both engines.

    Attributes
    ----------
    steps : ndarray (T,)
        Checkpoint steps.
    pre_train : ndarray (T, n, m)
        Pre-activations ``<w_j, x_i>`` on the training set.
    pre_test : ndarray (T, n_test, m)
        Pre-activations on the test set.
    w_plane : ndarray (T, m, 2)
        Coordinates of each ``w_j`` along ``e1, e2``
        (``<w_j, mu_k> = ||mu|| w_plane[..., k]``).
    w_norm : ndarray (T, m)
        ``||w_j||``.
    coeff : ndarray (T, m, n)
        The coefficients ``C(t)`` of eq. (xor-gram).
    loss : ndarray (max step + 1,)
        Training loss at every step.
    """

    steps: np.ndarray
    pre_train: np.ndarray
    pre_test: np.ndarray
    w_plane: np.ndarray
    w_norm: np.ndarray
    coeff: np.ndarray
    loss: np.ndarray


def init_first_layer(config: XORConfig, seed=0) -> np.ndarray:
    """Gaussian first-layer init ``W(0)`` (m x p), per-coordinate std ``omega``.

    The standard normal draws are made in float32, like the data's noise, and
    scaled by ``omega`` in float64.
    """
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    check_direct_affordable(config)
    draws = make_rng(seed).standard_normal((config.m, config.p), dtype=np.float32)
    return config.init_std * draws.astype(np.float64)


def _coeff_step(pre, y, a, eta):
    """Increment of ``C^T`` for pre-activations ``pre``, eq. (xor-gram).

    ``pre`` is ``(n, m)``, or a stack ``(B, n, m)`` of independent networks (``y``
    then ``(B, n)``); the increment of ``C^T`` has the shape of ``pre`` (the
    increment of ``C`` is its transpose).  Returns the increment and the loss at the
    current weights (a float, or one per network).
    """
    margins = y * (np.maximum(pre, 0.0) @ a)
    # -l'(margin) = 1/(1 + e^margin), written overflow-free
    loss_weights = 0.5 * (1.0 - np.tanh(0.5 * margins))
    n = pre.shape[-2]
    increment = (pre > 0) * (loss_weights * y)[..., None] * ((eta / n) * a)
    loss = np.mean(np.logaddexp(0.0, -margins), axis=-1)
    return increment, (float(loss) if np.ndim(loss) == 0 else loss)


#: A batch of seeds in :func:`run_xor` holds at most this many bytes of
#: pre-activations per step (so that a step's arrays stay in cache: larger batches
#: are slower, measured at n = 16, 40, 100) ...
_BATCH_CACHE_BYTES = 512 * 2**10
#: ... and at most this many bytes of recorded coefficients.
_BATCH_RECORD_BYTES = 64 * 2**20


def _gram_batch(grams: list, eta: float, steps: np.ndarray) -> list:
    """Gradient descent of eq. (xor-gram) for several seeds at once.

    The seeds' networks are independent; stacking them turns each step's products
    into one batched product (the same arithmetic per seed, far fewer Python
    calls).  Only ``C(t)`` is kept at the checkpoints: everything else a
    :class:`Trajectory` holds is a function of it and of the seed's inner products.
    """
    n, m = grams[0].pre_init.shape
    a = second_layer(m)
    G = np.stack([g.gram for g in grams])
    P0 = np.stack([g.pre_init for g in grams])
    Y = np.stack([g.y for g in grams])
    coeff_t = np.zeros((len(grams), n, m))  # C^T, laid out like the pre-activations
    keep = set(steps.tolist())
    kept, loss = [], np.empty((len(grams), int(steps[-1]) + 1))
    for t in range(loss.shape[1]):
        pre = P0 + G @ coeff_t
        if t in keep:
            kept.append(np.swapaxes(coeff_t, 1, 2).copy())
        increment, loss[:, t] = _coeff_step(pre, Y, a, eta)
        finite = np.isfinite(loss[:, t])
        if not finite.all():  # the first diverged seed stops the batch
            check_finite_loss(loss[~finite, t][0], t, knob=_KNOB.format(eta),
                              hint=_HINT)
        coeff_t += increment
    return [_trajectory(g, steps, [c[b] for c in kept], loss[b])
            for b, g in enumerate(grams)]


def _trajectory(gram: XORGram, steps: np.ndarray, coeffs: list, loss: np.ndarray
                ) -> Trajectory:
    """One seed's :class:`Trajectory` from its coefficients at the checkpoints."""
    records = []
    for coeff in coeffs:
        norm_sq = (gram.w0_norm_sq + 2 * np.einsum("ji,ij->j", coeff, gram.pre_init)
                   + np.einsum("ji,ji->j", coeff @ gram.gram, coeff))
        records.append((gram.pre_init + gram.gram @ coeff.T,
                        gram.test_pre_init + gram.test_gram @ coeff.T,
                        gram.w0_plane + coeff @ gram.x_plane,
                        np.sqrt(np.maximum(norm_sq, 0.0)), coeff))
    return Trajectory(steps, *(np.stack(v) for v in zip(*records, strict=True)), loss)


def _gram_core(gram: XORGram, eta: float, steps: np.ndarray) -> Trajectory:
    return _gram_batch([gram], eta, steps)[0]


def _direct_core(data: XORData, W0: np.ndarray, eta: float, steps: np.ndarray
                 ) -> Trajectory:
    X, X_test, y = data.X, data.X_test, data.y
    a = second_layer(W0.shape[0])
    W = W0.copy()
    coeff = np.zeros((W0.shape[0], X.shape[0]))
    keep = set(steps.tolist())
    records, loss = [], np.empty(int(steps[-1]) + 1)
    for t in range(loss.size):
        pre = X @ W.T
        if t in keep:
            records.append((pre, X_test @ W.T, W[:, :2].copy(),
                            np.linalg.norm(W, axis=1), coeff.copy()))
        increment, loss[t] = _coeff_step(pre, y, a, eta)
        check_finite_loss(loss[t], t, knob=_KNOB.format(eta), hint=_HINT)
        W = W + increment.T @ X
        coeff = coeff + increment.T
    return Trajectory(steps, *(np.stack(v) for v in zip(*records, strict=True)), loss)


def _check_cost(n: int, m: int, n_test: int, steps: np.ndarray, n_seeds: int = 1,
                p: int | None = None) -> None:
    """Refuse, before any work, runs whose checkpoints or steps cost too much.

    Work: ``2 m n^2`` per step (``2 m n p`` twice with the explicit engine) and
    ``2 m n (n + n_test)`` per checkpoint; memory: the recorded pre-activations
    and coefficients, ``8 (2 n m + n_test m + 3 m)`` bytes per checkpoint.
    """
    last, kept = int(steps[-1]), steps.size
    per_step = 2.0 * m * n * n if p is None else 4.0 * m * n * p
    work = n_seeds * (last * per_step + kept * 2.0 * m * n * (n + n_test))
    check_work("steps", last, work,
               what=f"{n_seeds} seed(s), n = {n}, m = {m}, n_test = {n_test}")
    check_memory("steps", last, 8.0 * kept * (2 * n * m + n_test * m + 3 * m)
                 + 8.0 * (last + 1),
                 what=f"{kept} checkpoints of n = {n}, m = {m}, n_test = {n_test}")


def train_gram(gram: XORGram, *, eta: float, steps) -> Trajectory:
    """Full-batch GD in coefficient space ``W = W(0) + C X``, eq. (xor-gram).

    Each step costs ``O(m n^2)`` whatever ``p`` is.  ``steps`` are the checkpoints
    (at most ``MAX_STEPS``).  The products are small: call it inside
    ``learning_dynamics.single_threaded()`` when looping (:func:`run_xor` does).
    """
    if not isinstance(gram, XORGram):
        raise TypeError(f"gram must be an XORGram; got {type(gram).__name__}")
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False, maximum=1e6)
    steps = check_times("steps", steps, maximum=MAX_STEPS)
    _check_cost(*gram.pre_init.shape, gram.test_gram.shape[0], steps)
    return _gram_core(gram, eta, steps)


def train_direct(data: XORData, W0, *, eta: float, steps) -> Trajectory:
    """Straightforward full-batch GD on the ``m x p`` first layer (reference engine)."""
    if not isinstance(data, XORData):
        raise TypeError(f"data must be an XORData; got {type(data).__name__}")
    W0 = check_array("W0", W0, ndim=2, shape=(None, data.X.shape[1]))
    if W0.shape[0] % 2:
        raise ValueError(
            f"W0 must have an even number of rows (neurons); got {W0.shape[0]}")
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False, maximum=1e6)
    steps = check_times("steps", steps, maximum=MAX_STEPS)
    _check_cost(data.X.shape[0], W0.shape[0], data.X_test.shape[0], steps,
                p=data.X.shape[1])
    return _direct_core(data, W0, eta, steps)


def _check_seeds(seeds) -> np.ndarray:
    # object: a list mixing small seeds and seeds >= 2**63 would turn into floats
    seeds = np.atleast_1d(np.asarray(seeds, dtype=object)).tolist()
    if len(seeds) == 0:
        raise ValueError("seeds must hold at least one seed; got an empty sequence")
    # unsigned: check_seed accepts every 64-bit seed, up to 2**64 - 1
    return np.array([check_seed("seeds", s) for s in seeds], dtype=np.uint64)


def _direct_seed(config: XORConfig, seed: int, steps: np.ndarray):
    rng = make_rng(seed)
    data = make_xor_data(config, seed=rng)
    W0 = init_first_layer(config, seed=rng)
    return _direct_core(data, W0, config.eta, steps), gram_from_data(data, W0)


def run_xor(config: XORConfig, seeds, steps, *, engine: str = "gram") -> XORRun:
    """Train one network per seed; return all diagnostics at the checkpoints ``steps``.

    Parameters
    ----------
    config : XORConfig
    seeds : int or sequence of int
        One network (data and init) per seed.
    steps : sequence of int
        Checkpoints, at most ``MAX_STEPS``.
    engine : {"gram", "direct"}
        ``"gram"`` trains in coefficient space, eq. (xor-gram); ``"direct"`` trains
        the explicit ``m x p`` weights (refused when the arrays would exceed
        ``MAX_DIRECT_BYTES``).
    """
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    seeds = _check_seeds(seeds)
    steps = check_times("steps", steps, maximum=MAX_STEPS)
    engine = check_choice("engine", engine, ("gram", "direct"))
    _check_cost(config.n, config.m, config.n_test, steps, seeds.size,
                p=config.p if engine == "direct" else None)
    rows, flip_rates = [], []
    # seeds of the Gram engine train in batches (one batched product per step)
    n, m, kept = config.n, config.m, steps.size
    size = 1 if engine == "direct" else max(1, min(
        _BATCH_CACHE_BYTES // (8 * n * m), _BATCH_RECORD_BYTES // (8 * kept * m * n)))
    seed_list, batch = [int(s) for s in seeds.tolist()], []
    with single_threaded():  # many small products: one thread is faster and fair
        for count, seed in enumerate(progress(seed_list, desc="seeds"), start=1):
            batch.append(seed)
            if len(batch) < size and count < len(seed_list):
                continue
            if engine == "gram":
                grams = [sample_gram(config, s) for s in batch]
                pairs = zip(_gram_batch(grams, config.eta, steps), grams,
                            strict=True)
            else:
                pairs = [_direct_seed(config, batch[0], steps)]
            for trajectory, gram in pairs:
                rows.append(diagnostics(trajectory, gram))
                flip_rates.append(gram.cluster_flip_rate())
            batch = []
    stacked = {k: np.stack([r[k] for r in rows]) for k in rows[0]}  # [seed, ...]
    return XORRun(config=config, seeds=seeds, steps=steps,
                  cluster_flip_rate=np.stack(flip_rates), mu_norm=config.mu_norm,
                  **stacked)


@dataclass(frozen=True)
class Step2Split:
    """The step-2 update split into the two sums of eq. (xor-step2).

    Attributes
    ----------
    delta_step1 : ndarray (2,)
        ``delta1, delta2`` of eq. (xor-delta) after step 1.
    delta_seen : ndarray (2,)
        After step 1 plus only the first sum (points a neuron was active on at
        initialisation).
    delta_silent : ndarray (2,)
        After step 1 plus only the second sum (points it was silent on).
    delta_step2 : ndarray (2,)
        After both sums: the true state at step 2.
    """

    delta_step1: np.ndarray
    delta_seen: np.ndarray
    delta_silent: np.ndarray
    delta_step2: np.ndarray


def _delta(w_plane: np.ndarray) -> np.ndarray:
    m = w_plane.shape[0]
    overlap, pos = np.abs(w_plane), np.arange(m) < m // 2
    total = overlap.sum(axis=0)
    return np.array([(overlap[pos, 0].sum() - overlap[~pos, 0].sum()) / total[0],
                     (overlap[~pos, 1].sum() - overlap[pos, 1].sum()) / total[1]])


def step2_split(gram: XORGram, *, eta: float) -> Step2Split:
    """Split the second gradient step by the activation pattern at initialisation.

    The step-2 increment of ``C`` (eq. (xor-gram)) is a sum over training points;
    the points with ``<w_j(0), x_k> > 0`` form the first sum of eq. (xor-step2), the
    others the second.  Adding each sum alone to the step-1 weights measures its
    share of the specialisation ``delta`` (eq. (xor-delta)).
    """
    if not isinstance(gram, XORGram):
        raise TypeError(f"gram must be an XORGram; got {type(gram).__name__}")
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False, maximum=1e6)
    a = second_layer(gram.pre_init.shape[1])
    first = _coeff_step(gram.pre_init, gram.y, a, eta)[0].T    # (m, n)
    second = _coeff_step(gram.pre_init + gram.gram @ first.T, gram.y, a, eta)[0].T
    seen = (gram.pre_init > 0).T                       # (m, n): 1_jk
    plane = [first, first + second * seen, first + second * ~seen, first + second]
    deltas = [_delta(gram.w0_plane + c @ gram.x_plane) for c in plane]
    return Step2Split(*deltas)


@dataclass(frozen=True)
class SelfTermBudget:
    """Growth of each training point's self term against its predicted rate.

    Attributes
    ----------
    measured : ndarray (n,)
        Self term of eq. (xor-self-rest) at ``stop`` minus at ``start``.
    predicted : ndarray (n,)
        ``sum_{t=start}^{stop-1} (eta/n) ||x_k||^2 g_k(t) nu_k(t)``,
        eq. (xor-self-growth).
    loss_weight, active_fraction : ndarray (n,)
        Time averages of ``g_k(t)`` and ``nu_k(t)`` over ``start <= t < stop``.
    flipped : ndarray (n,) of bool
        Training points whose label was flipped.
    """

    measured: np.ndarray
    predicted: np.ndarray
    loss_weight: np.ndarray
    active_fraction: np.ndarray
    flipped: np.ndarray


def self_term_budget(gram: XORGram, *, eta: float, start: int, stop: int
                     ) -> SelfTermBudget:
    """Self-term growth from ``start`` to ``stop`` and the integral of ``g_k nu_k``.

    ``nu_k`` is the fraction of all neurons active on ``x_k``, whatever their sign:
    each active neuron adds ``(eta/n) a_j^2 g_k ||x_k||^2`` to the self term,
    eq. (xor-self-growth).  The integral ignores neurons switching on or off.
    """
    if not isinstance(gram, XORGram):
        raise TypeError(f"gram must be an XORGram; got {type(gram).__name__}")
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False, maximum=1e6)
    start = check_int("start", start, minimum=0, maximum=MAX_STEPS)
    stop = check_int("stop", stop, minimum=1, maximum=MAX_STEPS)
    if stop <= start:
        raise ValueError(f"stop must exceed start; got start={start}, stop={stop}")
    n, m = gram.pre_init.shape
    a = second_layer(m)
    norms = np.diag(gram.gram)
    coeff = np.zeros((m, n))
    predicted, g_sum, nu_sum, self_at = np.zeros(n), np.zeros(n), np.zeros(n), {}
    for t in range(stop + 1):
        pre = gram.pre_init + gram.gram @ coeff.T
        if t in (start, stop):
            self_at[t] = gram.y * norms * (((pre > 0) * coeff.T) @ a)
        if t == stop:
            break
        increment, _ = _coeff_step(pre, gram.y, a, eta)
        if t >= start:
            margins = gram.y * (np.maximum(pre, 0.0) @ a)
            g = 0.5 * (1.0 - np.tanh(0.5 * margins))
            nu = (pre > 0).mean(axis=1)
            predicted += eta / n * norms * g * nu
            g_sum, nu_sum = g_sum + g, nu_sum + nu
        coeff = coeff + increment.T
    span = stop - start
    return SelfTermBudget(self_at[stop] - self_at[start], predicted, g_sum / span,
                          nu_sum / span, gram.flipped)
