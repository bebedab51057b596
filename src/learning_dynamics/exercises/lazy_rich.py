"""Self-checks for the coding exercises of chapter 3 (grokking as lazy to rich).

Each check compares the student's function with an *independent* computation on
random inputs: the second-moment step with a width-``N`` network moved neuron by
neuron, the autograd gradient with the closed form of eq. (lr-neuron-update).  On
failure it reports the case, the shapes and the largest error, not whole arrays.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..lazy_rich import population_loss_terms
from ..seeding import make_rng
from ._core import CheckResult, run_check

__all__ = [
    "check_second_moment_step",
    "check_centred_loss_gradient",
    "check_population_loss",
]


def _compare(name, student_fn, cases, *, rtol, atol, verbose=True) -> CheckResult:
    """``run_check`` on ``(args, expected)`` cases (no keyword arguments)."""
    return run_check(name, student_fn, [(args, {}, want) for args, want in cases],
                     rtol=rtol, atol=atol, verbose=verbose)


def _random_network(rng, d, P, N):
    W = rng.standard_normal((N, d))
    X = rng.standard_normal((P, d)) / np.sqrt(d)
    return W, X, rng.standard_normal(P)


def _neuron_step(W, X, y, alpha, eps, eta0):
    """One explicit gradient step of every neuron (network centred at W itself)."""
    N = W.shape[0]
    H = X @ W.T
    r = alpha * np.mean(H + 0.5 * eps * H**2, axis=1) - y
    grad = (2 * alpha / (N * X.shape[0])) * ((r[:, None] * (1 + eps * H)).T @ X)
    return W - eta0 * N / alpha**2 * grad


def check_second_moment_step(
    student_fn: Callable, *, verbose: bool = True
) -> CheckResult:
    """Check ``student_fn(w_bar, M, g, G, c, eps)`` returns ``M`` after one step.

    The reference moves every neuron of an explicit width-``N`` network by gradient
    descent and recomputes ``M = W^T W / N``: independent of eq. (lr-recursion).
    """
    cases = []
    rng = make_rng(2024)
    for d, P, N, alpha, eps, eta0 in [
        (3, 5, 4, 1.0, 0.5, 0.3),
        (5, 9, 7, 0.5, 0.2, 0.1),
        (4, 6, 11, 3.0, 1.0, 2.0),
    ]:
        W, X, y = _random_network(rng, d, P, N)
        H = X @ W.T
        r = alpha * np.mean(H + 0.5 * eps * H**2, axis=1) - y
        g, G = r @ X / P, (X.T * r) @ X / P
        W_next = _neuron_step(W, X, y, alpha, eps, eta0)
        args = (W.mean(axis=0), W.T @ W / N, g, G, 2 * eta0 / alpha, eps)
        cases.append((args, W_next.T @ W_next / N))
    return _compare(
        "second-moment step", student_fn, cases, rtol=1e-9, atol=1e-11, verbose=verbose
    )


def check_centred_loss_gradient(
    student_fn: Callable, *, verbose: bool = True
) -> CheckResult:
    """Check ``student_fn(W, W0, X, y, alpha, eps)`` returns ``dL/dW`` (shape (N, d)).

    ``L = mean_mu (f(W, x_mu) - f(W0, x_mu) - y_mu)^2``; the reference is the closed
    form ``dL/dw_i = (2 alpha / N)(g + eps G w_i)`` of eq. (lr-neuron-update).
    """
    cases = []
    rng = make_rng(11)
    for d, P, N, alpha, eps in [
        (3, 5, 4, 1.0, 0.5),
        (6, 10, 8, 0.25, 0.3),
        (4, 7, 5, 4.0, 1.2),
    ]:
        W0, X, y = _random_network(rng, d, P, N)
        W = W0 + 0.3 * rng.standard_normal(W0.shape)
        f = [
            alpha * np.mean(X @ V.T + 0.5 * eps * (X @ V.T) ** 2, axis=1)
            for V in (W, W0)
        ]
        r = f[0] - f[1] - y
        g, G = r @ X / P, (X.T * r) @ X / P
        cases.append(((W, W0, X, y, alpha, eps), 2 * alpha / N * (g + eps * W @ G)))
    return _compare(
        "centred-loss gradient",
        student_fn,
        cases,
        rtol=1e-9,
        atol=1e-12,
        verbose=verbose,
    )


def check_population_loss(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(dw_bar, dM, beta, alpha, eps)`` returns eq. (lr-pop-loss)."""
    cases = []
    rng = make_rng(7)
    for d, alpha, eps in [(2, 1.0, 0.5), (5, 0.25, 0.1), (8, 4.0, 1.0)]:
        dw = rng.standard_normal(d)
        A = rng.standard_normal((d, d))
        dM = (A + A.T) / 2
        beta = rng.standard_normal(d)
        expected = float(population_loss_terms(dw, dM, beta, alpha, eps).total)
        cases.append(((dw, dM, beta, alpha, eps), expected))
    return _compare(
        "population loss", student_fn, cases, rtol=1e-9, atol=1e-12, verbose=verbose
    )
