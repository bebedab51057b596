"""Grokking as the transition from lazy to rich training (chapter 3).

The chapter follows Kumar, Bordelon, Gershman & Pehlevan (ICLR 2024).  A committee machine
``f(x) = (alpha/N) sum_i phi(w_i . x)`` with ``phi(h) = h + (eps/2) h**2`` learns the quadratic
target ``y = (beta . x)**2 / 2`` on Gaussian inputs ``x ~ N(0, I/d)``.  The module derives and
implements

* the sufficient statistics ``w_bar = mean_i w_i`` and ``M = mean_i w_i w_i^T``, through which
  ``f(x) = alpha w_bar . x + (alpha eps / 2) x^T M x``, eq. (lr-summary);
* the exact population loss of the centred network as variance + misalignment + linear power,
  eq. (lr-pop-loss);
* the exact closed recursion of ``(w_bar, M)`` under full-batch gradient descent, eq.
  (lr-recursion), valid at any width ``N`` (:func:`train_recursion`), against the straightforward
  width-``N`` network (:func:`train_full_network`);
* the initial tangent kernel, eq. (lr-ntk), kernel regression with it and the linearised (lazy,
  ``alpha -> infinity``) model in closed form, eq. (lr-lazy-closed-form);
* crossing-time diagnostics of the alpha / P / eps sweeps, and the chapter's figures and explorer.

Conventions: loss = mean squared error without 1/2; learning rate ``eta = eta0 N / alpha**2``; time
``t`` is counted in ``eta0 = 1`` units (a step of size ``eta0`` advances ``t`` by ``eta0``);
numpy float64 throughout.  The input dimension is ``d`` (the paper's ``D``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .device import single_threaded
from .plotting import PALETTE, THEORY_STYLE, new_figure
from .validation import (
    check_array,
    check_bool,
    check_finite_loss,
    check_float,
    check_int,
    check_seed,
)

__all__ = [
    "TeacherData",
    "Committee",
    "History",
    "LossTerms",
    "population_loss_terms",
    "initial_kernel",
    "kernel_regression_loss",
    "lazy_limit_losses",
    "stability_limit",
    "time_grid",
    "make_teacher_data",
    "make_network",
    "network_output",
    "monte_carlo_test_loss",
    "train_recursion",
    "train_full_network",
    "crossing_time",
    "sweep_alpha",
    "plot_grokking",
    "plot_decomposition",
    "plot_alpha_sweep",
    "plot_p_sweep",
    "plot_phase_diagram",
    "explorer",
]


# ----------------------------------------------------------------------------- closed forms
@dataclass(frozen=True)
class LossTerms:
    """The three terms of the population loss, eq. (lr-pop-loss).

    Attributes
    ----------
    variance : ndarray
        ``(|beta|^2 - alpha eps Tr(M - M0))**2 / (4 d**2)``.
    misalignment : ndarray
        ``||alpha eps (M - M0) - beta beta^T||_F**2 / (2 d**2)``.
    linear : ndarray
        ``alpha**2 |w_bar - w_bar0|**2 / d``, the power in linear modes.
    total : ndarray
        Their sum, the exact test loss ``E_x[(f~(x) - y(x))**2]``.
    """

    variance: np.ndarray
    misalignment: np.ndarray
    linear: np.ndarray
    total: np.ndarray


def _terms_from_coefficients(b, Q, beta):
    """Population loss of ``f(x) = b.x + x^T Q x`` against ``y = (beta.x)^2/2`` (batched)."""
    d = beta.shape[-1]
    B = 2.0 * Q - np.outer(beta, beta)
    tr = np.trace(B, axis1=-2, axis2=-1)
    var = tr ** 2 / (4.0 * d ** 2)
    mis = np.sum(B * B, axis=(-2, -1)) / (2.0 * d ** 2)
    lin = np.sum(b * b, axis=-1) / d
    return LossTerms(var, mis, lin, var + mis + lin)


def population_loss_terms(dw_bar, dM, beta, alpha, eps) -> LossTerms:
    """Exact population loss of the centred network, split as in eq. (lr-pop-loss).

    For ``x ~ N(0, I/d)``, ``E[(x^T A x)^2] = ((Tr A)^2 + 2 Tr A^2) / d^2`` for symmetric ``A``, and
    odd moments vanish, so with ``B = alpha eps dM - beta beta^T``

    ``L = (Tr B)^2 / (4 d^2) + ||B||_F^2 / (2 d^2) + alpha^2 |dw_bar|^2 / d``.

    Parameters
    ----------
    dw_bar : array, shape (..., d)
        ``w_bar - w_bar0``.
    dM : array, shape (..., d, d)
        ``M - M0`` (symmetric).
    beta : array, shape (d,)
        Teacher direction.
    alpha, eps : float or array broadcastable to the batch shape
        Output scale and strength of the quadratic part of ``phi``.
    """
    beta = check_array("beta", beta, ndim=1)
    d = beta.shape[0]
    dw_bar = check_array("dw_bar", dw_bar)
    dM = check_array("dM", dM)
    if dw_bar.shape[-1] != d or dM.shape[-2:] != (d, d) or dM.shape[:-2] != dw_bar.shape[:-1]:
        raise ValueError(f"dw_bar must have shape (..., {d}) and dM shape (..., {d}, {d}) with the same batch "
                         f"shape; got dw_bar {dw_bar.shape}, dM {dM.shape}")
    alpha = np.asarray(alpha, dtype=float)
    eps = np.asarray(eps, dtype=float)
    if not (np.all(np.isfinite(alpha)) and np.all(alpha > 0)):
        raise ValueError(f"alpha must be finite and > 0; got {alpha}")
    if not np.all(np.isfinite(eps)):
        raise ValueError(f"eps must be finite; got {eps}")
    a = alpha[..., None]
    Q = 0.5 * (alpha * eps)[..., None, None] * dM
    return _terms_from_coefficients(a * dw_bar, Q, beta)


def initial_kernel(X1, X2, eps, w_bar0=None, M0=None) -> np.ndarray:
    """Tangent kernel at initialisation, eq. (lr-ntk), without the ``alpha**2 / N`` prefactor.

    ``K(x, x') = x.x' [1 + eps w_bar0.(x + x') + eps^2 x^T M0 x']``; with the infinite-width
    statistics ``w_bar0 = 0, M0 = I`` (the default) it is ``x.x' + eps^2 (x.x')^2``, eq. (lr-ntk-inf).
    """
    X1 = check_array("X1", X1, ndim=2)
    X2 = check_array("X2", X2, ndim=2)
    d = X1.shape[1]
    if X2.shape[1] != d:
        raise ValueError(f"X2 must have {d} columns like X1; got shape {X2.shape}")
    eps = check_float("eps", eps, minimum=0.0)
    w_bar0 = np.zeros(d) if w_bar0 is None else check_array("w_bar0", w_bar0, shape=(d,))
    M0 = np.eye(d) if M0 is None else check_array("M0", M0, shape=(d, d))
    G = X1 @ X2.T
    return G * (1.0 + eps * ((X1 @ w_bar0)[:, None] + (X2 @ w_bar0)[None, :]) + eps ** 2 * (X1 @ M0 @ X2.T))


def _kernel_coefficients(a, X, eps, w_bar0, M0):
    """Map kernel-expansion weights ``a`` (f = sum_mu a_mu K0(x, x_mu)) to (b, Q) of f = b.x + x^T Q x."""
    b = (a * (1.0 + eps * (X @ w_bar0))) @ X
    Z = eps * np.outer(a @ X, w_bar0) + eps ** 2 * (X.T * a) @ X @ M0
    return b, 0.5 * (Z + Z.T)


def stability_limit(data: "TeacherData", net: "Committee") -> float:
    """Largest stable ``eta0`` at initialisation: ``1 / lambda_max(K0(X, X) / P)``.

    With ``L = mean (f - y)^2`` gradient descent in function space reads
    ``r <- (I - 2 eta0 K0 / P) r`` (eq. lr-function-gd), stable while ``2 eta0 lambda_max < 2``.
    """
    _check_pair(data, net)
    K = initial_kernel(data.X, data.X, net.eps, net.w_bar0, net.M0)
    return float(1.0 / np.linalg.eigvalsh(K / data.P)[-1])


def lazy_limit_losses(data: "TeacherData", net: "Committee", times) -> tuple[np.ndarray, np.ndarray]:
    """Train and population test loss of the linearised (``alpha -> infinity``) model.

    Eq. (lr-lazy-closed-form): gradient flow on the linearised model gives training residual
    ``r(t) = -exp(-2 t K0 / P) y`` and kernel-expansion weights ``a(t) = K0^{-1}(I - exp(-2 t K0/P)) y``;
    ``times = inf`` gives ridgeless kernel regression.  Returns ``(train, test)`` arrays.
    """
    _check_pair(data, net)
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(f"times must be a 1-d array of non-negative times (inf allowed); got {times!r}")
    K = initial_kernel(data.X, data.X, net.eps, net.w_bar0, net.M0)
    lam, U = np.linalg.eigh(K)
    if lam[0] <= 1e-12 * lam[-1]:
        raise ValueError(f"the initial kernel on the training set is singular (P = {data.P} too large for d = "
                         f"{data.d}); ridgeless regression needs P <= d + d(d+1)/2")
    yk = U.T @ data.y
    train, test = [], []
    for tk in t:
        decay = np.exp(-2.0 * tk * lam / data.P) if np.isfinite(tk) else np.zeros_like(lam)
        train.append(np.mean((U @ (decay * yk)) ** 2))
        a = U @ ((1.0 - decay) * yk / lam)
        b, Q = _kernel_coefficients(a, data.X, net.eps, net.w_bar0, net.M0)
        test.append(_terms_from_coefficients(b, Q, data.beta).total)
    return np.array(train), np.array(test)


def kernel_regression_loss(data: "TeacherData", net: "Committee") -> float:
    """Population test loss of ridgeless regression with the initial kernel ``K0`` (the lazy limit)."""
    return float(lazy_limit_losses(data, net, [np.inf])[1][0])


def time_grid(t_max, *, eta0: float = 1.0, eta0_max: float = 20.0, rel_step: float = 0.02) -> np.ndarray:
    """Step sizes of the chapter's gradient-descent runs, in ``eta0`` units.

    The step is ``clip(rel_step * t, eta0, eta0_max)``: constant ``eta0`` at first (the early, fast
    kernel dynamics), then log-spaced (2% of the elapsed time by default), then capped at
    ``eta0_max`` below the stability limit (:func:`stability_limit`).  ``eta0_max = eta0`` gives plain
    constant-step gradient descent.  Returns the step sizes; their cumulative sum reaches ``t_max``.
    """
    t_max = check_float("t_max", t_max, minimum=0.0, min_inclusive=False)
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    eta0_max = check_float("eta0_max", eta0_max, minimum=eta0)
    rel_step = check_float("rel_step", rel_step, minimum=0.0, maximum=1.0)
    steps, t = [], 0.0
    while t < t_max * (1 - 1e-12):
        h = min(max(rel_step * t, eta0), eta0_max, t_max - t)
        steps.append(h)
        t += h
    return np.array(steps)


# ----------------------------------------------------------------------------- data and model
@dataclass(frozen=True)
class TeacherData:
    """Training set of the quadratic teacher ``y = (beta.x)^2 / 2`` with ``x ~ N(0, I/d)``.

    Attributes
    ----------
    X : ndarray, shape (P, d)
        Training inputs.
    y : ndarray, shape (P,)
        Targets.
    beta : ndarray, shape (d,)
        Teacher direction, ``beta ~ N(0, I_d)``.
    """

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray

    @property
    def P(self) -> int:
        """Number of training examples."""
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Input dimension."""
        return self.X.shape[1]

    @property
    def test_loss0(self) -> float:
        """Population loss of the centred network at ``t = 0``: ``E[y^2] = 3 |beta|^4 / (4 d^2)``."""
        return float(3.0 * np.sum(self.beta ** 2) ** 2 / (4.0 * self.d ** 2))

    @property
    def train_loss0(self) -> float:
        """Training loss at ``t = 0``: ``mean(y^2)``."""
        return float(np.mean(self.y ** 2))


@dataclass(frozen=True)
class Committee:
    """First-layer weights of the committee machine and their sufficient statistics, eq. (lr-summary).

    Attributes
    ----------
    W0 : ndarray, shape (N, d)
        Initial weights ``w_i ~ N(0, I_d)``.
    eps : float
        Strength of the quadratic part of ``phi(h) = h + (eps/2) h^2``.
    w_bar0 : ndarray, shape (d,)
        ``mean_i w_i`` at initialisation.
    M0 : ndarray, shape (d, d)
        ``mean_i w_i w_i^T`` at initialisation.
    """

    W0: np.ndarray
    eps: float
    w_bar0: np.ndarray
    M0: np.ndarray

    @property
    def N(self) -> int:
        """Width."""
        return self.W0.shape[0]


def make_teacher_data(d: int = 100, P: int = 550, *, seed=0) -> TeacherData:
    """Draw ``beta ~ N(0, I_d)``, ``P`` inputs ``x ~ N(0, I/d)`` and ``y = (beta.x)^2 / 2``."""
    d = check_int("d", d, minimum=1)
    P = check_int("P", P, minimum=1)
    rng = np.random.default_rng([check_seed("seed", seed), 0])
    beta = rng.standard_normal(d)
    X = rng.standard_normal((P, d)) / np.sqrt(d)
    return TeacherData(X=X, y=0.5 * (X @ beta) ** 2, beta=beta)


def make_network(d: int = 100, N: int = 500, eps: float = 0.02, *, seed=0) -> Committee:
    """Draw the initial weights ``w_i ~ N(0, I_d)`` of a width-``N`` committee machine.

    The random stream is independent of :func:`make_teacher_data` with the same ``seed``.
    """
    d = check_int("d", d, minimum=1)
    N = check_int("N", N, minimum=1)
    eps = check_float("eps", eps, minimum=0.0)
    W0 = np.random.default_rng([check_seed("seed", seed), 1]).standard_normal((N, d))
    return Committee(W0=W0, eps=eps, w_bar0=W0.mean(axis=0), M0=W0.T @ W0 / N)


def network_output(W, X, alpha, eps) -> np.ndarray:
    """Uncentred output ``f(x) = (alpha/N) sum_i phi(w_i . x)`` of weights ``W`` (N, d) on inputs ``X``."""
    W = check_array("W", W, ndim=2)
    X = check_array("X", X, ndim=2)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X must have {W.shape[1]} columns like W; got shape {X.shape}")
    alpha = check_float("alpha", alpha, minimum=0.0, min_inclusive=False)
    eps = check_float("eps", eps, minimum=0.0)
    H = X @ W.T
    return alpha * np.mean(H + 0.5 * eps * H ** 2, axis=1)


def monte_carlo_test_loss(dw_bar, dM, beta, alpha, eps, *, n_samples: int = 1_000_000, seed=0,
                          chunk: int = 50_000) -> float:
    """Empirical test MSE of ``f~(x) = alpha dw_bar.x + (alpha eps / 2) x^T dM x`` on fresh inputs.

    The centred network equals this expression exactly (eq. lr-summary), so this is a Monte-Carlo
    estimate of the population loss of eq. (lr-pop-loss) on ``n_samples`` draws ``x ~ N(0, I/d)``.
    """
    beta = check_array("beta", beta, ndim=1)
    d = beta.shape[0]
    dw_bar = check_array("dw_bar", dw_bar, shape=(d,))
    dM = check_array("dM", dM, shape=(d, d))
    alpha = check_float("alpha", alpha, minimum=0.0, min_inclusive=False)
    eps = check_float("eps", eps, minimum=0.0)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    rng = np.random.default_rng([check_seed("seed", seed), 3])
    total, done = 0.0, 0
    with single_threaded():
        while done < n_samples:
            m = min(chunk, n_samples - done)
            X = rng.standard_normal((m, d)) / np.sqrt(d)
            f = alpha * (X @ dw_bar) + 0.5 * alpha * eps * np.einsum("nd,nd->n", X @ dM, X)
            total += float(np.sum((f - 0.5 * (X @ beta) ** 2) ** 2))
            done += m
    return total / n_samples


# ----------------------------------------------------------------------------- training
@dataclass(frozen=True)
class History:
    """Training history of one or several runs (leading axis = run), at every step.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Time in ``eta0 = 1`` units at which each row was recorded (before the step).
    train, test : ndarray, shape (B, T)
        Training MSE and exact population loss, eq. (lr-pop-loss); NaN after a run stopped.
    variance, misalignment, linear : ndarray, shape (B, T)
        The three terms of the population loss.
    alignment : ndarray, shape (B, T)
        ``cos(M - M0, beta beta^T)`` (Frobenius), 0 at ``t = 0``.
    weight_norm : ndarray, shape (B, T)
        ``sqrt(mean_i |w_i|^2) = sqrt(Tr M)``.
    alpha, eps : ndarray, shape (B,)
        Settings of each run.
    train0, test0 : float
        Initial train and test losses (normalisers ``L0``).
    w_bar, M : ndarray or None
        Final statistics (B, d) and (B, d, d) when ``keep_state=True``.
    """

    t: np.ndarray
    train: np.ndarray
    test: np.ndarray
    variance: np.ndarray
    misalignment: np.ndarray
    linear: np.ndarray
    alignment: np.ndarray
    weight_norm: np.ndarray
    alpha: np.ndarray
    eps: np.ndarray
    train0: float
    test0: float
    w_bar: np.ndarray | None = None
    M: np.ndarray | None = None


def _check_pair(data, net):
    if not isinstance(data, TeacherData):
        raise TypeError(f"data must be a TeacherData (from make_teacher_data); got {type(data).__name__}")
    if not isinstance(net, Committee):
        raise TypeError(f"net must be a Committee (from make_network); got {type(net).__name__}")
    if data.d != net.W0.shape[1]:
        raise ValueError(f"net must have input dimension d = {data.d} like data; got {net.W0.shape[1]}")


def _as_positive_vector(name, value):
    arr = np.atleast_1d(np.asarray(value, dtype=float)) if not isinstance(value, (str, bytes)) else None
    if arr is None or arr.ndim != 1 or arr.size == 0:
        raise TypeError(f"{name} must be a positive number or a 1-d sequence of them; got {value!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must hold finite values > 0; got {value!r}")
    return arr


def train_recursion(data: TeacherData, net: Committee, alpha, t_max, *, eps=None, eta0: float = 1.0,
                    eta0_max: float | None = None, rel_step: float = 0.02, stop_below: float | None = None,
                    keep_state: bool = False) -> History:
    """Train the centred committee machine through the exact ``(w_bar, M)`` recursion, eq. (lr-recursion).

    Every neuron receives the same affine update ``w_i <- (I - c eps G) w_i - c g`` with
    ``g = mean_mu r_mu x_mu``, ``G = mean_mu r_mu x_mu x_mu^T`` and ``c = 2 eta0 / alpha``
    (``eta = eta0 N / alpha^2``), so the statistics close:
    ``w_bar <- A w_bar - c g``, ``M <- A M A^T - c (A w_bar g^T + g w_bar^T A^T) + c^2 g g^T``.
    The cost per step is ``O(P d^2)``, independent of ``N``.  Several runs (``alpha`` and ``eps`` arrays,
    broadcast against each other) advance together with batched matrix products.

    Parameters
    ----------
    data, net : TeacherData, Committee
        Training set and initial weights (only ``w_bar0, M0`` are used).
    alpha : float or sequence of float
        Output scales (> 0).
    t_max : float or sequence of float
        Training time of each run in ``eta0 = 1`` units.
    eps : float or sequence, optional
        Overrides ``net.eps`` per run (for the alpha x eps phase diagram).
    eta0, eta0_max, rel_step : float
        Step-size schedule of :func:`time_grid` (``eta0_max=None`` means constant ``eta0``).
    stop_below : float, optional
        Stop a run once train and test are both below ``stop_below`` times their initial values.
    keep_state : bool
        Return the final ``w_bar`` and ``M``.
    """
    with single_threaded(), np.errstate(over="ignore", invalid="ignore"):
        return _train_recursion(data, net, alpha, t_max, eps, eta0, eta0_max, rel_step, stop_below, keep_state)


def _train_recursion(data, net, alpha, t_max, eps, eta0, eta0_max, rel_step, stop_below, keep_state):
    _check_pair(data, net)
    alphas = _as_positive_vector("alpha", alpha)
    epss = np.atleast_1d(np.asarray(net.eps if eps is None else eps, dtype=float))
    if epss.ndim != 1 or not np.all(np.isfinite(epss)) or np.any(epss < 0):
        raise ValueError(f"eps must be a finite value >= 0 or a 1-d sequence of them; got {eps!r}")
    t_maxs = _as_positive_vector("t_max", t_max)
    try:
        alphas, epss, t_maxs = np.broadcast_arrays(alphas, epss, t_maxs)
    except ValueError as exc:
        raise ValueError(f"alpha, eps and t_max must have broadcastable lengths; got {alphas.size}, "
                         f"{epss.size}, {t_maxs.size}") from exc
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    eta0_max = eta0 if eta0_max is None else check_float("eta0_max", eta0_max, minimum=eta0)
    if stop_below is not None:
        stop_below = check_float("stop_below", stop_below, minimum=0.0, maximum=1.0, min_inclusive=False)
    keep_state = check_bool("keep_state", keep_state)
    steps = time_grid(float(t_maxs.max()), eta0=eta0, eta0_max=eta0_max, rel_step=rel_step)

    X, y, beta = data.X, data.y, data.beta
    XT = np.ascontiguousarray(X.T)
    P, d = X.shape
    B = alphas.size
    bb = np.outer(beta, beta)
    nb2 = float(beta @ beta)
    L0_train, L0_test = data.train_loss0, data.test_loss0
    w0 = np.broadcast_to(net.w_bar0, (B, d))
    M0 = net.M0
    u = np.zeros((B, d))              # w_bar - w_bar0
    V = np.zeros((B, d, d))           # M - M0
    ae = (alphas * epss)
    T = steps.size + 1
    rec = {k: np.full((B, T), np.nan) for k in
           ("train", "test", "variance", "misalignment", "linear", "alignment", "weight_norm")}
    active = np.flatnonzero(t_maxs > 0)
    t, k = 0.0, 0
    tr0M = float(np.trace(M0))
    hint = "stability limit at initialisation eta0 < 1/lambda_max(K0/P); lower eta0_max"
    while True:
        a, e, aeb = alphas[active], epss[active], ae[active]
        ua, Va = u[active], V[active]
        b = a.size
        XV = (X @ Va.transpose(1, 0, 2).reshape(d, b * d)).reshape(P, b, d)
        q = np.einsum("pbd,pd->bp", XV, X)                          # x_mu^T (M - M0) x_mu
        r = a[:, None] * (ua @ X.T) + 0.5 * aeb[:, None] * q - y    # residuals of the centred net
        train = np.mean(r * r, axis=1)
        Bm = aeb[:, None, None] * Va - bb
        var = np.trace(Bm, axis1=1, axis2=2) ** 2 / (4.0 * d ** 2)
        mis = np.einsum("bij,bij->b", Bm, Bm) / (2.0 * d ** 2)
        lin = a ** 2 * np.einsum("bd,bd->b", ua, ua) / d
        vn = np.sqrt(np.einsum("bij,bij->b", Va, Va))
        align = np.where(vn > 0, np.einsum("i,bij,j->b", beta, Va, beta) / np.maximum(vn, 1e-300) / nb2, 0.0)
        for key, val in (("train", train), ("test", var + mis + lin), ("variance", var), ("misalignment", mis),
                         ("linear", lin), ("alignment", align),
                         ("weight_norm", np.sqrt(tr0M + np.trace(Va, axis1=1, axis2=2)))):
            rec[key][active, k] = val
        check_finite_loss(float(np.sum(train)), k, knob=f"eta0_max = {eta0_max:g} (step size)", hint=hint)
        done = t >= t_maxs[active] * (1 - 1e-12)
        if stop_below is not None:
            done |= (train < stop_below * L0_train) & (var + mis + lin < stop_below * L0_test)
        if k == steps.size or np.all(done):
            break
        if np.any(done):
            keep = ~done
            active, a, e, ua, Va, r = active[keep], a[keep], e[keep], ua[keep], Va[keep], r[keep]
            b = a.size
        h = steps[k]
        c = (2.0 * h / a)[:, None]
        g = r @ X / P                                               # (b, d)
        G = np.empty((b, d, d))
        for j in range(b):
            np.matmul(XT * (r[j] / P), X, out=G[j])                 # mean_mu r_mu x_mu x_mu^T
        wb = w0[: a.size] + ua
        Mb = M0 + Va
        ce = c[:, :, None] * e[:, None, None]
        GM = np.matmul(G, Mb)
        Gw = np.einsum("bij,bj->bi", G, wb)
        Aw = wb - ce[:, :, 0] * Gw
        cg = c * g
        V[active] = (Va - ce * (GM + GM.transpose(0, 2, 1)) + ce ** 2 * np.matmul(GM, G)
                     - (Aw[:, :, None] * cg[:, None, :] + cg[:, :, None] * Aw[:, None, :])
                     + cg[:, :, None] * cg[:, None, :])
        u[active] = ua - ce[:, :, 0] * Gw - cg
        t += h
        k += 1
    n = k + 1
    tt = np.concatenate([[0.0], np.cumsum(steps)])[:n]
    out = {key: val[:, :n] for key, val in rec.items()}
    return History(t=tt, alpha=alphas.copy(), eps=epss.copy(), train0=L0_train, test0=L0_test,
                   w_bar=(w0 + u) if keep_state else None, M=(M0 + V) if keep_state else None, **out)


def train_full_network(data: TeacherData, net: Committee, alpha: float, steps: int, *, eta0: float = 1.0):
    """The straightforward implementation: width-``N`` network, torch autograd, float64, full-batch GD.

    Trains ``f~(x) = f(W, x) - f(W0, x)`` on ``mean (f~ - y)^2`` with ``eta = eta0 N / alpha^2`` for
    ``steps`` steps.  Returns ``(train_losses, W)``: the loss before each step (length ``steps + 1``)
    and the final weights (N, d) as numpy arrays.
    """
    import torch

    _check_pair(data, net)
    alpha = check_float("alpha", alpha, minimum=0.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=0)
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    X = torch.tensor(data.X, dtype=torch.float64)
    y = torch.tensor(data.y, dtype=torch.float64)
    W = torch.tensor(net.W0, dtype=torch.float64, requires_grad=True)
    eps, N = net.eps, net.N

    def f(Wm):
        H = X @ Wm.T
        return alpha * (H + 0.5 * eps * H ** 2).mean(dim=1)

    with torch.no_grad():
        f0 = f(W)
    eta = eta0 * N / alpha ** 2
    losses = []
    with single_threaded():           # small matrices: one thread is faster and robust on shared machines
        _full_network_loop(f, W, f0, y, eta, eta0, steps, losses)
    return np.array(losses), W.detach().numpy().copy()


def _full_network_loop(f, W, f0, y, eta, eta0, steps, losses):
    import torch

    for k in range(steps + 1):
        loss = ((f(W) - f0 - y) ** 2).mean()
        losses.append(float(loss.detach()))
        check_finite_loss(losses[-1], k, knob=f"eta0 = {eta0:g}", hint="stability limit eta0 < 1/lambda_max(K0/P)")
        if k == steps:
            break
        (grad,) = torch.autograd.grad(loss, W)
        with torch.no_grad():
            W -= eta * grad


# ----------------------------------------------------------------------------- diagnostics
def crossing_time(t, loss, level) -> float:
    """First time ``loss`` falls below ``level`` (linear interpolation in log-time); NaN if never.

    ``loss`` may be 1-d (one run) or 2-d (runs x time); returns a float or an array.
    """
    t = check_array("t", t, ndim=1)
    loss = np.asarray(loss, dtype=float)
    if loss.shape[-1] != t.size:
        raise ValueError(f"loss must have {t.size} time points in its last axis; got shape {loss.shape}")
    level = check_float("level", level, minimum=0.0, min_inclusive=False)
    flat = loss.reshape(-1, t.size)
    out = np.full(flat.shape[0], np.nan)
    for i, row in enumerate(flat):
        below = np.flatnonzero(row < level)
        if below.size == 0:
            continue
        j = below[0]
        if j == 0:
            out[i] = t[0]
            continue
        t1, t2, l1, l2 = t[j - 1], t[j], row[j - 1], row[j]
        frac = (l1 - level) / (l1 - l2)
        lt1, lt2 = np.log(max(t1, 1e-12)), np.log(t2)
        out[i] = float(np.exp(lt1 + frac * (lt2 - lt1))) if t1 > 0 else t1 + frac * (t2 - t1)
    return out.reshape(loss.shape[:-1]) if loss.ndim > 1 else float(out[0])


def sweep_alpha(data: TeacherData, net: Committee, alphas, t_max, *, theta: float = 0.1, **train_kwargs):
    """Train one run per ``alpha`` and return ``(history, t_train, t_test)`` crossing times of ``theta L0``.

    ``t_train[i]`` / ``t_test[i]``: first time train / test loss falls below ``theta`` times its initial
    value (NaN when not reached within ``t_max``).
    """
    theta = check_float("theta", theta, minimum=0.0, maximum=1.0, min_inclusive=False)
    h = train_recursion(data, net, alphas, t_max, **train_kwargs)
    return h, crossing_time(h.t, h.train / h.train0, theta), crossing_time(h.t, h.test / h.test0, theta)


# ----------------------------------------------------------------------------- figures
def _alpha_label(a: float) -> str:
    if a >= 1000:
        return rf"$\alpha = 10^{{{int(round(np.log10(a)))}}}$"
    if a < 1:
        return rf"$\alpha = 1/{int(round(1 / a))}$"
    return rf"$\alpha = {a:g}$"


def plot_grokking(history: History, run: int = 0, *, kernel_loss: float | None = None, ax=None):
    """Train and test loss / L0 on log time, with the K0-regression test loss as a horizontal line."""
    if ax is None:
        _, ax = new_figure(1, 1, width=6.4, height=3.8)
    t = history.t[1:]
    ax.plot(t, history.train[run, 1:] / history.train0, color=PALETTE[0], label="train")
    ax.plot(t, history.test[run, 1:] / history.test0, color=PALETTE[1], label="test (exact population loss)")
    if kernel_loss is not None:
        ax.axhline(kernel_loss / history.test0, **THEORY_STYLE, label="ridgeless regression with $K_0$")
    ax.set_xscale("log")
    ax.set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    ax.set_ylabel("loss / initial loss")
    ax.set_title(f"grokking at {_alpha_label(history.alpha[run])}")
    ax.legend(loc="lower left")
    return ax


def plot_decomposition(history: History, run: int = 0, axes=None):
    """Three panels: loss terms of eq. (lr-pop-loss), alignment cos(M - M0, beta beta^T), weight norm."""
    if axes is None:
        _, axes = new_figure(1, 3, width=12, height=3.6)
    t = history.t[1:]
    L0 = history.test0
    ax = axes[0]
    ax.plot(t, history.test[run, 1:] / L0, color="k", label="test (sum)")
    for key, col in (("variance", PALETTE[2]), ("misalignment", PALETTE[1]), ("linear", PALETTE[0])):
        ax.plot(t, getattr(history, key)[run, 1:] / L0, color=col, label=key)
    ax.set_xscale("log")
    ax.set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    ax.set_ylabel("term / initial test loss")
    ax.set_title("population-loss terms")
    ax.legend(fontsize=8)
    axes[1].plot(t, history.alignment[run, 1:], color=PALETTE[3])
    axes[1].set_xscale("log")
    axes[1].set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    axes[1].set_ylabel(r"cos$(M - M_0, \beta\beta^T)$")
    axes[1].set_title("alignment of the learned feature")
    axes[2].plot(t, history.weight_norm[run, 1:], color=PALETTE[4])
    axes[2].set_xscale("log")
    axes[2].set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    axes[2].set_ylabel(r"weight norm $\sqrt{\mathrm{Tr}\,M}$")
    axes[2].set_title("weight norm (no weight decay)")
    return axes


def plot_alpha_sweep(history: History, t_train, t_test, axes=None):
    """Left: test loss / L0 for every alpha (train dotted). Right: crossing times against alpha."""
    if axes is None:
        _, axes = new_figure(1, 2, width=12, height=4)
    cols = list(PALETTE) * 3
    t = history.t[1:]
    for i, a in enumerate(history.alpha):
        axes[0].plot(t, history.test[i, 1:] / history.test0, color=cols[i], label=_alpha_label(a))
        axes[0].plot(t, history.train[i, 1:] / history.train0, color=cols[i], ls=":", lw=1.2)
    axes[0].set_xscale("log")
    axes[0].set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    axes[0].set_ylabel("loss / initial (test solid, train dotted)")
    axes[0].set_title("laziness sets the delay")
    axes[0].legend(fontsize=7, ncol=2)
    fin = np.isfinite(t_train)
    axes[1].loglog(history.alpha[fin], np.asarray(t_train)[fin], "o-", color=PALETTE[0], label="train < 0.1 L0")
    fin = np.isfinite(t_test)
    axes[1].loglog(history.alpha[fin], np.asarray(t_test)[fin], "s-", color=PALETTE[1], label="test < 0.1 L0")
    axes[1].set_xlabel(r"output scale $\alpha$")
    axes[1].set_ylabel(r"crossing time ($\eta_0 = 1$ steps)")
    axes[1].set_title("crossing times")
    axes[1].legend()
    return axes


def plot_p_sweep(histories, Ps, ax=None):
    """Train (dotted) and test (solid) loss / L0 for several training-set sizes ``P``."""
    if ax is None:
        _, ax = new_figure(1, 1, width=6.4, height=4)
    for i, (h, P) in enumerate(zip(histories, Ps)):
        col = PALETTE[i % len(PALETTE)]
        ax.plot(h.t[1:], h.test[0, 1:] / h.test0, color=col, label=f"P = {P}")
        ax.plot(h.t[1:], h.train[0, 1:] / h.train0, color=col, ls=":", lw=1.2)
    ax.set_xscale("log")
    ax.set_xlabel(r"time t ($\eta_0 = 1$ steps)")
    ax.set_ylabel("loss / initial (test solid, train dotted)")
    ax.set_title("the goldilocks range of P")
    ax.legend()
    return ax


def plot_phase_diagram(alphas, epss, gap, ax=None):
    """Heat map of ``log10`` of the train-to-test delay over (alpha, eps)."""
    if ax is None:
        _, ax = new_figure(1, 1, width=6, height=4.4)
    im = ax.imshow(np.log10(gap), origin="lower", aspect="auto", cmap="cividis")
    ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_yticks(range(len(epss)), [f"{e:g}" for e in epss])
    ax.set_xlabel(r"output scale $\alpha$")
    ax.set_ylabel(r"quadratic strength $\varepsilon$")
    ax.set_title("grokking delay")
    cb = ax.figure.colorbar(im, ax=ax)
    cb.set_label(r"$\log_{10}(t_{test}/t_{train})$ at 0.5 L0")
    return ax


# ----------------------------------------------------------------------------- explorer
def explorer(d: int = 20, *, alphas=(0.5, 2.0, 8.0), epss=(0.05, 0.1, 0.2), Ps=(40, 100, 300),
             t_max: float = 5e3, seed: int = 0):
    """Sliders for alpha, eps and P over precomputed recursion runs at a small size (``d = 20``).

    Returns ``(widget, draw)``; ``draw(alpha, eps, P)`` returns the figure the widget shows.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    d = check_int("d", d, minimum=2)
    seed = check_seed("seed", seed)
    t_max = check_float("t_max", t_max, minimum=1.0)
    runs = {}
    A, E = np.meshgrid(np.asarray(alphas, float), np.asarray(epss, float), indexing="ij")
    for P in Ps:
        data = make_teacher_data(d, P, seed=seed)
        net = make_network(d, 500, float(epss[0]), seed=seed)
        h = train_recursion(data, net, A.ravel(), t_max, eps=E.ravel(), eta0=1.0,
                            eta0_max=0.3 * stability_limit(data, net), rel_step=0.05)
        kr = {e: kernel_regression_loss(data, Committee(net.W0, float(e), net.w_bar0, net.M0))
              if P <= d * (d + 3) // 2 else np.nan for e in epss}
        for i in range(A.size):
            runs[(A.ravel()[i], E.ravel()[i], P)] = (h.t, h.train[i] / h.train0, h.test[i] / h.test0,
                                                    kr[E.ravel()[i]] / h.test0)

    def draw(alpha, eps, P):
        t, tr, te, kr = runs[(alpha, eps, P)]
        fig, ax = new_figure(1, 1, width=6.4, height=3.8)
        ax.plot(t[1:], tr[1:], color=PALETTE[0], label="train")
        ax.plot(t[1:], te[1:], color=PALETTE[1], label="test")
        if np.isfinite(kr):
            ax.axhline(kr, **THEORY_STYLE, label="K0 regression")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.5)
        ax.set_xlabel(r"time t ($\eta_0 = 1$ steps)")
        ax.set_ylabel("loss / initial loss")
        ax.set_title(rf"d = {d}, P = {P}, $\alpha$ = {alpha:g}, $\varepsilon$ = {eps:g}")
        ax.legend(loc="lower left")
        return fig

    out = widgets.Output()
    sa = widgets.SelectionSlider(options=list(alphas), value=alphas[1], description="alpha")
    se = widgets.SelectionSlider(options=list(epss), value=epss[-1], description="eps")
    sp = widgets.SelectionSlider(options=list(Ps), value=Ps[1], description="P")

    def update(*_):
        with out:
            out.clear_output(wait=True)
            fig = draw(sa.value, se.value, sp.value)
            display(fig)
            plt.close(fig)

    for s in (sa, se, sp):
        s.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([sa, se, sp]), out]), draw
