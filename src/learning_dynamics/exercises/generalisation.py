"""Self-checks for the coding exercises of chapter 6 (generalisation dynamics).

The references are the package's own engines (the mode average of eq.
(gen-eg-modes) and the exact gradient-descent solution of eq. (gen-modes)), not the
reference answers; on failure a check reports shapes and the largest error.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..generalisation.data import make_task
from ..generalisation.theory import test_error_modes
from ..generalisation.train import gd_exact
from ..seeding import make_rng
from ._core import CheckResult, run_check

__all__ = ["check_mode_test_error", "check_torch_gradient_descent"]


def check_mode_test_error(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(eigenvalues, t, sigma_w2, noise2)`` returns eq.
    (gen-eg-modes) for gradient flow (``sigma0_2 = 0``), shape ``(len(t),)``.

    Cases: Marchenko-Pastur-like spectra with and without zero modes, several noise
    levels; a dropped square on the gain or a missing ``+ noise2`` fails.
    """
    rng = make_rng(606)
    cases = []
    for d, zeros, sigma_w2, noise2 in [(50, 0, 1.0, 0.25), (80, 30, 2.0, 1.0),
                                       (40, 10, 0.5, 0.0)]:
        lam = np.concatenate([np.zeros(zeros), rng.uniform(0.05, 4.0, d - zeros)])
        t = np.array([0.0, 0.3, 2.0, 15.0, 120.0])
        want = test_error_modes(lam, t, sigma_w2=sigma_w2, noise2=noise2)
        cases.append(((lam, t, sigma_w2, noise2), {}, want))
    return run_check("mode-by-mode test error", student_fn, cases, rtol=1e-9,
                     atol=1e-12, verbose=verbose)


def check_torch_gradient_descent(student_fn: Callable, *,
                                 verbose: bool = True) -> CheckResult:
    """Check ``student_fn(X, y, w0, eta, steps)`` (numpy in; PyTorch inside) returns
    the weights after ``steps`` steps of eq. (gen-gd), as a numpy array of shape
    ``(d,)``; the reference is the exact eigen-solution, eq. (gen-modes).

    Cases: ``alpha`` below and above 1, with and without initial weights; a step on
    the mean loss instead of the summed one, or a missing factor, fails.
    """
    cases = []
    for k, (d, P, sigma0, eta, steps) in enumerate(
            [(30, 15, 0.5, 0.1, 40), (20, 50, 0.0, 0.05, 25), (25, 25, 1.0, 0.08, 60)]):
        task = make_task(d, P, 2.0, sigma0=sigma0, seeds=1, seed=660 + k)
        want = gd_exact(task, [steps * eta], eta=eta, return_weights=True).weights
        args = (task.X[0].copy(), task.y[0].copy(), task.w0[0].copy(), eta, steps)
        cases.append((args, {}, want[0, 0]))
    return run_check("gradient descent in PyTorch", student_fn, cases, rtol=1e-8,
                     atol=1e-10, verbose=verbose)
