"""The student edition: notebooks with exercise stubs and no solutions, and their HTML.

The source notebooks in ``chapters/`` stay the single source of truth. In the
student copy

* a coding exercise's solution (a code cell tagged ``solution`` holding one
  function with a docstring and a ``# hint: ...`` line) becomes a stub whose body
  is ``raise NotImplementedError(hint)``, so the self-check in the next cell
  prints "not implemented yet — <hint>" until the student writes the function;
* written solutions (``{solution}`` blocks) are removed, and so is everything
  between ``{solution-start}`` and ``{solution-end}`` except the stub and its
  self-check, and every code cell that follows a solution up to the next
  Markdown cell (those cells check the solution's claim and print its numbers);
* the HTML is built with ``hide_solutions``, without launch buttons (they would
  open the full notebooks of the repository) and without repository buttons.

``solution_fragments`` lists the removed text, and ``tests/test_student_edition.py``
scans every file the edition produces for it. The package's reference answers
(``learning_dynamics/exercises/_answers/``) are never documented or copied into
the edition; they are installed with the package (instructor's guide, "What
students can read").

Run from the repository root::

    .venv/bin/python -m learning_dynamics.book.student_edition

which writes ``student/chapters/*.ipynb`` and builds ``student/_build/html``
(``--no-html`` skips the build).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .solutions import (
    code_body,
    code_fragments,
    prose_fragments,
    strip_markdown,
)

__all__ = [
    "Exercise",
    "make_stub",
    "find_exercises",
    "student_notebook",
    "solution_fragments",
    "answer_fragments",
    "write_student_edition",
    "main",
]

SOLUTION_TAG = "solution"
STUB_TAG = "exercise-stub"


@dataclass(frozen=True)
class Exercise:
    """A coding exercise found in a chapter.

    Attributes
    ----------
    cell_index : int
        Index of the solution cell.
    check_index : int
        Index of the self-check cell that follows it.
    solution : str
        Source of the solution cell.
    check : str
        Source of the self-check cell that follows it.
    function : str
        Name of the function the student writes.
    hint : str
        The one-line hint from the ``# hint:`` comment.
    """

    cell_index: int
    check_index: int
    solution: str
    check: str
    function: str
    hint: str


def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _parse_solution(source: str) -> tuple[ast.FunctionDef, str]:
    tree = ast.parse(source)
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(funcs) != 1:
        raise ValueError(
            "a solution cell must define exactly one top-level function; "
            f"found {len(funcs)}"
        )
    hints = [
        line.split("# hint:", 1)[1].strip()
        for line in source.splitlines()
        if "# hint:" in line
    ]
    if not hints:
        raise ValueError(f"solution of {funcs[0].name}() has no '# hint: ...' line")
    return funcs[0], hints[0]


def make_stub(source: str) -> str:
    """Replace the solution function's body by ``raise NotImplementedError(hint)``.

    The signature, the docstring and the hint comment are kept.
    """
    fn, hint = _parse_solution(source)
    lines = source.splitlines()
    first = fn.body[0]
    has_doc = (
        isinstance(first, ast.Expr)
        and isinstance(getattr(first, "value", None), ast.Constant)
        and isinstance(first.value.value, str)
    )
    keep_until = first.end_lineno if has_doc else fn.body[0].lineno - 1
    head = lines[:keep_until]
    indent = " " * (first.col_offset)
    body = [
        f"{indent}# hint: {hint}",
        f"{indent}# Your code here; delete the line below when you are done.",
        f"{indent}raise NotImplementedError({hint!r})",
    ]
    return "\n".join(head + body)


def find_exercises(nb: dict) -> list[Exercise]:
    """All coding exercises (solution cell + following check cell) of a notebook."""
    cells = nb["cells"]
    found = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and SOLUTION_TAG in cell.get("metadata", {}).get(
            "tags", []
        ):
            j = next(
                (
                    k
                    for k in range(i + 1, len(cells))
                    if cells[k]["cell_type"] == "code"
                ),
                None,
            )
            if j is None:
                raise ValueError(f"solution cell {i} has no self-check cell after it")
            fn, hint = _parse_solution(_source(cell))
            found.append(
                Exercise(i, j, _source(cell), _source(cells[j]), fn.name, hint)
            )
    return found


def _strip_cells(nb: dict) -> tuple[list[dict], list[str], list[str]]:
    """Cells without solutions, plus the removed prose and the removed code.

    Removed: written solutions, everything inside solution gates except the
    stub and its self-check, and the code cells that follow a solution (they
    check its claim, and print its numbers) up to the next Markdown cell.
    """
    checks = {ex.check_index for ex in find_exercises(nb)}
    cells, prose, code, gated, after = [], [], [], False, False
    for index, cell in enumerate(nb["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "markdown":
            stripped = strip_markdown(_source(cell), gated=gated)
            gated, after = stripped.gated, stripped.after_solution
            prose.append(stripped.removed)
            if stripped.kept.strip():
                kept = stripped.kept.splitlines(keepends=True)
                cells.append({**cell, "source": kept})
        elif SOLUTION_TAG in tags:
            code.append(code_body(_source(cell)))
            stub = {
                **cell,
                "source": make_stub(_source(cell)),
                "outputs": [],
                "execution_count": None,
            }
            tags = [t for t in tags if t != SOLUTION_TAG] + [STUB_TAG]
            stub["metadata"] = {**cell["metadata"], "tags": tags}
            # The student writes here: not collapsed in JupyterLab, as the solution is.
            jupyter = {k: v for k, v in cell["metadata"].get("jupyter", {}).items()
                       if k != "source_hidden"}
            stub["metadata"].pop("jupyter", None)
            if jupyter:
                stub["metadata"]["jupyter"] = jupyter
            cells.append(stub)
        elif index in checks:
            cells.append(cell)
        elif gated or after:
            code.append(_source(cell))
        else:
            cells.append(cell)
    return cells, prose, code


def student_notebook(nb: dict) -> dict:
    """A copy of ``nb`` with stubs for coding solutions and no written solutions."""
    out = copy.deepcopy(nb)
    out["cells"] = copy.deepcopy(_strip_cells(nb)[0])
    return out


def solution_fragments(nb: dict) -> list[str]:
    """Pieces of solution text (prose runs, code lines) no student file may hold."""
    cells, prose, code = _strip_cells(nb)
    fragments = [f for text in prose for f in prose_fragments(text)]
    fragments += [f for source in code for f in code_fragments(source)]
    # Text that the chapter also shows outside its solutions is not a solution.
    visible = " ".join(" ".join(_source(c).split()) for c in cells)
    return sorted(f for f in set(fragments) if f not in visible)


def answer_fragments(package_dir: Path) -> list[str]:
    """Code lines of the reference answers in ``exercises/_answers`` (if any)."""
    fragments = []
    for path in sorted((Path(package_dir) / "exercises" / "_answers").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            source = ast.get_source_segment(path.read_text(encoding="utf-8"), func)
            if source and func.body:
                fragments += code_fragments(code_body(source))
    return sorted(set(fragments))


BOOK_FILES = ("_toc.yml", "intro.md", "references.bib")
BOOK_DIRS = ("pages",)


def _student_config(root: Path, out: Path, execute: bool = True) -> Path:
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    if not execute:
        config.setdefault("execute", {})["execute_notebooks"] = "off"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    config["title"] = f"{config.get('title', 'Book')} (student edition)"
    # Launch and repository buttons would open the full notebooks, solutions included.
    config.pop("launch_buttons", None)
    html = config.setdefault("html", {})
    html.update(
        use_repository_button=False, use_issues_button=False, use_edit_page_button=False
    )
    # Published beside the book, at <book>/student/ (.github/workflows/pages.yml).
    if html.get("baseurl"):
        html["baseurl"] = html["baseurl"].rstrip("/") + "/student/"
    path = out / "_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_student_edition(root: Path, out: Path, *, html: bool = True,
                          execute: bool = True) -> list[Path]:
    """Write a student copy of the book to ``out``; if ``html``, build its HTML.

    ``out`` holds the book's pages, the student notebooks (``out/chapters``) and a
    configuration with ``hide_solutions: true``, so the HTML shows the stubs and no
    solution dropdowns.  ``execute=False`` builds the pages without running the
    notebooks (no outputs; what the leak test scans: every solution fragment is
    source text, which a run cannot add).
    """
    if not isinstance(execute, bool):
        raise TypeError(f"execute must be a bool; got {type(execute).__name__}")
    import shutil

    root, out = Path(root).resolve(), Path(out).resolve()
    (out / "chapters").mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        shutil.copy2(root / name, out / name)
    for name in BOOK_DIRS:
        shutil.copytree(root / name, out / name, dirs_exist_ok=True)
    written = []
    for path in sorted((root / "chapters").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        target = out / "chapters" / path.name
        target.write_text(
            json.dumps(student_notebook(nb), indent=1, ensure_ascii=False) + "\n"
        )
        written.append(target)
    _student_config(root, out, execute)
    if html:
        if execute:
            print(f"student edition: building {out / '_build' / 'html'}; this "
                  f"re-executes all {len(written)} chapters in their student form "
                  "(stubs, no solutions), about as long as the first build of the "
                  "book; progress is shown per chapter", flush=True)
        exe = Path(sys.executable).parent / "jupyter-book"
        # Unexecuted pages have no figure outputs, so their figure references would
        # warn: only the executed edition (the one published) is built with -W -n.
        strict = ["-W", "-n", "--keep-going"] if execute else []
        cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(out), *strict]
        subprocess.run(cmd, check=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument(
        "--out", default="student", help="output folder (default: student)"
    )
    parser.add_argument(
        "--no-html", action="store_true", help="only write the student notebooks"
    )
    args = parser.parse_args(argv)
    written = write_student_edition(
        Path(args.root), Path(args.out), html=not args.no_html
    )
    print(f"student notebooks: {', '.join(str(p) for p in written)}")
    if not args.no_html:
        print(
            "student HTML: "
            f"{Path(args.out).resolve() / '_build' / 'html' / 'index.html'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
