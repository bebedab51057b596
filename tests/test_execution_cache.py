"""The execution cache is keyed on the package source and the installed versions.

The slow test builds a throw-away one-notebook book three times with the book's own
execution settings: a helper's output changes between the first and the second
build, and is restored for the third.  A notebook run appends a line to a log, so
the test sees exactly when the notebook was executed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from learning_dynamics.book import cache

ROOT = Path(__file__).resolve().parents[1]
PROBE = "def answer():\n    return {}\n"
NOTEBOOK_CODE = """\
from pathlib import Path
import cache_probe
with open(Path.cwd().parent / "executions.log", "a") as log:
    log.write("executed\\n")
assert cache_probe.answer() == 42, "the helper's output changed"
print("answer", cache_probe.answer())
"""


def test_key_changes_with_any_package_file(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "theory.py").write_text("LIMIT = 2\n")
    before = cache.package_digest([package])
    (package / "sub" / "theory.py").write_text("LIMIT = 4\n")
    changed = cache.package_digest([package])
    (package / "sub" / "theory.py").write_text("LIMIT = 2\n")
    assert before != changed and cache.package_digest([package]) == before


def test_key_covers_the_installed_dependencies():
    versions = cache.resolved_versions()
    names = {line.split("==")[0] for line in versions}
    assert {"numpy", "torch", "matplotlib", "jupyter-book", "myst-nb"} <= names
    assert all("==" in line for line in versions)


def test_key_covers_the_benchmark_table_shown_on_the_running_page(tmp_path):
    assert "_build/bench/chapters.md" in cache.DATA_FILES
    before = cache.execution_key(tmp_path)
    table = tmp_path / "_build" / "bench" / "chapters.md"
    table.parent.mkdir(parents=True)
    table.write_text("| chapter | wall (s) |\n")
    assert cache.execution_key(tmp_path) != before


def _write_book(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    book.mkdir()
    real = yaml.safe_load((ROOT / "_config.yml").read_text())
    config = {
        "title": "cache probe",
        "only_build_toc_files": True,
        "execute": real["execute"],  # the book's own execution settings
        "sphinx": {"extra_extensions": ["learning_dynamics.book.extension"],
                   "config": {"nb_execution_raise_on_error": True,
                              cache.PACKAGES_SETTING: ["cache_probe"]}},
    }
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_toc.yml").write_text("format: jb-book\nroot: probe\n")
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {},
                           "outputs": [], "source": NOTEBOOK_CODE}],
                "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    (book / "probe.ipynb").write_text(json.dumps(notebook, indent=1) + "\n")
    return book


def _build(book: Path, package_root: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "jupyter-book"
    paths = [str(package_root), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p),
           "LEARNING_DYNAMICS_PROGRESS": "0"}
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(book), "-W", "-n",
           "--keep-going"]
    return subprocess.run(cmd, cwd=book, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_changed_helper_reexecutes_and_reverted_helper_reuses_the_cache(tmp_path):
    if shutil.which("jupyter-book") is None and not (
            Path(sys.executable).parent / "jupyter-book").exists():
        pytest.skip("jupyter-book is not installed")
    package_root = tmp_path / "pkgs"
    (package_root / "cache_probe").mkdir(parents=True)
    helper = package_root / "cache_probe" / "__init__.py"
    book = _write_book(tmp_path)
    runs = tmp_path / "executions.log"

    def executions() -> int:
        return len(runs.read_text().splitlines()) if runs.exists() else 0

    helper.write_text(PROBE.format(42))
    first = _build(book, package_root)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    assert executions() == 1
    # The build's kernels log no start-up warnings (the book extension's profile).
    assert "Kernel is running over TCP" not in first.stdout + first.stderr

    helper.write_text(PROBE.format(41))  # the helper changes; the notebook does not
    second = _build(book, package_root)
    assert second.returncode != 0, "stale outputs published:\n" + second.stdout[-3000:]
    assert executions() == 2
    assert "the helper's output changed" in second.stdout + second.stderr
    # the failed build leaves no book behind: the previous pages are gone
    assert not (book / "_build" / "html" / "probe.html").exists()

    helper.write_text(PROBE.format(42))  # reverted: the first build's cache is reused
    third = _build(book, package_root)
    assert third.returncode == 0, (third.stdout + third.stderr)[-4000:]
    assert executions() == 2, "the notebook ran again; the cache was not reused"
    page = (book / "_build" / "html" / "probe.html").read_text()
    assert "answer 42" in page
    key = cache.last_build_key(book / "_build" / ".jupyter_cache")
    assert key is not None and (book / "_build" / ".jupyter_cache" / key).is_dir()
