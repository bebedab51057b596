"""One reading-time rule for every chapter (the time each chapter's opening box states).

The rule, the same for the whole book::

    minutes = words / 150 + displayed equations * 1 + visible code lines * 5 s

* **words**: whitespace-separated tokens with a letter or digit in the Markdown cells,
  outside display equations (``$$ ... $$`` blocks and ``{math}`` directives); inline
  maths and directive arguments count as words.  150 words a minute is a careful
  reading of technical prose, slower than the 200-250 of ordinary text.
* **displayed equations**: ``$$ ... $$`` blocks and ``{math}`` directives, one minute
  each (reading it and checking it against the line before).
* **visible code lines**: non-blank lines of code cells a reader sees unfolded (not
  tagged ``hide-input``, ``remove-input``, ``remove-cell`` or ``solution``: the
  verification code and the reference solutions are collapsed), five seconds each.

Exercises, and the solutions a student opens after trying them, take longer than
the reading time; chapters say so.
``python -m learning_dynamics.book.reading_time`` prints the table;
``tests/test_book_layout.py`` checks every chapter's stated time against it.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

#: Words a minute of technical prose.
WORDS_PER_MINUTE = 150
#: Minutes per displayed equation.
MINUTES_PER_EQUATION = 1.0
#: Seconds per visible, non-blank line of code.
SECONDS_PER_CODE_LINE = 5.0
#: A stated time agrees with the rule when within this fraction of it (rounding a
#: stated time to 5 minutes moves it at most 2.5 minutes; the rest is the freedom of
#: rounding a 47-minute chapter to "about 45").
TOLERANCE = 0.1
_HIDDEN = {"hide-input", "remove-input", "remove-cell", "solution"}
_DISPLAY = re.compile(r"\$\$.*?\$\$|```\{math\}.*?```", flags=re.S)


@dataclass(frozen=True)
class Reading:
    """What a chapter asks of its reader, and the minutes the rule gives."""

    words: int
    equations: int
    code_lines: int

    @property
    def minutes(self) -> float:
        return (self.words / WORDS_PER_MINUTE + self.equations * MINUTES_PER_EQUATION
                + self.code_lines * SECONDS_PER_CODE_LINE / 60.0)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def measure(notebook: dict) -> Reading:
    """Count words, displayed equations and visible code lines of a notebook (dict)."""
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise TypeError("notebook must be a notebook dict with a 'cells' list")
    words = equations = code = 0
    for cell in notebook["cells"]:
        text = _source(cell)
        if cell.get("cell_type") == "markdown":
            equations += len(_DISPLAY.findall(text))
            prose = _DISPLAY.sub(" ", text)
            words += sum(1 for token in prose.split() if re.search(r"[^\W_]", token))
        elif cell.get("cell_type") == "code":
            if _HIDDEN & set(cell.get("metadata", {}).get("tags", [])):
                continue
            code += sum(1 for line in text.splitlines() if line.strip())
    return Reading(words, equations, code)


def measure_file(path: Path | str) -> Reading:
    """:func:`measure` of the notebook at ``path``."""
    path = Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise ValueError(f"path must be an existing .ipynb file; got {str(path)!r}")
    return measure(json.loads(path.read_text(encoding="utf-8")))


def stated_minutes(notebook: dict) -> int | None:
    """The minutes in the chapter's ``**Reading time** about N minutes``, if any."""
    for cell in notebook.get("cells", []):
        found = re.search(r"\*\*Reading time\*\*\s+about\s+(\d+)\s+minutes",
                          _source(cell))
        if found:
            return int(found.group(1))
    return None


def agrees(stated: float, measured: float) -> bool:
    """Whether a stated time is within ``TOLERANCE`` of the rule's (or 3 minutes)."""
    return abs(stated - measured) <= max(TOLERANCE * measured, 3.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    args = parser.parse_args(argv)
    status = 0
    print(f"{'chapter':34} {'words':>6} {'eqs':>4} {'code':>5} {'rule':>5} stated")
    for path in sorted((Path(args.root) / "chapters").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        r, stated = measure(nb), stated_minutes(nb)
        ok = stated is not None and agrees(stated, r.minutes)
        status |= not ok
        print(f"{path.stem:34} {r.words:6d} {r.equations:4d} {r.code_lines:5d} "
              f"{r.minutes:5.0f} {stated}{'' if ok else '  <- disagrees'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
