"""One version everywhere: pyproject.toml, the package, CITATION.cff, the CHANGELOG
and the citation on the book's landing page.

While the CHANGELOG's top section is ``[Unreleased]``, ``pyproject.toml`` holds the
version under development, which must be newer than the last released section; on
release that heading becomes ``## [<version>] - <date>`` (CONTRIBUTING.md, "Releasing").
"""
from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib

import yaml
from packaging.version import Version

import learning_dynamics

ROOT = Path(__file__).resolve().parents[1]


def _version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_package_and_citation_carry_the_pyproject_version():
    assert learning_dynamics.__version__ == _version()
    assert str(_citation()["version"]) == _version()


def test_changelog_top_section_is_this_version_or_unreleased_above_the_last():
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(),
                          flags=re.M)
    assert headings, "CHANGELOG.md has no ## [version] sections"
    released = [Version(h) for h in headings if h != "Unreleased"]
    if headings[0] == "Unreleased":
        assert not released or Version(_version()) > max(released), (
            f"pyproject.toml {_version()} is not newer than the last release "
            f"{max(released)} under [Unreleased]")
    else:
        assert headings[0] == _version(), (
            f"CHANGELOG's latest release {headings[0]} != pyproject {_version()}")


def test_landing_page_shows_how_to_cite_this_version():
    intro = (ROOT / "intro.md").read_text()
    assert "## How to cite" in intro
    citation = _citation()
    assert f"version = {{{_version()}}}" in intro
    assert citation["title"] in intro and citation["url"] in intro
