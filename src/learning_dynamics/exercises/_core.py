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

    def _ipython_display_(self) -> None:
        """Show nothing as a cell's value: the check has printed its verdict.

        A self-check prints one line (``verbose=True``, the default); without this
        a notebook showed the verdict twice, the line and then ``CheckResult(...)``.
        ``repr`` and the attributes are unchanged.
        """


def _describe(value: Any) -> str:
    """Short description of an input: its shape for arrays, its value for scalars."""
    if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"{type(value).__name__} of length {len(value)}"
    text = repr(value)
    return text if len(text) <= 40 else f"{type(value).__name__}"


def _mismatch(got: Any, expected: Any, *, rtol: float, atol: float) -> str:
    """'' when ``got`` matches ``expected``; otherwise shapes or the largest error."""
    try:
        got_arr = np.asarray(got, dtype=float)
        want = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return f"returned a {type(got).__name__}, expected numbers"
    if got_arr.shape != want.shape:
        return f"returned shape {got_arr.shape}, expected shape {want.shape}"
    if np.allclose(got_arr, want, rtol=rtol, atol=atol):
        return ""
    error = np.abs(got_arr - want)
    error = np.where(np.isnan(error), np.inf, error)  # a NaN counts as the worst error
    where = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
    at = f" at index {tuple(int(i) for i in where)}" if where else ""
    return (f"largest error {float(error[where]):.3g}{at} (returned "
            f"{float(got_arr[where]):.6g}, expected {float(want[where]):.6g}; "
            f"shape {want.shape}, rtol {rtol:g}).")


def run_check(name: str, student_fn: Callable,
              cases: Sequence[tuple[tuple, dict, Any]], *, rtol: float = 1e-6,
              atol: float = 1e-9, verbose: bool = True) -> CheckResult:
    """Call ``student_fn(*args, **kwargs)`` for each case; compare with the reference.

    A failure names the case, the inputs' shapes (not their values) and the largest
    error with its index, so that the verdict stays short for large arrays.

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
        raise TypeError("student_fn must be a function; "
                        f"got {type(student_fn).__name__}")
    result = None
    for k, (args, kwargs, expected) in enumerate(cases, start=1):
        try:
            got = student_fn(*args, **kwargs)
        except NotImplementedError as exc:
            result = CheckResult(False, f"✗ {name}: not implemented yet — {exc}")
            break
        except Exception as exc:  # a student's bug: report it, do not crash
            message = f"✗ {name}: case {k} raised {type(exc).__name__}: {exc}"
            result = CheckResult(False, message)
            break
        mismatch = _mismatch(got, expected, rtol=rtol, atol=atol)
        if mismatch:
            inputs = ", ".join([_describe(a) for a in args]
                               + [f"{key}={_describe(v)}" for key, v in kwargs.items()])
            message = f"✗ {name}: case {k} (inputs {inputs}): {mismatch}"
            result = CheckResult(False, message)
            break
    if result is None:
        message = f"✓ {name}: all {len(cases)} cases match the reference."
        result = CheckResult(True, message)
    if verbose:
        print(result.message)
    return result
