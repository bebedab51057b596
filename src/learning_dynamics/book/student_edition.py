"""The student edition: notebooks with exercise stubs and an HTML build with solutions hidden.

The source notebooks in ``chapters/`` stay the single source of truth. A coding
exercise's solution is a code cell tagged ``solution`` that holds one function
with a docstring and a ``# hint: ...`` line; the student edition replaces its body
by ``raise NotImplementedError(hint)``, so the self-check in the next cell prints
"not implemented yet — <hint>" until the student writes the function.

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

__all__ = ["Exercise", "make_stub", "find_exercises", "student_notebook", "write_student_edition", "main"]

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
        raise ValueError(f"a solution cell must define exactly one top-level function; found {len(funcs)}")
    hints = [line.split("# hint:", 1)[1].strip() for line in source.splitlines() if "# hint:" in line]
    if not hints:
        raise ValueError(f"solution of {funcs[0].name}() has no '# hint: ...' line")
    return funcs[0], hints[0]


def make_stub(source: str) -> str:
    """Replace the body of the solution's function by ``raise NotImplementedError(hint)``.

    The signature, the docstring and the hint comment are kept.
    """
    fn, hint = _parse_solution(source)
    lines = source.splitlines()
    first = fn.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
        and isinstance(first.value.value, str)
    keep_until = first.end_lineno if has_doc else fn.body[0].lineno - 1
    head = lines[: keep_until]
    indent = " " * (first.col_offset)
    body = [f"{indent}# hint: {hint}",
            f"{indent}# Your code here; delete the line below when you are done.",
            f"{indent}raise NotImplementedError({hint!r})"]
    return "\n".join(head + body)


def find_exercises(nb: dict) -> list[Exercise]:
    """All coding exercises (solution cell + following check cell) of a notebook dict."""
    cells = nb["cells"]
    found = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            j = next((k for k in range(i + 1, len(cells)) if cells[k]["cell_type"] == "code"), None)
            if j is None:
                raise ValueError(f"solution cell {i} has no self-check cell after it")
            fn, hint = _parse_solution(_source(cell))
            found.append(Exercise(i, j, _source(cell), _source(cells[j]), fn.name, hint))
    return found


def student_notebook(nb: dict) -> dict:
    """Return a copy of ``nb`` with every solution cell replaced by its stub."""
    out = copy.deepcopy(nb)
    for ex in find_exercises(nb):
        cell = out["cells"][ex.cell_index]
        cell["source"] = make_stub(ex.solution)
        tags = [t for t in cell["metadata"].get("tags", []) if t != SOLUTION_TAG]
        cell["metadata"]["tags"] = tags + [STUB_TAG]
        cell["outputs"], cell["execution_count"] = [], None
    return out


BOOK_FILES = ("_toc.yml", "intro.md", "references.bib")
BOOK_DIRS = ("pages",)


def _student_config(root: Path, out: Path) -> Path:
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    config["title"] = f"{config.get('title', 'Book')} (student edition)"
    path = out / "_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_student_edition(root: Path, out: Path, *, html: bool = True) -> list[Path]:
    """Write a student copy of the book to ``out`` and, if ``html``, build ``out/_build/html``.

    ``out`` holds the book's pages, the student notebooks (``out/chapters``) and a
    configuration with ``hide_solutions: true``, so the HTML shows the stubs and no
    solution dropdowns.
    """
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
        target.write_text(json.dumps(student_notebook(nb), indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    _student_config(root, out)
    if html:
        exe = Path(sys.executable).parent / "jupyter-book"
        cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(out), "-W", "-n", "--keep-going"]
        subprocess.run(cmd, check=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--out", default="student", help="output folder (default: student)")
    parser.add_argument("--no-html", action="store_true", help="only write the student notebooks")
    args = parser.parse_args(argv)
    written = write_student_edition(Path(args.root), Path(args.out), html=not args.no_html)
    print(f"student notebooks: {', '.join(str(p) for p in written)}")
    if not args.no_html:
        print(f"student HTML: {Path(args.out).resolve() / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
