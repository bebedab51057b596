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
from .data import XORConfig

__all__ = [
    "output_weights",
    "network_output",
    "linear_classifier_accuracy",
    "step1_margin_theory",
    "decision_plane",
    "step1_margins",
    "axis_imbalance",
    "step1_fit_threshold",
    "step1_fit_probability",
    "step1_noise_sd",
    "step1_signal_score",
    "step1_loss_theory",
]


def _phi(z: float) -> float:
    """Standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _check_labels(y: np.ndarray) -> None:
    """Refuse training labels outside {-1, +1}."""
    if not np.all(np.abs(y) == 1):
        raise ValueError("y must hold labels in {-1, +1}")


def second_layer(m: int) -> np.ndarray:
    """``+1/sqrt(m)`` for the first ``m/2`` neurons, ``-1/sqrt(m)`` for the rest.

    Internal: ``m`` is trusted (it comes from a validated configuration).
    """
    return np.where(np.arange(m) < m // 2, 1.0, -1.0) / math.sqrt(m)


def output_weights(m: int) -> np.ndarray:
    """Fixed second layer: ``+1/sqrt(m)`` on ``J_+``, ``-1/sqrt(m)`` on ``J_-``."""
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
    """Exact clean accuracy of ``sign(<v, x> + b)`` on XOR, eq. (xor-linear-bias).

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
    if len(w_plane) % 2:
        raise ValueError(f"w_plane must have an even number of rows (neurons); "
                         f"got {len(w_plane)}")
    a = second_layer(len(w_plane))
    s = np.linspace(-extent, extent, resolution)
    S, R = np.meshgrid(s, s)
    pre = mu_norm * (S[..., None] * w_plane[:, 0] + R[..., None] * w_plane[:, 1])
    return s, s, np.maximum(pre, 0.0) @ a


def step1_margins(gram, y, eta: float) -> np.ndarray:
    """Predicted margins after one step from a tiny init, eq. (xor-step1-point).

    ``y_k f(x_k) ~ eta / (8 n) * y_k (G y)_k`` with ``G = X X^T``: the self term
    ``||x_k||^2`` plus the leave-one-out linear score
    ``y_k <sum_{i != k} y_i x_i, x_k>``.

    Parameters
    ----------
    gram : array_like (n, n)
        ``X X^T``.
    y : array_like (n,)
        Training labels in {-1, +1}.
    eta : float
        Step size.
    """
    y = check_array("y", y, ndim=1)
    _check_labels(y)
    gram = check_array("gram", gram, shape=(y.size, y.size))
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    return eta / (8.0 * y.size) * y * (gram @ y)


def axis_imbalance(cluster, y) -> np.ndarray:
    """Label-weighted imbalance ``z_k = D_k / sqrt(N_k)`` of the clusters on each axis.

    ``D_1 = sum_{+mu1} y_i - sum_{-mu1} y_i`` over the ``N_1`` training points on the
    ``mu1`` axis (likewise ``D_2``); approximately ``N(0, 1)`` over draws,
    eq. (xor-step1-fail).  ``z_k = 0`` on an axis without training points.

    Parameters
    ----------
    cluster : array_like (n,)
        Cluster index of each training point: 0 = +mu1, 1 = -mu1, 2 = +mu2, 3 = -mu2.
    y : array_like (n,)
        Training labels in {-1, +1}.

    Returns
    -------
    ndarray (2,)
    """
    cluster = check_array("cluster", cluster, ndim=1)
    if not np.all(np.isin(cluster, (0, 1, 2, 3))):
        raise ValueError("cluster must hold cluster indices in {0, 1, 2, 3}")
    y = check_array("y", y, shape=(cluster.size,))
    _check_labels(y)
    z = np.zeros(2)
    for axis in range(2):
        on_axis = cluster // 2 == axis
        sign = np.where(cluster % 2 == 0, 1.0, -1.0)
        count = max(int(on_axis.sum()), 1)
        z[axis] = np.sum((sign * y)[on_axis]) / math.sqrt(count)
    return z


def step1_fit_threshold(config: XORConfig) -> float:
    """Noiseless imbalance threshold ``z* = p / (||mu||^2 sqrt(n/2))``.

    Eq. (xor-step1-fail).

    A point on the losing side of its axis has the step-1 score
    ``y_k (G y)_k ~ p - ||mu||^2 |D|`` (eq. (xor-step1-criterion)); with
    ``D = sqrt(n/2) z`` it turns negative, before noise, when ``|z| > z*``.
    """
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    return config.p / (max(config.mu_norm_sq, 1e-300) * math.sqrt(config.n / 2))


def step1_noise_sd(config: XORConfig) -> tuple[float, float]:
    """Standard deviations of the two noises of the step-1 score.

    Eq. (xor-step1-criterion).

    In units of ``y_k (G y)_k`` (the margin times ``8 n / eta``):

    * ``data``: the Gaussian part of ``y_k (G y)_k`` around ``p + y_k s_k ||mu||^2 D``,
      ``sqrt((n + 1)(p + 2 ||mu||^2))`` (``||xi_k||^2 - p``, the noise cross terms
      ``<xi_i, xi_k>`` and the signal-noise cross terms);
    * ``width``: the finite-width fluctuation of the ``m`` neurons' sum around its
      average over neurons: the number of same-sign neurons active on ``x_k``
      (binomial) times the self term ``p + ||mu||^2``, plus each neuron's own share
      of the cross term (variance ``v/4``, ``v = n p + (n/2) ||mu||^4``), through
      ``relu``.

    Returns
    -------
    (data, width) : tuple of float
    """
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    n, p, m, mu2 = config.n, config.p, config.m, config.mu_norm_sq
    data = math.sqrt((n + 1) * (p + 2 * mu2))
    self_term = p + mu2
    s = math.sqrt(n * p + 0.5 * n * mu2**2) / 2   # sd of one neuron's cross term
    c = 1 / math.sqrt(2 * math.pi)                # E relu(Z) / s for Z ~ N(0, s^2)
    # same-sign neurons: self term + cross term if active (prob 1/2), relu(cross) if not
    var_same = (0.5 * (self_term**2 + s**2) + 0.25 * s**2
                - (0.5 * self_term + 0.5 * c * s) ** 2)
    # opposite-sign neurons: silenced if active; -relu(-cross) if not
    var_opp = 0.25 * s**2 - (0.5 * c * s) ** 2
    width = math.sqrt(8.0 / m * (var_same + var_opp))
    return data, width


def _log_phi(z: np.ndarray) -> np.ndarray:
    """``log Phi(z)`` elementwise, accurate in the lower tail."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -5
    tail = np.array([math.erfc(-v / math.sqrt(2)) for v in z[upper]])
    out[upper] = np.log(0.5 * tail)
    low = z[~upper]  # Mills ratio: log Phi(z) ~ -z^2/2 - log(-z sqrt(2 pi))
    out[~upper] = -0.5 * low**2 - np.log(-low * math.sqrt(2 * math.pi)) - 1 / low**2
    return out


def _log_binomial_half(count: int) -> np.ndarray:
    """``log P(B = b)`` for ``B ~ Binomial(count, 1/2)``, ``b = 0..count``."""
    b = np.arange(count + 1)
    return np.array([math.lgamma(count + 1) - math.lgamma(k + 1)
                     - math.lgamma(count - k + 1) for k in b]) - count * math.log(2)


def step1_fit_probability(config: XORConfig) -> float:
    """Probability that one step fits every training label, eq. (xor-step1-fit).

    Point ``k`` on axis ``a`` is fitted when
    ``p + y_k s_k ||mu||^2 D_a + sigma Z_k > 0`` (eq. (xor-step1-criterion)), with
    ``sigma^2 = data^2 + width^2`` from :func:`step1_noise_sd` and the ``Z_k`` taken
    independent.  ``D_a`` is the sum of the ``N_a`` Rademacher signs ``y_i s_i`` on
    the axis, ``N_1 ~ Binomial(n, 1/2)``: the probability is summed exactly over
    ``N_1`` and the ``B_a`` points with ``y_i s_i = +1``.  The independence of the
    ``Z_k`` is an approximation; its error is measured in the tests.
    """
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    n, p, mu2 = config.n, config.p, config.mu_norm_sq
    sigma = math.hypot(*step1_noise_sd(config))

    def axis(count: int) -> float:
        if count == 0:
            return 1.0
        b = np.arange(count + 1)
        d = 2 * b - count
        log_terms = (_log_binomial_half(count) + b * _log_phi((p + mu2 * d) / sigma)
                     + (count - b) * _log_phi((p - mu2 * d) / sigma))
        return float(np.sum(np.exp(log_terms)))

    per_axis = [axis(k) for k in range(n + 1)]
    weights = np.exp(_log_binomial_half(n))
    return float(sum(w * per_axis[k] * per_axis[n - k] for k, w in enumerate(weights)))


def step1_signal_score(cluster, y, mu_norm_sq: float, p: int) -> np.ndarray:
    """Noiseless step-1 score ``p + y_k s_k ||mu||^2 D_a(k)``.

    Eq. (xor-step1-criterion).

    ``s_k = +1`` on ``+mu_a``, ``-1`` on ``-mu_a``; ``D_a = sum_{i on axis a} y_i s_i``
    includes ``k`` itself.  ``y_k (G y)_k`` minus this score is mean-zero noise.

    Parameters
    ----------
    cluster : array_like (n,)
        Cluster indices 0 = +mu1, 1 = -mu1, 2 = +mu2, 3 = -mu2.
    y : array_like (n,)
        Training labels in {-1, +1}.
    mu_norm_sq : float
        ``||mu||^2``.
    p : int
        Input dimension.
    """
    cluster = check_array("cluster", cluster, ndim=1)
    if not np.all(np.isin(cluster, (0, 1, 2, 3))):
        raise ValueError("cluster must hold cluster indices in {0, 1, 2, 3}")
    y = check_array("y", y, shape=(cluster.size,))
    _check_labels(y)
    mu_norm_sq = check_float("mu_norm_sq", mu_norm_sq, minimum=0.0)
    p = check_int("p", p, minimum=2)
    axis = cluster.astype(int) // 2
    ys = y * np.where(cluster % 2 == 0, 1.0, -1.0)
    d = np.array([ys[axis == k].sum() for k in (0, 1)])
    return p + ys * mu_norm_sq * d[axis]


def step1_loss_theory(config: XORConfig, eta: float | None = None) -> float:
    """Mean training loss after one step, averaged over the margin distribution.

    A random training point has the step-1 margin
    ``eta / (8 n) * (p + ||mu||^2 (1 + S) + sigma Z)``, eq. (xor-step1-criterion):
    ``S`` is the imbalance term of that equation (a signed count over the other
    training points that share the point's axis, ``Binomial(n - 1, 1/2)`` of them),
    ``Z ~ N(0, 1)`` and
    ``sigma^2 = data^2 + width^2`` (:func:`step1_noise_sd`).  The loss
    ``log(1 + e^{-margin})`` is averaged exactly over ``S`` and by 60-point
    Gauss-Hermite quadrature over ``Z``.  The loss at the mean margin,
    ``log(1 + e^{-eta (p + ||mu||^2) / (8 n)})``, underestimates it (Jensen).

    Parameters
    ----------
    config : XORConfig
    eta : float, optional
        Step size; ``config.eta`` by default.
    """
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    eta = config.eta if eta is None else check_float(
        "eta", eta, minimum=0.0, min_inclusive=False, maximum=1e6)
    n, p, mu2 = config.n, config.p, config.mu_norm_sq
    sigma = math.hypot(*step1_noise_sd(config))
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    scale = eta / (8.0 * n)
    others = np.exp(_log_binomial_half(n - 1))
    total = 0.0
    for count, w_count in enumerate(others):
        if w_count < 1e-300:
            continue
        signs = 2 * np.arange(count + 1) - count                # values of S
        score = p + mu2 * (1 + signs)[:, None] + sigma * nodes[None, :]
        loss = np.logaddexp(0.0, -scale * score) @ weights
        total += w_count * float(np.exp(_log_binomial_half(count)) @ loss)
    return total
