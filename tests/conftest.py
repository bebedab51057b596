"""Test-suite configuration: quiet progress bars, headless matplotlib, no network.

Everything set here is inherited by the processes the suite starts: the kernels in
which nbval executes every chapter, the book builds, the benchmark's fresh kernels.

Offline: ``tests/offline_guard`` goes first on ``PYTHONPATH`` with
``LEARNING_DYNAMICS_OFFLINE=1``, so every Python process started by the suite
(chapter kernels included) refuses connections other than loopback and Unix
sockets; the guard is installed in this process too.  Set
``LEARNING_DYNAMICS_ALLOW_NETWORK=1`` to run without it.
"""
import importlib.util
import os
import re
from pathlib import Path

# Inherited by the kernels nbval starts for the chapters.
os.environ.setdefault("LEARNING_DYNAMICS_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS/OpenMP thread per process: the suite runs two workers on two cores, and
# each chapter kernel, build or spread test starting two threads of its own makes
# four compete for two cores (chapter 6's 400-seed growth test: 105 s wall that way,
# 7.8 s single-threaded).  ``configure_threads`` honours OMP_NUM_THREADS.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

OFFLINE_GUARD = Path(__file__).resolve().parent / "offline_guard"


def _refuse_network() -> None:
    os.environ["LEARNING_DYNAMICS_OFFLINE"] = "1"
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(OFFLINE_GUARD) not in paths:
        paths = [str(OFFLINE_GUARD), *filter(None, paths)]
        os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    spec = importlib.util.spec_from_file_location(
        "learning_dynamics_offline_guard", OFFLINE_GUARD / "offline_guard.py")
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    guard.install()  # in this process too


if os.environ.get("LEARNING_DYNAMICS_ALLOW_NETWORK") != "1":
    _refuse_network()


def pytest_make_parametrize_id(config, val, argname):
    """Test ids without backslashes or brackets.

    Bad-argument tables are parametrised by the expected message, a regex; pytest
    escapes its backslashes in the id, and such an id cannot be selected back by
    node id, which is how mutmut runs the tests of each mutant.
    """
    if isinstance(val, str):
        return re.sub(r"[\\\[\]]", "", " ".join(val.split()))  # newlines too
    return None

