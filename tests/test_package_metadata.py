"""The package's version and its table of chapters have one source each."""
from __future__ import annotations

import re
from pathlib import Path

import learning_dynamics as ld

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "learning_dynamics"
NOT_CHAPTERS = {"book", "exercises", "__pycache__"}


def test_version_is_the_one_in_pyproject():
    # tomllib is Python 3.11+; the package supports 3.10: read the one line
    text = (ROOT / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    version = re.search(r'^version = "([^"]+)"$', project, re.MULTILINE).group(1)
    assert ld.__version__ == version


def test_package_docstring_lists_every_chapter_subpackage():
    chapters = sorted(p.name for p in PACKAGE.iterdir()
                      if p.is_dir() and (p / "__init__.py").exists()
                      and p.name not in NOT_CHAPTERS)
    assert len(chapters) >= 5
    missing = [c for c in chapters if f"learning_dynamics.{c}`" not in ld.__doc__]
    assert not missing, f"package docstring does not list {missing}"
