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

__all__ = ["KINDS", "Claim", "verification_table"]

#: Key of the output metadata that carries the table's rows as data.
METADATA_KEY = "learning_dynamics_claims"
#: The kinds of verified claim (the "kind" column of the table).
KINDS = ("derivation", "engine", "prediction", "rate", "mechanism")


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
    kind : str, optional
        What kind of check the row is, one of :data:`KINDS`: ``"derivation"`` (a
        closed form against an independent computation), ``"engine"`` (a fast
        engine against a naive one), ``"prediction"`` (a formula against
        simulation), ``"rate"`` (a rate or quantile over seeds, with its interval),
        ``"mechanism"`` (an ablation or decomposition that measures a cause's share).
    source : str, optional
        Where the tolerance comes from: a confidence bound, a Monte-Carlo error, a
        step-size order, or a seed spread measured over >= 200 seeds in a test.
    """

    claim: str
    measured: float
    tolerance: str
    passed: bool
    kind: str | None = None
    source: str = ""

    def __post_init__(self):
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} or None; got {self.kind!r}")
        if not isinstance(self.source, str):
            raise TypeError(f"source must be a str; got {type(self.source).__name__}")


def _fmt(x: float, digits: int = 6) -> str:
    try:
        return f"{float(x):.{digits}g}"
    except (TypeError, ValueError):
        return str(x)


#: Significant digits of the measured value in the table a reader sees (the plain
#: text keeps 6, for the determinism test's line-by-line comparison).
SHOWN_DIGITS = 3


class _Table:
    def __init__(self, claims: list[Claim]):
        self.claims = claims

    def _columns(self, digits: int = 6):
        kinds = any(c.kind for c in self.claims)
        sources = any(c.source for c in self.claims)
        head = ["claim", *(["kind"] if kinds else []), "measured", "tolerance",
                *(["where the tolerance comes from"] if sources else []), "holds"]
        rows = [[c.claim, *([c.kind or ""] if kinds else []), _fmt(c.measured, digits),
                 c.tolerance, *([c.source] if sources else []),
                 None if c.passed else False] for c in self.claims]
        return head, rows

    def _repr_html_(self) -> tuple[str, dict]:
        head, rows = self._columns(SHOWN_DIGITS)

        def td(cell):
            text = "✓" if cell is None else "✗ FAILED" if cell is False else cell
            return f"<td>{html.escape(text)}</td>"

        body = "".join("<tr>" + "".join(map(td, row)) + "</tr>" for row in rows)
        cols = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        table = f"<table><thead><tr>{cols}</tr></thead><tbody>{body}</tbody></table>"
        # The rows travel in the output's metadata (invisible to readers), so the
        # seed-offset report (learning_dynamics.book.offsets) reads them as data.
        return table, {METADATA_KEY: [self._record(c) for c in self.claims]}

    @staticmethod
    def _record(c: Claim) -> dict:
        try:
            measured = float(c.measured)
        except (TypeError, ValueError):
            measured = str(c.measured)
        return {"claim": c.claim, "kind": c.kind, "measured": measured,
                "tolerance": c.tolerance, "source": c.source,
                "passed": bool(c.passed)}

    def __repr__(self) -> str:
        _, rows = self._columns()
        return "\n".join(
            " | ".join("ok" if cell is None else "FAILED" if cell is False else cell
                       for cell in row)
            for row in rows)


def verification_table(claims: Iterable[Claim]):
    """A displayable table of claims (HTML in the book, stable text otherwise)."""
    claims = list(claims)
    if not claims:
        raise ValueError("claims must hold at least one Claim; got none")
    for c in claims:
        if not isinstance(c, Claim):
            raise TypeError(f"claims must hold Claim objects; got {type(c).__name__}")
    return _Table(claims)
