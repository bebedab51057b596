"""Closed forms of chapter 4: the network, linear classifiers on XOR, the first step.

The network is ``f(x) = sum_j a_j relu(<w_j, x>)`` with no biases and a fixed second
layer ``a_j = +-1/sqrt(m)``.  Its odd part is exactly linear, eq. (xor-odd-even), and
every bias-free linear classifier scores exactly 1/2 on XOR clusters,
eq. (xor-linear-half); with a bias at most 3/4.
"""
from __future__ import annotations

import math

import numpy as np

from ..validation import check_array, check_float, check_int

__all__ = [
    "output_weights",
    "network_output",
    "linear_classifier_accuracy",
    "step1_margin_theory",
    "decision_plane",
]


def _phi(z: float) -> float:
    """Standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def second_layer(m: int) -> np.ndarray:
    """``+1/sqrt(m)`` for the first ``m/2`` neurons, ``-1/sqrt(m)`` for the rest.

    Internal: ``m`` is trusted (it comes from a validated configuration).
    """
    return np.where(np.arange(m) < m // 2, 1.0, -1.0) / math.sqrt(m)


def output_weights(m: int) -> np.ndarray:
    """Fixed second layer ``a``: ``+1/sqrt(m)`` on ``J_+`` (first half), else ``-1/sqrt(m)``."""
    m = check_int("m", m, minimum=2)
    if m % 2:
        raise ValueError(f"m must be even; got {m}")
    return second_layer(m)


def network_output(W, a, X) -> np.ndarray:
    """``f(x) = sum_j a_j relu(<w_j, x>)`` for each row of ``X``."""
    W = check_array("W", W, ndim=2)
    a = check_array("a", a, shape=(W.shape[0],))
    X = check_array("X", X, ndim=2, shape=(None, W.shape[1]))
    return np.maximum(X @ W.T, 0.0) @ a


def linear_classifier_accuracy(v, mu_norm: float, bias: float = 0.0) -> float:
    """Exact clean accuracy of ``sign(<v, x> + b)`` on XOR clusters, eq. (xor-linear-half).

    With ``mu1 = ||mu|| e1``, ``mu2 = ||mu|| e2`` and ``c_k = ||mu|| v_k / ||v||``,
    ``beta = b / ||v||``, the accuracy is
    ``[Phi(beta + c1) + Phi(beta - c1) + Phi(-beta - c2) + Phi(-beta + c2)] / 4``:
    exactly 1/2 when ``b = 0`` and never above 3/4.

    Parameters
    ----------
    v : array_like (p,)
        Direction, ``p >= 2``, not zero.
    mu_norm : float
        ``||mu||``.
    bias : float
        ``b``.
    """
    v = check_array("v", v, ndim=1)
    mu_norm = check_float("mu_norm", mu_norm, minimum=0.0)
    bias = check_float("bias", bias)
    if v.size < 2:
        raise ValueError(f"v must have at least 2 entries (p >= 2); got {v.size}")
    v_norm = float(np.linalg.norm(v))
    if v_norm == 0:
        raise ValueError("v must not be the zero vector")
    c1, c2 = mu_norm * v[0] / v_norm, mu_norm * v[1] / v_norm
    beta = bias / v_norm
    # label +1 on +-mu1: P(<v,x> + b > 0); label -1 on +-mu2: P(<v,x> + b < 0)
    per_cluster = [_phi(beta + c1), _phi(beta - c1), _phi(-beta - c2), _phi(-beta + c2)]
    return float(np.mean(per_cluster))


def step1_margin_theory(n: int, p: int, mu_norm_sq: float, eta: float) -> float:
    """Mean training margin after one GD step from a tiny init, eq. (xor-step1-margin).

    ``eta (p + ||mu||^2) / (8 n)``: a factor 1/2 from the logistic gradient at zero,
    1/2 from the fraction of neurons active on a point, 1/2 from the half of the
    neurons whose output sign matches the label, and ``a_j^2 = 1/m`` summed over ``m``.
    """
    n = check_int("n", n, minimum=1)
    p = check_int("p", p, minimum=2)
    mu_norm_sq = check_float("mu_norm_sq", mu_norm_sq, minimum=0.0)
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    return eta * (p + mu_norm_sq) / (8.0 * n)


def decision_plane(w_plane, mu_norm: float, extent: float = 2.0, resolution: int = 81):
    """Network output on the plane ``u = s mu1 + r mu2``, ``|s|, |r| <= extent``.

    Returns ``(s, r, F)`` with ``F[i, k] = f(s_k mu1 + r_i mu2)``; uses
    ``<w_j, mu_k> = ||mu|| w_plane[j, k]`` and the second layer of
    :func:`output_weights`.
    """
    w_plane = check_array("w_plane", w_plane, ndim=2, shape=(None, 2))
    mu_norm = check_float("mu_norm", mu_norm, minimum=0.0, min_inclusive=False)
    extent = check_float("extent", extent, minimum=0.0, min_inclusive=False)
    resolution = check_int("resolution", resolution, minimum=3, maximum=1001)
    a = output_weights(w_plane.shape[0])
    s = np.linspace(-extent, extent, resolution)
    S, R = np.meshgrid(s, s)
    pre = mu_norm * (S[..., None] * w_plane[:, 0] + R[..., None] * w_plane[:, 1])
    return s, s, np.maximum(pre, 0.0) @ a
