"""The "What we verified" table that closes every chapter.

A chapter lists its quantitative claims as :class:`Claim` rows (claim, measured
value, tolerance, pass/fail) and shows them with :func:`verification_table`; the
``assert`` statements that follow in the notebook are what nbval runs.  The
table's plain-text form is stable (fixed significant digits), so the determinism
test can compare two fresh runs of a chapter line by line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Iterable

__all__ = ["Claim", "verification_table"]


@dataclass(frozen=True)
class Claim:
    """One verified claim.

    Attributes
    ----------
    claim : str
        The claim in words, e.g. ``"mode half-times match eq. (dl-half-time)"``.
    measured : float
        The measured number (error, ratio, accuracy...).
    tolerance : str
        The acceptance criterion in words, e.g. ``"< 1%"``.
    passed : bool
        Whether ``measured`` meets ``tolerance``.
    """

    claim: str
    measured: float
    tolerance: str
    passed: bool


def _fmt(x: float) -> str:
    try:
        return f"{float(x):.6g}"
    except (TypeError, ValueError):
        return str(x)


class _Table:
    def __init__(self, claims: list[Claim]):
        self.claims = claims

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(c.claim)}</td><td>{_fmt(c.measured)}</td>"
            f"<td>{html.escape(c.tolerance)}</td>"
            f"<td>{'✓' if c.passed else '✗ FAILED'}</td></tr>"
            for c in self.claims
        )
        return (
            "<table><thead><tr><th>claim</th><th>measured</th><th>tolerance</th><th>holds</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )

    def __repr__(self) -> str:
        return "\n".join(
            f"{c.claim} | {_fmt(c.measured)} | {c.tolerance} | "
            f"{'ok' if c.passed else 'FAILED'}"
            for c in self.claims
        )


def verification_table(claims: Iterable[Claim]):
    """A displayable table of claims (HTML in the book, stable text otherwise)."""
    claims = list(claims)
    if not claims:
        raise ValueError("claims must hold at least one Claim; got none")
    for c in claims:
        if not isinstance(c, Claim):
            raise TypeError(f"claims must hold Claim objects; got {type(c).__name__}")
    return _Table(claims)
