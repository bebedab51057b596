"""Closed forms of chapter 6: mode dynamics, Marchenko-Pastur averages, limits,
early stopping and ridge regression (no training loops here).

Conventions (eqs. (gen-setup), (gen-gd)): ``X`` has shape ``(d, P)`` with
``N(0, 1/d)`` entries, gradient descent runs on the summed loss
``(1/2) sum_mu (y_mu - w x_mu)^2`` with step ``eta`` and time ``t = steps * eta``;
``eta = None`` means gradient flow. ``sigma_w2``, ``noise2``, ``sigma0_2`` are the
variances of the teacher weights, the label noise and the initial weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import check_array, check_float, check_int, check_memory

__all__ = [
    "ALPHA_ONE_PREFACTOR",
    "ZERO_EIGENVALUE",
    "GlobalStop",
    "alpha_one_growth",
    "converged_test_error_finite",
    "decay",
    "global_stopping",
    "long_time_test_error",
    "long_time_training_error",
    "mode_stopping_error_mp",
    "mp_density",
    "mp_edges",
    "mp_nodes",
    "optimal_stopping_time",
    "ridge_test_error_mp",
    "test_error_modes",
    "test_error_mp",
    "training_error_modes",
    "training_error_mp",
]

ZERO_EIGENVALUE = 0.0
"""Eigenvalues at or below this are zero modes.
:func:`~learning_dynamics.generalisation.train.spectrum` sets the
``d - P`` structural zeros of ``X X^T`` exactly to 0 (a rank count, not a threshold:
at ``alpha = 1`` a true smallest eigenvalue can be below 1e-9)."""

ALPHA_ONE_PREFACTOR = 4.0 * (1.0 - 1.0 / math.sqrt(2.0)) / math.sqrt(math.pi)
"""``c`` of eq. (gen-growth): ``E_g ~ c sigma_eps^2 sqrt(t)`` at alpha = 1."""

MAX_NODES = 2**18
MAX_TIMES = 100_000


def _alpha(alpha) -> float:
    return check_float("alpha", alpha, minimum=0.0, min_inclusive=False, maximum=1e4)


def _variances(sigma_w2, noise2, sigma0_2):
    return (
        check_float("sigma_w2", sigma_w2, minimum=0.0, maximum=1e6),
        check_float("noise2", noise2, minimum=0.0, maximum=1e6),
        check_float("sigma0_2", sigma0_2, minimum=0.0, maximum=1e6),
    )


def _times(t) -> np.ndarray:
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if t.ndim != 1 or t.size == 0 or t.size > MAX_TIMES:
        raise ValueError(f"t must be a 1-d array of 1 to {MAX_TIMES} times; "
                         f"got shape {t.shape}")
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(f"t must hold times >= 0 (inf allowed); got min {t.min()}")
    return t


def _eta(eta):
    if eta is None:
        return None
    return check_float("eta", eta, minimum=0.0, min_inclusive=False, maximum=100.0)


def mp_edges(alpha: float) -> tuple[float, float]:
    """Edges ``(sqrt(alpha) -+ 1)^2`` of the Marchenko-Pastur law, eq. (gen-mp)."""
    alpha = _alpha(alpha)
    return (math.sqrt(alpha) - 1.0) ** 2, (math.sqrt(alpha) + 1.0) ** 2


def mp_density(lam, alpha: float) -> np.ndarray:
    """Continuous part of the eigenvalue density of ``X X^T``, eq. (gen-mp).

    It integrates to ``min(1, alpha)``; for ``alpha < 1`` the rest, ``1 - alpha``,
    is a point mass at zero that this function does not include.
    """
    lo, hi = mp_edges(alpha)
    lam = check_array("lam", lam)
    out = np.zeros_like(lam)
    inside = (lam > lo) & (lam < hi) & (lam > 0)
    x = lam[inside]
    out[inside] = np.sqrt((hi - x) * (x - lo)) / (2.0 * math.pi * x)
    return out


def mp_nodes(alpha: float, n_nodes: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights for the continuous part of eq. (gen-mp).

    With ``lam = c - r cos(theta)`` the density becomes
    ``r^2 sin^2(theta) / (2 pi lam)`` in ``theta in [0, pi]``: no square-root edges,
    and a midpoint rule converges fast (also at ``alpha = 1``, where ``lam_- = 0``).
    The weights sum to ``min(1, alpha)`` up to the rule's error.
    """
    n_nodes = check_int("n_nodes", n_nodes, minimum=16, maximum=MAX_NODES)
    lo, hi = mp_edges(alpha)
    c, r = (hi + lo) / 2.0, (hi - lo) / 2.0
    theta = (np.arange(n_nodes) + 0.5) * math.pi / n_nodes
    lam = c - r * np.cos(theta)
    weights = r**2 * np.sin(theta) ** 2 / (2.0 * math.pi * lam) * (math.pi / n_nodes)
    return lam, weights


def decay(lam, t, eta: float | None = None) -> np.ndarray:
    """Per-mode decay factor of eq. (gen-modes): ``exp(-lam t)`` for gradient flow,
    ``(1 - eta lam)^(t / eta)`` for gradient descent with step ``eta``.

    Returns an array of shape ``lam.shape + (len(t),)``. For gradient descent ``t``
    must be whole multiples of ``eta`` (or ``inf``); modes with ``eta lam >= 2``
    diverge and are refused.
    """
    lam = np.asarray(lam, dtype=np.float64)
    t = _times(t)
    eta = _eta(eta)
    lam = np.maximum(lam, 0.0)[..., None]
    if eta is None:
        with np.errstate(invalid="ignore"):
            out = np.exp(-lam * t)
        out[..., np.isinf(t)] = np.where(lam > ZERO_EIGENVALUE, 0.0, 1.0)
        return out
    if np.any(eta * lam >= 2.0):
        raise ValueError(f"eta={eta:g} is unstable: eta * lambda_max = "
                         f"{eta * float(lam.max()):.3g} must be < 2")
    finite = np.isfinite(t)
    steps = np.where(finite, t / eta, 0.0)
    if np.any(np.abs(steps - np.round(steps)) > 1e-6 * np.maximum(1.0, steps)):
        raise ValueError("t must be whole multiples of eta for gradient descent")
    base = 1.0 - eta * lam
    out = np.power(base, np.round(steps))
    out[..., ~finite] = np.where(lam > ZERO_EIGENVALUE, 0.0, 1.0)
    return out


def _gain(lam, t, eta):
    """``(1 - decay) / lam``: the noise gain of eq. (gen-modes); ``t`` for lam = 0."""
    lam = np.maximum(np.asarray(lam, dtype=np.float64), 0.0)
    D = decay(lam, t, eta)
    small = lam[..., None] <= ZERO_EIGENVALUE
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1.0 - D) / lam[..., None]
    return np.where(small, 0.0, g), D


def test_error_modes(eigenvalues, t, *, sigma_w2: float = 1.0, noise2: float = 0.0,
                     sigma0_2: float = 0.0, eta: float | None = None) -> np.ndarray:
    """Test error averaged over teacher, noise and initial weights, given the
    spectrum of ``X X^T``: eq. (gen-eg-modes).

    ``E_g(t) = (1/d) sum_i [(sigma_w2 + sigma0_2) D_i^2 + noise2 lam_i G_i^2]
    + noise2`` with ``D_i`` the decay and ``G_i = (1 - D_i)/lam_i`` the noise gain;
    zero modes keep ``D = 1``, ``G = 0`` (the frozen subspace, eq. (gen-frozen)).

    Parameters
    ----------
    eigenvalues : array_like, shape (..., d)
        Eigenvalues of ``X X^T`` (a batch of spectra allowed).
    t : array_like
        Times (``steps * eta``), ``inf`` allowed.

    Returns
    -------
    ndarray, shape (..., len(t))
    """
    lam = check_array("eigenvalues", eigenvalues)
    sigma_w2, noise2, sigma0_2 = _variances(sigma_w2, noise2, sigma0_2)
    check_memory("eigenvalues", lam.shape, 24.0 * lam.size * _times(t).size)
    G, D = _gain(lam, t, eta)
    lam_ = np.maximum(lam, 0.0)[..., None]
    per_mode = (sigma_w2 + sigma0_2) * D**2 + noise2 * lam_ * G**2
    return per_mode.mean(axis=-2) + noise2


def training_error_modes(eigenvalues, P: int, t, *, sigma_w2: float = 1.0,
                         noise2: float = 0.0, sigma0_2: float = 0.0,
                         eta: float | None = None) -> np.ndarray:
    """Training error ``(1/P) sum_mu (y_mu - w x_mu)^2`` averaged over teacher, noise
    and initial weights, given the spectrum: eq. (gen-et-modes).

    ``E_t = (1/P) [sum_{lam_i > 0} D_i^2 (noise2 + lam_i (sigma_w2 + sigma0_2))
    + max(0, P - rank) noise2]``.
    """
    lam = check_array("eigenvalues", eigenvalues)
    P = check_int("P", P, minimum=1, maximum=10**6)
    sigma_w2, noise2, sigma0_2 = _variances(sigma_w2, noise2, sigma0_2)
    check_memory("eigenvalues", lam.shape, 24.0 * lam.size * _times(t).size)
    D = decay(lam, t, eta)
    nonzero = (lam > ZERO_EIGENVALUE)[..., None]
    per_mode = np.where(nonzero, D**2 * (noise2 + np.maximum(lam, 0)[..., None]
                                         * (sigma_w2 + sigma0_2)), 0.0)
    rank = nonzero.sum(axis=-2)
    return (per_mode.sum(axis=-2) + np.maximum(0, P - rank) * noise2) / P


def test_error_mp(alpha: float, t, *, sigma_w2: float = 1.0, noise2: float = 0.0,
                  sigma0_2: float = 0.0, eta: float | None = None,
                  n_nodes: int = 4096) -> np.ndarray:
    """Test error for ``d -> inf`` at load ``alpha``: eq. (gen-eg-mp).

    ``int rho_c [(sigma_w2 + sigma0_2) D^2 + noise2 lam G^2] dlam
    + max(0, 1 - alpha)(sigma_w2 + sigma0_2) + noise2``.
    """
    alpha = _alpha(alpha)
    sigma_w2, noise2, sigma0_2 = _variances(sigma_w2, noise2, sigma0_2)
    t = _times(t)
    check_memory("n_nodes", n_nodes, 32.0 * n_nodes * t.size)
    lam, w = mp_nodes(alpha, n_nodes)
    G, D = _gain(lam, t, eta)
    integrand = (sigma_w2 + sigma0_2) * D**2 + noise2 * lam[:, None] * G**2
    if alpha == 1.0 and noise2 > 0:
        integrand[:, np.isinf(t)] = np.inf
    return w @ integrand + max(0.0, 1.0 - alpha) * (sigma_w2 + sigma0_2) + noise2


def training_error_mp(alpha: float, t, *, sigma_w2: float = 1.0, noise2: float = 0.0,
                      sigma0_2: float = 0.0, eta: float | None = None,
                      n_nodes: int = 4096) -> np.ndarray:
    """Training error for ``d -> inf``: eq. (gen-et-mp).

    ``(1/alpha) int rho_c D^2 (noise2 + lam (sigma_w2 + sigma0_2)) dlam
    + max(0, 1 - 1/alpha) noise2``.
    """
    alpha = _alpha(alpha)
    sigma_w2, noise2, sigma0_2 = _variances(sigma_w2, noise2, sigma0_2)
    t = _times(t)
    check_memory("n_nodes", n_nodes, 32.0 * n_nodes * t.size)
    lam, w = mp_nodes(alpha, n_nodes)
    D = decay(lam, t, eta)
    integrand = D**2 * (noise2 + lam[:, None] * (sigma_w2 + sigma0_2))
    return w @ integrand / alpha + max(0.0, 1.0 - 1.0 / alpha) * noise2


def long_time_test_error(alpha: float, *, sigma_w2: float = 1.0, noise2: float = 0.0,
                         sigma0_2: float = 0.0) -> float:
    """``E_g(t -> inf)`` for ``d -> inf``: eq. (gen-limits).

    ``noise2 alpha/(alpha - 1)`` above ``alpha = 1``; ``noise2/(1 - alpha) + (1 -
    alpha)(sigma_w2 + sigma0_2)`` below; infinite at ``alpha = 1`` when ``noise2 > 0``.
    """
    alpha = _alpha(alpha)
    sigma_w2, noise2, sigma0_2 = _variances(sigma_w2, noise2, sigma0_2)
    if alpha > 1.0:
        return noise2 * alpha / (alpha - 1.0)
    if alpha < 1.0:
        return noise2 / (1.0 - alpha) + (1.0 - alpha) * (sigma_w2 + sigma0_2)
    return math.inf if noise2 > 0 else 0.0


def long_time_training_error(alpha: float, *, noise2: float = 0.0) -> float:
    """``E_t(t -> inf) = noise2 max(0, 1 - 1/alpha)``: eq. (gen-limits)."""
    alpha = _alpha(alpha)
    noise2 = check_float("noise2", noise2, minimum=0.0, maximum=1e6)
    return noise2 * max(0.0, 1.0 - 1.0 / alpha)


def converged_test_error_finite(d: int, P: int, *, sigma_w2: float = 1.0,
                                noise2: float = 0.0, sigma0_2: float = 0.0) -> float:
    """Exact mean of the converged test error at finite ``d``, Gaussian ``X``:
    eq. (gen-finite).

    ``noise2 (1 + d/(P - d - 1))`` for ``P > d + 1``;
    ``noise2 (1 + P/(d - P - 1)) + (1 - P/d)(sigma_w2 + sigma0_2)`` for ``P < d - 1``;
    infinite for ``|P - d| <= 1`` when ``noise2 > 0`` (the inverse-Wishart moment
    diverges).
    """
    d = check_int("d", d, minimum=1, maximum=10**7)
    P = check_int("P", P, minimum=1, maximum=10**7)
    sigma_w2, noise2, sigma0_2 = _variances(sigma_w2, noise2, sigma0_2)
    if P > d + 1:
        return noise2 * (1.0 + d / (P - d - 1.0))
    if P < d - 1:
        frozen = (1.0 - P / d) * (sigma_w2 + sigma0_2)
        return noise2 * (1.0 + P / (d - P - 1.0)) + frozen
    return math.inf if noise2 > 0 else (1.0 - min(P, d) / d) * (sigma_w2 + sigma0_2)


def alpha_one_growth(t, *, noise2: float = 1.0) -> np.ndarray:
    """Late-time growth at ``alpha = 1``: ``c noise2 sqrt(t)``, eq. (gen-growth),
    with ``c = 4 (1 - 2^{-1/2}) / sqrt(pi)`` (:data:`ALPHA_ONE_PREFACTOR`)."""
    t = _times(t)
    noise2 = check_float("noise2", noise2, minimum=0.0, maximum=1e6)
    return ALPHA_ONE_PREFACTOR * noise2 * np.sqrt(t)


def optimal_stopping_time(lam, *, sigma_w2: float = 1.0, noise2: float = 1.0,
                          sigma0_2: float = 0.0) -> np.ndarray:
    """Per-mode optimal stopping time of gradient flow, eq. (gen-topt):
    ``t_opt = ln(1 + lam (sigma_w2 + sigma0_2)/noise2) / lam``."""
    lam = check_array("lam", lam)
    if np.any(lam <= 0):
        raise ValueError("lam must be > 0 (a zero mode never moves)")
    sigma_w2, noise2, sigma0_2 = _variances(sigma_w2, noise2, sigma0_2)
    if noise2 == 0:
        raise ValueError("noise2 must be > 0: without noise every mode runs for ever")
    return np.log1p(lam * (sigma_w2 + sigma0_2) / noise2) / lam


def ridge_test_error_mp(alpha: float, gamma, *, sigma_w2: float = 1.0,
                        noise2: float = 1.0, n_nodes: int = 4096) -> np.ndarray:
    """Test error of ridge regression ``w = y X^T (X X^T + gamma I)^-1`` for
    ``d -> inf``: eq. (gen-ridge).

    ``int rho_c (gamma^2 sigma_w2 + lam noise2)/(lam + gamma)^2 dlam
    + max(0, 1 - alpha) sigma_w2 + noise2``.
    """
    alpha = _alpha(alpha)
    gamma = check_array("gamma", np.atleast_1d(gamma), ndim=1)
    if np.any(gamma < 0):
        raise ValueError("gamma must be >= 0")
    sigma_w2, noise2, _ = _variances(sigma_w2, noise2, 0.0)
    check_memory("n_nodes", n_nodes, 24.0 * n_nodes * gamma.size)
    lam, w = mp_nodes(alpha, n_nodes)
    lam_, g = lam[:, None], gamma[None, :]
    integrand = (g**2 * sigma_w2 + lam_ * noise2) / (lam_ + g) ** 2
    return w @ integrand + max(0.0, 1.0 - alpha) * sigma_w2 + noise2


def mode_stopping_error_mp(alpha: float, *, sigma_w2: float = 1.0, noise2: float = 1.0,
                           sigma0_2: float = 0.0, n_nodes: int = 4096) -> float:
    """Test error when every mode stops at its own ``t_opt`` (eq. (gen-topt)), for
    ``d -> inf``: each mode contributes ``s a/(s + a)`` with ``s = sigma_w2 +
    sigma0_2`` and ``a = noise2/lam`` (eq. (gen-mode-min))."""
    alpha = _alpha(alpha)
    sigma_w2, noise2, sigma0_2 = _variances(sigma_w2, noise2, sigma0_2)
    lam, w = mp_nodes(alpha, n_nodes)
    s = sigma_w2 + sigma0_2
    a_lam = noise2  # s a / (s + a) = s noise2 / (s lam + noise2)
    per_mode = s * a_lam / (s * lam + a_lam)
    return float(w @ per_mode + max(0.0, 1.0 - alpha) * s + noise2)


@dataclass(frozen=True)
class GlobalStop:
    """The best single stopping time of gradient flow (eq. (gen-eg-mp) minimised).

    Attributes
    ----------
    t_star : float
        Time of the minimum of ``E_g(t)`` (``inf`` if it decreases for ever).
    error : float
        ``E_g(t_star)``.
    """

    t_star: float
    error: float


def global_stopping(alpha: float, *, sigma_w2: float = 1.0, noise2: float = 1.0,
                    sigma0_2: float = 0.0, t_max: float = 1e6,
                    n_nodes: int = 4096) -> GlobalStop:
    """Minimise eq. (gen-eg-mp) over one stopping time ``t`` in ``[0, t_max]``.

    A log grid of 400 times brackets the minimum; 60 golden-section steps in
    ``log t`` refine it (relative precision ~1e-12 in ``t``).
    """
    t_max = check_float("t_max", t_max, minimum=1e-3, maximum=1e9)
    kw = dict(sigma_w2=sigma_w2, noise2=noise2, sigma0_2=sigma0_2, n_nodes=n_nodes)
    grid = np.logspace(-3, math.log10(t_max), 400)
    values = test_error_mp(alpha, grid, **kw)
    k = int(np.argmin(values))
    if k == grid.size - 1:
        return GlobalStop(math.inf, float(test_error_mp(alpha, [np.inf], **kw)[0]))
    lo, hi = math.log(grid[max(k - 1, 0)]), math.log(grid[k + 1])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0

    def f(u):
        return float(test_error_mp(alpha, [math.exp(u)], **kw)[0])

    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = f(b)
    u = (lo + hi) / 2.0
    return GlobalStop(math.exp(u), f(u))
