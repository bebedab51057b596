"""Code quality: ruff on the package and tests, nbqa ruff on the chapters, no findings.

The configuration is ``[tool.ruff]`` in ``pyproject.toml`` (line length 88, rules E, F,
W, I, B), so that code cells, the package and the tests read without sideways
scrolling at the book's width.  In notebooks E402 (import not at the top of the file)
is ignored: nbqa joins the cells into one file, and a chapter imports an exercise's
self-check where the exercise is, in reading order.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    local = BIN / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def _findings(cmd: list[str]) -> tuple[int, str]:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def test_ruff_finds_nothing_in_package_and_tests():
    code, out = _findings([_tool("ruff"), "check", "--output-format", "concise",
                           "src", "tests"])
    assert code == 0, f"ruff check src tests:\n{out[-8000:]}"


def test_nbqa_ruff_finds_nothing_in_chapters():
    _tool("nbqa")
    code, out = _findings([sys.executable, "-m", "nbqa", "ruff", "chapters",
                           "--output-format", "concise", "--extend-ignore", "E402"])
    assert code == 0, f"nbqa ruff chapters:\n{out[-8000:]}"


def test_ruff_reports_a_long_line(tmp_path):
    """The check can fail: a 100-character line is a finding under the book's config."""
    sample = tmp_path / "long.py"
    sample.write_text("x = " + repr("a" * 94) + "\n")
    code, out = _findings([_tool("ruff"), "check", "--config",
                           str(ROOT / "pyproject.toml"), str(sample)])
    assert code != 0 and "E501" in out, out
