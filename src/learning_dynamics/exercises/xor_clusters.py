"""Self-checks for the exercises of chapter 4 (benign overfitting on XOR clusters)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..xor_clusters import output_weights
from ._answers.xor_clusters import gram_step
from ._core import CheckResult, run_check

__all__ = ["check_gram_step"]


def check_gram_step(student_fn: Callable) -> CheckResult:
    """Check ``student_fn(C, Z0, G, y, a, eta)`` returns the coefficients after one GD step.

    The reference is the private reference answer, eq. (xor-gram), on three
    small random problems (including a non-zero starting ``C``).
    """
    rng = np.random.default_rng(2024)
    cases = []
    for n, p, m, eta, start in [(6, 40, 4, 0.5, 0.0), (10, 80, 8, 0.2, 0.01), (12, 30, 6, 1.0, 0.05)]:
        X = rng.standard_normal((n, p))
        W0 = 0.1 * rng.standard_normal((m, p))
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        C = start * rng.standard_normal((m, n))
        a = output_weights(m)
        args = (C, X @ W0.T, X @ X.T, y, a, eta)
        cases.append((args, {}, gram_step(*args)))
    return run_check("Gram-space GD step", student_fn, cases, rtol=1e-8, atol=1e-12)
