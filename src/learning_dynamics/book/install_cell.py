"""The first cell of every chapter: install the helper package where it is missing.

The cell is hidden in the book (tag ``remove-cell``) and does nothing where
``learning_dynamics`` is importable (the repository's ``.venv``, Binder). On Colab
it installs the package from this repository at ``repository.branch`` of
``_config.yml``: the same ref from which the book's Colab button (and the README's
badge) opens the notebook, so the notebook and the package it installs cannot drift
apart, and the ref exists (the repository has no tags yet). It pins ``torch`` to the
build already installed, so pip never replaces Colab's CUDA-enabled PyTorch. Where
no PyTorch is installed it takes the CPU wheel.

Release step (CONTRIBUTING.md, "Releasing"): tag the release commit ``v<version>``,
and on a release branch set ``repository.branch`` to that tag, rerun this command
and ``python -m learning_dynamics.book.colab``; both the button and the install cell
then point at the tag.

The same command also marks each reference-solution code cell (tag ``solution``)
and each cell whose input the book hides (tags ``hide-input``, ``remove-input``)
``jupyter.source_hidden``, so JupyterLab and Binder show them collapsed, like the
book's dropdowns and hidden verification code; ``--check`` (and a test) fail when
a tag lacks it. And it removes the ``alt=`` argument of ``show_figure`` from figure
cells whose metadata holds the alt text (``mystnb.image.alt``), with the ``ALT = ...``
assignment that only fed it: the reader sees the figure, not its alt text twice.
Rewrite cell 0 of every chapter (after merging chapters, or after a
version bump)::

    python -m learning_dynamics.book.install_cell

``--check`` only reports chapters that differ and exits 1 if any do.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

__all__ = ["release_tag", "repository_ref", "repository_url", "install_source",
           "install_cell", "main"]

TAG = "remove-cell"
SOLUTION_TAG = "solution"
#: Cells whose code JupyterLab collapses (``jupyter.source_hidden``), as the book does.
HIDDEN_CODE_TAGS = (SOLUTION_TAG, "hide-input", "remove-input")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
_TEMPLATE = '''\
# Not in the repository's environment (e.g. on Colab)? Install the book's helper
# package from the ref this notebook was opened from. An installed PyTorch (Colab's
# CUDA build) is kept as it is; where there is none, the CPU wheel is installed.
import importlib.metadata
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("learning_dynamics") is None:
    repository = "{url}"
    ref = "{ref}"  # the branch or tag the Colab button opens this notebook from
    pip = [sys.executable, "-m", "pip", "install", "-q",
           f"learning-dynamics @ git+{{repository}}@{{ref}}"]
    try:
        pip.append("torch==" + importlib.metadata.version("torch"))
    except importlib.metadata.PackageNotFoundError:
        pip += ["--extra-index-url", "{cpu}"]
    subprocess.run(pip, check=True)'''


def release_tag(root: Path) -> str:
    """``v`` + the version in ``pyproject.toml``."""
    text = (Path(root) / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, flags=re.M)
    if not match:
        raise ValueError("pyproject.toml has no [project] version")
    return f"v{match.group(1)}"


def repository_url(root: Path) -> str:
    """The repository URL set once in ``_config.yml``."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url", "")
    if not url.startswith("https://"):
        raise ValueError(f"_config.yml must set repository.url; got {url!r}")
    return url.rstrip("/")


def repository_ref(root: Path) -> str:
    """``repository.branch`` of ``_config.yml``: the ref Colab opens and installs."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    ref = str((config.get("repository") or {}).get("branch") or "")
    if not re.fullmatch(r"[\w.][\w./-]*", ref):
        raise ValueError(f"_config.yml must set repository.branch; got {ref!r}")
    return ref


def install_source(root: Path) -> str:
    """Source of the install cell for this repository and ref."""
    return _TEMPLATE.format(url=repository_url(root), ref=repository_ref(root),
                            cpu=CPU_INDEX)


def install_cell(root: Path) -> dict:
    """The install cell as a notebook cell dict (hidden in the book)."""
    source = install_source(root)
    # Hidden in the book (tag) and collapsed in JupyterLab (source_hidden).
    metadata = {"jupyter": {"source_hidden": True}, "tags": [TAG]}
    return {"cell_type": "code", "execution_count": None, "metadata": metadata,
            "outputs": [], "source": source.splitlines(keepends=True)}


def _with_id(cell: dict, cell_id: str | None) -> dict:
    """``cell`` with ``id`` in nbformat's key order (the id is kept)."""
    if cell_id is None:
        return cell
    keys = ["cell_type", "execution_count", "id", "metadata", "outputs", "source"]
    return {key: (cell_id if key == "id" else cell[key]) for key in keys}


def _is_install_cell(cell: dict) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return cell["cell_type"] == "code" and TAG in tags


def drop_alt_argument(source: str) -> str:
    """``source`` without ``alt=...`` in ``show_figure`` calls (and ``ALT = ...``)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col: int) -> int:
        return starts[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())

    cuts, names = [], set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) == "show_figure"):
            continue
        for keyword in node.keywords:
            if keyword.arg != "alt":
                continue
            previous = [*node.args, *[k for k in node.keywords if k is not keyword
                                      and k.end_col_offset is not None
                                      and (k.lineno, k.col_offset)
                                      < (keyword.lineno, keyword.col_offset)]]
            last = max(previous, key=lambda n: (n.end_lineno, n.end_col_offset))
            cuts.append((offset(last.end_lineno, last.end_col_offset),
                         offset(keyword.end_lineno, keyword.end_col_offset)))
            if isinstance(keyword.value, ast.Name):
                names.add(keyword.value.id)
    uses = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in names and node.targets[0].id in uses):
            cuts.append((starts[node.lineno - 1], starts[node.end_lineno]))
    for start, end in sorted(cuts, reverse=True):
        source = source[:start] + source[end:]
    return source


def _drop_alt_arguments(nb: dict) -> bool:
    """Drop ``alt=`` from figure cells whose metadata holds the alt text."""
    changed = False
    for cell in nb["cells"]:
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")
        if cell["cell_type"] != "code" or not alt:
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) \
            else cell["source"]
        new = drop_alt_argument(source)
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
            changed = True
    return changed


def _hide_solution_code(nb: dict) -> bool:
    """Mark solution and hidden-input code cells ``source_hidden``; True if changed."""
    changed = False
    for cell in nb["cells"]:
        metadata = cell.get("metadata", {})
        tags = set(metadata.get("tags", []))
        if cell["cell_type"] == "code" and tags & set(HIDDEN_CODE_TAGS):
            jupyter = metadata.setdefault("jupyter", {})
            changed |= jupyter.get("source_hidden") is not True
            jupyter["source_hidden"] = True
    return changed


def apply(root: Path, *, check: bool = False) -> list[Path]:
    """Rewrite (or, with ``check``, only compare) cell 0 and the solution cells.

    Returns the chapters that differed.
    """
    root = Path(root)
    cell, changed = install_cell(root), []
    for path in sorted((root / "chapters").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        first = nb["cells"][0] if nb["cells"] else None
        current = first is not None and (
            {k: v for k, v in first.items() if k != "id"} == cell)
        hidden = _hide_solution_code(nb)
        hidden |= _drop_alt_arguments(nb)
        if current and not hidden:
            continue
        changed.append(path)
        if check:
            continue
        if current:
            pass
        elif first is not None and _is_install_cell(first):
            nb["cells"][0] = _with_id(cell, first.get("id"))
        else:
            nb["cells"].insert(0, cell)
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--check", action="store_true",
                        help="only report; exit 1 if stale")
    args = parser.parse_args(argv)
    changed = apply(Path(args.root), check=args.check)
    verb = "differ" if args.check else "rewritten"
    print(f"install cell {verb}: " + (", ".join(p.name for p in changed) or "none"))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
