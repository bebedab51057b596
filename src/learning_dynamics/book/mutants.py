"""Curated mutation testing: plausible scientific bugs that the tests must catch.

Run from the repository root::

    .venv/bin/python -m learning_dynamics.book.mutants              # every mutant
    .venv/bin/python -m learning_dynamics.book.mutants --list       # where each applies
    .venv/bin/python -m learning_dynamics.book.mutants --only lin-stability-4
    .venv/bin/python -m learning_dynamics.book.mutants --notebooks  # + the chapter
    .venv/bin/python -m learning_dynamics.book.mutants --tests 'tests/test_*.py'

Each mutant (in ``MUTANTS``) names a file pattern inside
``src/learning_dynamics`` (``fnmatch``, so ``deep_linear*`` matches both
``deep_linear.py`` and ``deep_linear/theory.py``), an exact source snippet and its
replacement.  The runner copies the repository (tracked and untracked, not ignored,
files) to a temporary folder once, checks that the chosen tests pass there, then for
each mutant replaces the snippet, runs the chapter's fast tests (``pytest -x``) and,
with ``--notebooks``, the chapter's notebook under nbval when the tests did not
already fail, and restores the file.  A mutant is **killed** when a test fails,
**survived** otherwise; a mutant whose snippet is no longer in the code is reported
as **stale** (and one whose snippet occurs more than once as **ambiguous**), never
skipped silently: update its snippet.  The score is killed / (killed + survived).
It exits with status 1 when a mutant survives or is stale.

This is not part of the test command: it takes minutes (each mutant runs its
chapter's tests in a fresh process).
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Mutant", "MUTANTS", "locate", "main"]


@dataclass(frozen=True)
class Mutant:
    """One plausible bug.

    Attributes
    ----------
    name : str
        Short identifier (``--only`` takes it).
    bug : str
        The bug in words.
    files : str
        ``fnmatch`` pattern of the files (relative to ``src/learning_dynamics``).
    snippet, replacement : str
        Exact source text and what it becomes.
    tests : str
        Glob of the fast tests to run (relative to the repository root).
    notebook : str
        Glob of the chapter notebook (relative to the repository root).
    """

    name: str
    bug: str
    files: str
    snippet: str
    replacement: str
    tests: str
    notebook: str


def _chapter(prefix: str, tests: str, notebook: str):
    def make(name, bug, snippet, replacement):
        return Mutant(name, bug, prefix, snippet, replacement, tests, notebook)
    return make


_lin = _chapter("linearisation*", "tests/test_linearisation*.py",
                "chapters/01_*.ipynb")
_dl = _chapter("deep_linear*", "tests/test_deep_linear*.py", "chapters/02_*.ipynb")
_lr = _chapter("lazy_rich*", "tests/test_lazy_rich*.py", "chapters/03_*.ipynb")
_xc = _chapter("xor_clusters*", "tests/test_xor_clusters*.py", "chapters/04_*.ipynb")
_ts = _chapter("teacher_student*", "tests/test_teacher_student*.py",
               "chapters/05_*.ipynb")

MUTANTS: list[Mutant] = [
    # chapter 1: a network against its linearisation
    _lin("lin-stability-4", "GD stability limit 4/lambda_max instead of 2/lambda_max",
         "return 2.0 / top", "return 4.0 / top"),
    _lin("lin-closed-form-sign", "closed-form GD factor (1 + eta0 lambda)^k",
         "(1.0 - eta0 * eigenvalues)[None, :] ** steps[:, None]",
         "(1.0 + eta0 * eigenvalues)[None, :] ** steps[:, None]"),
    _lin("lin-flow-rate-double", "gradient-flow decay at twice the kernel rate",
         "decay = np.exp(-times[:, None] * eigenvalues[None, :])",
         "decay = np.exp(-2.0 * times[:, None] * eigenvalues[None, :])"),
    _lin("lin-no-alpha-squared", "the step is not rescaled by 1/alpha^2",
         "eta = eta0 / run.alpha**2", "eta = eta0"),
    _lin("lin-power-law-sign", "fit_power_law returns the negated slope",
         "return float(np.polyfit(log_x, np.log(y), 1)[0])",
         "return -float(np.polyfit(log_x, np.log(y), 1)[0])"),
    # chapter 2: deep linear networks
    _dl("dl-sigmoid-rate", "mode sigmoid rises at rate s/tau instead of 2s/tau",
        "np.exp(-2.0 * np.outer(t, s) / tau)", "np.exp(-np.outer(t, s) / tau)"),
    _dl("dl-half-time-factor", "deep half-time over 4s instead of 2s",
        "(2.0 * s) * np.log(s / a0 - 1.0)", "(4.0 * s) * np.log(s / a0 - 1.0)"),
    _dl("dl-shallow-half-time-2", "shallow half-time multiplied by 2",
        "* np.log(2.0 * (s - b0) / s)", "* 2.0 * np.log(2.0 * (s - b0) / s)"),
    _dl("dl-rsm-axes", "similarity matrix over units, not items (axes swapped)",
        "return np.swapaxes(hidden, -1, -2) @ hidden",
        "return hidden @ np.swapaxes(hidden, -1, -2)"),
    _dl("dl-backprop-sign", "back-propagated error with a flipped sign",
        "delta = weights[i].T @ delta", "delta = -(weights[i].T @ delta)"),
    _dl("dl-stability-4", "deep stability limit doubled",
        "return 2.0 / (depth * s_max ** (2.0 - 2.0 / depth))",
        "return 4.0 / (depth * s_max ** (2.0 - 2.0 / depth))"),
    # chapter 3: grokking as lazy-to-rich
    _lr("lr-stability-2", "stability limit 2/lambda_max instead of 1/lambda_max",
        "return float(1.0 / np.linalg.eigvalsh(",
        "return float(2.0 / np.linalg.eigvalsh("),
    _lr("lr-recursion-half-step", "recursion step c = eta0/alpha, not 2 eta0/alpha",
        "c = (2.0 * h / runs.alpha[active])[:, None]",
        "c = (h / runs.alpha[active])[:, None]"),
    _lr("lr-moment-sign", "gradient moment g with a flipped sign",
        "g = residual @ X / P", "g = -residual @ X / P"),
    _lr("lr-network-alpha", "network step eta0 N / alpha, not eta0 N / alpha^2",
        "eta = eta0 * N / alpha**2", "eta = eta0 * N / alpha"),
    # chapter 4: benign overfitting on XOR clusters
    _xc("xc-margin-theory-2", "one-step margin eta (p + |mu|^2) / 4n, not / 8n",
        "return eta * (p + mu_norm_sq) / (8.0 * n)",
        "return eta * (p + mu_norm_sq) / (4.0 * n)"),
    _xc("xc-output-scale", "second layer +-1/m instead of +-1/sqrt(m)",
        "np.where(np.arange(m) < m // 2, 1.0, -1.0) / math.sqrt(m)",
        "np.where(np.arange(m) < m // 2, 1.0, -1.0) / m"),
    _xc("xc-loss-derivative", "logistic-loss weight l'(-margin), not -l'(margin)",
        "overflow-free\n    loss_weights = 0.5 * (1.0 - np.tanh(0.5 * margins))",
        "overflow-free\n    loss_weights = 0.5 * (1.0 + np.tanh(0.5 * margins))"),
    _xc("xc-mu-swap", "alignment diagnostics with mu1 and mu2 swapped",
        "overlap = np.abs(w_plane)", "overlap = np.abs(w_plane[..., ::-1])"),
    _xc("xc-dropped-noise", "Gram matrix without the noise part of the inputs",
        "gram = x_plane @ x_plane.T + noise_rest @ noise_rest.T",
        "gram = x_plane @ x_plane.T"),
    _ts("ts-i2-prefactor", "erf average I2 with 1/pi instead of 2/pi",
        "TWO_OVER_PI = 2.0 / math.pi", "TWO_OVER_PI = 1.0 / math.pi"),
    _ts("ts-no-sgd-noise", "Q equation without the eta^2 SGD-noise term",
        "dQ = eta * (first + np.swapaxes(first, -1, -2)) + eta**2 * (",
        "dQ = eta * (first + np.swapaxes(first, -1, -2)) + 0.0 * eta**2 * ("),
]


def _package_files(root: Path, pattern: str) -> list[Path]:
    package = root / "src" / "learning_dynamics"
    return [p for p in sorted(package.rglob("*.py"))
            if fnmatch.fnmatch(p.relative_to(package).as_posix(), pattern)]


def locate(root: Path, mutant: Mutant) -> tuple[str, Path | None]:
    """``("ok", file)``, ``("stale", None)`` or ``("ambiguous", None)``."""
    hits = [(p, p.read_text().count(mutant.snippet))
            for p in _package_files(root, mutant.files)]
    total = sum(count for _, count in hits)
    if total == 0:
        return "stale", None
    if total > 1:
        return "ambiguous", None
    return "ok", next(p for p, count in hits if count)


def _copy_repository(root: Path, target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                            cwd=root, capture_output=True, text=True, check=True)
    for name in filter(None, listed.stdout.split("\0")):
        source = root / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _pytest(copy: Path, targets: list[str], timeout: float, notebook: bool
            ) -> tuple[bool, str]:
    """Run pytest on ``targets`` inside ``copy``; return (passed, last lines)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(copy / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(
            os.pathsep))]),
           "LEARNING_DYNAMICS_PROGRESS": "0", "MPLBACKEND": "Agg"}
    select = [] if notebook else ["-m", "not slow and not browser"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
           *select, *targets]
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s"
    tail = [line for line in proc.stdout.splitlines() if line.strip()][-3:]
    return proc.returncode == 0, " / ".join(tail)


def _targets(copy: Path, pattern: str) -> list[str]:
    return sorted(p.relative_to(copy).as_posix() for p in copy.glob(pattern))


def _run_mutant(copy: Path, mutant: Mutant, args) -> tuple[str, str]:
    status, path = locate(copy, mutant)
    if path is None:
        return status, f"snippet found {'0' if status == 'stale' else '>1'} times"
    original = path.read_text()
    path.write_text(original.replace(mutant.snippet, mutant.replacement))
    try:
        tests = _targets(copy, args.tests or mutant.tests)
        passed, detail = _pytest(copy, tests, args.timeout, notebook=False)
        if not passed:
            return "killed", "tests: " + detail
        if args.notebooks:
            notebooks = _targets(copy, mutant.notebook)
            passed, detail = _pytest(copy, notebooks, args.timeout, notebook=True)
            if not passed:
                return "killed", "notebook: " + detail
        return "survived", detail
    finally:
        path.write_text(original)


def _baseline(copy: Path, mutants: list[Mutant], args) -> None:
    tests = sorted({t for m in mutants for t in _targets(copy, args.tests or m.tests)})
    passed, detail = _pytest(copy, tests, args.timeout, notebook=False)
    if not passed:
        raise SystemExit("the unmutated tests fail, so no mutant can be judged: "
                         + detail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the curated scientific mutants.")
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--only", nargs="*", help="mutant names to run (default: all)")
    parser.add_argument("--list", action="store_true",
                        help="only report where each mutant applies")
    parser.add_argument("--notebooks", action="store_true",
                        help="also run the chapter notebook when its tests pass")
    parser.add_argument("--tests", help="test glob for every mutant instead of the "
                        "chapter's, e.g. 'tests/test_*.py' for the whole fast tier")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the check that the unmutated tests pass")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds per test run (a hanging mutant counts as killed)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.only and len(mutants) != len(set(args.only)):
        parser.error(f"unknown mutant in {args.only}; see --list")
    if args.list:
        package = root / "src" / "learning_dynamics"
        for m in mutants:
            status, path = locate(root, m)
            where = path.relative_to(package).as_posix() if path else status.upper()
            print(f"{m.name:<26} {where:<34} {m.bug}")
        return 0 if all(locate(root, m)[0] == "ok" for m in mutants) else 1
    counts: dict[str, int] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ld-mutants-") as folder:
        copy = Path(folder)
        _copy_repository(root, copy)
        if not args.no_baseline:
            _baseline(copy, mutants, args)
        for m in mutants:
            t0 = time.perf_counter()
            status, detail = _run_mutant(copy, m, args)
            counts[status] = counts.get(status, 0) + 1
            seconds = time.perf_counter() - t0
            print(f"{status.upper():<9} {m.name:<26} {seconds:6.0f} s  "
                  f"{m.bug}  [{detail}]", flush=True)
    judged = counts.get("killed", 0) + counts.get("survived", 0)
    score = counts.get("killed", 0) / judged if judged else float("nan")
    print(f"\nscore: {counts.get('killed', 0)}/{judged} killed = {score:.0%}; "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f"; {time.perf_counter() - start:.0f} s")
    bad = sum(counts.get(k, 0) for k in ("survived", "stale", "ambiguous"))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
