"""The inner products that are all the network ever sees, eq. (xor-gram).

Gradient descent keeps ``W(t) = W(0) + C(t) X``, so training and every diagnostic
need only inner products among the training inputs, the initial weights and the
test inputs.  :class:`XORGram` holds them.  :func:`gram_from_data` computes them
from explicit ``p``-dimensional vectors (exact).  :func:`sample_gram` draws them
for one seed *without* building any ``p``-dimensional vector, eq. (xor-bartlett):

* along ``e1, e2`` (the span of ``mu1, mu2``) every vector has explicit Gaussian
  coordinates;
* in the ``p - 2`` orthogonal directions the ``N = n + m`` training-noise and
  init vectors ``A`` (rows) have Gram matrix ``A A^T ~ Wishart(p - 2, I_N)``, drawn
  as ``L L^T`` with Bartlett's lower-triangular factor ``L`` (``L_rr^2 ~
  chi^2_{p-2-r}``, ``N(0, 1)`` below the diagonal);
* ``A = L Q^T`` with orthonormal ``Q`` independent of a fresh test noise ``xi``,
  so ``Q^T xi ~ N(0, I)`` and the test inner products are ``L (Q^T xi)``.

The cost is ``O(N^3 + n_test N^2)`` whatever ``p`` is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..seeding import make_rng
from .data import XORConfig, XORData, labels, signal_coords

__all__ = ["XORGram", "gram_from_data", "sample_gram", "draws_from_data"]


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
    """Inner products of explicit data and initial weights (exact; trusted input)."""
    X, X_test = data.X, data.X_test
    return XORGram(X @ X.T, X @ W0.T, X_test @ X.T, X_test @ W0.T, X[:, :2].copy(),
                   W0[:, :2].copy(), np.einsum("jp,jp->j", W0, W0), data.y,
                   data.y_clean, data.cluster, data.y_test_clean, data.y_test_noisy,
                   data.cluster_test, data.mu_norm)


@dataclass(frozen=True)
class _Draws:
    """The random numbers of one seed in the basis (e1, e2, rest); signal-free."""

    cluster: np.ndarray          # (n,) training cluster index
    flip_uniforms: np.ndarray    # (n,) a label flips where u < rho
    noise_plane: np.ndarray      # (n, 2) training noise along e1, e2
    init_plane: np.ndarray       # (m, 2) init directions along e1, e2
    factor: np.ndarray           # (n + m, k) rows: noises then init directions, rest
    cluster_test: np.ndarray     # (n_test,)
    flip_uniforms_test: np.ndarray
    test_noise_plane: np.ndarray  # (n_test, 2)
    test_coords: np.ndarray      # (n_test, k) N(0, 1) coordinates Q^T xi_test


def _bartlett_factor(rng, count: int, dof: int) -> np.ndarray:
    """``L`` (count x min(count, dof)) with ``L L^T ~ Wishart(dof, I_count)``."""
    k = min(count, dof)
    factor = np.zeros((count, k))
    rows, cols = np.tril_indices(count, -1, k)
    factor[rows, cols] = rng.standard_normal(rows.size)
    diag = np.arange(k)
    factor[diag, diag] = np.sqrt(rng.chisquare(dof - diag))
    return factor


def _draw(config: XORConfig, seed) -> _Draws:
    rng = make_rng(seed)
    n, m, n_test = config.n, config.m, config.n_test
    cluster, flip_uniforms = rng.integers(0, 4, size=n), rng.random(n)
    noise_plane, init_plane = rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    factor = _bartlett_factor(rng, n + m, config.p - 2)
    cluster_test = np.arange(n_test) % 4
    flip_uniforms_test = rng.random(n_test)
    test_noise_plane = rng.standard_normal((n_test, 2))
    test_coords = rng.standard_normal((n_test, factor.shape[1]))
    return _Draws(cluster, flip_uniforms, noise_plane, init_plane, factor, cluster_test,
                  flip_uniforms_test, test_noise_plane, test_coords)


def _assemble(config: XORConfig, draws: _Draws) -> XORGram:
    """Inner products of ``x = mu + xi`` and ``w(0) = omega v`` from the draws."""
    n, omega, mu_norm = config.n, config.init_std, config.mu_norm
    x_plane = draws.noise_plane + signal_coords(draws.cluster, mu_norm)
    test_plane = draws.test_noise_plane + signal_coords(draws.cluster_test, mu_norm)
    noise_rest, init_rest = draws.factor[:n], draws.factor[n:]
    test_noise_rest = draws.test_coords @ draws.factor.T  # (n_test, n + m)
    gram = x_plane @ x_plane.T + noise_rest @ noise_rest.T
    pre_init = omega * (x_plane @ draws.init_plane.T + noise_rest @ init_rest.T)
    test_gram = test_plane @ x_plane.T + test_noise_rest[:, :n]
    test_pre_init = omega * (test_plane @ draws.init_plane.T + test_noise_rest[:, n:])
    init_norm_sq = (np.einsum("jk,jk->j", draws.init_plane, draws.init_plane)
                    + np.einsum("jk,jk->j", init_rest, init_rest))
    y_clean, y = labels(draws.cluster, draws.flip_uniforms, config.rho)
    yt_clean, yt_noisy = labels(draws.cluster_test, draws.flip_uniforms_test,
                                config.rho)
    return XORGram(gram, pre_init, test_gram, test_pre_init, x_plane,
                   omega * draws.init_plane, omega * omega * init_norm_sq, y, y_clean,
                   draws.cluster, yt_clean, yt_noisy, draws.cluster_test, mu_norm)


def sample_gram(config: XORConfig, seed) -> XORGram:
    """Draw one seed's inner products exactly in distribution, eq. (xor-bartlett).

    Nothing ``p``-dimensional is built: the cost is ``O((n + m)^3 + n_test (n + m)^2)``
    for every ``p``.  The random numbers do not depend on ``signal``, ``rho``,
    ``eta`` or ``init_std``, so configurations that differ only in those share them.

    Parameters
    ----------
    config : XORConfig
    seed : int or numpy.random.Generator
    """
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    return _assemble(config, _draw(config, seed))


def draws_from_data(config: XORConfig, data: XORData, W0: np.ndarray) -> XORGram:
    """Feed explicit vectors through the Bartlett assembly of :func:`sample_gram`.

    The training noises and init directions outside ``e1, e2`` are factored as
    ``A = L Q^T`` (QR with a positive diagonal) and the test noises are projected,
    ``Q^T xi``; the result must equal :func:`gram_from_data` to rounding.  Used to
    test the assembly; ``data`` and ``W0`` must come from ``config``.
    """
    rest = np.vstack([data.X[:, 2:], W0[:, 2:] / config.init_std])
    q, r = np.linalg.qr(rest.T)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    q, r = q * signs, r * signs[:, None]
    draws = _Draws(
        cluster=data.cluster,
        flip_uniforms=np.where(data.flipped, 0.0, 1.0),  # u < rho exactly if flipped
        noise_plane=data.X[:, :2] - signal_coords(data.cluster, data.mu_norm),
        init_plane=W0[:, :2] / config.init_std,
        factor=r.T,
        cluster_test=data.cluster_test,
        flip_uniforms_test=np.where(data.y_test_noisy != data.y_test_clean, 0.0, 1.0),
        test_noise_plane=(data.X_test[:, :2]
                          - signal_coords(data.cluster_test, data.mu_norm)),
        test_coords=data.X_test[:, 2:] @ q)
    return _assemble(config, draws)
