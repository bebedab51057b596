"""Generated mutation testing of the chapters' ``theory`` and ``train`` modules.

Run from the repository root (needs the ``mutation`` extra, i.e. mutmut 3)::

    .venv/bin/python -m learning_dynamics.book.generated_mutants            # all
    .venv/bin/python -m learning_dynamics.book.generated_mutants deep_linear
    .venv/bin/python -m learning_dynamics.book.generated_mutants --keep /tmp/mm

mutmut (settings in ``pyproject.toml``, ``[tool.mutmut]``) rewrites every function
of the chosen modules into a trampoline that runs one generated mutant at a time
(operators, constants, string literals, keyword arguments, ``None`` for a value),
records which fast tests call which function, and runs only those tests against
each mutant.  This runner copies the repository (tracked and untracked, not ignored,
files) to a scratch folder, narrows ``only_mutate`` to the chosen chapters, runs
``mutmut run`` there and prints, per module, the mutants **killed** by a failing
test, those that **survived**, and those that **no test** reached, with the score
killed / all.  The issue's target is 85 % per module.

It is not part of the test command: about one mutant per second per core after a
one-minute pass that maps tests to functions.  ``--keep DIR`` leaves the scratch
folder, so that ``cd DIR && mutmut show NAME`` shows a survivor's diff and
``mutmut run NAME...`` re-runs some mutants after tests were copied into
``DIR/mutants/tests``.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

__all__ = ["CHAPTERS", "MODULES", "main", "scores"]

CHAPTERS = ("linearisation", "deep_linear", "lazy_rich", "xor_clusters",
            "teacher_student")
"""Chapter subpackages whose ``theory`` and ``train`` modules are mutated."""

MODULES = ("theory", "train")

_ONLY_MUTATE = re.compile(r"only_mutate = \[[^\]]*\]", re.S)


def _copy_repository(root: Path, target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
        check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = root / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _narrow(pyproject: Path, chapters) -> None:
    paths = [f'"src/learning_dynamics/{c}/{m}.py"' for c in chapters for m in MODULES]
    text = pyproject.read_text()
    if not _ONLY_MUTATE.search(text):
        raise RuntimeError("pyproject.toml has no [tool.mutmut] only_mutate list")
    pyproject.write_text(_ONLY_MUTATE.sub(
        "only_mutate = [" + ", ".join(paths) + "]", text, count=1))


def scores(results: str) -> dict[str, Counter]:
    """Per-module counts of mutant outcomes from ``mutmut results --all true``.

    Lines look like ``learning_dynamics.deep_linear.theory.x_half_time__mutmut_3:
    killed``; the module is everything before ``.x_`` (functions) or before the
    class name (``.xǁClassǁmethod__mutmut_1``).
    """
    counts: dict[str, Counter] = defaultdict(Counter)
    for line in results.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if "__mutmut_" not in name:
            continue
        module = re.split(r"\.x[_ǁ]", name, maxsplit=1)[0]
        counts[module][status.strip()] += 1
    return dict(counts)


def _table(counts: dict[str, Counter]) -> str:
    rows = ["| module | killed | survived | no tests | other | score |",
            "|---|---|---|---|---|---|"]
    total = Counter()
    for module in sorted(counts):
        c = counts[module]
        total.update(c)
        rows.append(_row(module, c))
    rows.append(_row("all", total))
    return "\n".join(rows)


def _row(label: str, c: Counter) -> str:
    n = sum(c.values())
    other = n - c["killed"] - c["survived"] - c["no tests"]
    score = c["killed"] / n if n else float("nan")
    return (f"| {label} | {c['killed']} | {c['survived']} | {c['no tests']} | "
            f"{other} | {score:.1%} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generated (mutmut) mutants of the theory and train modules.")
    parser.add_argument("chapters", nargs="*", metavar="CHAPTER",
                        help=f"any of {', '.join(CHAPTERS)} (default: all)")
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--keep", help="scratch folder to use and keep")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--target", type=float, default=0.85,
                        help="exit 1 when a module scores below this (default 0.85)")
    args = parser.parse_args(argv)
    chapters = args.chapters or list(CHAPTERS)
    unknown = sorted(set(chapters) - set(CHAPTERS))
    if unknown:
        parser.error(f"unknown chapter {', '.join(unknown)}; "
                     f"choose from {', '.join(CHAPTERS)}")
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent))
    if mutmut is None:
        parser.error("mutmut is not installed: pip install -e '.[mutation]'")
    root = Path(args.root).resolve()
    scratch = Path(args.keep or tempfile.mkdtemp(prefix="ld-mutmut-"))
    if scratch.exists() and any(scratch.iterdir()):
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    _copy_repository(root, scratch)
    _narrow(scratch / "pyproject.toml", chapters)
    env = dict(os.environ, PYTHONPATH="src", LEARNING_DYNAMICS_PROGRESS="0",
               MPLBACKEND="Agg")
    start = time.perf_counter()
    run = subprocess.run([mutmut, "run", "--max-children", str(args.max_children)],
                         cwd=scratch, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        print(run.stdout[-3000:], run.stderr[-3000:], sep="\n")
        print(f"mutmut run failed (exit {run.returncode}) in {scratch}")
        return 2
    results = subprocess.run([mutmut, "results", "--all", "true"], cwd=scratch,
                             env=env, capture_output=True, text=True, check=True)
    counts = scores(results.stdout)
    print(_table(counts))
    print(f"\n{sum(sum(c.values()) for c in counts.values())} mutants in "
          f"{elapsed:.0f} s with {args.max_children} workers; "
          f"scratch folder: {scratch}")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    low = [m for m, c in counts.items() if c["killed"] < args.target * sum(c.values())]
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
