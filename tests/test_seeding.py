"""One seed offset moves the whole book; nothing draws randomness any other way.

``LEARNING_DYNAMICS_SEED_OFFSET`` maps every seed the book uses to a fresh one
(:mod:`learning_dynamics.seeding`).  These tests check the mapping (offset 0 is the
identity, other offsets give unrelated streams, bad values are named errors), that
every chapter's data generator moves with it, and, by reading the source, that no
package module and no chapter creates a generator or seeds a global state any other
way.  The slow tier (``tests/test_seed_offsets.py``) runs every chapter at offsets
1 and 2 as well.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import learning_dynamics as ld
from learning_dynamics import seeding

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "learning_dynamics"
VAR = seeding.SEED_OFFSET_VARIABLE


@pytest.mark.parametrize("raw, expected", [("", 0), ("0", 0), (" 7 ", 7),
                                           (str(2**32 - 1), 2**32 - 1)])
def test_offset_is_read_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)
    assert seeding.seed_offset() == expected


def test_unset_offset_is_zero(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)
    assert seeding.seed_offset() == 0


@pytest.mark.parametrize("raw", ["-1", "abc", "1.5", "1e3", "0x10", str(2**32), "٣"])
def test_a_bad_offset_is_an_error_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ValueError, match=VAR):
        seeding.seed_offset()
    with pytest.raises(ValueError, match=VAR):
        ld.make_rng(0)  # every draw refuses, not only the reader


def test_offset_zero_leaves_every_seed_as_it_is(monkeypatch):
    monkeypatch.setenv(VAR, "0")
    for seed in [0, 1, 41, 2**63, 2**64 - 1]:
        assert seeding.offset_seed(seed) == seed
        assert ld.make_rng(seed).random() == np.random.default_rng(seed).random()
        assert (ld.make_rng(seed, stream=3).random()
                == np.random.default_rng([seed, 3]).random())


def test_offsets_give_unrelated_seeds(monkeypatch):
    seen = set()
    for offset in range(4):
        monkeypatch.setenv(VAR, str(offset))
        seen.update(seeding.offset_seed(s) for s in range(200))
    assert len(seen) == 800  # 200 seeds x 4 offsets, no two alike
    assert all(0 <= s < 2**64 for s in seen)


def test_global_states_and_torch_generators_follow_the_offset(monkeypatch):
    draws = {}
    for offset in ["0", "5"]:
        monkeypatch.setenv(VAR, offset)
        ld.seed_everything(3)
        draws[offset] = (np.random.random(), float(torch.rand(1)),
                         float(torch.rand(1, generator=seeding.torch_generator(3))))
        ld.seed_everything(3)  # the same offset twice: the same draws
        assert np.random.random() == draws[offset][0]
    assert all(a != b for a, b in zip(draws["0"], draws["5"], strict=True))


def _chapter_data():
    """The data and initial weights each chapter draws from its default seed."""
    from learning_dynamics import deep_linear as dl
    from learning_dynamics import lazy_rich as lr
    from learning_dynamics import linearisation as lin
    from learning_dynamics import teacher_student as ts
    from learning_dynamics import xor_clusters as xc

    small = xc.XORConfig(n=10, p=40, m=4, signal=10.0, rho=0.2, eta=0.5,
                         init_std=1e-6, n_test=10)
    return {
        "linearisation": lin.make_teacher_data(P=8, d=4, seed=0).x_train,
        "deep_linear": dl.init_weights(dl.toy_data(), hidden=4, seed=0)[0],
        "lazy_rich": lr.make_teacher_data(d=4, P=6, seed=0).X,
        "lazy_rich network": lr.make_network(d=4, N=5, seed=0).W0,
        "modular addition": lr.modular_addition_data(p=7, seed=0).train,
        "xor_clusters": xc.make_xor_data(small, seed=0).X,
        "teacher_student": ts.make_teacher(20, hidden=2, seed=0,
                                           orthonormal=False).weights,
    }


def test_every_chapter_draws_other_data_at_another_offset(monkeypatch):
    blocks = []
    for offset in ["0", "1", "2"]:
        monkeypatch.setenv(VAR, offset)
        blocks.append(_chapter_data())
    for name in blocks[0]:
        a, b, c = (np.asarray(block[name]) for block in blocks)
        assert not np.array_equal(a, b), name
        assert not np.array_equal(b, c), name
    monkeypatch.setenv(VAR, "1")  # and the same offset gives the same data again
    again = _chapter_data()
    for name, value in again.items():
        assert np.array_equal(np.asarray(value), np.asarray(blocks[1][name])), name


# --- no generator is made any other way --------------------------------------------

#: Calls that create a generator or seed a global state.  Only seeding.py makes them.
FORBIDDEN_CALLS = {
    ("np", "random", "default_rng"), ("np", "random", "seed"),
    ("np", "random", "RandomState"), ("np", "random", "SeedSequence"),
    ("np", "random", "Generator"), ("np", "random", "PCG64"),
    ("np", "random", "Philox"),
    ("torch", "manual_seed"), ("torch", "Generator"), ("torch", "seed"),
    ("torch", "cuda", "manual_seed"), ("torch", "cuda", "manual_seed_all"),
    ("random", "seed"),
}
#: numpy's legacy global-state draws (np.random.normal, ...) are forbidden outright.
NUMPY_GLOBAL_DRAW = ("np", "random")


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return ()


def _offences(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names]
            module = getattr(node, "module", None) or ""
            if "random" in names and module in ("", "numpy"):
                found.append(f"line {node.lineno}: imports a random module")
            if module in ("random", "numpy.random", "torch.random"):
                found.append(f"line {node.lineno}: imports from {module}")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        name = ("np", *name[1:]) if name[:1] == ("numpy",) else name
        if name in FORBIDDEN_CALLS or (
                name[:2] == NUMPY_GLOBAL_DRAW and len(name) == 3):
            found.append(f"line {node.lineno}: {'.'.join(name)}(...)")
    return found


def _package_sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "seeding.py":
            yield path.relative_to(ROOT), path.read_text()


def _chapter_sources():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        for i, cell in enumerate(code):
            source = "".join(cell["source"])
            lines = [ln for ln in source.splitlines()
                     if not ln.lstrip().startswith(("%", "!"))]
            yield f"{path.relative_to(ROOT)} code cell {i}", "\n".join(lines)


def test_no_module_or_chapter_makes_a_generator_but_through_seeding():
    offences = []
    for where, source in [*_package_sources(), *_chapter_sources()]:
        offences += [f"{where}: {o}" for o in _offences(ast.parse(source))]
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("snippet", [
    "import numpy as np\nrng = np.random.default_rng(0)",
    "import numpy\nx = numpy.random.normal(size=3)",
    "import torch\ng = torch.Generator().manual_seed(1)",
    "import torch\ntorch.manual_seed(0)",
    "import random\nrandom.seed(0)",
    "from numpy.random import default_rng",
])
def test_the_scan_catches_every_other_way(snippet):
    assert _offences(ast.parse(snippet))


# --- asserts that hold at any offset -------------------------------------------------

def test_a_correct_rate_prediction_fails_at_most_once_in_ten_thousand_blocks():
    """rate_agrees at ASSERT_Z: Monte Carlo of 200 000 blocks of 400 seeds, p = 0.78."""
    from learning_dynamics.statistics import ASSERT_Z, wilson_interval

    rng = ld.make_rng(123)
    n, p = 400, 0.78
    counts = rng.binomial(n, p, size=200_000)
    low_high = np.array([wilson_interval(int(k), n, z=ASSERT_Z)
                         for k in np.unique(counts)])
    inside = dict(zip(np.unique(counts).tolist(),
                      (low_high[:, 0] <= p) & (p <= low_high[:, 1]), strict=True))
    failures = np.mean([not inside[k] for k in counts.tolist()])
    assert failures < 3e-4  # 1e-4 expected; 3e-4 is 4.5 binomial sigma above it


def test_a_rate_prediction_off_by_ten_points_is_refused():
    from learning_dynamics.statistics import rate, rate_agrees

    measured = rate(np.arange(400) < 313)  # 0.78 over 400 seeds
    assert rate_agrees(measured, 0.78)
    assert not rate_agrees(measured, 0.879)  # chapter 4's old step-1 prediction


def test_the_median_interval_covers_the_true_median_at_the_assert_level():
    from learning_dynamics.statistics import quantile_interval

    rng = ld.make_rng(7)
    samples = rng.standard_normal((4000, 200))
    missed = 0
    for row in samples:
        low, high = quantile_interval(row, 0.5)
        missed += not (low <= 0.0 <= high)
    assert missed <= 3  # expected 0.4 misses in 4000 at 1e-4 (plus discreteness)


def test_an_interval_assert_fails_a_true_claim_as_often_as_the_binomial_tail_says():
    """n = 20 median: the lower end is the 2nd smallest draw, so a true claim fails
    when two draws fall below the threshold (chapter 6's referee's case, p = 1.3 %)."""
    from learning_dynamics.statistics import interval_assert_failure, quantile_interval

    p = 0.013
    exact = 1 - (1 - p) ** 20 - 20 * p * (1 - p) ** 19
    assert interval_assert_failure(20, 0.5, p) == pytest.approx(exact, rel=1e-12)
    assert 0.02 < exact < 0.04
    from learning_dynamics.statistics import ASSERT_Z

    rng = ld.make_rng(11)
    below = rng.random((20_000, 20)) < p  # draws below a threshold at 0
    samples = np.where(below, -1.0, 1.0) + 0.01 * rng.random((20_000, 20))
    fails = np.mean([quantile_interval(row, 0.5)[0] <= 0 for row in samples])
    assert fails == pytest.approx(exact, abs=ASSERT_Z * np.sqrt(exact / 20_000))
    # the upper end at n = 20 is the largest draw: one draw above fails it
    high = interval_assert_failure(20, 0.5, p, side="high")
    assert high == pytest.approx(1 - (1 - p) ** 20, rel=1e-12)
    with pytest.raises(ValueError, match="side"):
        interval_assert_failure(20, 0.5, p, side="middle")
