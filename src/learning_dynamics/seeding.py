"""One place where randomness is seeded.

Every random draw in the book goes through a generator made by :func:`make_rng`
(a ``numpy.random.Generator``; torch draws are seeded from it), so the same seed
gives the same numbers on every run and every machine.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from .validation import check_seed

__all__ = ["seed_everything", "make_rng"]


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, numpy's global state and torch; return a generator.

    Parameters
    ----------
    seed : int
        Integer in ``[0, 2**64 - 1]`` (torch takes 64-bit seeds).  It is checked
        before anything is seeded, so a rejected seed leaves every generator as it was.

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``; pass it (or the seed) to package calls.
    """
    seed = check_seed("seed", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def make_rng(seed: int | np.random.Generator) -> np.random.Generator:
    """Return a numpy generator from a seed, or pass an existing generator through."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed("seed", seed))
