"""The curated mutant runner finds its snippets, and says so when it cannot."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from learning_dynamics.book import mutants


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "src" / "learning_dynamics" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


MUTANT = mutants.Mutant("m", "bug", "chapter*", "return 2.0 / top", "return 4.0 / top",
                        "tests/test_chapter*.py", "chapters/01_*.ipynb")


def test_a_snippet_is_found_in_flat_and_subpackage_layouts(tmp_path):
    flat = _tree(tmp_path / "flat", {"chapter.py": "x = 1\nreturn 2.0 / top\n"})
    nested = _tree(tmp_path / "nested", {"chapter/theory.py": "return 2.0 / top\n",
                                         "chapter/data.py": "y = 2\n"})
    assert mutants.locate(flat, MUTANT)[0] == "ok"
    status, path = mutants.locate(nested, MUTANT)
    assert status == "ok" and path.name == "theory.py"


def test_a_missing_snippet_is_stale_and_a_repeated_one_ambiguous(tmp_path):
    stale = _tree(tmp_path / "stale", {"chapter.py": "return 3.0 / top\n",
                                       "other.py": "return 2.0 / top\n"})
    twice = _tree(tmp_path / "twice", {"chapter/a.py": "return 2.0 / top\n",
                                       "chapter/b.py": "return 2.0 / top\n"})
    assert mutants.locate(stale, MUTANT) == ("stale", None)  # other.py is not matched
    assert mutants.locate(twice, MUTANT) == ("ambiguous", None)


def test_curated_mutants_change_the_code_and_have_unique_names():
    names = [m.name for m in mutants.MUTANTS]
    assert len(names) == len(set(names)) and len(names) >= 15
    for m in mutants.MUTANTS:
        assert m.snippet != m.replacement and m.snippet.strip()
        assert not m.files.startswith("book")  # never mutate the tooling itself


def test_generated_mutant_results_are_counted_per_module():
    from learning_dynamics.book import generated_mutants as gm

    results = "\n".join([
        "    learning_dynamics.lazy_rich.theory.x_stability_limit__mutmut_1: killed",
        "    learning_dynamics.lazy_rich.theory.x_stability_limit__mutmut_2: survived",
        "    learning_dynamics.lazy_rich.train.xǁ_Runǁpredict__mutmut_3: no tests",
        "    learning_dynamics.lazy_rich.train.x__run__mutmut_4: killed",
        "Some other line mutmut prints",
    ])
    counts = gm.scores(results)
    assert set(counts) == {"learning_dynamics.lazy_rich.theory",
                           "learning_dynamics.lazy_rich.train"}
    assert counts["learning_dynamics.lazy_rich.theory"] == {"killed": 1, "survived": 1}
    assert counts["learning_dynamics.lazy_rich.train"] == {"killed": 1, "no tests": 1}


def test_generated_mutant_runner_narrows_mutmut_to_the_chosen_chapters(tmp_path):
    from learning_dynamics.book import generated_mutants as gm

    pyproject = tmp_path / "pyproject.toml"
    root = Path(__file__).resolve().parents[1]
    pyproject.write_text((root / "pyproject.toml").read_text())
    gm._narrow(pyproject, ["xor_clusters"])
    text = pyproject.read_text()
    assert ('only_mutate = ["src/learning_dynamics/xor_clusters/theory.py", '
            '"src/learning_dynamics/xor_clusters/train.py"]') in text
    assert "src/learning_dynamics/*/theory.py" not in text


def test_every_fast_test_can_be_selected_back_by_its_node_id():
    # mutmut runs each mutant's tests by node id; an id pytest cannot select back
    # (an escaped regex, a newline) fails the whole run of that mutant with a usage
    # error, which mutmut reports as a timeout
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "LEARNING_DYNAMICS_PROGRESS": "0"}
    base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0",
            "-p", "no:cacheprovider", "-m", "not slow and not browser"]
    listed = subprocess.run(base + ["tests"], cwd=root, env=env, check=True,
                            capture_output=True, text=True).stdout
    ids = [line for line in listed.splitlines() if "::" in line]
    again = subprocess.run(base + ids, cwd=root, env=env, capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{len(ids)} tests collected" in again.stdout

