"""Rates over seeds with honest intervals.

A claim about "most runs" is a rate over many seeds, reported with a Wilson score
interval and asserted on the interval's bound (never on the extreme of a few
seeds).  See the chapter checklist in the contributor notes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .validation import check_array, check_float, check_int

__all__ = ["Rate", "wilson_interval", "rate"]


def wilson_interval(successes: int, trials: int, *, z: float = 1.959963984540054
                    ) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes : int
        Number of successes, ``0 <= successes <= trials``.
    trials : int
        Number of trials, at least 1.
    z : float
        Normal quantile; the default gives a 95 % interval.

    Returns
    -------
    (low, high) : tuple of float
        The interval, inside ``[0, 1]``.
    """
    n = check_int("trials", trials, minimum=1)
    k = check_int("successes", successes, minimum=0, maximum=n)
    z = check_float("z", z, minimum=0.0, maximum=10.0)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Rate:
    """A rate over trials with its 95 % Wilson interval.

    Attributes
    ----------
    successes, trials : int
        Counts.
    value : float
        ``successes / trials``.
    low, high : float
        The Wilson 95 % interval.
    """

    successes: int
    trials: int
    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return (f"{self.successes}/{self.trials} = {self.value:.2f} "
                f"(95 % CI {self.low:.2f}–{self.high:.2f})")


def rate(outcomes) -> Rate:
    """The rate of ``True`` among boolean ``outcomes``, with its Wilson interval."""
    arr = check_array("outcomes", outcomes, ndim=1)
    k = int(np.count_nonzero(arr))
    low, high = wilson_interval(k, arr.size)
    return Rate(k, int(arr.size), k / arr.size, low, high)
