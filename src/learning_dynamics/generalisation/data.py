"""Data of chapter 6: a noisy linear teacher, and a ReLU teacher for random features.

The book's notation: ``d`` input dimension, ``P`` samples, load ``alpha = P / d``
(the paper writes ``N`` for the input dimension). Inputs are columns of
``X`` (shape ``(d, P)``) with i.i.d. ``N(0, 1/d)`` entries, labels
``y = w_teacher X + noise`` (eq. (gen-setup)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..seeding import make_rng
from ..validation import check_float, check_int, check_memory, check_seed

__all__ = [
    "MAX_DIM",
    "MAX_SEEDS",
    "LinearTask",
    "RandomFeaturesTask",
    "make_nested_tasks",
    "make_task",
    "make_random_features_task",
    "noise_variance",
]

MAX_DIM = 4000
"""Largest input dimension ``d`` and sample count ``P`` accepted."""
MAX_SEEDS = 5000
"""Largest number of independent seeds in one batch."""


@dataclass(frozen=True)
class LinearTask:
    """A batch of independent noisy linear regression problems (eq. (gen-setup)).

    Attributes
    ----------
    X : ndarray, shape (seeds, d, P)
        Inputs as columns, entries ``N(0, 1/d)``.
    y : ndarray, shape (seeds, P)
        Labels ``w_teacher X + noise``.
    w_teacher : ndarray, shape (seeds, d)
        Teacher weights, entries ``N(0, sigma_w^2)``.
    w0 : ndarray, shape (seeds, d)
        The student's initial weights, entries ``N(0, sigma0^2)``.
    noise : ndarray, shape (seeds, P)
        The label noise, entries ``N(0, sigma_eps^2)``.
    sigma_w2, noise2, sigma0_2 : float
        Variances of the teacher weights, the label noise and the initial weights.
    """

    X: np.ndarray
    y: np.ndarray
    w_teacher: np.ndarray
    w0: np.ndarray
    noise: np.ndarray
    sigma_w2: float
    noise2: float
    sigma0_2: float

    @property
    def d(self) -> int:
        """Input dimension."""
        return self.X.shape[1]

    @property
    def P(self) -> int:
        """Number of training samples."""
        return self.X.shape[2]

    @property
    def seeds(self) -> int:
        """Number of independent problems in the batch."""
        return self.X.shape[0]

    @property
    def alpha(self) -> float:
        """Load ``P / d``."""
        return self.P / self.d


def noise_variance(snr: float, sigma_w2: float = 1.0) -> float:
    """Label-noise variance ``sigma_eps^2 = sigma_w^2 / SNR`` (eq. (gen-setup)).

    ``snr = inf`` gives noise-free labels.
    """
    sigma_w2 = check_float("sigma_w2", sigma_w2, minimum=0.0, min_inclusive=False,
                           maximum=1e6)
    if isinstance(snr, (int, float)) and not isinstance(snr, bool) and snr == math.inf:
        return 0.0
    snr = check_float("snr", snr, minimum=0.0, min_inclusive=False, maximum=1e12)
    return sigma_w2 / snr


def make_task(d: int, P: int, snr: float, *, sigma0: float = 0.0, seeds: int = 1,
              seed: int = 0, sigma_w: float = 1.0) -> LinearTask:
    """Draw ``seeds`` independent linear teacher problems (eq. (gen-setup)).

    Parameters
    ----------
    d, P : int
        Input dimension and number of samples (each in ``[1, MAX_DIM]``).
    snr : float
        Signal-to-noise ratio ``sigma_w^2 / sigma_eps^2`` in ``(0, 1e12]`` or ``inf``.
    sigma0 : float
        Standard deviation of the initial weights, in ``[0, 100]``.
    seeds : int
        Number of independent draws of ``(X, w_teacher, noise, w0)``.
    seed : int
        Seed of the batch (moved by the book's seed offset).
    sigma_w : float
        Standard deviation of the teacher's weights, in ``(0, 1000]``.

    Returns
    -------
    LinearTask
    """
    P = check_int("P", P, minimum=1, maximum=MAX_DIM)
    # One load of the nested draw: the same draws, in the same order, as P alone.
    return make_nested_tasks(d, [P], snr, sigma0=sigma0, seeds=seeds, seed=seed,
                             sigma_w=sigma_w)[0]


def make_nested_tasks(d: int, Ps, snr: float, *, sigma0: float = 0.0,
                      seeds: int = 1, seed: int = 0,
                      sigma_w: float = 1.0) -> tuple[LinearTask, ...]:
    """Nested data sets: one draw of ``max(Ps)`` samples per seed, of which the task
    with ``P`` samples uses the first ``P`` (eq. (gen-setup)).

    Each task has exactly the law of :func:`make_task` (the first ``P`` columns of
    i.i.d. columns are i.i.d.); the tasks share the teacher, the initial weights and
    the inputs, whose array is held once (each task's ``X`` is a view of it), so a
    sweep over loads costs the memory of its largest load. Draws are independent
    across seeds and dependent across loads (more samples of the same problem).

    Parameters
    ----------
    d : int
        Input dimension, in ``[1, MAX_DIM]``.
    Ps : sequence of int
        Sample counts, 1 to 100 of them, each in ``[1, MAX_DIM]``.
    snr, sigma0, seeds, seed, sigma_w
        As in :func:`make_task`.

    Returns
    -------
    tuple of LinearTask
        One per entry of ``Ps``, in that order.
    """
    d = check_int("d", d, minimum=1, maximum=MAX_DIM)
    if isinstance(Ps, (str, bytes)) or not hasattr(Ps, "__len__"):
        raise TypeError(f"Ps must be a sequence of sample counts; got {Ps!r}")
    if not 1 <= len(Ps) <= 100:
        raise ValueError(f"Ps must hold 1 to 100 sample counts; got {len(Ps)}")
    Ps = [check_int("Ps", P, minimum=1, maximum=MAX_DIM) for P in Ps]
    seeds = check_int("seeds", seeds, minimum=1, maximum=MAX_SEEDS)
    seed = check_seed("seed", seed)
    sigma0 = check_float("sigma0", sigma0, minimum=0.0, maximum=100.0)
    sigma_w = check_float("sigma_w", sigma_w, minimum=0.0, min_inclusive=False,
                          maximum=1000.0)
    noise2 = noise_variance(snr, sigma_w**2)
    P_max = max(Ps)
    check_memory("seeds", seeds,
                 8.0 * seeds * (d * P_max + 2 * P_max * len(Ps) + 2 * d))
    rng = make_rng(seed)
    X = rng.standard_normal((seeds, d, P_max)) / math.sqrt(d)
    w_teacher = sigma_w * rng.standard_normal((seeds, d))
    noise = math.sqrt(noise2) * rng.standard_normal((seeds, P_max))
    w0 = sigma0 * rng.standard_normal((seeds, d))
    y = np.einsum("sd,sdp->sp", w_teacher, X) + noise
    return tuple(LinearTask(X[:, :, :P], y[:, :P].copy(), w_teacher, w0,
                            noise[:, :P].copy(), sigma_w**2, noise2, sigma0**2)
                 for P in Ps)


def with_snr(task: LinearTask, snr: float) -> LinearTask:
    """The same draws (inputs, teacher, initial weights, noise direction) at another
    signal-to-noise ratio: the noise is rescaled, ``X`` is shared, not copied
    (eq. (gen-setup))."""
    if not isinstance(task, LinearTask):
        raise TypeError(f"task must be a LinearTask; got {type(task).__name__}")
    noise2 = noise_variance(snr, task.sigma_w2)
    if task.noise2 == 0.0:
        raise ValueError("task has noise-free labels: there is no noise to rescale")
    noise = task.noise * math.sqrt(noise2 / task.noise2)
    return replace(task, y=task.y - task.noise + noise, noise=noise, noise2=noise2)


def redraw_init(task: LinearTask, sigma0: float, *, seed: int) -> LinearTask:
    """The same inputs, teacher and noise with fresh initial weights of standard
    deviation ``sigma0`` (paired runs; ``X`` is shared, not copied)."""
    if not isinstance(task, LinearTask):
        raise TypeError(f"task must be a LinearTask; got {type(task).__name__}")
    sigma0 = check_float("sigma0", sigma0, minimum=0.0, maximum=100.0)
    w0 = sigma0 * make_rng(check_seed("seed", seed)).standard_normal(task.w0.shape)
    return replace(task, w0=w0, sigma0_2=sigma0**2)


@dataclass(frozen=True)
class RandomFeaturesTask:
    """A ReLU teacher and a fixed random ReLU first layer's features (eq. (gen-rf)).

    Attributes
    ----------
    features : ndarray, shape (seeds, width_max, P)
        Training features ``relu(W x) / sqrt(N)`` of the widest student; a student of
        width ``N`` uses the first ``N`` rows (and rescales by ``sqrt(width_max / N)``).
    y : ndarray, shape (seeds, P)
        Training labels: teacher output plus noise.
    noise : ndarray, shape (seeds, P)
        The label noise in ``y``.
    feature_cov : ndarray, shape (seeds, width_max, width_max)
        Test-set estimate of ``E[phi phi^T]`` for the widest student.
    feature_target : ndarray, shape (seeds, width_max)
        Test-set estimate of ``E[phi f*(x)]`` (``f*`` the noise-free teacher).
    target_power : ndarray, shape (seeds,)
        Test-set estimate of ``E[f*(x)^2]``.
    noise2 : ndarray, shape (seeds,)
        Label-noise variance of each seed (``Var f* / snr``).
    """

    features: np.ndarray
    y: np.ndarray
    noise: np.ndarray
    feature_cov: np.ndarray
    feature_target: np.ndarray
    target_power: np.ndarray
    noise2: np.ndarray

    @property
    def width_max(self) -> int:
        """Width of the widest student."""
        return self.features.shape[1]


def make_random_features_task(P: int, width_max: int, *, d_in: int = 15,
                              teacher_width: int = 30, snr: float = 1.0,
                              seeds: int = 1, seed: int = 0,
                              n_test: int = 4000) -> RandomFeaturesTask:
    """Draw a ReLU teacher and a random ReLU first layer (eq. (gen-rf)).

    Inputs ``x ~ N(0, I / d_in)``; teacher ``f*(x) = sum_j a_j relu(v_j . x)`` with
    ``v_j ~ N(0, I)`` and ``a_j ~ N(0, 1 / teacher_width)``; labels ``f*(x) + noise``
    with noise variance ``Var f* / snr`` (``Var f*`` estimated on the test set);
    student features ``relu(W x) / sqrt(N)`` with ``W`` of i.i.d. ``N(0, 1)`` rows.

    Parameters
    ----------
    P : int
        Training samples, in ``[1, 2000]``.
    width_max : int
        Widest student, in ``[1, 3000]``.
    d_in, teacher_width : int
        Input dimension and teacher width, each in ``[1, 500]``.
    snr : float
        Signal-to-noise ratio, in ``(0, 1e12]``.
    seeds : int
        Independent draws of teacher, first layer, data and noise.
    seed : int
        Seed of the batch.
    n_test : int
        Test inputs used for the population averages, in ``[100, 100000]``.

    Returns
    -------
    RandomFeaturesTask
    """
    P = check_int("P", P, minimum=1, maximum=2000)
    width_max = check_int("width_max", width_max, minimum=1, maximum=3000)
    d_in = check_int("d_in", d_in, minimum=1, maximum=500)
    teacher_width = check_int("teacher_width", teacher_width, minimum=1, maximum=500)
    snr = check_float("snr", snr, minimum=0.0, min_inclusive=False, maximum=1e12)
    seeds = check_int("seeds", seeds, minimum=1, maximum=MAX_SEEDS)
    seed = check_seed("seed", seed)
    n_test = check_int("n_test", n_test, minimum=100, maximum=100_000)
    check_memory("width_max", width_max,
                 8.0 * (seeds * width_max * (width_max + P + 1) + width_max * n_test))
    rng = make_rng(seed)
    feats, ys, noises, covs, targets, powers, noise2 = [], [], [], [], [], [], []
    for _ in range(seeds):
        v = rng.standard_normal((teacher_width, d_in))
        a = rng.standard_normal(teacher_width) / math.sqrt(teacher_width)
        W = rng.standard_normal((width_max, d_in))
        x_train = rng.standard_normal((d_in, P)) / math.sqrt(d_in)
        x_test = rng.standard_normal((d_in, n_test)) / math.sqrt(d_in)
        f_train = a @ np.maximum(v @ x_train, 0.0)
        f_test = a @ np.maximum(v @ x_test, 0.0)
        noise2.append(float(np.var(f_test)) / snr)
        eps = math.sqrt(noise2[-1]) * rng.standard_normal(P)
        phi_test = np.maximum(W @ x_test, 0.0) / math.sqrt(width_max)
        feats.append(np.maximum(W @ x_train, 0.0) / math.sqrt(width_max))
        ys.append(f_train + eps)
        noises.append(eps)
        covs.append(phi_test @ phi_test.T / n_test)
        targets.append(phi_test @ f_test / n_test)
        powers.append(float(np.mean(f_test**2)))
    return RandomFeaturesTask(np.array(feats), np.array(ys), np.array(noises),
                              np.array(covs), np.array(targets), np.array(powers),
                              np.array(noise2))
