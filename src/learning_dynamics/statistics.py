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

__all__ = ["ASSERT_Z", "MAX_TAIL_TRIALS", "Rate", "binomial_tail",
           "binomial_tail_limit", "interval_assert_failure", "quantile_interval",
           "rate", "rate_agrees", "wilson_interval"]

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

    Notes
    -----
    The level bounds the chance that an assert ``low > threshold`` *passes when the
    quantile is below the threshold*.  The chance that it *fails when the claim is
    true* is another number: the assert fails as soon as ``i + 1`` draws fall at or
    below the threshold (for ``n = 20``, ``q = 0.5``: two draws), which a heavy tail
    makes likely.  Size the threshold with :func:`interval_assert_failure` and the
    per-draw tail probability measured on a large sample.
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


def interval_assert_failure(n: int, q: float, p_beyond: float, *, side: str = "low",
                            z: float = ASSERT_Z) -> float:
    """Chance that an assert on :func:`quantile_interval` fails for a true claim.

    ``side="low"``: the assert ``quantile_interval(x, q)[0] > threshold`` over ``n``
    independent draws, each at or below the threshold with probability ``p_beyond``;
    it fails when at least ``i + 1`` draws do, ``i`` the index of the lower order
    statistic.  ``side="high"``: ``[1] < threshold``, failing when at least ``n - j``
    draws are at or above it.  Exact binomial tail.
    """
    n = check_int("n", n, minimum=2, maximum=MAX_TAIL_TRIALS)
    q = check_float("q", q, minimum=0.0, maximum=1.0, min_inclusive=False,
                    max_inclusive=False)
    p = check_float("p_beyond", p_beyond, minimum=0.0, maximum=1.0)
    if side not in ("low", "high"):
        raise ValueError(f"side must be 'low' or 'high'; got {side!r}")
    z = check_float("z", z, minimum=0.0, maximum=10.0)
    half = z * math.sqrt(n * q * (1 - q))
    i = max(int(math.floor(n * q - half)), 0)
    j = min(int(math.ceil(n * q + half)), n - 1)
    k = i + 1 if side == "low" else n - j
    return _binomial_tails(n, p)[k]


def binomial_tail(n: int, p: float, k: int) -> float:
    """``P(Binomial(n, p) >= k)``, exact (a sum in log space).

    The chance that at least ``k`` of ``n`` independent draws land on the wrong side of
    a threshold, each with probability ``p``: the false-fail chance of an assert on an
    order statistic (see :func:`interval_assert_failure`).
    """
    n = check_int("n", n, minimum=0, maximum=MAX_TAIL_TRIALS)
    p = check_float("p", p, minimum=0.0, maximum=1.0)
    k = check_int("k", k, minimum=0)
    return 0.0 if k > n else _binomial_tails(n, p)[k]


def _binomial_tails(n: int, p: float) -> list[float]:
    """``P(Binomial(n, p) >= k)`` for ``k = 0 .. n + 1`` (exact sum in log space)."""
    if p in (0.0, 1.0):
        return [1.0] + ([0.0] * n if p == 0.0 else [1.0] * n) + [0.0]
    log_pmf = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
               + k * math.log(p) + (n - k) * math.log1p(-p) for k in range(n + 1)]
    tails = [0.0] * (n + 2)
    for k in range(n, -1, -1):
        tails[k] = tails[k + 1] + math.exp(log_pmf[k])
    return tails


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
    tails = _binomial_tails(n, p)
    for k in range(n, -1, -1):  # the first k, from the top, whose tail exceeds alpha
        if tails[k] > alpha:
            return k + 1
    return 1  # not reached: the full sum is 1 > alpha
