"""Colab copies, the install cell, the Pages workflow and the fresh-machine setup."""
from __future__ import annotations

import json
import re
import shutil

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib
from pathlib import Path

import pytest
import yaml

from learning_dynamics.book import colab
from learning_dynamics.book.bibtex import read_bibliography
from learning_dynamics.book.install_cell import install_source, repository_ref
from learning_dynamics.book.myst_markdown import BookIndex, MystToMarkdown

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
COPIES = [ROOT / "colab" / p.name for p in CHAPTERS]
STUDENT_COPIES = [ROOT / "colab" / "student" / p.name for p in CHAPTERS]
MYST = re.compile(r"^\s*(`{3,}|:{3,})\s*\{"  # a directive fence
                  r"|\{[\w:.+-]+\}`"  # a role
                  r"|\$\$[ \t]*\(\S+\)"  # an equation label
                  r"|^\s*\(\S+\)=\s*$", flags=re.M)  # a target
URL = "https://book.example/"


def _markdown(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _converter(targets=None, doc="chapters/02_x") -> MystToMarkdown:
    index = BookIndex(URL, {"chapters/01_y": 1, "chapters/02_x": 2},
                      {"chapters/01_y": "First chapter"},
                      read_bibliography(ROOT / "references.bib"))
    index.targets.update(targets or {})
    return MystToMarkdown(index, doc)


def test_colab_copies_are_current():
    stale = colab.stale_copies(ROOT)
    assert not stale, (f"Colab copies out of date: {stale}; regenerate them with "
                       "python -m learning_dynamics.book.colab")


@pytest.mark.parametrize("path", COPIES + STUDENT_COPIES,
                         ids=lambda p: p.relative_to(ROOT / "colab").as_posix())
def test_colab_copy_has_no_myst_syntax(path):
    nb = json.loads(path.read_text())
    for text in _markdown(nb):
        raw = [m.group(0) for m in MYST.finditer(text)]
        assert not raw, f"{path.name}: MyST left in a Colab cell: {raw[:5]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_colab_copy_keeps_every_code_cell_and_numbers_equations_in_order(path):
    source = json.loads(path.read_text())
    copy = json.loads((ROOT / "colab" / path.name).read_text())
    code = ["".join(c["source"]) for c in source["cells"] if c["cell_type"] == "code"]
    copied = ["".join(c["source"]) for c in copy["cells"] if c["cell_type"] == "code"]
    copied = [s.removeprefix(colab.SOLUTION_TITLE + "\n") for s in copied]
    assert copied == code
    chapter = colab.book_index(ROOT).chapter_numbers[f"chapters/{path.stem}"]
    tags = re.findall(r"\\tag\{(\d+)\.(\d+)\}", "\n".join(_markdown(copy)))
    assert tags and all(int(c) == chapter for c, _ in tags)
    assert [int(n) for _, n in tags] == list(range(1, len(tags) + 1))


def test_solution_code_is_collapsed_in_colab():
    for path in COPIES:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if "solution" in cell["metadata"].get("tags", []):
                assert cell["metadata"].get("cellView") == "form"
                assert "".join(cell["source"]).startswith("#@title ")


def test_a_changed_chapter_makes_its_copy_stale(tmp_path):
    for name in ("_config.yml", "_toc.yml", "references.bib", "intro.md"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for name in ("pages", "chapters", "colab"):
        shutil.copytree(ROOT / name, tmp_path / name)
    assert colab.stale_copies(tmp_path) == []
    nb = json.loads(CHAPTERS[0].read_text())
    # A change in the chapter's body (not its title, which other chapters' links show).
    last = max(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown")
    nb["cells"][last]["source"] += ["\n\nA new sentence.\n"]
    (tmp_path / "chapters" / CHAPTERS[0].name).write_text(json.dumps(nb, indent=1))
    assert colab.stale_copies(tmp_path) == [CHAPTERS[0].name,
                                            f"student/{CHAPTERS[0].name}"]
    colab.write_colab_copies(tmp_path)
    assert colab.stale_copies(tmp_path) == []


def test_exercise_and_solution_become_heading_and_details():
    text = ("```{exercise} Half-time\n:label: x-ex\n\nDerive $t$.\n```\n\n"
            "```{solution} x-ex\n:class: dropdown\n\nIt is $\\ln 2$.\n```")
    conv = _converter()
    conv.collect = True  # the label is defined in the same text
    out = conv.convert(text)
    assert out.startswith("#### Exercise 2.1 (Half-time)\n\nDerive $t$.")
    assert "<details>\n<summary><b>Solution to Exercise 2.1</b></summary>" in out
    assert "It is $\\ln 2$.\n\n</details>" in out


def test_labelled_equation_gets_a_tag_and_its_reference_a_link():
    conv = _converter()
    conv.collect = True
    out = conv.convert("$$\na = b\n$$ (x-eq)\n\nBy {eq}`x-eq`, and `{eq}` in code.")
    assert "$$\na = b \\tag{2.1}\n$$" in out
    assert f"[(2.1)]({URL}chapters/02_x.html#equation-x-eq)" in out
    assert "`{eq}` in code" in out  # code spans are left alone


def test_roles_become_text_with_links():
    conv = _converter()
    out = conv.convert("See {doc}`01_y`, the {term}`lazy regime` and "
                       "{footcite:t}`saxe2014exact`; also {footcite:p}`saxe2014exact`.")
    assert f"[First chapter]({URL}chapters/01_y.html)" in out
    assert f"[lazy regime]({URL}pages/glossary.html#term-lazy-regime)" in out
    assert "Saxe et al. (2014); also (Saxe et al., 2014)." in out


def test_theorem_in_a_block_quote_keeps_display_maths_on_one_line():
    conv = _converter()
    text = "```{prf:theorem} Main\n:label: x-thm\n\nThen\n\n$$\na\n= b\n$$ (x-e)\n```"
    out = conv.convert(text)
    assert out.startswith("> **Theorem 2.1 (Main).** Then")
    assert "> $$ a = b \\tag{2.1} $$" in out


def test_a_book_without_parts_is_indexed_like_one_with_parts(tmp_path):
    """A reference to a label later in the same page resolves in both toc forms."""
    chapter = ROOT / "chapters" / "02_deep_linear.ipynb"
    (tmp_path / "chapters").mkdir()
    shutil.copy2(chapter, tmp_path / "chapters" / chapter.name)
    for name in ("intro.md", "references.bib", "_config.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    toc = {"format": "jb-book", "root": "intro",
           "chapters": [{"file": "chapters/02_deep_linear"}]}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    index = colab.book_index(tmp_path)
    assert index.targets["dl-thm-sigmoid"].docname == "chapters/02_deep_linear"
    colab.colab_notebook(tmp_path, "chapters/02_deep_linear", index)


def test_unknown_directive_or_role_is_an_error_not_a_leak():
    with pytest.raises(ValueError, match="directive"):
        _converter().convert("```{mystery}\nx\n```")
    with pytest.raises(ValueError, match="role"):
        _converter().convert("a {mystery}`x` b")
    with pytest.raises(ValueError, match="unknown label"):
        _converter().convert("{eq}`nowhere`")


# ----------------------------------------------------------------- install cell
def _run_install_cell(monkeypatch, torch_version):
    import importlib.metadata
    import importlib.util
    import subprocess

    calls = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(subprocess, "run", lambda args, check: calls.append(args))

    def version(name):
        if torch_version is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return torch_version

    monkeypatch.setattr(importlib.metadata, "version", version)
    exec(install_source(ROOT), {})
    return calls[0]


def test_install_cell_keeps_colabs_torch_and_installs_the_ref_colab_opens(monkeypatch):
    args = _run_install_cell(monkeypatch, "2.9.0+cu126")
    assert "torch==2.9.0+cu126" in args and "--extra-index-url" not in args
    package = next(a for a in args if a.startswith("learning-dynamics @ git+"))
    ref = repository_ref(ROOT)
    assert package.endswith(f"@{ref}")
    # The README's Colab badge opens the notebook from the same ref (the book's
    # launch button takes it from the same key of _config.yml).
    badges = re.findall(r"colab\.research\.google\.com/github/[^)\s]+", _readme())
    assert badges and all(f"/blob/{ref}/colab/" in b for b in badges)


def test_install_cell_takes_the_cpu_wheel_where_torch_is_missing(monkeypatch):
    args = _run_install_cell(monkeypatch, None)
    assert "https://download.pytorch.org/whl/cpu" in args
    assert not any(a.startswith("torch") for a in args)


# ------------------------------------------------------- packaging and deployment
def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _torch_requirement() -> str:
    deps = _pyproject()["project"]["dependencies"]
    return next(d for d in deps if re.match(r"torch\b", d))


def test_torch_is_a_range_that_contains_the_tested_version():
    import torch
    from packaging.requirements import Requirement
    from packaging.version import Version

    requirement = Requirement(_torch_requirement())
    assert not any(s.operator in ("==", "===") for s in requirement.specifier)
    assert Version(torch.__version__.split("+")[0]) in requirement.specifier


def test_python_313_is_accepted():
    from packaging.specifiers import SpecifierSet

    allowed = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert all(v in allowed for v in ("3.10", "3.11", "3.12", "3.13"))


def test_binder_environment_renders_myst_and_matches_the_package():
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert re.search(r"^jupyterlab-myst\b", requirements, flags=re.M)
    torch = re.escape(_torch_requirement())
    assert re.search(rf"^{torch}$", requirements, flags=re.M)
    lab = _pyproject()["project"]["optional-dependencies"]["lab"]
    assert any(req.startswith("jupyterlab-myst") for req in lab)


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def _readme_command(name: str) -> str:
    readme = _readme()
    section = readme.split(name, 1)[1]
    return re.search(r"```bash\n(.+?)\n```", section, flags=re.S).group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    command = _readme_command("Run every test")
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci.splitlines()


def test_quick_start_takes_torch_from_the_cpu_index_and_fails_fast_without_it():
    for name in ("Build the whole book", "Run every test"):
        command = _readme_command(name)
        assert "--index-url https://download.pytorch.org/whl/cpu" in command
        assert f'"{_torch_requirement()}"' in command
        assert "--retries 0" in command and "--timeout" in command


def test_pages_workflow_is_valid_and_builds_with_the_readme_command():
    path = ROOT / ".github" / "workflows" / "pages.yml"
    workflow = yaml.safe_load(path.read_text())
    triggers = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads `on` as True
    assert "push" in triggers and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read", "pages": "write",
                                       "id-token": "write"}
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    for action in ("actions/checkout", "actions/setup-python",
                   "actions/configure-pages", "actions/upload-pages-artifact",
                   "actions/deploy-pages"):
        assert action in uses, action
    runs = "\n".join(s.get("run", "") for s in steps)
    assert _readme_command("Build the whole book") in runs.splitlines()
    # The student edition is published at <online book>/student/, where the student
    # Colab copies (colab/student/) link.
    lines = [line.strip() for line in runs.splitlines()]
    assert ".venv/bin/python -m learning_dynamics.book.student_edition" in lines
    assert "cp -r student/_build/html _build/html/student" in lines
    upload = next(s for s in steps if s.get("uses", "").startswith(
        "actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"


def test_online_book_url_is_set_once_and_used_by_readme():
    url = colab.online_book_url(ROOT)
    assert url in (ROOT / "README.md").read_text()
    assert "github.io" in url


def test_every_chapter_collapses_in_jupyterlab_what_the_book_hides():
    from learning_dynamics.book.install_cell import apply

    stale = apply(ROOT, check=True)  # cell 0 and jupyter.source_hidden of hidden cells
    assert not stale, ("run python -m learning_dynamics.book.install_cell: "
                       f"{[p.name for p in stale]}")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_colab_copy_has_stubs_and_no_solution_text(path):
    from learning_dynamics.book.student_edition import (
        find_exercises,
        solution_fragments,
    )

    chapter = json.loads(path.read_text())
    copy = json.loads((ROOT / "colab" / "student" / path.name).read_text())
    text = "\n".join("".join(c["source"]) for c in copy["cells"])
    leaked = [f for f in solution_fragments(chapter) if f in text]
    assert not leaked, f"solution text in the student Colab copy: {leaked[:3]}"
    stubs = [c for c in copy["cells"] if c["cell_type"] == "code"
             and "NotImplementedError" in "".join(c["source"])]
    assert len(stubs) == len(find_exercises(chapter))
    assert colab.SOLUTION_TITLE not in text
    assert not any(c["metadata"].get("jupyter", {}).get("source_hidden")
                   for c in stubs), "a student's stub must not be collapsed"
    assert "/student/" in "".join(copy["cells"][0]["source"])


def test_alt_text_lives_in_metadata_not_in_the_visible_figure_cell():
    from learning_dynamics.book.install_cell import drop_alt_argument

    source = ('ALT = (\n    "two panels"\n    " of loss"\n)\nfig = plot()\n'
              'ld.show_figure(fig, alt=ALT)\n')
    assert drop_alt_argument(source) == "fig = plot()\nld.show_figure(fig)\n"
    assert (drop_alt_argument('ld.show_figure(ax.figure, alt="x y", check=False)')
            == "ld.show_figure(ax.figure, check=False)")
    for path in CHAPTERS:  # every figure cell of every chapter
        for cell in json.loads(path.read_text())["cells"]:
            if cell["metadata"].get("mystnb", {}).get("image", {}).get("alt"):
                assert "alt=" not in "".join(cell["source"]), path.name


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_written_solutions_are_collapsed_in_the_colab_copy(path):
    """Outside <details> blocks a Colab copy's Markdown holds no solution prose."""
    from learning_dynamics.book.solutions import prose_fragments, strip_markdown

    solutions = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            removed = strip_markdown("".join(cell["source"])).removed
            solutions += prose_fragments(removed)
    copy = json.loads((ROOT / "colab" / path.name).read_text())
    text = "\n".join(_markdown(copy))
    visible = " ".join(re.sub(r"<details>.*?</details>", " ", text, flags=re.S).split())
    shown = [s for s in solutions if s in visible]
    assert not shown, f"{path.name}: solution prose outside <details>: {shown[:3]}"


def test_equation_labels_in_outputs_become_numbers_whatever_their_case():
    """Sphinx lower-cases labels (ts-ode-Q is numbered as ts-ode-q); outputs keep the
    author's case, and the book must still show the number (the browser test found
    chapter 5's "(ts-ode-Q)" in a table)."""
    from learning_dynamics.book.extension import number_labels

    numbers = {"ts-ode-q": "5.6", "ts-ode": "5.5"}
    text = "eq. (ts-ode-Q), (ts-ode), (ts-ode-q) and (other)"
    assert number_labels(text, numbers) == "eq. (5.6), (5.5), (5.6) and (other)"
