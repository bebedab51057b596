"""Coursework: exercises, self-checks, the student edition, deterministic chapters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from learning_dynamics.book.bench import execute_notebook
from learning_dynamics.book.student_edition import (
    STUB_TAG,
    find_exercises,
    make_stub,
    student_notebook,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
EXERCISES = [
    (path, ex)
    for path in CHAPTERS
    for ex in find_exercises(json.loads(path.read_text()))
]


def _markdown(path: Path) -> str:
    nb = json.loads(path.read_text())
    return "\n".join(
        "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
    )


def _run_check(solution_source: str, check_source: str):
    """Define the (solution or stub) function; evaluate the check cell's last line."""
    namespace: dict = {}
    exec("import numpy as np\nimport torch\nimport learning_dynamics as ld", namespace)
    exec(solution_source, namespace)
    lines = [line for line in check_source.strip().splitlines() if line.strip()]
    exec("\n".join(lines[:-1]), namespace)
    return eval(lines[-1].rstrip(";"), namespace)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_has_exercises_with_solutions_and_a_coding_exercise(path):
    md = _markdown(path)
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", md)
    solved = set(re.findall(r"```\{solution(?:-start)?\} (\S+)", md))
    assert len(labels) >= 4, labels
    assert set(labels) <= solved, f"exercises without solutions: {set(labels) - solved}"
    assert ":class: dropdown" in md
    assert find_exercises(json.loads(path.read_text())), (
        "each chapter needs a coding exercise with a self-check"
    )


@pytest.mark.parametrize(
    "path, ex", EXERCISES, ids=lambda v: getattr(v, "function", getattr(v, "name", ""))
)
def test_reference_solution_passes_its_self_check(path, ex, capsys):
    result = _run_check(ex.solution, ex.check)
    assert result, (
        f"{path.name}: {ex.function} fails its own check: "
        f"{getattr(result, 'message', result)}"
    )
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize(
    "path, ex", EXERCISES, ids=lambda v: getattr(v, "function", getattr(v, "name", ""))
)
def test_student_stub_fails_its_self_check_with_the_hint(path, ex, capsys):
    result = _run_check(make_stub(ex.solution), ex.check)
    assert not result
    assert "not implemented yet" in result.message and ex.hint in result.message
    assert "not implemented yet" in capsys.readouterr().out


def test_stub_keeps_signature_and_docstring():
    src = 'def f(a, b=2):\n    """Add."""\n    # hint: use +\n    return a + b\n'
    stub = make_stub(src)
    assert (
        stub.startswith('def f(a, b=2):\n    """Add."""')
        and "raise NotImplementedError('use +')" in stub
    )
    namespace: dict = {}
    exec(stub, namespace)
    with pytest.raises(NotImplementedError, match="use \\+"):
        namespace["f"](1)


@pytest.mark.parametrize(
    "source, match",
    [
        ("x = 1\n", "exactly one top-level function"),
        ("def f():\n    return 1\n", "no '# hint: ...' line"),
    ],
)
def test_malformed_solution_cells_are_rejected(source, match):
    with pytest.raises(ValueError, match=match):
        make_stub(source)


def _verification_output(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "code" and "verification_table(" in cell.source:
            return "\n".join(
                o.get("data", {}).get("text/plain", "") for o in cell.outputs
            )
    raise AssertionError("no verification_table cell")


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_notebook_runs_to_its_first_stub_with_every_verified_claim_holding(
    path,
):
    """A fresh kernel runs the student edition through its first stub's self-check:
    every cell before it runs (the verification asserts included), the table shows
    every claim passing, and the self-check reports the stub as not implemented.

    The chapter itself runs under nbval at offsets 0, 1 and 2 elsewhere in the test
    command; a second run of it here, to compare tables, cost about 2.5 minutes of
    CPU and could only differ through a removed cell, which the run below would not
    survive (removed cells are solutions, after the table).
    """
    exercises = find_exercises(json.loads(path.read_text()))
    student = nbformat.reads(
        json.dumps(student_notebook(json.loads(path.read_text()))), as_version=4
    )
    # The student notebook has fewer cells (written solutions are gone): find its stub.
    stubs = [
        i for i, c in enumerate(student.cells) if STUB_TAG in c.metadata.get("tags", [])
    ]
    check = (
        next(
            (
                i
                for i in range(stubs[0] + 1, len(student.cells))
                if student.cells[i].cell_type == "code"
            ),
            None,
        )
        if stubs
        else None
    )
    upto = (
        check + 1 if check is not None else len(student.cells)
    )  # through the self-check
    ran_student = execute_notebook(student, cwd=path.parent, upto=upto)
    if exercises:
        check_out = "".join(
            o.get("text", "") for o in ran_student.cells[upto - 1].outputs
        )
        assert "not implemented yet" in check_out
    table = _verification_output(ran_student)
    assert table and "ok" in table and "FAILED" not in table, (
        f"{path.name}: the student edition's verification table:\n{table}")


def test_failed_self_check_reports_shapes_and_largest_error_not_arrays():
    import numpy as np

    from learning_dynamics.exercises._core import run_check

    inputs = np.arange(600.0).reshape(20, 30)
    expected = inputs.sum(axis=0)
    wrong = run_check(
        "sum",
        lambda x: x.sum(axis=0) + (np.arange(30) == 7),
        [((inputs,), {}, expected)],
        verbose=False,
    )
    assert not wrong and "shape (20, 30)" in wrong.message
    assert "largest error 1 at index (7,)" in wrong.message
    assert str(inputs[3, 4]) not in wrong.message and len(wrong.message) < 300
    swapped = run_check(
        "sum", lambda x: x.sum(axis=1), [((inputs,), {}, expected)], verbose=False
    )
    assert "returned shape (20,), expected shape (30,)" in swapped.message
