"""The package's shape: import rules hold, no import cycles, docstrings cite labels.

The rules themselves live in ``.importlinter`` (checked by ``lint-imports``); these
tests run it, show that a reverse import breaks it, walk the imports for cycles, and
check that every equation label a docstring cites exists in a chapter.
"""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "learning_dynamics"
ROLES = ("data", "theory", "train", "figures")


def _has_role(package: Path, role: str) -> bool:
    """A role is a module ``role.py`` or a sub-package ``role/``."""
    module, subpackage = package / f"{role}.py", package / role / "__init__.py"
    return module.exists() or subpackage.exists()


CHAPTER_PACKAGES = sorted(
    p.name for p in PACKAGE.iterdir()
    if p.is_dir() and all(_has_role(p, role) for role in ROLES)
)


def _lint_imports(cwd: Path, src: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    env = {"PYTHONPATH": str(src), "PATH": str(exe.parent)}
    return subprocess.run([str(exe), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_every_chapter_subpackage_has_the_four_roles():
    expected = {"linearisation", "deep_linear", "lazy_rich", "xor_clusters",
                "teacher_student", "generalisation"}
    assert expected <= set(CHAPTER_PACKAGES), sorted(expected - set(CHAPTER_PACKAGES))


def test_the_import_contracts_hold():
    result = _lint_imports(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_reverse_import_breaks_the_contracts(tmp_path):
    """theory importing figures must fail `lint-imports` (the rules can fail)."""
    shutil.copytree(PACKAGE, tmp_path / "src" / "learning_dynamics",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    chapter = CHAPTER_PACKAGES[0]
    theory = tmp_path / "src" / "learning_dynamics" / chapter / "theory.py"
    theory.write_text(theory.read_text() + "\nfrom . import figures  # noqa\n")
    result = _lint_imports(tmp_path, tmp_path / "src")
    assert result.returncode != 0
    assert f"learning_dynamics.{chapter}.theory" in result.stdout


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Package modules that ``path`` imports (any depth, outside TYPE_CHECKING)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in modules:
                    found.add(target)
                elif base in modules:
                    found.add(base)
    found.discard(name)
    return found


def test_no_import_cycles_anywhere_in_the_package():
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: _imports(p, set(files)) for m, p in files.items()}
    # Edges into a package's own __init__ from its submodules are how Python
    # initialises packages, not cycles of the code: drop child -> ancestor edges.
    for m, targets in graph.items():
        graph[m] = {t for t in targets if not m.startswith(t + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def _chapter_labels() -> set[str]:
    labels: set[str] = set()
    for nb in (ROOT / "chapters").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells
                         if c["cell_type"] == "markdown")
        labels |= set(re.findall(r"\$\$\s*\(([A-Za-z0-9_-]+)\)", text))
        labels |= set(re.findall(r":label:\s*(\S+)", text))
    return labels


def test_every_equation_label_a_docstring_cites_exists_in_a_chapter():
    labels = _chapter_labels()
    missing = []
    for path in PACKAGE.rglob("*.py"):
        pattern = r"eqs?\.\s*((?:\(`?[A-Za-z]+-[\w-]*`?\)[,\s]*(?:and\s*)?)+)"
        for group in re.findall(pattern, path.read_text()):
            for label in re.findall(r"\(`?([A-Za-z]+-[\w-]*)`?\)", group):
                if label not in labels:
                    missing.append(f"{path.relative_to(ROOT)}: {label}")
    assert not missing, "labels no chapter defines:\n" + "\n".join(missing)
