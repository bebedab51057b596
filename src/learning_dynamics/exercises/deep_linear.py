"""Self-checks for the exercises of chapter 2 (deep linear networks)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..deep_linear import half_time, tree_level_spectrum
from ._core import CheckResult, run_check

__all__ = ["check_half_time", "check_tree_spectrum"]


def check_half_time(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(s, a0, tau)`` returns the half-time of eq. (dl-half-time) for one mode."""
    cases = [((s, a0, tau), {}, float(half_time(s, a0, tau)[0]))
             for s, a0, tau in [(2.0, 1e-3, 1.0), (np.sqrt(7), 1e-6, 0.5), (150.0, 1e-20, 400.0)]]
    return run_check("half-time", student_fn, cases, rtol=1e-9, verbose=verbose)


def check_tree_spectrum(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(branching, depth, flip_prob)`` returns the level eigenvalues ``lambda_0..lambda_D``.

    The reference is eq. (dl-tree-spectrum), root level first.
    """
    cases = [((B, D, eps), {}, tree_level_spectrum(B, D, eps)[0])
             for B, D, eps in [(2, 3, 0.15), (4, 3, 0.05), (3, 2, 0.2), (2, 5, 0.1)]]
    return run_check("tree level spectrum", student_fn, cases, rtol=1e-9, verbose=verbose)
