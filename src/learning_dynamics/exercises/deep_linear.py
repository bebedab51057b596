"""Self-checks for the coding exercises of chapter 2 (deep linear networks).

Each check calls the student's function on random inputs, compares it with the reference
answer and reports the shapes and the largest error on failure.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..device import single_threaded
from ..seeding import make_rng
from ._core import CheckResult, run_check

__all__ = ["check_tree_covariance", "check_torch_mse"]


def _run(name: str, student_fn: Callable, cases, *, rtol: float, atol: float,
         verbose: bool) -> CheckResult:
    """``run_check`` on ``(args, expected)`` cases (no keyword arguments)."""
    return run_check(name, student_fn, [(args, {}, want) for args, want in cases],
                     rtol=rtol, atol=atol, verbose=verbose)


def check_tree_covariance(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(branching, depth, flip_prob)`` returns ``C``, eq.
    (dl-tree-cov).

    Cases: random trees (branching 2-4, depth 1-3, flip probability in (0, 0.4)).
    """
    from ._answers.deep_linear import tree_covariance

    rng = make_rng(2024)
    cases = [((2, 3, 0.15), tree_covariance(2, 3, 0.15))]
    for _ in range(4):
        args = (
            int(rng.integers(2, 5)),
            int(rng.integers(1, 4)),
            float(rng.uniform(0.02, 0.4)),
        )
        cases.append((args, tree_covariance(*args)))
    return _run(
        "tree covariance", student_fn, cases, rtol=1e-10, atol=1e-12, verbose=verbose
    )


def check_torch_mse(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(y, w1, w2, lr, epochs)`` trains like ``nn.MSELoss`` + SGD.

    Cases: random targets and small random starts of several shapes; the function must
    return the final ``(W1, W2)`` as numpy arrays.
    """
    from ._answers.deep_linear import train_torch_mse

    rng = make_rng(7)
    cases = []
    for n_out, n_items, hidden, lr, epochs in [(5, 3, 4, 2.0, 20), (7, 4, 6, 5.0, 15),
                                               (3, 6, 2, 1.0, 30)]:
        y = rng.standard_normal((n_out, n_items))
        w1 = 0.3 * rng.standard_normal((hidden, n_items))
        w2 = 0.3 * rng.standard_normal((n_out, hidden))
        expected = np.concatenate(
            [m.ravel() for m in train_torch_mse(y, w1, w2, lr, epochs)]
        )
        cases.append(((y, w1, w2, lr, epochs), expected))

    def flattened(*args):
        first, second = student_fn(*args)
        return np.concatenate([np.asarray(first, dtype=float).ravel(),
                               np.asarray(second, dtype=float).ravel()])

    with single_threaded():  # tiny tensors: one thread avoids contention
        return _run("PyTorch MSELoss training", flattened, cases, rtol=1e-8, atol=1e-10,
                    verbose=verbose)
