"""Self-checks for the coding exercises of chapter 1 (Preliminaries).

Each check calls the student's function on random inputs, compares it with the
reference answer (``exercises._answers``: private, installed with the package, not
shown by the student edition) and reports, on failure, the case, the shapes and the
largest error.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..seeding import make_rng, torch_generator
from ._core import CheckResult

__all__ = ["check_best_constant_step", "check_torch_tangent_kernel"]


def _as_array(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _verdict(name: str, number: int, describe: str, got, expected,
             rtol: float) -> str | None:
    """None when ``got`` matches ``expected``; otherwise the reason, without arrays."""
    where = f"case {number} ({describe})"
    if got.shape != expected.shape:
        return f"{where} returned shape {got.shape}, expected {expected.shape}."
    if not np.all(np.isfinite(got)):
        return f"{where}, shape {got.shape}: the result holds NaN or inf."
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-12)
    if np.any(relative > rtol):
        return (f"{where}, shape {got.shape}: largest relative error "
                f"{float(relative.max()):.3g} (accepted {rtol:g}).")
    return None


def _compare(name: str, student_fn: Callable, cases, *, rtol: float,
             verbose: bool) -> CheckResult:
    """Run ``student_fn(*args)`` on each case; report shapes and the largest error."""
    if not callable(student_fn):
        raise TypeError("student_fn must be a function; "
                        f"got {type(student_fn).__name__}")
    result = CheckResult(True, f"✓ {name}: all {len(cases)} cases match the reference.")
    for number, (args, expected, describe) in enumerate(cases, start=1):
        try:
            got = _as_array(student_fn(*args))
        except NotImplementedError as exc:
            result = CheckResult(False, f"✗ {name}: not implemented yet — {exc}")
            break
        except Exception as exc:  # a student's bug: report it, do not crash the page
            result = CheckResult(False, f"✗ {name}: case {number} ({describe}) "
                                        f"raised {type(exc).__name__}: {exc}")
            break
        reason = _verdict(name, number, describe, got, _as_array(expected), rtol)
        if reason is not None:
            result = CheckResult(False, f"✗ {name}: {reason}")
            break
    if verbose:
        print(result.message)
    return result


def _random_kernel(rng: np.random.Generator, P: int, spread: float) -> np.ndarray:
    """A positive-definite ``P x P`` kernel; ``K/P`` has condition ``1/spread``."""
    basis, _ = np.linalg.qr(rng.standard_normal((P, P)))
    eigenvalues = P * np.geomspace(1.0, spread, P) * rng.uniform(0.5, 2.0)
    return (basis * eigenvalues) @ basis.T


def check_best_constant_step(student_fn: Callable, *,
                             verbose: bool = True) -> CheckResult:
    """Check ``student_fn(kernel) -> (eta0, rate)`` for the best constant step.

    Reference: ``eta0* = 2 / (lambda_min + lambda_max)`` of ``K/P`` and the rate
    ``(kappa - 1) / (kappa + 1)`` (chapter 1, exercise "The best constant step"), on
    random positive-definite kernels of sizes 2 to 12 and condition numbers 3 to 1e4.
    """
    from ._answers.linearisation import best_constant_step

    rng = make_rng(20260101)
    cases = []
    for P, spread in [(2, 1 / 3), (5, 1e-2), (12, 1e-4), (7, 0.5)]:
        kernel = _random_kernel(rng, P, spread)
        cases.append(((kernel,), np.array(best_constant_step(kernel)),
                      f"{P} x {P} kernel, condition number {1 / spread:g}"))
    return _compare("best constant step", student_fn, cases, rtol=1e-8,
                    verbose=verbose)


def check_torch_tangent_kernel(student_fn: Callable, *,
                               verbose: bool = True) -> CheckResult:
    """Check that ``student_fn(W, a, x)`` is the tangent kernel, eq. (pre-ntk).

    Inputs are float64 torch tensors ``W`` (N, d), ``a`` (N,), ``x`` (P, d) for three
    random sizes; the reference differentiates ``g`` with ``torch.func.jacrev``.
    """
    from ._answers.linearisation import torch_tangent_kernel

    generator = torch_generator(20260102)
    cases = []
    for P, N, d in [(3, 4, 2), (6, 16, 3), (10, 32, 5)]:
        W = torch.randn(N, d, generator=generator, dtype=torch.float64)
        a = torch.randn(N, generator=generator, dtype=torch.float64)
        x = torch.randn(P, d, generator=generator, dtype=torch.float64) / d**0.5
        expected = torch_tangent_kernel(W, a, x).numpy()
        cases.append(((W, a, x), expected, f"P = {P}, N = {N}, d = {d}"))
    return _compare("tangent kernel with autograd", student_fn, cases, rtol=1e-8,
                    verbose=verbose)
