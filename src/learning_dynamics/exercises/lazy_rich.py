"""Self-checks for the exercises of chapter 3 (grokking as the transition from lazy to rich training)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..lazy_rich import population_loss_terms
from ._core import CheckResult, run_check

__all__ = ["check_second_moment_step", "check_population_loss"]


def _neuron_reference(W, X, y, alpha, eps, eta0):
    """One explicit gradient step of every neuron of the (uncentred-at-W0 = W) network, then M = W^T W / N."""
    N = W.shape[0]
    H = X @ W.T
    r = alpha * np.mean(H + 0.5 * eps * H ** 2, axis=1) - y
    grad = (2 * alpha / (N * X.shape[0])) * ((r[:, None] * (1 + eps * H)).T @ X)
    W2 = W - eta0 * N / alpha ** 2 * grad
    return W2.T @ W2 / N


def check_second_moment_step(student_fn: Callable) -> CheckResult:
    """Check ``student_fn(w_bar, M, g, G, c, eps)`` returns ``M`` after one step of eq. (lr-recursion).

    The reference is independent of the recursion: it moves every neuron of an explicit width-``N``
    network by gradient descent and recomputes ``M = W^T W / N``.
    """
    cases = []
    rng = np.random.default_rng(2024)
    for d, P, N, alpha, eps, eta0 in [(3, 5, 4, 1.0, 0.5, 0.3), (5, 9, 7, 0.5, 0.2, 0.1), (4, 6, 11, 3.0, 1.0, 2.0)]:
        W = rng.standard_normal((N, d))
        X = rng.standard_normal((P, d)) / np.sqrt(d)
        y = rng.standard_normal(P)
        H = X @ W.T
        r = alpha * np.mean(H + 0.5 * eps * H ** 2, axis=1) - y
        g = r @ X / P
        G = (X.T * r) @ X / P
        c = 2 * eta0 / alpha
        expected = _neuron_reference(W, X, y, alpha, eps, eta0)
        cases.append(((W.mean(axis=0), W.T @ W / N, g, G, c, eps), {}, expected))
    return run_check("second-moment step", student_fn, cases, rtol=1e-9, atol=1e-11)


def check_population_loss(student_fn: Callable) -> CheckResult:
    """Check ``student_fn(dw_bar, dM, beta, alpha, eps)`` returns the total of eq. (lr-pop-loss)."""
    cases = []
    rng = np.random.default_rng(7)
    for d, alpha, eps in [(2, 1.0, 0.5), (5, 0.25, 0.1), (8, 4.0, 1.0)]:
        dw = rng.standard_normal(d)
        A = rng.standard_normal((d, d))
        dM = (A + A.T) / 2
        beta = rng.standard_normal(d)
        expected = float(population_loss_terms(dw, dM, beta, alpha, eps).total)
        cases.append(((dw, dM, beta, alpha, eps), {}, expected))
    return run_check("population loss", student_fn, cases, rtol=1e-9, atol=1e-12)
