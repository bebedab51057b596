"""Argument validation and divergence detection shared by every module.

Every public function of the package checks its arguments with these helpers, so
that a wrong call fails at once with a message that names the argument, the value
received and what is accepted, instead of failing deep inside numpy or torch.
Training loops call :func:`check_finite_loss` so that a diverging run stops with a
message that says which knob to turn.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "DivergenceError",
    "check_int",
    "check_float",
    "check_probability",
    "check_choice",
    "check_bool",
    "check_array",
    "check_seed",
    "check_times",
    "check_finite_loss",
    "check_memory",
    "check_work",
    "MEMORY_LIMIT_BYTES",
    "WORK_LIMIT_OPS",
]


class DivergenceError(FloatingPointError):
    """Raised when a training run produces a non-finite loss.

    The message names the step, the value and the knob to turn (usually the
    learning rate).
    """


def _number(x: float) -> str:
    """Integers exactly (a seed limit must not print as 1.84467e+19), floats in %g."""
    return str(x) if isinstance(x, numbers.Integral) else f"{x:g}"


def _describe_range(
    minimum: float | None,
    maximum: float | None,
    min_inclusive: bool,
    max_inclusive: bool,
) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>=' if min_inclusive else '>'} {_number(minimum)}")
    if maximum is not None:
        parts.append(f"{'<=' if max_inclusive else '<'} {_number(maximum)}")
    return " and ".join(parts) if parts else "any value"


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[minimum, maximum]``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (``bool`` and floats are rejected).
    ValueError
        If ``value`` is outside the accepted range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer; got {value!r} of type {type(value).__name__}"
        )
    value = int(value)
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise ValueError(
            f"{name} must be an integer "
            f"{_describe_range(minimum, maximum, True, True)}; got {value}"
        )
    return value


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as ``float`` if it is a finite real number in range.

    ``minimum=0, min_inclusive=False`` expresses "strictly positive".

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN, infinite or outside the accepted range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number; got {value!r} "
            f"of type {type(value).__name__}"
        )
    value = float(value)
    # the flags are checked too: ``None`` would silently read as ``False``
    min_inclusive = check_bool("min_inclusive", min_inclusive)
    max_inclusive = check_bool("max_inclusive", max_inclusive)
    accepted = _describe_range(minimum, maximum, min_inclusive, max_inclusive)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number ({accepted}); got {value}")
    too_low = minimum is not None and (
        value < minimum or (not min_inclusive and value == minimum)
    )
    too_high = maximum is not None and (
        value > maximum or (not max_inclusive and value == maximum)
    )
    if too_low or too_high:
        raise ValueError(f"{name} must be {accepted}; got {value:g}")
    return value


def check_probability(
    name: str, value: Any, *, maximum: float = 1.0, max_inclusive: bool = True
) -> float:
    """Return ``value`` if it is a probability in ``[0, maximum]``."""
    return check_float(
        name, value, minimum=0.0, maximum=maximum, max_inclusive=max_inclusive
    )


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; otherwise raise ``ValueError``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; "
            f"got {value!r}"
        )
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``; otherwise raise ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False; got {value!r} "
            f"of type {type(value).__name__}"
        )
    return bool(value)


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Return ``value`` as a numpy array after checking type, shape and finiteness.

    Parameters
    ----------
    name : str
        Argument name used in error messages.
    value : array_like
        Anything numpy can turn into a numeric array (lists, numpy arrays, CPU tensors).
    ndim : int, optional
        Required number of dimensions.
    shape : sequence of int or None, optional
        Required shape; ``None`` entries match any length.
    finite : bool
        Reject NaN and infinite entries.
    dtype : numpy dtype
        Dtype of the returned array.
    """
    finite = check_bool("finite", finite)
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy rarely fails here
        raise TypeError(
            f"{name} must be array-like; got {type(value).__name__}"
        ) from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    if np.iscomplexobj(arr) and not np.issubdtype(np.dtype(dtype), np.complexfloating):
        # numpy would drop the imaginary part with only a warning
        raise TypeError(f"{name} must be a real array; got complex dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-dimensional array; got shape {arr.shape}"
        )
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            s is None or s == a for s, a in zip(shape, arr.shape, strict=True)
        )
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}; got {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    arr = arr.astype(dtype, copy=False)
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} must contain only finite values; "
            f"got {int(np.sum(~np.isfinite(arr)))} NaN/inf entries"
        )
    return arr


SEED_MAX = 2**64 - 1
"""Largest seed: torch's generators take 64-bit seeds."""


def check_seed(name: str, value: Any) -> int:
    """Return ``value`` if it is an integer seed in ``[0, SEED_MAX]`` (64 bits)."""
    return check_int(name, value, minimum=0, maximum=SEED_MAX)


def check_times(name: str, value: Any, *, maximum: int | None = None) -> np.ndarray:
    """Return sorted unique non-negative integer checkpoint steps.

    Raises ``ValueError`` for negative, non-integer or out-of-range steps.
    """
    arr = np.atleast_1d(np.asarray(value))
    if arr.size == 0:
        raise ValueError(
            f"{name} must contain at least one step; got an empty sequence"
        )
    if arr.dtype == object and all(isinstance(x, numbers.Integral)
                                   and not isinstance(x, bool) for x in arr.ravel()):
        arr = arr.astype(np.float64)  # integers beyond int64: range-checked below
    integral = np.issubdtype(arr.dtype, np.integer) or (
        np.issubdtype(arr.dtype, np.floating)
        and np.all(np.isfinite(arr))
        and np.all(arr == np.round(arr))
    )
    if not integral or arr.dtype == bool:
        raise TypeError(
            f"{name} must hold integer steps; got {arr.dtype} values {arr[:4]}..."
        )
    limit = np.iinfo(np.int64).max if maximum is None else maximum
    if np.any(arr < 0) or np.any(arr > limit):  # checked before the cast to int64
        accepted = (
            f"between 0 and {maximum}"
            if maximum is not None
            else f">= 0 (at most {limit})"
        )
        raise ValueError(
            f"{name} must hold steps {accepted}; got min {arr.min():g}, "
            f"max {arr.max():g}"
        )
    return np.unique(arr.astype(np.int64))


MEMORY_LIMIT_BYTES = 4 * 2**30
"""Default largest allocation a public function accepts (4 GiB; Binder has 2)."""


def check_memory(name: str, value: Any, estimate_bytes: float, *,
                 limit_bytes: float = MEMORY_LIMIT_BYTES, what: str = "") -> None:
    """Refuse an argument whose computation would allocate more than ``limit_bytes``.

    Called before any work, with an estimate derived from the shapes the call
    would allocate.

    Parameters
    ----------
    name, value : str, object
        The argument that sets the size, and its value (both named in the message).
    estimate_bytes : float
        The caller's estimate of the memory the call would allocate.
    limit_bytes : float
        The documented limit.
    what : str
        Optional description of what the memory holds (added to the message).

    Raises
    ------
    ValueError
        Naming the argument, its value, the estimate and the limit, in GiB.
    """
    if estimate_bytes > limit_bytes:
        detail = f" ({what})" if what else ""
        raise ValueError(
            f"{name}={value!r} would need about {estimate_bytes / 2**30:.3g} GiB of "
            f"memory{detail}; the limit is {limit_bytes / 2**30:.3g} GiB: "
            f"reduce {name}")


WORK_LIMIT_OPS = 2e12
"""Default largest amount of work a public function accepts, in floating-point
operations (multiply-adds counted as two): about 10 to 30 minutes of one CPU core at
1 to 3 Gflop/s, the speed of the book's small matrix products."""


def check_work(name: str, value: Any, estimate_ops: float, *,
               limit_ops: float = WORK_LIMIT_OPS, what: str = "") -> None:
    """Refuse an argument whose computation would take more than ``limit_ops``.

    Called before any work, with an operation count derived from the call's loops
    and matrix products (a ``(a x b) @ (b x c)`` product counts ``2 a b c``).

    Parameters
    ----------
    name, value : str, object
        The argument that sets the cost, and its value (both named in the message).
    estimate_ops : float
        The caller's estimate of the floating-point operations of the call.
    limit_ops : float
        The documented limit.
    what : str
        Optional description of where the work goes (added to the message).

    Raises
    ------
    ValueError
        Naming the argument, its value, the estimate and the limit.
    """
    if estimate_ops > limit_ops:
        detail = f" ({what})" if what else ""
        raise ValueError(
            f"{name}={value!r} would need about {estimate_ops:.3g} floating-point "
            f"operations{detail}; the limit is {limit_ops:.3g} (about half an hour "
            f"of one CPU core): reduce {name}")


def check_finite_loss(loss: float, step: int, *, knob: str, hint: str = "") -> None:
    """Stop a training loop when the loss stops being finite.

    Parameters
    ----------
    loss : float
        Current loss value.
    step : int
        Current step (reported in the message).
    knob : str
        The argument the caller should change, e.g. ``"eta (learning rate) = 5.0"``.
    hint : str
        One sentence on why this happens, e.g. the stability limit of the step size.

    Raises
    ------
    DivergenceError
        If ``loss`` is NaN or infinite.
    """
    if not math.isfinite(float(loss)):
        msg = (f"loss became {float(loss)} at step {step}: the run diverged; "
               f"reduce {knob}.")
        if hint:
            msg += " " + hint
        raise DivergenceError(msg)
