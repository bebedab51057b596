"""Noisy XOR cluster data and the chapter's configuration (chapter 4).

Four clusters ``+-mu1, +-mu2`` in ``R^p`` with ``<mu1, mu2> = 0`` and
``||mu1|| = ||mu2|| = ||mu||``; a point is ``x = mu + xi`` with ``xi ~ N(0, I_p)``;
its clean label is ``+1`` on ``+-mu1`` and ``-1`` on ``+-mu2``, and each label is
flipped independently with probability ``rho``.  Rotation invariance lets us put
``mu1 = ||mu|| e1`` and ``mu2 = ||mu|| e2``.

:class:`XORConfig` is validated once, when it is built; everything downstream
trusts it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..seeding import make_rng
from ..validation import (
    check_array,
    check_float,
    check_int,
    check_memory,
    check_probability,
)

__all__ = [
    "XORConfig",
    "XORData",
    "make_xor_data",
    "direct_memory_bytes",
    "gram_memory_bytes",
    "MAX_P",
    "MAX_DIRECT_BYTES",
]

#: Largest input dimension accepted.  Beyond it the self term ``||x||^2 ~ p`` and the
#: ``O(1)`` cross terms of the Gram matrix no longer fit together in float64.
MAX_P = 10**12

#: Largest memory (bytes) the explicit ``p``-dimensional data and weights may take.
MAX_DIRECT_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class XORConfig:
    """One experimental configuration (the chapter's knobs), validated at construction.

    The sizes are also bounded together: the Gram engine's arrays,
    :func:`gram_memory_bytes`, must fit in ``validation.MEMORY_LIMIT_BYTES``
    (4 GiB), e.g. ``n_test`` up to about 11 000 at ``n = m = 5000`` and up to
    100 000 for ``n + m <= 1700``.

    Attributes
    ----------
    n : int
        Training samples (the book's P), 4 to 5000.
    p : int
        Input dimension (the book's d), 3 to ``MAX_P``.  The explicit
        ``p``-dimensional engine also needs :func:`direct_memory_bytes` below
        ``MAX_DIRECT_BYTES``; the Gram engine's cost does not depend on ``p``.
    m : int
        Hidden width, even, 2 to 5000 (half the neurons have ``a_j = +1/sqrt(m)``).
    signal : float
        Signal strength ``||mu||^2 / sqrt(p)``.
    rho : float
        Label-flip rate in ``[0, 1/2)``.
    eta : float
        Step size (> 0).
    init_std : float
        Per-coordinate standard deviation ``omega`` of the first-layer init (> 0).
    n_test : int
        Fresh test points, 4 to 100000 (stratified: ``n_test/4`` per cluster).

    """

    n: int = 100
    p: int = 20000
    m: int = 200
    signal: float = 10.0
    rho: float = 0.15
    eta: float = 0.08
    init_std: float = 1e-6
    n_test: int = 1000

    def __post_init__(self):
        check_int("n", self.n, minimum=4, maximum=5000)
        check_int("p", self.p, minimum=3, maximum=MAX_P)
        check_int("m", self.m, minimum=2, maximum=5000)
        if self.m % 2:
            raise ValueError(
                f"m must be even (half positive, half negative neurons); got {self.m}")
        check_float("signal", self.signal, minimum=0.0, maximum=1e6)
        check_probability("rho", self.rho, maximum=0.5, max_inclusive=False)
        check_float("eta", self.eta, minimum=0.0, min_inclusive=False, maximum=1e6)
        check_float("init_std", self.init_std, minimum=0.0, min_inclusive=False,
                    maximum=1e3)
        check_int("n_test", self.n_test, minimum=4, maximum=100_000)
        check_memory("n_test", self.n_test, gram_memory_bytes(self),
                     what=f"Gram-engine arrays with n + m = {self.n + self.m}")

    @property
    def mu_norm_sq(self) -> float:
        """``||mu||^2 = signal * sqrt(p)``."""
        return self.signal * math.sqrt(self.p)

    @property
    def mu_norm(self) -> float:
        """``||mu||``."""
        return math.sqrt(self.mu_norm_sq)

    def replace(self, **changes) -> XORConfig:
        """A copy with some fields changed (validated again)."""
        return XORConfig(**{**self.__dict__, **changes})


def gram_memory_bytes(config: XORConfig) -> int:
    """Bytes that :func:`~learning_dynamics.xor_clusters.gram.sample_gram` allocates.

    The Bartlett factor and the Gram blocks, ``2 (n + m)^2``, and the test
    coordinates and inner products, ``3 n_test (n + m)``.
    """
    width = config.n + config.m
    return 8 * (2 * width * width + 3 * config.n_test * width)


def direct_memory_bytes(config: XORConfig) -> int:
    """Bytes the explicit engine needs: float64 ``X``, ``X_test`` and ``W`` (twice)."""
    return 8 * config.p * (config.n + config.n_test + 2 * config.m)


def check_direct_affordable(config: XORConfig) -> None:
    """Refuse ``p``-dimensional arrays that would not fit in ``MAX_DIRECT_BYTES``."""
    need = direct_memory_bytes(config)
    if need > MAX_DIRECT_BYTES:
        raise ValueError(
            f"p = {config.p} needs about {need / 1024**3:.1f} GiB for the explicit "
            f"p-dimensional data and weights (limit {MAX_DIRECT_BYTES / 1024**3:.0f} "
            "GiB); use the Gram engine (engine='gram'), whose cost does not depend "
            "on p")


@dataclass(frozen=True)
class XORData:
    """Noisy XOR cluster data with ``mu1 = ||mu|| e1``, ``mu2 = ||mu|| e2``.

    Validated at construction (shapes, finite entries, labels in {-1, +1}).

    Attributes
    ----------
    X, X_test : ndarray (n, p), (n_test, p)
        Inputs ``x = mu + xi``.
    y, y_clean : ndarray (n,)
        Noisy (trained on) and clean training labels in {-1, +1}.
    cluster, cluster_test : ndarray of int
        Cluster index: 0 = +mu1, 1 = -mu1, 2 = +mu2, 3 = -mu2.
    y_test_clean, y_test_noisy : ndarray (n_test,)
        Clean test labels and labels flipped independently with rate ``rho``.
    mu_norm : float
        ``||mu||``.
    """

    X: np.ndarray
    y: np.ndarray
    y_clean: np.ndarray
    cluster: np.ndarray
    X_test: np.ndarray
    y_test_clean: np.ndarray
    y_test_noisy: np.ndarray
    cluster_test: np.ndarray
    mu_norm: float

    def __post_init__(self):
        X = check_array("X", self.X, ndim=2)
        n, p = X.shape
        check_array("X_test", self.X_test, ndim=2, shape=(None, p))
        n_test = self.X_test.shape[0]
        for name, size in [("y", n), ("y_clean", n), ("cluster", n),
                           ("y_test_clean", n_test), ("y_test_noisy", n_test),
                           ("cluster_test", n_test)]:
            check_array(name, getattr(self, name), shape=(size,))
        for name in ("y", "y_clean", "y_test_clean", "y_test_noisy"):
            if not np.all(np.abs(getattr(self, name)) == 1):
                raise ValueError(f"{name} must hold labels in {{-1, +1}}")
        check_float("mu_norm", self.mu_norm, minimum=0.0)

    @property
    def flipped(self) -> np.ndarray:
        """Boolean mask of the training points whose label was flipped."""
        return self.y != self.y_clean


def _sample_noise(rng, count: int, p: int, balanced: bool = False):
    """Signal-free draws: cluster index, float32 Gaussian noise, flip uniforms.

    ``balanced=True`` (the test set) puts ``count/4`` points in each cluster, which
    removes the cluster-size part of the sampling noise of test accuracies without
    changing their mean.
    """
    cluster = np.arange(count) % 4 if balanced else rng.integers(0, 4, size=count)
    noise = rng.standard_normal((count, p), dtype=np.float32).astype(np.float64)
    return cluster, noise, rng.random(count)


def signal_coords(cluster: np.ndarray, mu_norm: float) -> np.ndarray:
    """``(len(cluster), 2)`` coordinates of the cluster means along ``(e1, e2)``."""
    means = np.zeros((cluster.size, 2))
    means[np.arange(cluster.size), cluster // 2] = np.where(
        cluster % 2 == 0, mu_norm, -mu_norm)
    return means


def labels(cluster: np.ndarray, flip_uniforms: np.ndarray, rho: float):
    """Clean XOR labels of ``cluster`` and the labels flipped where ``u < rho``."""
    y_clean = np.where(cluster < 2, 1.0, -1.0)
    return y_clean, np.where(flip_uniforms < rho, -y_clean, y_clean)


def _sample_points(rng, config: XORConfig, test: bool = False):
    n = config.n_test if test else config.n
    cluster, X, u = _sample_noise(rng, n, config.p, balanced=test)
    X[:, :2] += signal_coords(cluster, config.mu_norm)
    y_clean, y = labels(cluster, u, config.rho)
    return X, y_clean, y, cluster


def make_xor_data(config: XORConfig, seed=0) -> XORData:
    """Sample noisy XOR cluster data for ``config`` (the chapter's Setup).

    Draws the training points, then the (stratified) test points, from
    ``make_rng(seed)``; ``seed`` may also be a ``numpy.random.Generator``.
    Refuses configurations whose arrays exceed ``MAX_DIRECT_BYTES``.
    """
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    check_direct_affordable(config)
    rng = make_rng(seed)
    X, y_clean, y, cluster = _sample_points(rng, config)
    X_test, yt_clean, yt_noisy, cluster_test = _sample_points(rng, config, test=True)
    return XORData(X, y, y_clean, cluster, X_test, yt_clean, yt_noisy, cluster_test,
                   config.mu_norm)
