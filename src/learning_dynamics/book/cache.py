"""An execution cache that cannot serve outputs computed by other code.

The book executes its notebooks with ``execute_notebooks: cache``: jupyter-cache
stores each executed notebook under a hash of its *code cells* only.  A notebook's
outputs also depend on the package it imports and on the installed libraries, so
this module computes an **execution key** from

* the bytes of every ``*.py`` file of the tracked packages (``learning_dynamics``
  by default; the Sphinx setting ``learning_dynamics_cache_packages`` adds others),
* the name and version of every distribution the project resolves to (the
  requirements of ``learning-dynamics[book]``, followed transitively; every
  installed distribution when the project is not installed),
* the Python version, the platform, the CPU cores available, the device the
  chapters use (``LEARNING_DYNAMICS_DEVICE``),
* data files the pages read (``_build/bench/chapters.md``, shown on
  ``pages/running.ipynb``),

and gives every key its own jupyter-cache folder, ``<cache>/<key>``.  The key is
also a Sphinx setting that triggers a full re-read, so a changed key makes Sphinx
re-read every notebook; notebooks with no cached run under the new key are
executed again, and going back to an earlier state reuses that state's folder.
The most recent ``KEEP_KEYS`` folders are kept.

Not tracked: files outside the tracked packages that a notebook reads (other than
those listed above), the network, the system libraries below Python, and
randomness that is not seeded.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import importlib.util
import os
import platform
import re
import shutil
import sys
from pathlib import Path
from typing import Iterable

__all__ = ["execution_key", "package_digest", "requirement_closure",
           "resolved_versions", "setup_cache"]

KEY_SETTING = "learning_dynamics_execution_key"
PACKAGES_SETTING = "learning_dynamics_cache_packages"
DATA_FILES = ("_build/bench/chapters.md", "pages/seed_offsets.md")
KEEP_KEYS = 4
KEY_LENGTH = 16
LAST_BUILD_FILE = "last-build-key.txt"


def _package_dirs(names: Iterable[str]) -> list[Path]:
    dirs = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"{PACKAGES_SETTING} names {name!r}, which is not an "
                             "importable package")
        dirs.extend(Path(p).resolve() for p in spec.submodule_search_locations)
    return dirs


def package_digest(directories: Iterable[Path]) -> str:
    """SHA-256 over the path and bytes of every ``*.py`` file below ``directories``."""
    digest = hashlib.sha256()
    for root in directories:
        root = Path(root)
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolved_versions(project: str = "learning-dynamics",
                      extras: tuple[str, ...] = ("book",)) -> list[str]:
    """``name==version`` of every distribution ``project[extras]`` resolves to, sorted.

    Falls back to every installed distribution when ``project`` is not installed.
    """
    try:
        metadata.distribution(project)
    except metadata.PackageNotFoundError:
        found = {_normalise(d.metadata["Name"]): d.version
                 for d in metadata.distributions() if d.metadata["Name"]}
        return sorted(f"{name}=={version}" for name, version in found.items())
    found = requirement_closure(project, extras)
    return sorted(f"{name}=={version}" for name, version in found.items())


def requirement_closure(project: str, extras: Iterable[str] = (),
                        stop: Iterable[str] = ()) -> dict[str, str]:
    """Installed version of every distribution ``project[extras]`` requires.

    Follows the requirements transitively (markers evaluated for this interpreter,
    with the extras each edge asks for) and does not descend into the
    distributions named in ``stop`` (they are still listed).  A requirement that is
    not installed maps to ``"not installed"``.
    """
    from packaging.requirements import Requirement

    stop = {_normalise(name) for name in stop}
    found: dict[str, str] = {}
    seen: set[tuple[str, frozenset]] = set()
    pending = [(project, frozenset(extras))]
    while pending:
        name, wanted = pending.pop()
        if (_normalise(name), wanted) in seen:
            continue
        seen.add((_normalise(name), wanted))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found.setdefault(_normalise(name), "not installed")
            continue
        found[_normalise(name)] = dist.version
        if _normalise(name) in stop:
            continue
        environments = [{"extra": extra} for extra in wanted | {""}]
        for text in dist.requires or []:
            req = Requirement(text)
            marker = req.marker
            if marker is None or any(marker.evaluate(env) for env in environments):
                pending.append((req.name, frozenset(req.extras)))
    return found


def _environment_lines() -> list[str]:
    from ..device import available_cores

    return [f"python {sys.version}", f"platform {platform.platform()}",
            f"cores {available_cores()}",
            f"device {os.environ.get('LEARNING_DYNAMICS_DEVICE', '')}"]


def execution_key(srcdir: str | Path, packages: Iterable[str] = ("learning_dynamics",)
                  ) -> str:
    """The execution key of the book in ``srcdir`` (see the module docstring)."""
    digest = hashlib.sha256()
    digest.update(package_digest(_package_dirs(packages)).encode())
    for line in resolved_versions() + _environment_lines():
        digest.update(line.encode() + b"\n")
    for name in DATA_FILES:
        path = Path(srcdir) / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b"-"))
    return digest.hexdigest()[:KEY_LENGTH]


def _prune(base: Path, keep: Path) -> None:
    """Keep the ``KEEP_KEYS`` most recently used key folders under ``base``."""
    pattern = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}")
    folders = [p for p in base.iterdir() if p.is_dir() and pattern.fullmatch(p.name)]
    folders.sort(key=lambda p: (p == keep, p.stat().st_mtime), reverse=True)
    for old in folders[KEEP_KEYS:]:
        shutil.rmtree(old, ignore_errors=True)


def _apply_key(app, config) -> None:
    if "nb_execution_cache_path" not in config:  # myst-nb is not loaded: no notebooks
        return
    packages = list(dict.fromkeys(["learning_dynamics", *config[PACKAGES_SETTING]]))
    key = execution_key(app.srcdir, packages)
    default = Path(app.outdir).parent / ".jupyter_cache"
    base = Path(config.nb_execution_cache_path or default)
    if not base.is_absolute():
        base = Path(app.srcdir) / base
    folder = base / key
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder)
    _prune(base, folder)
    setattr(config, KEY_SETTING, key)
    config.nb_execution_cache_path = str(folder)
    app._learning_dynamics_cache = (base, key)


def _record_build(app, exception) -> None:
    if exception is None and hasattr(app, "_learning_dynamics_cache"):
        base, key = app._learning_dynamics_cache
        (base / LAST_BUILD_FILE).write_text(key + "\n")


def last_build_key(cache_base: str | Path) -> str | None:
    """Key of the last successful build that used ``cache_base``, if any."""
    path = Path(cache_base) / LAST_BUILD_FILE
    return path.read_text().strip() if path.is_file() else None


def setup_cache(app) -> None:
    """Register the execution key with Sphinx (called by the extension's ``setup``)."""
    app.add_config_value(KEY_SETTING, "", "env")
    app.add_config_value(PACKAGES_SETTING, [], "env")
    app.connect("config-inited", _apply_key, priority=900)
    app.connect("build-finished", _record_build)
