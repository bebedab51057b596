"""A small BibTeX reader for the plain-Markdown copies of the chapters.

It reads the book's ``references.bib`` well enough to write author-year
citations ("Saxe et al. (2014)") and a reference list, as sphinxcontrib-bibtex's
``author_year`` style does in the HTML book. It is not a general BibTeX parser:
entries are ``@type{key, field = {value}, ...}`` with braced or quoted values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Reference", "read_bibliography", "cite_text", "reference_line"]

_ENTRY = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,")
_LATEX_ACCENTS = {"\\'e": "é", "\\'E": "É", '\\"i': "ï", '\\"o': "ö", '\\"u': "ü",
                  '\\"a': "ä", "\\`e": "è", "\\'a": "á", "\\'o": "ó", "\\~n": "ñ",
                  "\\c{c}": "ç", "\\'i": "í", "\\'u": "ú"}


@dataclass(frozen=True)
class Reference:
    """One bibliography entry, as text.

    Attributes
    ----------
    key : str
        The citation key.
    authors : tuple of str
        Authors as "Last, First" strings.
    year : str
        Year of publication.
    title : str
        Title, with BibTeX braces removed.
    venue : str
        Journal, book title or publisher ("" when none).
    link : str
        ``https://doi.org/...`` or a URL ("" when none).
    """

    key: str
    authors: tuple[str, ...]
    year: str
    title: str
    venue: str
    link: str


def _plain(value: str) -> str:
    for latex, char in _LATEX_ACCENTS.items():
        value = value.replace("{" + latex + "}", char).replace(latex, char)
    value = re.sub(r"\\[a-zA-Z]+\s*", "", value).replace("--", "–")
    return re.sub(r"\s+", " ", value.replace("{", "").replace("}", "")).strip()


def _fields(body: str) -> dict[str, str]:
    """Parse ``name = {value}`` / ``name = "value"`` / ``name = 123`` pairs."""
    fields, pos = {}, 0
    pattern = re.compile(r"\s*,?\s*(\w+)\s*=\s*")
    while True:
        match = pattern.match(body, pos)
        if not match:
            return fields
        pos, opener = match.end(), body[match.end():match.end() + 1]
        if opener == "{":
            depth, end = 0, pos
            for end in range(pos, len(body)):
                depth += {"{": 1, "}": -1}.get(body[end], 0)
                if depth == 0:
                    break
            value, pos = body[pos + 1:end], end + 1
        elif opener == '"':
            end = body.index('"', pos + 1)
            value, pos = body[pos + 1:end], end + 1
        else:
            end = re.match(r"[^,}\s]*", body[pos:]).end() + pos
            value, pos = body[pos:end], end
        fields[match.group(1).lower()] = value


def read_bibliography(path: Path) -> dict[str, Reference]:
    """All entries of a ``.bib`` file, by key."""
    text = Path(path).read_text(encoding="utf-8")
    starts = list(_ENTRY.finditer(text))
    refs = {}
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        fields = _fields(text[match.end():end].rstrip().rstrip("}"))
        authors = tuple(_plain(a) for a in fields.get("author", "").split(" and ") if a)
        venue = (fields.get("journal") or fields.get("booktitle")
                 or fields.get("publisher", ""))
        doi, url = fields.get("doi", ""), fields.get("url", "")
        link = f"https://doi.org/{doi}" if doi else url
        title = _plain(fields.get("title", ""))
        key, year = match.group(2), fields.get("year", "")
        refs[key] = Reference(key, authors, year, title, _plain(venue), link)
    return refs


def _last_name(author: str) -> str:
    return author.split(",")[0].strip() if "," in author else author.split()[-1]


def _names(ref: Reference) -> str:
    last = [_last_name(a) for a in ref.authors] or ["Anonymous"]
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


def cite_text(refs: dict[str, Reference], keys: list[str], *, textual: bool) -> str:
    """Author-year citation text: ``Saxe et al. (2014)`` or ``(Saxe et al., 2014)``."""
    missing = [k for k in keys if k not in refs]
    if missing:
        raise KeyError(f"citation keys not in references.bib: {missing}")
    if textual:
        return "; ".join(f"{_names(refs[k])} ({refs[k].year})" for k in keys)
    return "(" + "; ".join(f"{_names(refs[k])}, {refs[k].year}" for k in keys) + ")"


def reference_line(ref: Reference) -> str:
    """One Markdown list item for the reference list at the end of a chapter."""
    authors = ", ".join(ref.authors)
    venue = f" *{ref.venue}*." if ref.venue else ""
    link = f" <{ref.link}>" if ref.link else ""
    return f"- {authors} ({ref.year}). {ref.title}.{venue}{link}"
