"""Every chapter passes at seed offsets 1 and 2 too (the slow tier).

The main run executes every chapter under nbval at offset 0 (``testpaths`` includes
``chapters/``).  Here each further offset runs every chapter again, in a pytest
subprocess with ``LEARNING_DYNAMICS_SEED_OFFSET`` set, on as many xdist workers as
the machine has (each notebook stays on one worker, ``--dist loadfile``).  An offset
moves every seed the book draws (:mod:`learning_dynamics.seeding`), so these runs see
fresh data, initialisations, ensembles and Monte-Carlo samples: a claim that held
only for the default seeds fails here.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from learning_dynamics.seeding import SEED_OFFSET_VARIABLE

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
#: The offsets run besides 0 (README, "Seed offsets"); any other integer must pass too.
EXTRA_OFFSETS = (1, 2)


@pytest.mark.slow
@pytest.mark.parametrize("offset", EXTRA_OFFSETS)
def test_every_chapter_passes_at_another_seed_offset(offset):
    env = {**os.environ, SEED_OFFSET_VARIABLE: str(offset)}
    workers = str(max(1, min(len(CHAPTERS), os.cpu_count() or 1)))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-n", workers, "--dist", "loadfile", "--nbval-lax",
               "--nbval-current-env", *map(str, CHAPTERS)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=3600)
    tail = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, (
        f"a chapter fails at {SEED_OFFSET_VARIABLE}={offset}:\n{tail}")
