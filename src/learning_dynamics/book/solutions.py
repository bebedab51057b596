"""Find solution text in a chapter, take it out, and look for it elsewhere.

A chapter holds solutions in three forms:

* ``{solution}`` directives in Markdown (written answers);
* "gated" solutions: everything between ``{solution-start}`` and
  ``{solution-end}``, which may span cells (a coding exercise's reference code
  cell, tagged ``solution``, sits inside such a gate);
* the bodies of code cells tagged ``solution``.

``strip_markdown`` removes the first two from a Markdown cell, keeping the
exercise statements; ``prose_fragments`` and ``code_fragments`` turn what was
removed into short plain-text runs (prose between maths and markup, and lines of
code) that ``find_leaks`` then searches for in any file: HTML (tags stripped),
notebooks (sources and outputs) or plain text.
"""

from __future__ import annotations

import ast
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .myst_markdown import _FENCE, MystToMarkdown, _split_directive

__all__ = [
    "Stripped",
    "strip_markdown",
    "code_body",
    "prose_fragments",
    "code_fragments",
    "plain_text",
    "find_leaks",
]

SOLUTION_TAG = "solution"
GATE_NOTE = "*Write your answer in the code cell below; the cell after it checks it.*"
_BREAKS = re.compile(
    r"\$\$.*?\$\$|\$[^$]*\$|\{[\w:.+-]+\}`[^`]*`|`[^`]*`|--|\.\.\."
    r"|[*_\[\]()\"'{}<>|\\#=^~]",
    flags=re.S,
)
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", flags=re.S | re.I)
TEXT_SUFFIXES = {
    ".html",
    ".htm",
    ".txt",
    ".md",
    ".ipynb",
    ".json",
    ".js",
    ".py",
    ".yml",
    ".yaml",
    ".bib",
    ".css",
    ".xml",
    ".tex",
}


@dataclass(frozen=True)
class Stripped:
    """A Markdown cell without its solutions.

    Attributes
    ----------
    kept : str
        What a student may see (exercise statements, the rest of the cell).
    removed : str
        The solution text that was taken out.
    gated : bool
        Whether the cell ends inside a ``solution-start`` ... ``solution-end`` gate.
    after_solution : bool
        Whether the cell ends with a solution (``{solution}`` or ``{solution-end}``),
        so that the code cells after it check that solution's claim.
    """

    kept: str
    removed: str
    gated: bool
    after_solution: bool = False


def strip_markdown(text: str, *, gated: bool = False) -> Stripped:
    """Remove ``{solution}`` blocks and gated solution text from one Markdown cell.

    ``gated`` says whether the cell starts inside a gate (opened by an earlier
    cell). A ``solution-start`` is replaced by a note telling the student where
    to write the answer.
    """
    kept: list[str] = []
    removed: list[str] = []
    lines = text.splitlines()
    i, last = 0, None
    while i < len(lines):
        match = _FENCE.match(lines[i])
        name = match["name"] if match else None
        end = MystToMarkdown._closing(lines, i, match["fence"]) if match else i
        if name or lines[i].strip():
            last = name or "text"
        if name == "solution-end":
            gated = False
        elif name in ("solution", "solution-start"):
            removed.append(_split_directive(lines[i + 1 : end])[1])
            if name == "solution-start":
                kept.append(GATE_NOTE)
                gated = True
        elif gated:
            removed.extend(lines[i : end + 1])
        else:
            kept.extend(lines[i : end + 1])
        i = end + 1
    kept_text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    after = last in ("solution", "solution-end")
    return Stripped(kept_text, "\n".join(removed), gated, after)


def code_body(source: str) -> str:
    """Body of a solution's function, without signature, docstring and hint."""
    tree = ast.parse(source)
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    body = func.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    ):
        body = body[1:]
    lines = source.splitlines()[body[0].lineno - 1 : func.end_lineno] if body else []
    return "\n".join(line for line in lines if "# hint:" not in line)


def prose_fragments(text: str, *, min_words: int = 6) -> list[str]:
    """Runs of at least ``min_words`` words between maths, roles and markup."""
    runs = (" ".join(run.split()) for run in _BREAKS.split(text))
    return sorted({run for run in runs if len(run.split()) >= min_words})


def code_fragments(source: str, *, min_chars: int = 24) -> list[str]:
    """Lines of code long enough to be specific to a solution."""
    lines = (" ".join(line.split()) for line in source.splitlines())
    return sorted(
        {line for line in lines if len(line) >= min_chars and not line.startswith("#")}
    )


def plain_text(path: Path) -> str:
    """A file's text as a reader would see it: tags stripped, entities decoded."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(text)
        except json.JSONDecodeError:
            return " ".join(text.split())
        parts = []
        for cell in nb.get("cells", []):
            parts.append("".join(cell.get("source", "")))
            for out in cell.get("outputs", []):
                parts.append("".join(out.get("text", "")))
                parts.extend(
                    "".join(v) if isinstance(v, list) else str(v)
                    for v in out.get("data", {}).values()
                )
        text = "\n".join(parts)
    if path.suffix in (".html", ".htm", ".ipynb", ".xml"):
        text = html.unescape(_TAGS.sub(" ", text))
    return " ".join(text.split())


def find_leaks(folder: Path, fragments: list[str]) -> dict[str, list[str]]:
    """Files under ``folder`` holding any fragment: ``{relative path: fragments}``."""
    folder = Path(folder)
    leaks: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        text = plain_text(path)
        raw = " ".join(path.read_text(encoding="utf-8", errors="replace").split())
        hits = [f for f in fragments if f in text or f in raw]
        if hits:
            leaks[str(path.relative_to(folder))] = hits
    return leaks
