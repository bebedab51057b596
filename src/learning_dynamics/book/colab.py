"""Colab copies of the chapters: ``colab/*.ipynb``, plain Markdown, no MyST.

Colab renders neither MyST directives nor JupyterLab extensions, so each chapter
gets a generated copy in ``colab/`` (where the book's Colab launch button points):
the same code cells, Markdown converted by
``learning_dynamics.book.myst_markdown.MystToMarkdown``, a caption under each
figure cell, and the reference solutions' code collapsed (Colab's ``#@title`` form
view). The copies are regenerated, never edited; ``tests/test_colab.py`` fails when
one is stale. Regenerate them all from the repository root with::

    python -m learning_dynamics.book.colab

(``--check`` only reports stale copies and exits 1 if there are any).

The same command writes the student edition's Colab copies to ``colab/student/``
(stubs instead of coding solutions, no written solutions; links point at the
online student edition, ``<html.baseurl>student/``), so an instructor can hand out
"Open in Colab" links to notebooks without solutions.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
from pathlib import Path

from .bibtex import read_bibliography
from .myst_markdown import BookIndex, MystToMarkdown

__all__ = ["book_index", "colab_notebook", "write_colab_copies", "stale_copies",
           "online_book_url", "main"]

COLAB_DIR = "colab"
STUDENT_DIR = "student"  # colab/student/ and <online book>/student/
SOLUTION_TITLE = "#@title Reference solution (double-click this cell to show its code)"


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _read_config(root: Path) -> dict:
    import yaml

    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def online_book_url(root: Path) -> str:
    """The online book's URL, set once in ``_config.yml`` (``html.baseurl``)."""
    url = (_read_config(root).get("html") or {}).get("baseurl", "")
    if not url.startswith("https://"):
        raise ValueError("_config.yml must set html.baseurl to the online book's URL; "
                         f"got {url!r}")
    return url.rstrip("/") + "/"


def _toc_documents(root: Path) -> tuple[list[str], dict[str, int]]:
    """Docnames in table-of-contents order and chapter numbers of numbered parts.

    Both ``jb-book`` forms are read: ``parts`` of ``chapters``, or ``chapters`` at the
    top level (a book without parts, as the student-edition test's control build).
    """
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    docs, numbers = [toc["root"]], {}
    parts = toc.get("parts") or [{"chapters": toc.get("chapters", [])}]
    for part in parts:
        for entry in part.get("chapters", []):
            docs.append(entry["file"])
            if part.get("numbered"):
                numbers[entry["file"]] = len(numbers) + 1
    return docs, numbers


def _read_notebook(root: Path, docname: str, student: bool) -> dict:
    nb = json.loads((root / f"{docname}.ipynb").read_text(encoding="utf-8"))
    if student:
        from .student_edition import student_notebook

        nb = student_notebook(nb)
    return nb


def _document_cells(root: Path, docname: str, student: bool = False) -> list[dict]:
    ipynb, md = root / f"{docname}.ipynb", root / f"{docname}.md"
    if ipynb.exists():
        return _read_notebook(root, docname, student)["cells"]
    text = md.read_text(encoding="utf-8")
    return [{"cell_type": "markdown", "metadata": {}, "source": text}]


def _title(cells: list[dict], docname: str) -> str:
    for cell in cells:
        if cell["cell_type"] == "markdown":
            match = re.search(r"^# (.+)$", _source(cell), flags=re.M)
            if match:
                return match.group(1).strip()
    return docname


def _figure_caption(cell: dict) -> tuple[str | None, str] | None:
    figure = cell.get("metadata", {}).get("mystnb", {}).get("figure")
    if cell["cell_type"] != "code" or not figure:
        return None
    return figure.get("name"), figure.get("caption", "")


HIDE_INPUT_TAGS = ("hide-input", "remove-input")


def _walk(converter: MystToMarkdown, cells: list[dict], *,
          keep_outputs: bool = False) -> list[dict]:
    """Convert every cell in order; returns the cells of the plain-Markdown copy.

    With ``keep_outputs`` (the book's download button) the executed outputs stay,
    except those of ``remove-output`` cells (a widget needs a live kernel) and of
    ``remove-cell`` cells; cells the book hides are ``source_hidden`` in Jupyter.
    """
    out = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            text = converter.convert(_source(cell))
            if text.strip():
                out.append({"cell_type": "markdown", "metadata": {}, "source": text})
            continue
        new = copy.deepcopy(cell)
        new["metadata"] = {k: v for k, v in cell.get("metadata", {}).items()
                           if k not in ("mystnb", "myst")}
        tags = new["metadata"].get("tags", [])
        if not keep_outputs or {"remove-output", "remove-cell"} & set(tags):
            new["outputs"], new["execution_count"] = [], None
        if keep_outputs and set(HIDE_INPUT_TAGS) & set(tags):
            new["metadata"].setdefault("jupyter", {})["source_hidden"] = True
        new["source"] = _source(cell)
        if "solution" in new["metadata"].get("tags", []):
            new["source"] = f"{SOLUTION_TITLE}\n{_source(cell)}"
            new["metadata"]["cellView"] = "form"
        out.append(new)
        caption = _figure_caption(cell)
        if caption is not None:
            number = converter.number("figure", caption[0])
            text = f"**Figure {number}.** {converter.convert(caption[1])}".strip()
            out.append({"cell_type": "markdown", "metadata": {}, "source": text})
    return out


def book_index(root: Path, *, student: bool = False) -> BookIndex:
    """Labels, numbers, titles and citations of the whole book (the first pass).

    ``student``: of the student edition (solutions removed; its own online URL).
    """
    root = Path(root)
    docs, numbers = _toc_documents(root)
    cells = {doc: _document_cells(root, doc, student) for doc in docs}
    base = online_book_url(root) + (f"{STUDENT_DIR}/" if student else "")
    index = BookIndex(base, numbers,
                      {doc: _title(c, doc) for doc, c in cells.items()},
                      read_bibliography(root / "references.bib"))
    for doc in docs:
        _walk(MystToMarkdown(index, doc, collect=True), cells[doc])
    return index


def _header(index: BookIndex, docname: str, student: bool = False) -> dict:
    number = index.chapter_numbers.get(docname)
    name = f"Chapter {number}" if number else "This page"
    if student:
        name += " of the student edition (exercise stubs, no solutions)"
    text = (f"*{name} of the online book [Learning Dynamics of Neural Networks]"
            f"({index.base_url}), as a plain notebook for Colab. The book "
            f"[renders it with numbered figures and collapsible solutions]"
            f"({index.url(docname)}). This copy is generated from `{docname}.ipynb`; "
            "edit that, not this.*")
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def colab_notebook(root: Path, docname: str, index: BookIndex | None = None, *,
                   executed: dict | None = None, student: bool = False) -> dict:
    """The Colab copy of one chapter as a notebook dict.

    ``executed``: the chapter as the build executed it; its outputs are kept (the
    book's download button serves this copy). ``student``: the student edition's
    copy (pass the index made with ``book_index(root, student=True)``).
    """
    root = Path(root)
    index = index or book_index(root, student=student)
    nb = executed or _read_notebook(root, docname, student)
    cells = _walk(MystToMarkdown(index, docname), nb["cells"],
                  keep_outputs=executed is not None)
    for cell in cells:
        cell["source"] = cell["source"].splitlines(keepends=True)
    metadata = {**nb.get("metadata", {}),
                "colab": {"name": Path(docname).name + ".ipynb", "provenance": []}}
    return {"cells": [_header(index, docname, student)] + cells, "metadata": metadata,
            "nbformat": nb.get("nbformat", 4),
            "nbformat_minor": nb.get("nbformat_minor", 5)}


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _expected(root: Path) -> dict[Path, str]:
    root = Path(root)
    chapters = sorted((root / "chapters").glob("*.ipynb"))
    expected = {}
    for student, folder in ((False, root / COLAB_DIR),
                            (True, root / COLAB_DIR / STUDENT_DIR)):
        index = book_index(root, student=student)
        for p in chapters:
            nb = colab_notebook(root, f"chapters/{p.stem}", index, student=student)
            expected[folder / p.name] = _dump(nb)
    return expected


def _folders(root: Path) -> list[Path]:
    return [Path(root) / COLAB_DIR, Path(root) / COLAB_DIR / STUDENT_DIR]


def write_colab_copies(root: Path) -> list[Path]:
    """(Re)write ``colab/`` and ``colab/student/`` for every chapter; drop extras."""
    expected = _expected(root)
    for folder in _folders(root):
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.ipynb"):
            if old not in expected:
                old.unlink()
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
    return sorted(expected)


def stale_copies(root: Path) -> list[str]:
    """Names of Colab copies that are missing, out of date or left over."""
    expected, root = _expected(root), Path(root)
    stale = [p.relative_to(root / COLAB_DIR).as_posix() for p, text in expected.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    stale += [p.relative_to(root / COLAB_DIR).as_posix()
              for folder in _folders(root) for p in folder.glob("*.ipynb")
              if p not in expected]
    return sorted(stale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--check", action="store_true",
                        help="only report stale copies; exit 1 if any")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    if args.check:
        stale = stale_copies(root)
        print("stale Colab copies: " + (", ".join(stale) if stale else "none"))
        return 1 if stale else 0
    for path in write_colab_copies(root):
        print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
