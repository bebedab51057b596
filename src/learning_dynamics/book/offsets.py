"""Seed-offset report: every chapter at several seed offsets, for the Running page.

``python -m learning_dynamics.book.offsets`` executes every chapter in a fresh
kernel at each seed offset (``LEARNING_DYNAMICS_SEED_OFFSET``, default offsets 0, 1
and 2), reads the rows of each chapter's "What we verified" table from the output
metadata (``learning_dynamics.verification.METADATA_KEY``) and writes

* ``pages/seed_offsets.md``: per chapter, the offsets run and whether every assert
  held, the number of ``assert`` statements, and every rate row with its value and
  tolerance at each offset; the Running page shows it;
* ``_build/offsets/claims.json``: every row at every offset.

It exits with status 1 when a chapter fails at an offset.  The test-suite's slow
tier (``tests/test_seed_offsets.py``) runs the same offsets under nbval; this
command records the numbers for readers.  About 25 s of CPU per chapter and offset.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["count_asserts", "chapter_claims", "render_table", "main"]

REPORT = Path("pages") / "seed_offsets.md"


def count_asserts(path: Path) -> int:
    """Number of ``assert`` statements in the code cells of notebook ``path``."""
    cells = json.loads(Path(path).read_text())["cells"]
    total = 0
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        lines = [ln for ln in source.splitlines()
                 if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        total += sum(isinstance(node, ast.Assert) for node in ast.walk(tree))
    return total


def chapter_claims(nb) -> list[dict]:
    """The verification rows in the output metadata of executed notebook ``nb``."""
    from ..verification import METADATA_KEY

    rows = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("text/html", {})
            rows.extend(meta.get(METADATA_KEY, []))
    return rows


def _execute(path: Path, offset: int) -> dict:
    """Child mode: execute ``path`` at ``offset``; return its claims (JSON)."""
    from ..seeding import SEED_OFFSET_VARIABLE
    from .bench import execute_notebook

    os.environ[SEED_OFFSET_VARIABLE] = str(offset)
    try:
        nb = execute_notebook(path, cwd=path.parent)
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        return {"passed": False, "error": f"{type(exc).__name__}: {exc}"[-2000:],
                "claims": []}
    return {"passed": True, "error": "", "claims": chapter_claims(nb)}


def run(path: Path, offset: int) -> dict:
    """Execute chapter ``path`` at seed offset ``offset`` in a fresh process."""
    cmd = [sys.executable, "-m", "learning_dynamics.book.offsets", "--execute",
           str(path), "--offset", str(offset)]
    env = {**os.environ, "LEARNING_DYNAMICS_PROGRESS": "0", "MPLBACKEND": "Agg"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"passed": False, "error": proc.stderr[-2000:], "claims": []}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_table(results: dict[str, dict[int, dict]], asserts: dict[str, int]) -> str:
    """Markdown for the Running page from ``{chapter: {offset: result}}``."""
    lines = ["| chapter | offsets run (all asserts held) | `assert` statements |",
             "|---|---|---|"]
    for chapter, by_offset in results.items():
        runs = ", ".join(f"{k} {'✓' if r['passed'] else '✗'}"
                         for k, r in sorted(by_offset.items()))
        lines.append(f"| {chapter} | {runs} | {asserts[chapter]} |")
    lines += ["", "Rates over seeds, at each offset (value; the row's tolerance):", "",
              "| chapter | claim | " + " | ".join(
                  f"offset {k}" for k in sorted(next(iter(results.values())))) + " |",
              "|---|---|" + "---|" * len(next(iter(results.values())))]
    for chapter, by_offset in results.items():
        offsets = sorted(by_offset)
        names = []
        for k in offsets:
            for row in by_offset[k]["claims"]:
                if row.get("kind") == "rate" and row["claim"] not in names:
                    names.append(row["claim"])
        for name in names:
            cells = []
            for k in offsets:
                row = next((r for r in by_offset[k]["claims"] if r["claim"] == name),
                           None)
                cells.append("–" if row is None else
                             f"{_fmt(row['measured'])} ({_cell(row['tolerance'])})")
            lines.append(f"| {chapter} | {_cell(name)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--offsets", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--chapters", nargs="*", default=None,
                        help="notebook names (default: every chapter)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="chapters run at once (default: the CPU count)")
    parser.add_argument("--execute", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute:
        print(json.dumps(_execute(Path(args.execute).resolve(), args.offset)))
        return 0
    if any(k < 0 for k in args.offsets):
        parser.error("--offsets must be integers >= 0")
    root = Path(args.root).resolve()
    paths = sorted((root / "chapters").glob("*.ipynb"))
    if args.chapters:
        paths = [p for p in paths if p.name in args.chapters]
    jobs = [(p, k) for p in paths for k in args.offsets]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda job: run(*job), jobs))
    results: dict[str, dict[int, dict]] = {}
    stored = root / "_build" / "offsets" / "claims.json"
    if args.chapters and stored.exists():  # rerun some chapters, keep the others
        results = {c: {int(k): r for k, r in by.items()}
                   for c, by in json.loads(stored.read_text()).items()
                   if (root / "chapters" / f"{c}.ipynb").exists()}
    for (path, k), outcome in zip(jobs, outcomes, strict=True):
        results.setdefault(path.stem, {})[k] = outcome
        verdict = "passed" if outcome["passed"] else "FAILED " + outcome["error"][-300:]
        print(f"{path.stem} offset {k}: {verdict}", flush=True)
    results = dict(sorted(results.items()))
    asserts = {c: count_asserts(root / "chapters" / f"{c}.ipynb") for c in results}
    (root / "_build" / "offsets").mkdir(parents=True, exist_ok=True)
    (root / "_build" / "offsets" / "claims.json").write_text(
        json.dumps(results, indent=1))
    (root / REPORT).write_text(render_table(results, asserts))
    print(f"wrote {root / REPORT}")
    return 0 if all(o["passed"] for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
