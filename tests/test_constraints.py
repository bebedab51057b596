"""The pinned install: constraints.txt covers what the README installs, at the
versions installed, and the README's commands (and .ci/run) install with it."""
from __future__ import annotations

import platform
import re
from pathlib import Path

import pytest

from learning_dynamics.book import constraints

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / constraints.FILENAME


def test_constraints_pin_exact_versions_and_leave_torch_a_range():
    pinned = constraints.read_constraints(FILE)
    assert len(pinned) > 100
    for name in ["numpy", "matplotlib", "jupyter-book", "sphinx", "myst-nb", "nbval",
                 "sphinx-exercise", "sphinx-proof", "ipywidgets", "pytest"]:
        assert name in pinned, name
    assert "torch" not in pinned and "sympy" not in pinned  # torch's own pins rule
    assert "learning-dynamics" not in pinned


def test_constraints_cover_every_distribution_the_extras_resolve_to():
    made_with = constraints.generated_with(FILE)
    here = ".".join(platform.python_version_tuple()[:2])
    if made_with != here:
        pytest.skip(f"constraints.txt was generated with Python {made_with}; markers "
                    f"may resolve other distributions on {here}")
    assert constraints.check(FILE) == []


def test_a_stale_constraints_file_is_reported(tmp_path):
    text = FILE.read_text()
    stale = tmp_path / "constraints.txt"
    stale.write_text(re.sub(r"(?m)^numpy==.*\n", "", text)
                     .replace("\nnbval==", "\nnbval==0.0.1\n#"))
    problems = " ".join(constraints.check(stale))
    assert "numpy==" in problems and "is resolved but not pinned" in problems
    assert "nbval is pinned at 0.0.1" in problems


def test_a_malformed_line_is_an_error(tmp_path):
    bad = tmp_path / "constraints.txt"
    bad.write_text("numpy>=1\n")
    with pytest.raises(ValueError, match="name==version"):
        constraints.read_constraints(bad)


def test_the_readme_commands_install_from_the_constraints_file():
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines()
                if line.startswith("python3 -c") and "pip install" in line]
    assert len(commands) == 2  # build the book; run every test
    for line in commands:
        assert "-c constraints.txt" in line, line
