"""The book's structure: chapters stored clean, TOC complete, one repository URL.

Also the chapter contract of issue 16 (see CONTRIBUTING.md): numbered MyST figures
referenced from the text, verification plumbing hidden, exercises graded by
difficulty, at least two coding exercises per chapter with one in PyTorch.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _toc_files() -> list[str]:
    return re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text())


def _repository_url() -> str:
    config = (ROOT / "_config.yml").read_text()
    match = re.search(r"repository:\s*\n\s*url:\s*(\S+)", config)
    assert match, "_config.yml must set repository.url"
    return match.group(1)


def test_there_are_chapters():
    assert len(CHAPTERS) >= 4


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_committed_chapter_has_no_outputs_or_execution_counts(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs or execution counts; "
                       "clear them before committing")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_is_in_the_table_of_contents(path):
    assert f"chapters/{path.stem}" in _toc_files()


def test_every_toc_entry_exists():
    for entry in _toc_files():
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), \
            entry


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_colab_install_cell_points_to_the_configured_repository(path):
    from learning_dynamics.book.install_cell import install_source, repository_ref

    nb = json.loads(path.read_text())
    first = nb["cells"][0]
    tags = first["metadata"].get("tags", [])
    assert first["cell_type"] == "code" and "remove-cell" in tags
    source = "".join(first["source"])
    assert _repository_url() in source and f'"{repository_ref(ROOT)}"' in source
    assert source == install_source(ROOT), \
        "rewrite cell 0 with: python -m learning_dynamics.book.install_cell"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_one_title_and_ends_with_verified_asserts(path):
    md = _markdown(path)
    code = "\n".join(_source(c) for c in _cells(path, "code"))
    assert len(re.findall(r"^# ", md, flags=re.M)) == 1, "one H1 title per chapter"
    assert "## What we verified" in md
    assert re.search(r"^assert ", code, flags=re.M), "a chapter asserts its claims"
    assert "{footbibliography}" in md and "{cite" not in md, \
        "chapters cite with {footcite} (see _config.yml)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_figures_go_through_show_figure(path):
    code = "\n".join(_source(c) for c in _cells(path, "code"))
    assert "plt.show(" not in code, "display figures with ld.show_figure(fig)"


# --------------------------------------------------------------- the chapter contract
DIFFICULTY = re.compile(r"★{1,3}")
EXERCISE_TITLE = re.compile(r"^(?:```+|:::+)\{exercise(?:-start)?\}(.*)$", re.M)
NUMREF = re.compile(r"\{numref\}`(?:[^`<]*<)?([^`>]+)>?`")
ASCII_MATHS = re.compile(r"\beq\. \(|\b(?:alpha|beta|eta0?|lambda)\b|\^T\b")


def _cells(path: Path, kind: str) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _figure_cells(path: Path) -> list[dict]:
    return [c for c in _cells(path, "code") if "show_figure(" in _source(c)]


def _markdown(path: Path) -> str:
    return "\n".join(_source(c) for c in _cells(path, "markdown"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_figure_cells_carry_name_caption_and_alt_metadata(path):
    problems = []
    for cell in _figure_cells(path):
        meta = cell.get("metadata", {}).get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        head = _source(cell).splitlines()[0][:60]
        if not str(figure.get("name", "")).startswith("fig-"):
            problems.append(f"{head!r}: mystnb.figure.name 'fig-<tag>-<slug>' missing")
        if len(str(figure.get("caption", "")).strip()) < 20:
            problems.append(f"{head!r}: mystnb.figure.caption missing or too short")
        if len(str(image.get("alt", "")).strip()) < 20:
            problems.append(f"{head!r}: mystnb.image.alt missing or too short")
        if _source(cell).count("show_figure(") > 1:
            problems.append(f"{head!r}: one figure per cell (each output is a figure)")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_figure_captions_use_maths_not_ascii_or_label_names(path):
    bad = {}
    for cell in _figure_cells(path):
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        caption = str(figure.get("caption", ""))
        caption = re.sub(r"\$[^$]*\$|\{[a-z]+\}`[^`]*`", "", caption)
        found = ASCII_MATHS.findall(caption)
        if found:
            bad[figure.get("name")] = found
    assert not bad, f"{path.name}: write maths as $...$ and refer with roles: {bad}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_figure_is_referenced_with_numref(path):
    names = [c["metadata"].get("mystnb", {}).get("figure", {}).get("name")
             for c in _figure_cells(path)]
    referenced = set(NUMREF.findall(_markdown(path)))
    missing = [n for n in names if n and n not in referenced]
    assert not missing, f"{path.name}: figures never cited with {{numref}}: {missing}"
    assert len(names) == len(set(names)), f"{path.name}: duplicate figure names {names}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_verification_cells_hide_their_input(path):
    shown = [_source(c).splitlines()[0][:60] for c in _cells(path, "code")
             if re.search(r"^assert |Claim\(", _source(c), flags=re.M)
             and "hide-input" not in _tags(c) and "remove-cell" not in _tags(c)
             and "solution" not in _tags(c)]
    assert not shown, f"{path.name}: tag these verification cells 'hide-input': {shown}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_exercise_titles_carry_a_difficulty_marker(path):
    titles = EXERCISE_TITLE.findall(_markdown(path))
    assert titles, f"{path.name}: no exercises"
    unmarked = [t.strip() for t in titles if not DIFFICULTY.search(t)]
    assert not unmarked, f"{path.name}: mark difficulty ★/★★/★★★ in titles {unmarked}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_two_coding_exercises_one_in_pytorch(path):
    solutions = [_source(c) for c in _cells(path, "code") if "solution" in _tags(c)]
    assert len(solutions) >= 2, \
        f"{path.name}: {len(solutions)} coding exercise(s); at least 2 needed"
    assert any(re.search(r"\btorch\b", s) for s in solutions), \
        f"{path.name}: at least one coding exercise must use PyTorch"
    hintless = [s.splitlines()[0] for s in solutions if "# hint:" not in s]
    assert not hintless, f"{path.name}: solutions need a '# hint:' line: {hintless}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_reading_time_agrees_with_the_instructor_guide(path):
    pattern = r"\*\*Reading time\*\*\s+about\s+(\d+)\s+minutes"
    stated = re.search(pattern, _markdown(path))
    assert stated, f"{path.name}: say '**Reading time** about N minutes' at the start"
    guide = (ROOT / "pages" / "instructors.md").read_text()
    row = re.search(rf"^\|\s*{{doc}}`\.\./chapters/{path.stem}`.*\|\s*(\d+) min /",
                    guide, flags=re.M)
    assert row, f"pages/instructors.md has no row for {path.stem} with 'N min / ...'"
    assert row.group(1) == stated.group(1), \
        f"{path.name}: {stated.group(1)} min, instructor guide: {row.group(1)} min"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_reading_time_follows_the_one_rule_of_the_book(path):
    """Stated minutes within 10 % of words/150 + 1 min/equation + 5 s/code line."""
    from learning_dynamics.book import reading_time as rt

    nb = json.loads(path.read_text())
    stated, measured = rt.stated_minutes(nb), rt.measure(nb)
    assert stated is not None, f"{path.name}: no '**Reading time** about N minutes'"
    assert rt.agrees(stated, measured.minutes), (
        f"{path.name}: states {stated} min; the book's rule gives "
        f"{measured.minutes:.0f} min ({measured}); "
        "python -m learning_dynamics.book.reading_time")


def test_reading_time_rule_counts_prose_equations_and_visible_code():
    from learning_dynamics.book import reading_time as rt

    nb = {"cells": [
        {"cell_type": "markdown", "source": "one two three $x$\n\n$$\na = b\n$$ (l)\n"
                                            "```{math}\nc\n```\nfour"},
        {"cell_type": "code", "metadata": {"tags": []}, "source": "x = 1\n\ny = 2\n"},
        {"cell_type": "code", "metadata": {"tags": ["remove-input"]}, "source": "z\n"},
    ]}
    r = rt.measure(nb)
    assert (r.words, r.equations, r.code_lines) == (6, 2, 2)
    assert r.minutes == pytest.approx(6 / 150 + 2 + 10 / 60)
    assert rt.agrees(50, 46) and not rt.agrees(50, 40) and rt.agrees(10, 7.5)
    with pytest.raises(TypeError, match="notebook"):
        rt.measure([])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_text_holds_no_control_characters(path):
    """A "\\a" or "\\t" from a script turns \\approx or \\tau into a bell or a tab."""
    nb = json.loads(path.read_text())
    bad = [(i, repr(ch)) for i, c in enumerate(nb["cells"])
           for ch in "".join(c["source"]) if ord(ch) < 32 and ch != "\n"]
    assert not bad, f"{path.name}: control characters (cell, char): {bad[:5]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_cell_has_a_unique_id(path):
    """nbformat 4.5 ids: missing ones will be a hard error in future nbformat."""
    ids = [cell.get("id") for cell in json.loads(path.read_text())["cells"]]
    assert None not in ids, f"{path.name}: {ids.count(None)} cells without an id"
    assert len(set(ids)) == len(ids), f"{path.name}: duplicate cell ids"


def test_pdf_prints_only_the_chapters_asked_for_and_names_unknown_ones(tmp_path):
    from learning_dynamics.book import pdf

    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n- file: chapters/01_a\n"
        "- file: chapters/02_b\n")
    html = tmp_path / "_build" / "html"
    (html / "chapters").mkdir(parents=True)
    for page in ("index", "intro", "chapters/01_a", "chapters/02_b"):
        (html / f"{page}.html").write_text("<html></html>")
    pages = ["chapters/01_a.html", "chapters/02_b.html"]
    assert pdf._select_chapters(True, pages) == pages
    assert pdf._select_chapters(False, pages) == []
    assert pdf._select_chapters(["02_b", "02_b"], pages) == ["chapters/02_b.html"]
    with pytest.raises(ValueError, match=r"chapters must name built chapters "
                       r"\(01_a, 02_b\); got '03_c'"):
        pdf.write_pdfs(tmp_path, tmp_path / "out", chapters=["03_c"])
    with pytest.raises(TypeError, match="chapters must be a bool or a list"):
        pdf.write_pdfs(tmp_path, tmp_path / "out", chapters="01_a")
    assert pdf.main(["--root", str(tmp_path), "--chapter", "03_c"]) == 1
