"""Benchmark: each chapter in a fresh kernel against its budget, and its speed-up.

Run from the repository root::

    .venv/bin/python -m learning_dynamics.book.bench            # all chapters, 1 core
    .venv/bin/python -m learning_dynamics.book.bench --cores 2  # as on Binder

For each chapter it reports wall time, CPU time and peak memory of the kernel that
executed it (pinned to ``--cores`` CPU cores, so threads cannot use more), writes
``_build/bench/chapters.csv`` and ``_build/bench/chapters.md`` (shown on the book's
"Running this book" page when present), and exits with status 1 when a chapter
exceeds its budget (30 s CPU on one core, 1 GB peak by default). It then times each
chapter's core computation against the straightforward implementation it replaces
and prints the measured speed-up.

This is a benchmark, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["ChapterRun", "execute_notebook", "run_chapter", "speedups", "main"]

CPU_BUDGET_S = 30.0
MEMORY_BUDGET_MB = 1024.0


def execute_notebook(
    nb, *, cwd: str | Path, timeout: int = 600, upto: int | None = None
):
    """Execute a notebook (path or ``nbformat`` node) in a fresh kernel and return it.

    Parameters
    ----------
    nb : str, Path or NotebookNode
    cwd : path
        Working directory of the kernel.
    timeout : int
        Per-cell timeout in seconds.
    upto : int, optional
        Execute only cells ``[0, upto)``.
    """
    import nbformat
    from nbclient import NotebookClient

    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(str(nb), as_version=4)
    if upto is not None:
        nb = nbformat.from_dict({**nb, "cells": nb.cells[:upto]})
    os.environ.setdefault("LEARNING_DYNAMICS_PROGRESS", "0")
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


@dataclass(frozen=True)
class ChapterRun:
    """Cost of executing one chapter in a fresh kernel.

    Attributes
    ----------
    chapter : str
        Notebook file name.
    wall_s, cpu_s : float
        Wall-clock and CPU seconds (kernel start-up included).
    peak_mb : float
        Peak resident memory of the largest process (the kernel), in MB.
    cores : int
        CPU cores the run was pinned to.
    """

    chapter: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    cores: int

    def within(self, cpu_budget: float, memory_budget: float) -> bool:
        return self.cpu_s <= cpu_budget and self.peak_mb <= memory_budget


def _execute_in_this_process(path: Path, cores: int) -> dict:
    """Child mode: pin to ``cores`` CPUs, execute the notebook, report children's "
    "usage."""
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(allowed[:cores]))
    t0 = time.perf_counter()
    execute_notebook(path, cwd=path.parent)
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "peak_mb": ru.ru_maxrss / 1024.0,
    }


def run_chapter(path: Path, *, cores: int = 2) -> ChapterRun:
    """Execute one chapter in a fresh process and kernel, pinned to ``cores`` CPUs."""
    cmd = [
        sys.executable,
        "-m",
        "learning_dynamics.book.bench",
        "--execute",
        str(path),
        "--cores",
        str(cores),
    ]
    env = {**os.environ, "LEARNING_DYNAMICS_PROGRESS": "0", "MPLBACKEND": "Agg"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{path.name} failed to execute:\n{proc.stderr[-4000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    return ChapterRun(
        path.name, stats["wall_s"], stats["cpu_s"], stats["peak_mb"], cores
    )


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def speedups() -> list[tuple[str, str, Callable[[], object], Callable[[], object]]]:
    """Each chapter's core computation and the straightforward code it replaces.

    Returns
    -------
    list of (chapter, description, fast, slow)
        Zero-argument callables run at the chapter's own size.
    """
    pairs = []
    from .. import linearisation as lin

    data = lin.make_teacher_data(64, 8, seed=0)
    p0 = lin.init_params(8, 256, seed=1)
    K0 = lin.tangent_kernel(p0, data.x_train)
    pairs.append(
        (
            "01 preliminaries",
            "closed-form linearised dynamics vs 1000 GD steps",
            lambda: lin.gd_residual_closed_form(K0, data.y_train, 1.0, [1000]),
            lambda: lin.train(
                data,
                p0,
                alpha=1.0,
                eta0=1.0,
                steps=1000,
                checkpoints=[1000],
                model="linearised",
            ),
        )
    )

    import numpy as np

    from .. import deep_linear as dl

    toy = dl.toy_data()
    s = dl.data_svd(toy).s
    t = np.linspace(0.0, 8.0, 8001)
    pairs.append(
        (
            "02 deep linear",
            "closed-form mode strengths vs Euler-integrated matrix gradient flow "
            "(dt = 1e-3 tau)",
            lambda: dl.mode_strength(t, s, 1e-3),
            lambda: dl.simulate_gradient_flow(toy.sigma_yx, t, a0=1e-3, dt=1e-3),
        )
    )
    tree = dl.branching_diffusion(seed=0)
    kw = dict(hidden=30, eta=1 / 400, steps=250, init="scaled_normal", init_scale=1e-12)
    pairs.append(
        (
            "02 deep linear",
            "Neuromatch setting (8 items x 1e4 features x 250 epochs): reduced vs "
            "full-width GD",
            lambda: dl.train(tree, reduce_outputs=True, **kw),
            lambda: dl.train(tree, reduce_outputs=False, **kw),
        )
    )

    from .. import lazy_rich as lr

    teacher = lr.make_teacher_data(100, 550, seed=0)
    committee = lr.make_network(100, 500, 0.02, seed=0)
    pairs.append(
        (
            "03 lazy-rich",
            "200 GD steps (t = 1000, eta0 = 5): exact (w_bar, M) recursion vs "
            "width-500 network",
            lambda: lr.train_recursion(teacher, committee, 1.0, 1000, eta0=5.0),
            lambda: lr.train_full_network(teacher, committee, 1.0, 200, eta0=5.0),
        )
    )
    mod = dict(alphas=(0.25, 0.5, 1.0, 2.0), steps=500)
    pairs.append(
        (
            "03 lazy-rich",
            "modular addition, 4 alphas x 500 steps: stacked hand-written "
            "gradients vs autograd",
            lambda: lr.train_modular_addition(**mod),
            lambda: lr.train_modular_addition_autograd(**mod),
        )
    )

    from .. import xor_clusters as xc

    cfg = xc.XORConfig(signal=9.0)
    rng = xc.make_rng(0)
    xor = xc.make_xor_data(cfg, seed=rng)
    W0 = xc.init_first_layer(cfg, seed=rng)
    steps = [0, 1, 2, 10, 200]
    pairs.append(
        (
            "04 XOR clusters",
            "200 GD steps in the m x n coefficient space vs in the p = 20000 "
            "weight space",
            lambda: xc.train_gram(xc.gram_from_data(xor, W0), eta=cfg.eta, steps=steps),
            lambda: xc.train_direct(xor, W0, eta=cfg.eta, steps=steps),
        )
    )
    per_seed = {p: cfg.replace(signal=10.0, p=p) for p in (20_000, 2_000_000)}
    pairs.append(
        (  # reported "speed-up" = time at p = 2e6 / time at p = 2e4
            "04 XOR clusters",
            "time per seed (exact draw + 200 steps), p-free Gram engine: "
            "p = 2e6 vs p = 2e4 (ratio should stay below 1.5)",
            lambda: xc.run_xor(per_seed[20_000], [0], steps),
            lambda: xc.run_xor(per_seed[2_000_000], [0], steps),
        )
    )

    from .. import teacher_student as ts

    ts_teacher = ts.make_teacher(1000, 2, seed=0)
    ts_weights = ts.init_student(1000, 2, seeds=16, scale=0.1, seed=1)
    ts_start = ts.student_overlaps(ts_teacher, ts_weights)
    pairs.append(
        (
            "05 teacher-student",
            "online SGD, 16 seeds, d = 1000, t = 5: exact overlap chain vs explicit "
            "weights",
            lambda: ts.order_parameter_sgd(ts_start, 1000, 1.0, 5.0, n_record=2),
            lambda: ts.online_sgd(ts_teacher, ts_weights, 1.0, 5.0, n_record=2),
        )
    )
    return pairs


def _markdown(
    rows: list[ChapterRun], cpu_budget: float, memory_budget: float
) -> str:
    lines = [
        "| chapter | wall (s) | CPU (s) | peak memory (MB) | cores | within budget |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = "yes" if r.within(cpu_budget, memory_budget) else "**no**"
        lines.append(
            f"| {r.chapter} | {r.wall_s:.1f} | {r.cpu_s:.1f} | {r.peak_mb:.0f} | "
            f"{r.cores} | {ok} |"
        )
    lines.append(
        f"\nBudgets: {cpu_budget:.0f} s CPU and {memory_budget:.0f} MB peak per "
        f"chapter."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark every chapter against its budget."
    )
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument(
        "--chapters", nargs="*", help="notebook names to run (default: all)"
    )
    parser.add_argument(
        "--cores",
        type=int,
        default=1,
        help="CPU cores to pin each chapter to (default: 1)",
    )
    parser.add_argument("--cpu-budget", type=float, default=CPU_BUDGET_S)
    parser.add_argument(
        "--memory-budget", type=float, default=MEMORY_BUDGET_MB, help="MB"
    )
    parser.add_argument(
        "--out", default="_build/bench", help="folder for chapters.csv and chapters.md"
    )
    parser.add_argument(
        "--no-speedups", action="store_true", help="skip the core-computation speed-ups"
    )
    parser.add_argument("--execute", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ["LEARNING_DYNAMICS_PROGRESS"] = "0"  # timings, not progress bars
    if args.cores < 1:
        parser.error(f"--cores must be >= 1; got {args.cores}")

    if args.execute:  # child mode
        print(
            json.dumps(
                _execute_in_this_process(Path(args.execute).resolve(), args.cores)
            )
        )
        return 0

    root = Path(args.root).resolve()
    paths = sorted((root / "chapters").glob("*.ipynb"))
    if args.chapters:
        paths = [p for p in paths if p.name in args.chapters or p.stem in args.chapters]
    rows = []
    for path in paths:
        run = run_chapter(path, cores=args.cores)
        rows.append(run)
        flag = (
            "" if run.within(args.cpu_budget, args.memory_budget) else "   OVER BUDGET"
        )
        print(
            f"{run.chapter:<36} wall {run.wall_s:6.1f} s   cpu {run.cpu_s:6.1f} s   "
            f"peak {run.peak_mb:6.0f} MB{flag}",
            flush=True,
        )
    out = root / args.out
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "chapters.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["chapter", "wall_s", "cpu_s", "peak_mb", "cores"])
        for r in rows:
            writer.writerow(
                [
                    r.chapter,
                    f"{r.wall_s:.2f}",
                    f"{r.cpu_s:.2f}",
                    f"{r.peak_mb:.1f}",
                    r.cores,
                ]
            )
    (out / "chapters.md").write_text(
        _markdown(rows, args.cpu_budget, args.memory_budget)
    )
    print(f"table written to {out / 'chapters.md'}")

    if not args.no_speedups:
        print(
            "\ncore computation vs the straightforward implementation it replaces "
            "(best of 3):"
        )
        for chapter, what, fast, slow in speedups():
            t_fast, t_slow = _best_of(fast, 3), _best_of(slow, 1)
            print(
                f"  {chapter}: {what}: {t_slow:.3g} s vs {t_fast:.3g} s -> speed-up "
                f"x{t_slow / t_fast:,.0f}"
            )

    over = [
        r.chapter for r in rows if not r.within(args.cpu_budget, args.memory_budget)
    ]
    if over:
        print(f"\nover budget: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
