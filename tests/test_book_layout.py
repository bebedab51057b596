"""The book's structure: chapters stored clean, TOC complete, one repository URL."""
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
    match = re.search(r"repository:\s*\n\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text())
    assert match, "_config.yml must set repository.url"
    return match.group(1)


def test_there_are_chapters():
    assert len(CHAPTERS) >= 4


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_committed_chapter_has_no_outputs_or_execution_counts(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_is_in_the_table_of_contents(path):
    assert f"chapters/{path.stem}" in _toc_files()


def test_every_toc_entry_exists():
    for entry in _toc_files():
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_colab_install_cell_points_to_the_configured_repository(path):
    from learning_dynamics.book.install_cell import install_source, release_tag

    nb = json.loads(path.read_text())
    first = nb["cells"][0]
    assert first["cell_type"] == "code" and "remove-cell" in first["metadata"].get("tags", [])
    source = "".join(first["source"])
    assert _repository_url() in source and f'"{release_tag(ROOT)}"' in source
    assert source == install_source(ROOT), \
        "rewrite cell 0 with: python -m learning_dynamics.book.install_cell"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_one_title_and_ends_with_verified_asserts(path):
    nb = json.loads(path.read_text())
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert len(re.findall(r"^# ", md, flags=re.M)) == 1, "exactly one H1 title per chapter"
    assert "## What we verified" in md
    assert re.search(r"^assert ", code, flags=re.M), "the chapter must assert its claims"
    assert "{footbibliography}" in md and "{cite" not in md, "chapters cite with {footcite} (see _config.yml)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_figures_go_through_show_figure(path):
    nb = json.loads(path.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "plt.show(" not in code, "display figures with ld.show_figure(fig, alt=..., caption=...)"
