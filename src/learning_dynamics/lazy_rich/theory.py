"""Closed forms of chapter 3: population loss, tangent kernel, lazy limit, time scales.

* the exact population loss of the centred network as variance + misalignment +
  linear power, eq. (lr-pop-loss);
* the initial tangent kernel, eq. (lr-ntk), and the stability limit of the step;
* the linearised (lazy, ``alpha -> infinity``) model in closed form, for gradient
  flow, eq. (lr-lazy-closed-form), and for gradient descent with a given list of
  steps, eq. (lr-lazy-gd);
* the heuristic feature-learning time, eq. (lr-t-feat), and the chance linear power
  of the target on the training set, eq. (lr-chance-linear), which sizes the
  memorisation bump.

Conventions: loss = mean squared error without 1/2; time ``t`` in ``eta0 = 1`` units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..device import single_threaded
from ..validation import check_array, check_float, check_memory
from .data import Committee, TeacherData, check_pair, positive_values

__all__ = [
    "LossTerms",
    "population_loss_terms",
    "initial_kernel",
    "stability_limit",
    "lazy_limit_losses",
    "lazy_gd_losses",
    "kernel_regression_loss",
    "feature_learning_time",
    "chance_linear_power",
    "expected_chance_linear_power",
]


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


def terms_from_coefficients(lin_coef, quad_coef, beta) -> LossTerms:
    """Population loss of ``f(x) = b.x + x^T Q x`` against ``y = (beta.x)^2/2``.

    ``lin_coef`` = ``b`` has shape (..., d), ``quad_coef`` = ``Q`` shape (..., d, d)
    (symmetric); batched over the leading axes.  Trusted inputs (no validation).
    With the error matrix ``E = 2Q - beta beta^T``, eq. (lr-pop-loss) reads
    ``(Tr E)^2 / (4 d^2) + ||E||_F^2 / (2 d^2) + |b|^2 / d``.
    """
    d = beta.shape[-1]
    error_matrix = 2.0 * quad_coef - np.outer(beta, beta)
    trace = np.trace(error_matrix, axis1=-2, axis2=-1)
    variance = trace**2 / (4.0 * d**2)
    misalignment = np.sum(error_matrix * error_matrix, axis=(-2, -1)) / (2.0 * d**2)
    linear = np.sum(lin_coef * lin_coef, axis=-1) / d
    return LossTerms(variance, misalignment, linear, variance + misalignment + linear)


def population_loss_terms(dw_bar, dM, beta, alpha, eps) -> LossTerms:
    """Exact population loss of the centred network, split as in eq. (lr-pop-loss).

    For ``x ~ N(0, I/d)``, ``E[(x^T A x)^2] = ((Tr A)^2 + 2 Tr A^2) / d^2`` for
    symmetric ``A`` and odd moments vanish, so with ``E = alpha eps dM - beta beta^T``
    ``L = (Tr E)^2 / (4 d^2) + ||E||_F^2 / (2 d^2) + alpha^2 |dw_bar|^2 / d``.

    Parameters
    ----------
    dw_bar : array, shape (..., d)
        ``w_bar - w_bar0``.
    dM : array, shape (..., d, d)
        ``M - M0`` (symmetric).
    beta : array, shape (d,)
        Teacher direction.
    alpha, eps : float or array broadcastable to the batch shape
        Output scale (> 0) and strength of the quadratic part of ``phi`` (>= 0).
    """
    beta = check_array("beta", beta, ndim=1)
    d = beta.shape[0]
    dw_bar = check_array("dw_bar", dw_bar)
    dM = check_array("dM", dM)
    if (
        dw_bar.shape[-1] != d
        or dM.shape[-2:] != (d, d)
        or dM.shape[:-2] != dw_bar.shape[:-1]
    ):
        raise ValueError(
            f"dw_bar must have shape (..., {d}) and dM shape (..., {d}, {d}) "
            f"with the same batch shape; got dw_bar {dw_bar.shape}, dM {dM.shape}"
        )
    if not np.allclose(dM, np.swapaxes(dM, -1, -2), rtol=1e-10, atol=1e-12):
        raise ValueError(
            "dM must be symmetric (a difference of second moments); got max "
            f"|dM - dM^T| = {np.max(np.abs(dM - np.swapaxes(dM, -1, -2))):.3g}"
        )
    alpha = check_array("alpha", alpha)
    eps = check_array("eps", eps)
    if np.any(alpha <= 0):
        raise ValueError(f"alpha must be finite and > 0; got {alpha}")
    if np.any(eps < 0):
        raise ValueError(f"eps must be finite and >= 0; got {eps}")
    quad_coef = 0.5 * (alpha * eps)[..., None, None] * dM
    return terms_from_coefficients(alpha[..., None] * dw_bar, quad_coef, beta)


def initial_kernel(X1, X2, eps, w_bar0=None, M0=None) -> np.ndarray:
    """Tangent kernel at initialisation, eq. (lr-ntk), without ``alpha**2/N``.

    ``K(x, x') = x.x' [1 + eps w_bar0.(x + x') + eps^2 x^T M0 x']``; with the
    infinite-width statistics ``w_bar0 = 0, M0 = I`` (the default) it is
    ``x.x' + eps^2 (x.x')^2``.  ``M0`` must be symmetric.
    """
    X1 = check_array("X1", X1, ndim=2)
    X2 = check_array("X2", X2, ndim=2)
    d = X1.shape[1]
    if X2.shape[1] != d:
        raise ValueError(f"X2 must have {d} columns like X1; got shape {X2.shape}")
    # before any work: the P1 x P2 kernel and four temporaries of that size
    check_memory("X1", X1.shape, 40.0 * len(X1) * len(X2),
                 what=f"five {len(X1)} x {len(X2)} float64 arrays")
    eps = check_float("eps", eps, minimum=0.0)
    w_bar0 = (
        np.zeros(d) if w_bar0 is None else check_array("w_bar0", w_bar0, shape=(d,))
    )
    M0 = np.eye(d) if M0 is None else check_array("M0", M0, shape=(d, d))
    if not np.allclose(M0, M0.T, rtol=1e-12, atol=1e-12):
        raise ValueError(
            "M0 must be symmetric; the tangent kernel of a network is symmetric"
        )
    with single_threaded():
        gram = X1 @ X2.T
        shift = (X1 @ w_bar0)[:, None] + (X2 @ w_bar0)[None, :]
        return gram * (1.0 + eps * shift + eps**2 * (X1 @ M0 @ X2.T))


def _kernel_coefficients(weights, X, eps, w_bar0, M0):
    """Map ``f = sum_mu a_mu K0(x, x_mu)`` to ``(b, Q)`` of ``f = b.x + x^T Q x``."""
    lin_coef = (weights * (1.0 + eps * (X @ w_bar0))) @ X
    Z = eps * np.outer(weights @ X, w_bar0) + eps**2 * (X.T * weights) @ X @ M0
    return lin_coef, 0.5 * (Z + Z.T)


def _train_kernel(data: TeacherData, net: Committee) -> np.ndarray:
    return initial_kernel(data.X, data.X, net.eps, net.w_bar0, net.M0)


def stability_limit(data: TeacherData, net: Committee) -> float:
    """Largest stable ``eta0`` at initialisation: ``1 / lambda_max(K0(X, X) / P)``.

    Function-space gradient descent reads ``r <- (I - 2 eta0 K0 / P) r``
    (eq. (lr-ntk) with the mean-squared loss), stable while ``eta0 lambda_max < 1``.
    """
    check_pair(data, net)
    with single_threaded():
        return float(1.0 / np.linalg.eigvalsh(_train_kernel(data, net) / data.P)[-1])


def _kernel_eigen(data, net):
    lam, U = np.linalg.eigh(_train_kernel(data, net))
    if lam[0] <= 1e-12 * lam[-1]:
        raise ValueError(
            f"the initial kernel on the training set is singular (P = {data.P} "
            f"too large for d = {data.d}); ridgeless regression needs "
            "P <= d + d(d+1)/2"
        )
    return lam, U


def _losses_from_decay(data, net, lam, U, decays):
    """Train and test loss of the lazy model with residual ``-U diag(decay) U^T y``."""
    y_modes = U.T @ data.y
    train, test = [], []
    for decay in decays:
        train.append(np.mean((U @ (decay * y_modes)) ** 2))
        weights = U @ ((1.0 - decay) * y_modes / lam)
        lin_coef, quad_coef = _kernel_coefficients(
            weights, data.X, net.eps, net.w_bar0, net.M0
        )
        test.append(terms_from_coefficients(lin_coef, quad_coef, data.beta).total)
    return np.array(train), np.array(test)


def lazy_limit_losses(
    data: TeacherData, net: Committee, times
) -> tuple[np.ndarray, np.ndarray]:
    """Train and population test loss of the linearised model under gradient flow.

    Eq. (lr-lazy-closed-form): the training residual is ``r(t) = -exp(-2 t K0 / P) y``
    and the kernel-expansion weights ``a(t) = K0^{-1}(I - exp(-2 t K0/P)) y``;
    ``times = inf`` gives ridgeless kernel regression.  Returns ``(train, test)``.
    """
    check_pair(data, net)
    kind = np.asarray(times).dtype.kind
    if kind in "USVc":  # strings, bytes, records, complex: not times
        raise TypeError(f"times must be real non-negative numbers; got {times!r}")
    t = np.atleast_1d(np.asarray(times, dtype=float))  # None reads as NaN: refused
    if t.ndim != 1 or np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(
            "times must be a 1-d array of non-negative times (inf allowed); "
            f"got {times!r}"
        )
    with single_threaded():
        lam, U = _kernel_eigen(data, net)
    # lam > 0 (checked above), so t = inf gives exp(-inf) = 0: ridgeless regression
    decays = [np.exp(-2.0 * tk * lam / data.P) for tk in t]
    with single_threaded():
        return _losses_from_decay(data, net, lam, U, decays)


def lazy_gd_losses(
    data: TeacherData, net: Committee, steps
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test loss of the linearised model under GD, eq. (lr-lazy-gd).

    With step sizes ``h_1, h_2, ...`` (in ``eta0`` units) the residual is
    ``r_k = -prod_{j <= k} (I - 2 h_j K0 / P) y``.  Returns the losses before the
    first step and after each step (length ``len(steps) + 1``).
    """
    check_pair(data, net)
    steps = np.atleast_1d(check_array("steps", steps))
    if steps.ndim != 1 or np.any(steps <= 0):
        raise ValueError(
            f"steps must be a 1-d array of positive step sizes; got {steps!r}"
        )
    with single_threaded():
        lam, U = _kernel_eigen(data, net)
        factors = np.cumprod(1.0 - 2.0 * steps[:, None] * lam[None, :] / data.P, axis=0)
        decays = np.vstack([np.ones_like(lam), factors])
        return _losses_from_decay(data, net, lam, U, decays)


def kernel_regression_loss(data: TeacherData, net: Committee) -> float:
    """Population test loss of ridgeless regression with the initial kernel ``K0``."""
    return float(lazy_limit_losses(data, net, [np.inf])[1][0])


def feature_learning_time(
    alpha,
    d: int,
    eps: float,
    *,
    beta_sq: float | None = None,
    fraction: float = 1.0,
    eta0: float = 1.0,
) -> np.ndarray:
    """Heuristic time for ``M`` to learn ``beta beta^T``, eq. (lr-t-feat).

    ``t_feat(q) = (alpha d^2 / (6 eta0 eps |beta|^2)) ln(1 + q |beta|^2 / (alpha eps))``
    in ``eta0 = 1`` units (``w_bar0 = 0``, ``M0 = I``): the ``beta`` component of
    ``M`` grows at the initial rate ``6 eps |beta|^2 / (alpha d^2)`` until
    ``alpha eps (M_beta - 1) = q |beta|^2``, the fraction ``q`` (``fraction``,
    default 1) of the teacher direction.  ``beta_sq`` is the data's ``|beta|^2``
    (default ``d``, its expectation).  If the rate never exceeds its initial value,
    ``t >= t_feat(q(t))``, eq. (lr-t-feat-bound).  A growth-rate argument, not a
    theorem: the chapter compares it with measured crossing times.
    """
    alpha = positive_values("alpha", alpha)
    d = check_float("d", d, minimum=0.0, min_inclusive=False)
    eps = check_float("eps", eps, minimum=0.0, min_inclusive=False)
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    beta_sq = (
        d
        if beta_sq is None
        else check_float("beta_sq", beta_sq, minimum=0.0, min_inclusive=False)
    )
    fraction = check_float("fraction", fraction, minimum=0.0, maximum=1.0)
    rate_ = 6.0 * eta0 * eps * beta_sq / (alpha * d**2)
    return np.log1p(fraction * beta_sq / (alpha * eps)) / rate_


def expected_chance_linear_power(d: int, P: int) -> tuple[float, float]:
    """Expectation of ``L_lin / L0``, eq. (lr-chance-linear-mean), in two parts.

    Returns ``(orthogonal, along_beta)``: the exact expectation of the power of the
    ``d - 1`` least-squares coefficients orthogonal to ``beta``,
    ``(d - 1) P / ((P + 4)(P - d - 1))``, and the leading order in ``1/P`` of the
    coefficient along ``beta``, ``(5 + (d - 1)/(P - d + 1)) / P``.  Needs
    ``P > d + 1`` (the inverse-Wishart mean).
    """
    d = check_float("d", d, minimum=2.0)
    P = check_float("P", P, minimum=d + 1.0, min_inclusive=False)
    orthogonal = (d - 1.0) * P / ((P + 4.0) * (P - d - 1.0))
    along_beta = (5.0 + (d - 1.0) / (P - d + 1.0)) / P
    return float(orthogonal), float(along_beta)


def chance_linear_power(data: TeacherData) -> float:
    """Test power of the target's chance linear component on the training set.

    The least-squares fit ``y ~ X b`` of the quadratic target on the ``P`` training
    inputs finds a spurious ``b`` (the target has no linear part in the population);
    its population power ``|b|^2 / d``, eq. (lr-chance-linear), is what a fit that
    matches the training set through the fast linear modes adds to the test loss.
    Its expectation over Gaussian inputs is :func:`expected_chance_linear_power`
    times ``E[y^2] = L0``, eq. (lr-chance-linear-mean).
    """
    if not isinstance(data, TeacherData):
        raise TypeError(f"data must be a TeacherData; got {type(data).__name__}")
    if data.P <= data.d:
        raise ValueError(
            f"chance_linear_power needs P > d (least squares is then "
            f"unique); got P = {data.P}, d = {data.d}"
        )
    with single_threaded():
        coef, *_ = np.linalg.lstsq(data.X, data.y, rcond=None)
    return float(coef @ coef / data.d)
