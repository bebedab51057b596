"""The student edition holds no solution text: notebooks, HTML, sources, buttons."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from learning_dynamics.book import extension
from learning_dynamics.book.solutions import find_leaks, strip_markdown
from learning_dynamics.book.student_edition import (
    STUB_TAG,
    answer_fragments,
    find_exercises,
    solution_fragments,
    student_notebook,
    write_student_edition,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
PACKAGE = ROOT / "src" / "learning_dynamics"


def _nb(path: Path) -> dict:
    return json.loads(path.read_text())


def _all_fragments() -> list[str]:
    fragments = [f for path in CHAPTERS for f in solution_fragments(_nb(path))]
    return sorted(set(fragments + answer_fragments(PACKAGE)))


def test_written_and_gated_solutions_are_removed_and_statements_kept():
    text = ("Intro.\n\n```{exercise} E\n:label: e1\n\nAsk it.\n```\n\n"
            "```{solution} e1\n:class: dropdown\n\nThe secret answer is here.\n```\n\n"
            "```{solution-start} e2\n:class: dropdown\n```\nHidden gated words.\n")
    stripped = strip_markdown(text)
    assert "Ask it." in stripped.kept and "Intro." in stripped.kept
    assert "secret" not in stripped.kept and "gated words" not in stripped.kept
    assert "The secret answer is here." in stripped.removed and stripped.gated
    after = strip_markdown("still gated\n```{solution-end}\n```\nVisible again.",
                           gated=True)
    assert after.kept == "Visible again." and not after.gated


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_notebook_has_stubs_statements_and_no_solution_text(path, tmp_path):
    source = _nb(path)
    student = student_notebook(source)
    markdown = "\n".join("".join(c["source"]) for c in student["cells"]
                         if c["cell_type"] == "markdown")
    assert "{solution" not in markdown
    assert markdown.count("{exercise}") == "".join(
        "".join(c["source"]) for c in source["cells"]).count("{exercise}")
    tags = [t for c in student["cells"] for t in c["metadata"].get("tags", [])]
    assert "solution" not in tags
    assert tags.count(STUB_TAG) == len(find_exercises(source))
    fragments = solution_fragments(source)
    assert fragments, "the chapter has solutions, so there must be text to look for"
    (tmp_path / "source.ipynb").write_text(json.dumps(source))
    (tmp_path / "student.ipynb").write_text(json.dumps(student))
    leaks = find_leaks(tmp_path, fragments)
    assert "source.ipynb" in leaks, "the scanner must find the solutions in the source"
    assert "student.ipynb" not in leaks, leaks.get("student.ipynb")


def test_leak_scanner_reads_html_as_a_reader_sees_it(tmp_path):
    (tmp_path / "page.html").write_text(
        "<p>By <a href='#x'>(2.20)</a> only <span>K</span>, so <em>they</em> are "
        "learned at the same time &amp; together.</p>")
    leaks = find_leaks(tmp_path, [", so they are learned at the same time & together."])
    assert list(leaks) == ["page.html"]


def test_student_configuration_has_no_launch_or_repository_buttons(tmp_path):
    write_student_edition(ROOT, tmp_path, html=False)
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert "launch_buttons" not in config
    assert config["html"]["use_repository_button"] is False
    assert config["html"]["use_issues_button"] is False
    assert not find_leaks(tmp_path, _all_fragments())


def _launch_context(pagename: str, hide: bool = False):
    colab = ("https://colab.research.google.com/github/o/r/blob/main/"
             f"{pagename}.ipynb")
    group = {"label": "launch-buttons",
             "buttons": [{"url": colab}, {"url": "https://mybinder.org/v2/gh/o/r/main"}]}
    context = {"header_buttons": [{"label": "download-buttons"}, group]}
    app = SimpleNamespace(config=SimpleNamespace(hide_solutions=hide))
    extension._launch_buttons(app, pagename, "page.html", context, None)
    return context["header_buttons"]


def test_colab_button_opens_the_plain_markdown_copy():
    buttons = _launch_context("chapters/02_deep_linear")
    urls = [b["url"] for b in buttons[1]["buttons"]]
    assert urls[0].endswith("/blob/main/colab/02_deep_linear.ipynb")
    assert (ROOT / "colab" / "02_deep_linear.ipynb").exists()


def test_pages_that_do_not_run_there_and_the_student_edition_get_no_launch_buttons():
    running = _launch_context("pages/running")
    assert [b["label"] for b in running] == ["download-buttons"]
    student = _launch_context("chapters/02_deep_linear", hide=True)
    assert [b["label"] for b in student] == ["download-buttons"]


def _jupyter_book() -> str:
    exe = Path(sys.executable).parent / "jupyter-book"
    return str(exe) if exe.exists() else "jupyter-book"


@pytest.mark.slow
def test_built_student_edition_leaks_no_solution_anywhere(tmp_path_factory):
    """Build the whole student edition and scan every file it produces.

    A control build of the full book (one chapter, not executed) shows that the
    scanner finds the same fragments where solutions are present.  The student
    pages are built without running the notebooks, as the control is: the fragments
    are solution source text, which no output adds, and the student notebooks' runs
    are tested by ``test_student_notebook_runs_to_its_first_stub...``
    (tests/test_coursework.py); running all seven again here cost about five minutes
    of CPU in the test command.
    """
    fragments = _all_fragments()
    control = tmp_path_factory.mktemp("control")
    for name in ("_config.yml", "references.bib", "intro.md"):
        shutil.copy2(ROOT / name, control / name)
    shutil.copytree(ROOT / "pages", control / "pages")
    (control / "chapters").mkdir()
    shutil.copy2(CHAPTERS[1], control / "chapters" / CHAPTERS[1].name)
    config = yaml.safe_load((control / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (control / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {"format": "jb-book", "root": "intro",
           "chapters": [{"file": f"chapters/{CHAPTERS[1].stem}"}]}
    (control / "_toc.yml").write_text(yaml.safe_dump(toc))
    env = {**os.environ, "LEARNING_DYNAMICS_PROGRESS": "0"}
    subprocess.run([_jupyter_book(), "build", str(control)], env=env, check=True,
                   capture_output=True, timeout=900)
    control_leaks = find_leaks(control / "_build" / "html", fragments)
    assert any(p.endswith(".html") for p in control_leaks), "control: scanner is blind"

    out = tmp_path_factory.mktemp("student")
    write_student_edition(ROOT, out, html=True, execute=False)
    produced = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in produced)
    leaks = find_leaks(out, fragments)
    assert not leaks, f"solution text in the student edition: {leaks}"
    pages = "\n".join(p.read_text(errors="replace") for p in produced
                      if p.suffix == ".html")
    assert "mybinder.org" not in pages and "colab.research.google.com" not in pages
    for path in CHAPTERS:  # the stubs are visible (not hidden behind solution gates)
        html = (out / "_build" / "html" / "chapters" / f"{path.stem}.html").read_text()
        for ex in find_exercises(_nb(path)):
            assert ex.function in html and "NotImplementedError" in html


def _cell(kind: str, source: str, tags=()) -> dict:
    cell = {"cell_type": kind, "metadata": {"tags": list(tags)}, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def test_code_that_checks_a_solution_goes_with_it_but_the_self_check_stays():
    solution = 'def f(x):\n    """Doc."""\n    # hint: square it\n    return x * x\n'
    nb = {"cells": [
        _cell("markdown", "```{exercise} A\n:label: a\n\nAsk.\n```\n\n"
                          "```{solution} a\nThe answer is nine point five.\n```"),
        _cell("code", "print('check of the written answer: 9.5')", ["hide-input"]),
        _cell("markdown", "```{exercise} B\n:label: b\n\nCode it.\n```\n\n"
                          "```{solution-start} b\n```"),
        _cell("code", solution, ["solution"]),
        _cell("code", "check_f(f)"),
        _cell("markdown", "```{solution-end}\n```"),
        _cell("code", "print('brute-force check of exercise B')"),
        _cell("markdown", "## Summary"),
        _cell("code", "print('kept')"),
    ]}
    sources = ["".join(c["source"]) for c in student_notebook(nb)["cells"]]
    code = [s for s in sources if not s.startswith(("`", "#", "*"))]
    assert [s for s in code if "check" in s or "kept" in s] == ["check_f(f)",
                                                                  "print('kept')"]
    assert any("raise NotImplementedError('square it')" in s for s in sources)
    fragments = solution_fragments(nb)
    assert "print('check of the written answer: 9.5')" in fragments
    assert "The answer is nine point five." in fragments


def test_no_page_or_docstring_claims_the_reference_answers_stay_off_students_machines():
    # The self-checks run on the student's machine, so the installed package holds
    # exercises/_answers: say so (instructor's guide), never the opposite.
    root = Path(__file__).resolve().parents[1]
    files = [*root.glob("src/learning_dynamics/**/*.py"), *root.glob("pages/*.md"),
             root / "README.md", root / "intro.md"]
    claims = [str(p.relative_to(root)) for p in files
              if re.search(r"not shipped|does not\s+ship", p.read_text(), flags=re.I)]
    assert not claims, claims
    guide = (root / "pages" / "instructors.md").read_text()
    assert "### What students can read" in guide
