"""Self-checks for the exercises of chapter 1 (Preliminaries)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..linearisation.theory import gd_residual_closed_form
from ._core import CheckResult, run_check

__all__ = ["check_linearised_residual"]


def check_linearised_residual(student_fn: Callable) -> CheckResult:
    """Check ``student_fn(kernel, y, eta0, k)`` returns the linearised residual ``f_k - y`` after ``k`` steps.

    The reference is eq. (pre-lin-closed-form), ``-(I - eta0 K / P)**k y``, on three
    random kernels of different sizes.
    """
    cases = []
    rng = np.random.default_rng(12345)
    for P, eta0, k in [(3, 0.5, 1), (5, 1.0, 7), (8, 2.0, 40)]:
        A = rng.standard_normal((P, P + 2))
        K = A @ A.T / (P + 2)
        y = rng.standard_normal(P)
        expected = gd_residual_closed_form(K, y, eta0, [k])[0]
        cases.append(((K, y, eta0, k), {}, expected))
    return run_check("linearised residual", student_fn, cases, rtol=1e-8, atol=1e-10)
