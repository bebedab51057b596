"""The inner products that are all the network ever sees, eq. (xor-gram).

Gradient descent keeps ``W(t) = W(0) + C(t) X``, so training and every diagnostic
need only inner products among the training inputs, the initial weights and the
test inputs.  :class:`XORGram` holds them.  :func:`gram_from_data` computes them
from explicit ``p``-dimensional vectors (exact); :func:`sample_gram` draws them for
one seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..seeding import make_rng
from .data import XORConfig, XORData, _sample_noise, labels, signal_coords

__all__ = ["XORGram", "gram_from_data", "sample_gram"]


@dataclass(frozen=True)
class XORGram:
    """Everything the coefficient-space engine and the diagnostics need.

    Attributes
    ----------
    gram : ndarray (n, n)
        ``X X^T``.
    pre_init : ndarray (n, m)
        ``X W(0)^T``, the pre-activations at initialisation.
    test_gram : ndarray (n_test, n)
        ``X_test X^T``.
    test_pre_init : ndarray (n_test, m)
        ``X_test W(0)^T``.
    x_plane : ndarray (n, 2)
        Coordinates of the training inputs along ``e1, e2`` (``mu_k = ||mu|| e_k``).
    w0_plane : ndarray (m, 2)
        Coordinates of the initial weights along ``e1, e2``.
    w0_norm_sq : ndarray (m,)
        ``||w_j(0)||^2``.
    y, y_clean, cluster : ndarray (n,)
        Noisy and clean training labels, cluster index (0 = +mu1, 1 = -mu1, ...).
    y_test_clean, y_test_noisy, cluster_test : ndarray (n_test,)
        Test labels and clusters.
    mu_norm : float
        ``||mu||``.
    """

    gram: np.ndarray
    pre_init: np.ndarray
    test_gram: np.ndarray
    test_pre_init: np.ndarray
    x_plane: np.ndarray
    w0_plane: np.ndarray
    w0_norm_sq: np.ndarray
    y: np.ndarray
    y_clean: np.ndarray
    cluster: np.ndarray
    y_test_clean: np.ndarray
    y_test_noisy: np.ndarray
    cluster_test: np.ndarray
    mu_norm: float

    @property
    def flipped(self) -> np.ndarray:
        """Boolean mask of the flipped training labels."""
        return self.y != self.y_clean

    def cluster_flip_rate(self) -> np.ndarray:
        """Fraction of flipped labels in each of the four training clusters."""
        return np.array([self.flipped[self.cluster == k].mean()
                         if np.any(self.cluster == k) else np.nan for k in range(4)])


def gram_from_data(data: XORData, W0: np.ndarray) -> XORGram:
    """Inner products of explicit data and initial weights (exact; internal, trusted)."""
    X, X_test = data.X, data.X_test
    return XORGram(X @ X.T, X @ W0.T, X_test @ X.T, X_test @ W0.T, X[:, :2].copy(),
                   W0[:, :2].copy(), np.einsum("jp,jp->j", W0, W0), data.y,
                   data.y_clean, data.cluster, data.y_test_clean, data.y_test_noisy,
                   data.cluster_test, data.mu_norm)


@lru_cache(maxsize=32)
def _noise_products(seed: int, n: int, p: int, m: int, n_test: int) -> dict:
    """Signal- and scale-free products of one seed's explicit draws."""
    rng = make_rng(seed)
    cluster, noise, u = _sample_noise(rng, n, p)
    cluster_test, test_noise, u_test = _sample_noise(rng, n_test, p, balanced=True)
    init_dirs = rng.standard_normal((m, p), dtype=np.float32).astype(np.float64)
    both = np.vstack([noise, init_dirs])
    out = dict(cluster=cluster, u=u, cluster_test=cluster_test, u_test=u_test,
               noise_plane=noise[:, :2].copy(), test_noise_plane=test_noise[:, :2].copy(),
               init_plane=init_dirs[:, :2].copy(),
               init_norm_sq=np.einsum("jp,jp->j", init_dirs, init_dirs),
               train_products=noise @ both.T, test_products=test_noise @ both.T)
    for v in out.values():
        v.setflags(write=False)
    return out


def sample_gram(config: XORConfig, seed: int) -> XORGram:
    """The inner products of one seed's data and init for ``config``.

    ``X = Xi + M`` with ``M`` non-zero only along ``e1, e2``, so
    ``X X^T = Xi Xi^T + Xi_2 M^T + M Xi_2^T + M M^T`` and likewise for the test set.
    """
    draws = _noise_products(seed, config.n, config.p, config.m, config.n_test)
    n, omega, mu_norm = config.n, config.init_std, config.mu_norm
    means = signal_coords(draws["cluster"], mu_norm)
    test_means = signal_coords(draws["cluster_test"], mu_norm)
    noise_plane, init_plane = draws["noise_plane"], draws["init_plane"]
    train_products, test_products = draws["train_products"], draws["test_products"]
    gram = (train_products[:, :n] + noise_plane @ means.T + means @ noise_plane.T
            + means @ means.T)
    test_gram = (test_products[:, :n] + draws["test_noise_plane"] @ means.T
                 + test_means @ noise_plane.T + test_means @ means.T)
    pre_init = omega * (train_products[:, n:] + means @ init_plane.T)
    test_pre_init = omega * (test_products[:, n:] + test_means @ init_plane.T)
    y_clean, y = labels(draws["cluster"], draws["u"], config.rho)
    yt_clean, yt_noisy = labels(draws["cluster_test"], draws["u_test"], config.rho)
    return XORGram(gram, pre_init, test_gram, test_pre_init, noise_plane + means,
                   omega * init_plane, omega * omega * draws["init_norm_sq"], y, y_clean,
                   draws["cluster"], yt_clean, yt_noisy, draws["cluster_test"], mu_norm)
