"""Benign overfitting and grokking on XOR cluster data (chapter 4).

The chapter studies a two-layer bias-free ReLU network
``f(x) = sum_j a_j relu(<w_j, x>)`` with a fixed second layer ``a_j = +-1/sqrt(m)``,
trained by full-batch gradient descent on the logistic loss over noisy XOR cluster
data (Xu, Wang, Frei, Vardi & Hu, ICLR 2024).  It derives

* that every bias-free linear classifier scores exactly 1/2 on XOR clusters,
  eq. (xor-linear-half), see :func:`linear_classifier_accuracy`;
* that the odd part of the network is exactly linear, eq. (xor-odd-linear);
* the first gradient step from a tiny initialisation and its mean training margin
  ``eta (p + ||mu||^2) / (8 n)``, eq. (xor-step1-margin), see :func:`step1_margin_theory`;
* the later alignment of positive neurons with ``mu1`` and negative neurons with ``mu2``.

Speed: every gradient of the first layer is a combination of training inputs, so
``W(t) = W0 + C(t) X`` with an ``m x n`` coefficient matrix ``C``, eq. (xor-gram).
:func:`train_gram` runs gradient descent on ``C`` with the Gram matrix ``X X^T``
(cost ``O(m n^2)`` per step); :func:`train_direct` is the straightforward
``p``-dimensional gradient descent it replaces (the benchmark pair).  Both return the
same :class:`Trajectory` to rounding.  Everything is numpy float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .progress import progress
from .seeding import make_rng
from .validation import (
    check_array,
    check_choice,
    check_finite_loss,
    check_float,
    check_int,
    check_probability,
    check_seed,
    check_times,
)

__all__ = [
    "XORConfig",
    "XORData",
    "Trajectory",
    "XORRun",
    "linear_classifier_accuracy",
    "step1_margin_theory",
    "output_weights",
    "make_xor_data",
    "init_first_layer",
    "network_output",
    "gram_step",
    "train_gram",
    "train_direct",
    "run_xor",
    "decision_plane",
    "plot_training_curves",
    "plot_decision_planes",
    "plot_alignment",
    "plot_linearity",
    "plot_margin_theory",
    "plot_controls",
    "plot_seed_variability",
    "explorer",
    "explorer_figure",
]

CLUSTER_NAMES = ("+mu1", "-mu1", "+mu2", "-mu2")


# ----------------------------------------------------------------------------- closed forms
def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def linear_classifier_accuracy(v, mu_norm: float) -> float:
    """Exact clean accuracy of the bias-free linear classifier ``sign(<v, x>)``, eq. (xor-linear-half).

    Only the first two coordinates of ``v`` meet the signal (``mu1 = ||mu|| e1``,
    ``mu2 = ||mu|| e2``); with Gaussian noise the accuracy on cluster ``+-mu_k`` is
    ``Phi(+-<v, mu_k>/||v||)``, and the four clusters average to exactly 1/2.
    """
    v = check_array("v", v, ndim=1)
    mu_norm = check_float("mu_norm", mu_norm, minimum=0.0)
    if v.size < 2:
        raise ValueError(f"v must have at least 2 entries (p >= 2); got {v.size}")
    nv = float(np.linalg.norm(v))
    if nv == 0:
        raise ValueError("v must not be the zero vector")
    c1, c2 = mu_norm * v[0] / nv, mu_norm * v[1] / nv
    # label +1 on +-mu1: P(<v,x> > 0); label -1 on +-mu2: P(<v,x> < 0)
    acc = [_phi(c1), _phi(-c1), 1 - _phi(c2), 1 - _phi(-c2)]
    return float(np.mean(acc))


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


# ----------------------------------------------------------------------------- configuration and data
@dataclass(frozen=True)
class XORConfig:
    """One experimental configuration (the chapter's knobs).

    Attributes
    ----------
    n : int
        Training samples (the book's P).
    p : int
        Input dimension (the book's d), at least 2.
    m : int
        Hidden width, even (half the neurons have ``a_j = +1/sqrt(m)``).
    signal : float
        Signal strength ``||mu||^2 / sqrt(p)``.
    rho : float
        Label-flip rate in ``[0, 1/2)``.
    eta : float
        Step size (> 0).
    init_std : float
        Per-coordinate standard deviation of the first-layer init (> 0).
    n_test : int
        Fresh test points.
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
        check_int("n", self.n, minimum=4)
        check_int("p", self.p, minimum=2)
        check_int("m", self.m, minimum=2)
        if self.m % 2:
            raise ValueError(f"m must be even (half positive, half negative neurons); got {self.m}")
        check_float("signal", self.signal, minimum=0.0)
        check_probability("rho", self.rho, maximum=0.5, max_inclusive=False)
        check_float("eta", self.eta, minimum=0.0, min_inclusive=False)
        check_float("init_std", self.init_std, minimum=0.0, min_inclusive=False)
        check_int("n_test", self.n_test, minimum=4)

    @property
    def mu_norm_sq(self) -> float:
        """``||mu||^2 = signal * sqrt(p)``."""
        return self.signal * math.sqrt(self.p)

    @property
    def step1_margin(self) -> float:
        """Derived mean step-1 margin, eq. (xor-step1-margin)."""
        return step1_margin_theory(self.n, self.p, self.mu_norm_sq, self.eta)


def _check_config(config) -> XORConfig:
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {type(config).__name__}")
    return config


@dataclass(frozen=True)
class XORData:
    """Noisy XOR cluster data with ``mu1 = ||mu|| e1``, ``mu2 = ||mu|| e2``.

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

    @property
    def flipped(self) -> np.ndarray:
        """Boolean mask of the training points whose label was flipped."""
        return self.y != self.y_clean

    def cluster_flip_rate(self) -> np.ndarray:
        """Fraction of flipped labels in each of the four training clusters."""
        return np.array([self.flipped[self.cluster == k].mean() if np.any(self.cluster == k) else np.nan
                         for k in range(4)])


def _sample_noise(rng, count, p, balanced=False):
    """Signal-free draws of ``count`` points: cluster index, float32 Gaussian noise, flip uniforms.

    ``balanced=True`` (the test set) puts ``count/4`` points in each cluster, which removes the
    cluster-size part of the sampling noise of test accuracies without changing their mean.
    """
    cluster = np.arange(count) % 4 if balanced else rng.integers(0, 4, size=count)
    Xi = rng.standard_normal((count, p), dtype=np.float32).astype(np.float64)
    return cluster, Xi, rng.random(count)


def _signal_coords(cluster, mu_norm):
    """``(count, 2)`` coordinates of the cluster means in the basis (e1, e2)."""
    M = np.zeros((cluster.size, 2))
    M[np.arange(cluster.size), cluster // 2] = np.where(cluster % 2 == 0, mu_norm, -mu_norm)
    return M


def _labels(cluster, u, rho):
    y_clean = np.where(cluster < 2, 1.0, -1.0)
    return y_clean, np.where(u < rho, -y_clean, y_clean)


def _sample_points(rng, count, p, mu_norm, rho, balanced=False):
    cluster, X, u = _sample_noise(rng, count, p, balanced)
    X[:, :2] += _signal_coords(cluster, mu_norm)
    y_clean, y = _labels(cluster, u, rho)
    return X, y_clean, y, cluster


def make_xor_data(n: int, p: int, *, signal: float, rho: float, n_test: int = 1000, seed=0) -> XORData:
    """Sample noisy XOR cluster data (the model we study; see the chapter's Setup).

    Rotation invariance of the Gaussian noise and of the init lets us put
    ``mu1 = ||mu|| e1`` and ``mu2 = ||mu|| e2`` without loss of generality.
    """
    n = check_int("n", n, minimum=4)
    p = check_int("p", p, minimum=2)
    signal = check_float("signal", signal, minimum=0.0)
    rho = check_probability("rho", rho, maximum=0.5, max_inclusive=False)
    n_test = check_int("n_test", n_test, minimum=4)
    rng = make_rng(seed)
    mu_norm = math.sqrt(signal * math.sqrt(p))
    X, y_clean, y, cl = _sample_points(rng, n, p, mu_norm, rho)
    Xt, yt_clean, yt_noisy, clt = _sample_points(rng, n_test, p, mu_norm, rho, balanced=True)
    return XORData(X, y, y_clean, cl, Xt, yt_clean, yt_noisy, clt, mu_norm)


def output_weights(m: int) -> np.ndarray:
    """Fixed second layer: ``+1/sqrt(m)`` for the first m/2 neurons, ``-1/sqrt(m)`` for the rest."""
    m = check_int("m", m, minimum=2)
    if m % 2:
        raise ValueError(f"m must be even; got {m}")
    return np.where(np.arange(m) < m // 2, 1.0, -1.0) / math.sqrt(m)


def init_first_layer(m: int, p: int, init_std: float, seed=0) -> np.ndarray:
    """Gaussian first-layer init ``W0`` (m x p) with per-coordinate std ``init_std``."""
    m = check_int("m", m, minimum=2)
    p = check_int("p", p, minimum=2)
    init_std = check_float("init_std", init_std, minimum=0.0, min_inclusive=False)
    return init_std * make_rng(seed).standard_normal((m, p), dtype=np.float32).astype(np.float64)


def network_output(W, a, X) -> np.ndarray:
    """``f(x) = sum_j a_j relu(<w_j, x>)`` for each row of ``X``."""
    W = check_array("W", W, ndim=2)
    a = check_array("a", a, shape=(W.shape[0],))
    X = check_array("X", X, ndim=2, shape=(None, W.shape[1]))
    return np.maximum(X @ W.T, 0.0) @ a


# ----------------------------------------------------------------------------- training
def _grad_coeffs(Z, y, a, eta):
    """Increment of ``C`` (m x n) for pre-activations ``Z`` (n x m): eq. (xor-gd-coeff)."""
    margins = y * (np.maximum(Z, 0.0) @ a)
    g = 0.5 * (1.0 - np.tanh(0.5 * margins))  # -l'(margin) = 1/(1+e^margin), overflow-free
    n = Z.shape[0]
    return (eta / n) * a[:, None] * ((Z > 0) * (g * y)[:, None]).T, np.mean(np.logaddexp(0.0, -margins))


def gram_step(C, Z0, G, y, a, eta: float) -> np.ndarray:
    """One full-batch GD step in coefficient space, eq. (xor-gram).

    Parameters
    ----------
    C : ndarray (m, n)
        Coefficients, ``W = W0 + C X``.
    Z0 : ndarray (n, m)
        ``X W0^T``.
    G : ndarray (n, n)
        Gram matrix ``X X^T``.
    y : ndarray (n,)
        Labels in {-1, +1}.
    a : ndarray (m,)
        Second-layer weights.
    eta : float
        Step size.

    Returns
    -------
    ndarray (m, n)
        The coefficients after the step.
    """
    C = check_array("C", C, ndim=2)
    m, n = C.shape
    Z0 = check_array("Z0", Z0, shape=(n, m))
    G = check_array("G", G, shape=(n, n))
    y = check_array("y", y, shape=(n,))
    a = check_array("a", a, shape=(m,))
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    dC, _ = _grad_coeffs(Z0 + G @ C.T, y, a, eta)
    return C + dC


@dataclass(frozen=True)
class Trajectory:
    """Raw network state at checkpoints, shared by both engines.

    Attributes
    ----------
    steps : ndarray (T,)
        Checkpoint steps.
    Z_train : ndarray (T, n, m)
        Pre-activations ``<w_j, x_i>`` on the training set.
    Z_test : ndarray (T, n_test, m)
        Pre-activations on the test set.
    w_plane : ndarray (T, m, 2)
        First two coordinates of each ``w_j`` (``<w_j, mu_k> = ||mu|| w_plane[..., k]``).
    w_norm : ndarray (T, m)
        ``||w_j||``.
    loss : ndarray (max step + 1,)
        Training loss at every step.
    """

    steps: np.ndarray
    Z_train: np.ndarray
    Z_test: np.ndarray
    w_plane: np.ndarray
    w_norm: np.ndarray
    loss: np.ndarray


def _check_train_args(data, W0, eta, steps):
    if not isinstance(data, XORData):
        raise TypeError(f"data must be an XORData; got {type(data).__name__}")
    W0 = check_array("W0", W0, ndim=2, shape=(None, data.X.shape[1]))
    if W0.shape[0] % 2 or W0.shape[0] < 2:
        raise ValueError(f"W0 must have an even number (>= 2) of rows (neurons); got {W0.shape[0]}")
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    steps = check_times("steps", steps, maximum=100000)
    return W0, eta, steps


_KNOB = "eta (step size) = {:g}"
_HINT = "The logistic loss is bounded below and cannot blow up, so a non-finite loss means overflowing inputs."


@dataclass(frozen=True)
class _GramStats:
    """Everything the coefficient-space engine and the diagnostics need (no p-dimensional array)."""

    G: np.ndarray       # X X^T (n, n)
    Z0: np.ndarray      # X W0^T (n, m)
    Kt: np.ndarray      # X_test X^T (n_test, n)
    Zt0: np.ndarray     # X_test W0^T (n_test, m)
    X2: np.ndarray      # X[:, :2]
    W02: np.ndarray     # W0[:, :2]
    w0n2: np.ndarray    # ||w0_j||^2
    y: np.ndarray
    y_clean: np.ndarray
    cluster: np.ndarray
    y_test_clean: np.ndarray
    y_test_noisy: np.ndarray
    cluster_test: np.ndarray
    mu_norm: float


def _stats_from_data(data: XORData, W0: np.ndarray) -> _GramStats:
    X, Xt = data.X, data.X_test
    return _GramStats(X @ X.T, X @ W0.T, Xt @ X.T, Xt @ W0.T, X[:, :2].copy(), W0[:, :2].copy(),
                      np.einsum("jp,jp->j", W0, W0), data.y, data.y_clean, data.cluster,
                      data.y_test_clean, data.y_test_noisy, data.cluster_test, data.mu_norm)


@lru_cache(maxsize=32)
def _noise_stats(seed: int, n: int, p: int, m: int, n_test: int) -> dict:
    """Signal- and scale-free Gram statistics of one seed's draws (same draws as make_xor_data + init)."""
    rng = make_rng(seed)
    cl, Xi, u = _sample_noise(rng, n, p)
    clt, Xit, ut = _sample_noise(rng, n_test, p, balanced=True)
    V = rng.standard_normal((m, p), dtype=np.float32).astype(np.float64)
    both = np.vstack([Xi, V])
    out = dict(cluster=cl, u=u, cluster_test=clt, u_test=ut, Xi2=Xi[:, :2].copy(), Xit2=Xit[:, :2].copy(),
               V2=V[:, :2].copy(), vn2=np.einsum("jp,jp->j", V, V), GG=Xi @ both.T, KK=Xit @ both.T)
    for v in out.values():
        v.setflags(write=False)
    return out


def _stats_from_seed(seed: int, config: XORConfig) -> _GramStats:
    """Exact Gram statistics for ``config`` from the cached noise products of ``seed``.

    ``X = Xi + M`` with ``M`` non-zero only in coordinates 1-2, so
    ``X X^T = Xi Xi^T + Xi_2 M^T + M Xi_2^T + M M^T`` and likewise for the test set.
    """
    d = _noise_stats(seed, config.n, config.p, config.m, config.n_test)
    n, w = config.n, config.init_std
    mu = math.sqrt(config.mu_norm_sq)
    M, Mt = _signal_coords(d["cluster"], mu), _signal_coords(d["cluster_test"], mu)
    G = d["GG"][:, :n] + d["Xi2"] @ M.T + M @ d["Xi2"].T + M @ M.T
    Kt = d["KK"][:, :n] + d["Xit2"] @ M.T + Mt @ d["Xi2"].T + Mt @ M.T
    Z0 = w * (d["GG"][:, n:] + M @ d["V2"].T)
    Zt0 = w * (d["KK"][:, n:] + Mt @ d["V2"].T)
    y_clean, y = _labels(d["cluster"], d["u"], config.rho)
    yt_clean, yt = _labels(d["cluster_test"], d["u_test"], config.rho)
    return _GramStats(G, Z0, Kt, Zt0, d["Xi2"] + M, w * d["V2"], w * w * d["vn2"], y, y_clean, d["cluster"],
                      yt_clean, yt, d["cluster_test"], mu)


def _gram_core(st: _GramStats, eta: float, steps: np.ndarray) -> Trajectory:
    a = output_weights(st.Z0.shape[1])
    C = np.zeros((st.Z0.shape[1], st.Z0.shape[0]))
    T = int(steps[-1])
    keep = set(steps.tolist())
    out, loss = [], np.empty(T + 1)
    for t in range(T + 1):
        Z = st.Z0 + st.G @ C.T
        if t in keep:
            norm2 = st.w0n2 + 2 * np.einsum("ji,ij->j", C, st.Z0) + np.einsum("ji,ji->j", C @ st.G, C)
            out.append((Z, st.Zt0 + st.Kt @ C.T, st.W02 + C @ st.X2, np.sqrt(np.maximum(norm2, 0.0))))
        dC, loss[t] = _grad_coeffs(Z, st.y, a, eta)
        check_finite_loss(loss[t], t, knob=_KNOB.format(eta), hint=_HINT)
        C = C + dC
    return Trajectory(steps, *(np.stack(v) for v in zip(*out)), loss)


def train_gram(data: XORData, W0, *, eta: float, steps) -> Trajectory:
    """Full-batch GD in coefficient space ``W = W0 + C X`` (the fast engine), eq. (xor-gram).

    Precomputes ``G = X X^T``, ``X W0^T``, ``X_test X^T``, ``X_test W0^T``; each step then
    costs ``O(m n^2)`` instead of ``O(m n p)``.
    """
    W0, eta, steps = _check_train_args(data, W0, eta, steps)
    return _gram_core(_stats_from_data(data, W0), eta, steps)


def train_direct(data: XORData, W0, *, eta: float, steps) -> Trajectory:
    """Straightforward full-batch GD on the ``m x p`` first layer (reference engine)."""
    W0, eta, steps = _check_train_args(data, W0, eta, steps)
    X, Xt, y = data.X, data.X_test, data.y
    a = output_weights(W0.shape[0])
    W = W0.copy()
    T = int(steps[-1])
    keep = set(steps.tolist())
    out, loss = [], np.empty(T + 1)
    for t in range(T + 1):
        Z = X @ W.T
        if t in keep:
            out.append((Z, Xt @ W.T, W[:, :2].copy(), np.linalg.norm(W, axis=1)))
        dC, loss[t] = _grad_coeffs(Z, y, a, eta)
        check_finite_loss(loss[t], t, knob=_KNOB.format(eta), hint=_HINT)
        W = W + dC @ X
    return Trajectory(steps, *(np.stack(v) for v in zip(*out)), loss)


# ----------------------------------------------------------------------------- diagnostics
@dataclass(frozen=True)
class XORRun:
    """Diagnostics of several seeds at the requested checkpoints (arrays indexed [seed, step, ...]).

    Attributes
    ----------
    config : XORConfig
    seeds, steps : ndarray
    train_loss, train_acc, flipped_acc : (S, T)
        Loss and accuracy on the noisy training labels; accuracy on the flipped points alone.
    mean_margin, min_margin : (S, T)
        Mean and minimum of ``y_i f(x_i)``.
    test_clean, test_noisy : (S, T)
        Test accuracy against clean labels and against labels flipped with rate ``rho``.
    corr_linear : (S, T)
        Correlation of ``f(x)`` with ``<sum_i y_i x_i, x>`` on the test points.
    even_odd : (S, T)
        ``mean|f_even| / mean|f_odd|`` on the test points, eq. (xor-odd-even).
    cluster_acc : (S, T, 4)
        Clean test accuracy on clusters +mu1, -mu1, +mu2, -mu2.
    cos_align : (S, T, 2, 2)
        Mean ``|cos(w_j, mu_k)|`` over positive (index 0) / negative (1) neurons, for mu1 / mu2.
    delta : (S, T, 2)
        Imbalances delta1, delta2, eq. (xor-delta).
    w_plane : (S, T, m, 2)
        First two coordinates of the neurons (for :func:`decision_plane`).
    cluster_flip_rate : (S, 4)
        Fraction of flipped training labels per cluster.
    """

    config: XORConfig
    seeds: np.ndarray
    steps: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    flipped_acc: np.ndarray
    mean_margin: np.ndarray
    min_margin: np.ndarray
    test_clean: np.ndarray
    test_noisy: np.ndarray
    corr_linear: np.ndarray
    even_odd: np.ndarray
    cluster_acc: np.ndarray
    cos_align: np.ndarray
    delta: np.ndarray
    w_plane: np.ndarray
    cluster_flip_rate: np.ndarray
    mu_norm: float = field(default=1.0)

    def index(self, step: int) -> int:
        """Position of checkpoint ``step`` in ``steps``."""
        hits = np.flatnonzero(self.steps == step)
        if hits.size == 0:
            raise ValueError(f"step must be one of the checkpoints {self.steps.tolist()}; got {step}")
        return int(hits[0])

    def median(self, name: str, step: int) -> float:
        """Median over seeds of diagnostic ``name`` at checkpoint ``step``."""
        return float(np.median(getattr(self, name)[:, self.index(step)], axis=0))


def _diagnostics(traj: Trajectory, data: _GramStats) -> dict:
    a = output_weights(traj.Z_train.shape[2])
    m = a.size
    f_tr = np.maximum(traj.Z_train, 0) @ a
    fp = np.maximum(traj.Z_test, 0) @ a
    fm = np.maximum(-traj.Z_test, 0) @ a  # f(-x)
    f_even, f_odd = (fp + fm) / 2, (fp - fm) / 2
    lin = data.Kt @ data.y
    margins = data.y * f_tr
    pred = np.where(fp > 0, 1.0, -1.0)
    corr = np.array([np.corrcoef(fp_t, lin)[0, 1] if np.std(fp_t) > 0 else 0.0 for fp_t in fp])
    cl_acc = np.stack([(pred[:, data.cluster_test == k] == data.y_test_clean[data.cluster_test == k]).mean(axis=1)
                       for k in range(4)], axis=-1)
    ip = np.abs(traj.w_plane)  # |<w_j, mu_k>| / ||mu||
    cos = ip / traj.w_norm[..., None]
    pos, neg = np.arange(m) < m // 2, np.arange(m) >= m // 2
    cos_align = np.stack([cos[:, pos].mean(axis=1), cos[:, neg].mean(axis=1)], axis=1)
    tot = ip.sum(axis=1)
    d1 = (ip[:, pos, 0].sum(1) - ip[:, neg, 0].sum(1)) / tot[:, 0]
    d2 = (ip[:, neg, 1].sum(1) - ip[:, pos, 1].sum(1)) / tot[:, 1]
    flip = data.y != data.y_clean
    return dict(
        train_loss=traj.loss[traj.steps], train_acc=(margins > 0).mean(1),
        flipped_acc=(margins[:, flip] > 0).mean(1) if flip.any() else np.ones(len(traj.steps)),
        mean_margin=margins.mean(1), min_margin=margins.min(1),
        test_clean=(pred == data.y_test_clean).mean(1), test_noisy=(pred == data.y_test_noisy).mean(1),
        corr_linear=corr, even_odd=np.abs(f_even).mean(1) / np.maximum(np.abs(f_odd).mean(1), 1e-300),
        cluster_acc=cl_acc, cos_align=cos_align, delta=np.stack([d1, d2], axis=-1), w_plane=traj.w_plane)


def run_xor(config: XORConfig, seeds, steps, *, engine: str = "gram") -> XORRun:
    """Train one network per seed and return all diagnostics at the checkpoints ``steps``.

    Each seed draws, through ``make_rng(seed)``, first the data (training then test
    points) and then the init, so configurations that differ only in ``signal``,
    ``rho``, ``eta`` or ``init_std`` share the same underlying random numbers.
    """
    config = _check_config(config)
    seeds = np.atleast_1d(np.asarray(seeds)).tolist()
    if len(seeds) == 0:
        raise ValueError("seeds must hold at least one seed; got an empty sequence")
    seeds = np.array([check_seed("seeds", s) for s in seeds], dtype=np.int64)
    steps = check_times("steps", steps, maximum=100000)
    engine = check_choice("engine", engine, ("gram", "direct"))
    rows, flip_rates, mu_norm = [], [], 1.0
    for s in progress(seeds.tolist(), desc="seeds"):
        if engine == "gram":
            st = _stats_from_seed(int(s), config)
            traj = _gram_core(st, config.eta, steps)
        else:
            rng = make_rng(int(s))
            data = make_xor_data(config.n, config.p, signal=config.signal, rho=config.rho,
                                 n_test=config.n_test, seed=rng)
            W0 = init_first_layer(config.m, config.p, config.init_std, seed=rng)
            traj = train_direct(data, W0, eta=config.eta, steps=steps)
            st = _stats_from_data(data, W0)
        rows.append(_diagnostics(traj, st))
        flip = st.y != st.y_clean
        flip_rates.append(np.array([flip[st.cluster == k].mean() if np.any(st.cluster == k) else np.nan
                                    for k in range(4)]))
        mu_norm = st.mu_norm
    stacked = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    return XORRun(config=config, seeds=seeds, steps=steps, cluster_flip_rate=np.stack(flip_rates),
                  mu_norm=mu_norm, **stacked)


def decision_plane(w_plane, mu_norm: float, extent: float = 2.0, resolution: int = 81):
    """Network output on the plane ``u = s mu1 + r mu2``, ``|s|, |r| <= extent``.

    Returns ``(s, r, F)`` with ``F[i, k] = f(s_k mu1 + r_i mu2)``; uses
    ``<w_j, mu_k> = ||mu|| w_plane[j, k]`` and ``a`` from :func:`output_weights`.
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


# ----------------------------------------------------------------------------- figures
from .xor_clusters_plots import (  # noqa: E402  (figure functions live in a sibling module)
    explorer,
    explorer_figure,
    plot_alignment,
    plot_controls,
    plot_decision_planes,
    plot_linearity,
    plot_margin_theory,
    plot_seed_variability,
    plot_training_curves,
)
