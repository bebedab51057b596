"""Self-checks for the coding exercises of chapter 4 (benign overfitting, XOR).

Each check calls the student's function on small random problems and compares it
with a reference computed a different way (an explicit ``p``-dimensional gradient
step), so a check never compares a function with itself.  On failure it reports
the case, the shapes and the largest error, not whole arrays.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..seeding import make_rng
from ._core import CheckResult

__all__ = ["check_gram_step", "check_torch_gd_step"]


def _explicit_step(W, a, X, y, eta):
    """One explicit GD step on the mean logistic loss of ``sum_j a_j relu(<w_j,x>)``."""
    pre = X @ W.T
    margins = y * (np.maximum(pre, 0.0) @ a)
    loss_weights = 1.0 / (1.0 + np.exp(margins))
    grad = -(a[:, None] * ((pre > 0) * (loss_weights * y)[:, None]).T) @ X / X.shape[0]
    return W - eta * grad


def _problems(seed: int):
    rng = make_rng(seed)
    for n, p, m, eta, start in [(6, 40, 4, 0.5, 0.0), (10, 80, 8, 0.2, 0.01),
                                (12, 30, 6, 1.0, 0.05)]:
        X = rng.standard_normal((n, p))
        W0 = 0.1 * rng.standard_normal((m, p))
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        C = start * rng.standard_normal((m, n))
        a = np.where(np.arange(m) < m // 2, 1.0, -1.0) / np.sqrt(m)
        yield X, W0, y, C, a, eta


def _verdict(name, student_fn, cases, rtol, verbose):
    """Compare outputs case by case; report shape and largest error on failure."""
    if not callable(student_fn):
        kind = type(student_fn).__name__
        raise TypeError(f"student_fn must be a function; got {kind}")
    result = None
    for k, (args, expected) in enumerate(cases, start=1):
        try:
            got = student_fn(*args)
            if hasattr(got, "detach"):
                got = got.detach().cpu().numpy()
            got = np.asarray(got, dtype=float)
        except NotImplementedError as exc:
            result = CheckResult(False, f"✗ {name}: not implemented yet — {exc}")
            break
        except Exception as exc:  # a student's bug: report it, do not crash
            result = CheckResult(False, f"✗ {name}: case {k} raised "
                                        f"{type(exc).__name__}: {exc}")
            break
        if got.shape != expected.shape:
            result = CheckResult(False, f"✗ {name}: case {k} returned shape "
                                        f"{got.shape}, expected {expected.shape}.")
            break
        error = np.max(np.abs(got - expected))
        scale = np.max(np.abs(expected))
        if not error <= rtol * scale + 1e-12:
            result = CheckResult(False, f"✗ {name}: case {k} (shape {got.shape}) is "
                                        f"off by up to {error:.3g} (entries up to "
                                        f"{scale:.3g}, tolerance {rtol:g} relative).")
            break
    if result is None:
        result = CheckResult(True, f"✓ {name}: all {len(cases)} cases match the "
                                   "explicit p-dimensional gradient step.")
    if verbose:
        print(result.message)
    return result


def check_gram_step(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(C, Z0, G, y, a, eta)``: one GD step on ``C``, eq. (xor-gram).

    The reference moves the explicit weights ``W = W0 + C X`` by one gradient step
    and reads the new coefficients back by least squares,
    ``C' = (W' - W0) X^T (X X^T)^{-1}``.
    """
    cases = []
    for X, W0, y, C, a, eta in _problems(2024):
        W_next = _explicit_step(W0 + C @ X, a, X, y, eta)
        C_next = np.linalg.solve(X @ X.T, X @ (W_next - W0).T).T
        cases.append(((C, X @ W0.T, X @ X.T, y, a, eta), C_next))
    return _verdict("Gram-space GD step", student_fn, cases, 1e-8, verbose)


def check_torch_gd_step(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(W, a, X, y, eta)`` (torch tensors): one GD step on ``W``.

    The loss is the mean logistic loss of ``f(x) = sum_j a_j relu(<w_j, x>)``; the
    reference is the hand-written gradient of eq. (xor-gram) in numpy.
    """
    import torch

    cases = []
    for X, W0, y, C, a, eta in _problems(7):
        W = W0 + C @ X
        args = tuple(torch.tensor(v, dtype=torch.float64) for v in (W, a, X, y))
        cases.append((args + (eta,), _explicit_step(W, a, X, y, eta)))
    return _verdict("PyTorch GD step", student_fn, cases, 1e-8, verbose)
