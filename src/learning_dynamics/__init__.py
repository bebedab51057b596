"""Shared helpers for *Learning Dynamics of Neural Networks: an Executable Textbook*.

One module per concept:

- :mod:`learning_dynamics.validation` — argument checks and divergence errors;
- :mod:`learning_dynamics.seeding` — one seed for numpy, torch and Python;
- :mod:`learning_dynamics.device` — GPU if present, else CPU; thread limits;
- :mod:`learning_dynamics.plotting` — the figure style and :func:`show_figure`;
- :mod:`learning_dynamics.progress` — progress bars that are silent in builds and tests;
- :mod:`learning_dynamics.linearisation` — chapter 1, lazy and rich training;
- :mod:`learning_dynamics.deep_linear` — chapter 2, deep linear networks;
- :mod:`learning_dynamics.lazy_rich` — chapter 3, grokking as lazy-to-rich;
- :mod:`learning_dynamics.xor_clusters` — chapter 4, benign overfitting on XOR clusters;
- :mod:`learning_dynamics.teacher_student` — chapter 5, online SGD, teacher and
  student;
- :mod:`learning_dynamics.generalisation` — chapter 6, generalisation;
- :mod:`learning_dynamics.skill_learning` — chapter 7, skill learning.

One subpackage per chapter (``tests/test_package_metadata.py`` checks that each is
listed here); the book's tooling lives in :mod:`learning_dynamics.book`.
"""
from __future__ import annotations

from importlib import metadata as _metadata

from .device import available_cores, configure_threads, get_device, single_threaded
from .plotting import PALETTE, THEORY_STYLE, new_figure, show_figure, use_book_style
from .progress import progress
from .seeding import make_rng, seed_everything
from .validation import DivergenceError

try:  # one source: the version in pyproject.toml, read from the installed metadata
    __version__ = _metadata.version("learning-dynamics")
except _metadata.PackageNotFoundError:  # pragma: no cover - source tree not installed
    __version__ = "0+unknown"

__all__ = [
    "DivergenceError",
    "PALETTE",
    "THEORY_STYLE",
    "available_cores",
    "configure_threads",
    "get_device",
    "make_rng",
    "new_figure",
    "progress",
    "seed_everything",
    "setup_chapter",
    "show_figure",
    "single_threaded",
    "use_book_style",
]


def setup_chapter(seed: int = 0):
    """Prepare a chapter: seed everything, apply the figure style, limit threads.

    Returns
    -------
    numpy.random.Generator
        Generator seeded with ``seed``.
    """
    rng = seed_everything(seed)
    use_book_style()
    configure_threads()
    return rng
