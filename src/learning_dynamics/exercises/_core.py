"""Machinery shared by every exercise self-check."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["CheckResult", "run_check"]


@dataclass(frozen=True)
class CheckResult:
    """Verdict of a self-check.

    Attributes
    ----------
    passed : bool
        True when every case matched.
    message : str
        The verdict printed to the student.
    """

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed


def run_check(name: str, student_fn: Callable, cases: Sequence[tuple[tuple, dict, Any]], *,
              rtol: float = 1e-6, atol: float = 1e-9, verbose: bool = True) -> CheckResult:
    """Call ``student_fn(*args, **kwargs)`` for each case and compare with the expected value.

    Parameters
    ----------
    name : str
        Exercise name shown in the verdict.
    student_fn : callable
        The student's function.
    cases : sequence of (args, kwargs, expected)
        Inputs and the reference output (numbers or arrays).
    rtol, atol : float
        Tolerances of ``numpy.allclose``.
    verbose : bool
        Print the verdict.
    """
    if not callable(student_fn):
        raise TypeError(f"student_fn must be a function; got {type(student_fn).__name__}")
    result = None
    for k, (args, kwargs, expected) in enumerate(cases, start=1):
        try:
            got = student_fn(*args, **kwargs)
        except NotImplementedError as exc:
            result = CheckResult(False, f"✗ {name}: not implemented yet — {exc}")
            break
        except Exception as exc:  # a student's bug: report it, do not crash the notebook
            result = CheckResult(False, f"✗ {name}: case {k} raised {type(exc).__name__}: {exc}")
            break
        try:
            ok = np.allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            result = CheckResult(False, f"✗ {name}: case {k} with inputs {args} {kwargs or ''} returned {got!r}, "
                                        f"expected {expected!r} (rtol {rtol:g}).")
            break
    if result is None:
        result = CheckResult(True, f"✓ {name}: all {len(cases)} cases match the reference.")
    if verbose:
        print(result.message)
    return result
