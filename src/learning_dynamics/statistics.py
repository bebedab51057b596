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

__all__ = ["ASSERT_Z", "MAX_TAIL_TRIALS", "Rate", "binomial_tail_limit",
           "quantile_interval", "rate", "rate_agrees", "wilson_interval"]

#: Two-sided normal quantile for a failure chance of 1e-4: an assert placed at this
#: many standard errors fails at a random seed offset with probability <= 1e-4 when
#: the science is right (the chapter checklist's rule).
ASSERT_Z = 3.890591886413094


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

    def interval(self, z: float = ASSERT_Z) -> tuple[float, float]:
        """The Wilson interval at normal quantile ``z`` (default: the assert level)."""
        return wilson_interval(self.successes, self.trials, z=z)


def rate(outcomes) -> Rate:
    """The rate of ``True`` among boolean ``outcomes``, with its Wilson interval."""
    arr = check_array("outcomes", outcomes, ndim=1)
    k = int(np.count_nonzero(arr))
    low, high = wilson_interval(k, arr.size)
    return Rate(k, int(arr.size), k / arr.size, low, high)


def rate_agrees(measured: Rate, predicted: float, *, z: float = ASSERT_Z) -> bool:
    """Whether a predicted probability lies in the measured rate's Wilson interval.

    At the default ``z`` (:data:`ASSERT_Z`) a correct prediction is rejected with
    probability about 1e-4, so the assert can stand at any seed offset.  The check
    can fail: a prediction off by more than about ``z * sqrt(p(1-p)/n)`` is refused.
    """
    if not isinstance(measured, Rate):
        raise TypeError(f"measured must be a Rate; got {type(measured).__name__}")
    predicted = check_float("predicted", predicted, minimum=0.0, maximum=1.0)
    low, high = measured.interval(z)
    return low <= predicted <= high


def quantile_interval(samples, q: float, *, z: float = ASSERT_Z
                      ) -> tuple[float, float]:
    """Distribution-free confidence interval for the ``q``-quantile of ``samples``.

    The order statistics ``X_(i) <= X_(j)`` with ``i, j = nq -/+ z sqrt(nq(1-q))``
    (normal approximation of the binomial count below the true quantile) bracket the
    true quantile with probability about ``1 - 2 Phi(-z)``: 1 - 1e-4 at the default.

    Parameters
    ----------
    samples : array_like
        One-dimensional, finite, at least 2 values.
    q : float
        Quantile level in ``(0, 1)``; 0.5 for the median.
    z : float
        Normal quantile of the interval.

    Returns
    -------
    (low, high) : tuple of float
        Order statistics; the sample minimum or maximum where the count runs out.
    """
    x = np.sort(check_array("samples", samples, ndim=1))
    if x.size < 2:
        raise ValueError(f"samples must hold at least 2 values; got {x.size}")
    q = check_float("q", q, minimum=0.0, maximum=1.0, min_inclusive=False,
                    max_inclusive=False)
    z = check_float("z", z, minimum=0.0, maximum=10.0)
    n = x.size
    half = z * math.sqrt(n * q * (1 - q))
    i = max(int(math.floor(n * q - half)), 0)
    j = min(int(math.ceil(n * q + half)), n - 1)
    return float(x[i]), float(x[j])


#: Largest number of trials :func:`binomial_tail_limit` sums over (exact sum in floats).
MAX_TAIL_TRIALS = 100_000


def binomial_tail_limit(trials: int, p_upper: float, *, alpha: float = 1e-4) -> int:
    """Smallest count ``k`` with ``P(Binomial(trials, p_upper) >= k) <= alpha``.

    A count of rare events (failing seeds) at or above this limit is improbable when
    the event rate is at most ``p_upper``: an assert ``count < limit`` fails with
    probability at most ``alpha`` whenever the true rate is ``<= p_upper`` (the tail
    grows with the rate).  Used where a rate sits near 0 or 1, where the Wilson
    interval of a few dozen trials cannot hold the predicted rate after a single
    event (see :func:`rate_agrees`).

    Parameters
    ----------
    trials : int
        Number of trials, ``1 <= trials <= MAX_TAIL_TRIALS``.
    p_upper : float
        Upper bound on the event probability, in ``[0, 1]``.
    alpha : float
        Tail probability allowed, in ``(0, 1)``; the default is the book's assert
        level.

    Returns
    -------
    int
        The limit, in ``[1, trials + 1]``; ``trials + 1`` means no count is
        improbable enough.
    """
    n = check_int("trials", trials, minimum=1, maximum=MAX_TAIL_TRIALS)
    p = check_float("p_upper", p_upper, minimum=0.0, maximum=1.0)
    alpha = check_float("alpha", alpha, minimum=0.0, maximum=1.0,
                        min_inclusive=False, max_inclusive=False)
    if p == 0.0:
        return 1
    if p == 1.0:
        return n + 1
    log_pmf = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
               + k * math.log(p) + (n - k) * math.log1p(-p) for k in range(n + 1)]
    tail = 0.0
    for k in range(n, -1, -1):  # tail = P(K >= k), summed from the top
        tail += math.exp(log_pmf[k])
        if tail > alpha:
            return k + 1
    return 1  # not reached: the full sum is 1 > alpha
