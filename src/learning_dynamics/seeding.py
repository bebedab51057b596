"""One place where randomness is seeded, and one number that moves the whole book.

Every random draw in the book goes through this module: a numpy generator made by
:func:`make_rng`, a torch generator made by :func:`torch_generator`, or the global
states seeded by :func:`seed_everything`.  No other module creates a generator
(``tests/test_seeding.py`` scans the package and the chapters for any other way).

**The seed offset.**  The environment variable ``LEARNING_DYNAMICS_SEED_OFFSET``
(an integer ``k >= 0``; unset or empty means 0) maps every seed ``s`` the book uses
to the seed actually drawn with, :func:`offset_seed`:

- at ``k = 0`` it is ``s`` itself, so the book's printed numbers are the default
  seed block's;
- at ``k >= 1`` it is a 64-bit integer mixed from ``(s, k)`` by numpy's
  ``SeedSequence``, so seed 0 at offset 1, seed 0 at offset 2 and seed 1 at offset 1
  are unrelated streams.

Setting one number therefore moves every chapter (data, initialisations, ensembles,
Monte Carlo, exercises) to a fresh block of seeds; a chapter whose claims are true
passes at any offset.  The variable is read at every call (no module-level state), so
a kernel started with it set, or a test that sets it with ``monkeypatch``, sees it.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .validation import SEED_MAX, check_int, check_seed

__all__ = [
    "SEED_OFFSET_MAX",
    "SEED_OFFSET_VARIABLE",
    "make_rng",
    "offset_seed",
    "seed_everything",
    "seed_offset",
    "torch_generator",
]

#: The environment variable that moves every seed of the book.
SEED_OFFSET_VARIABLE = "LEARNING_DYNAMICS_SEED_OFFSET"
#: Largest accepted offset (any 32-bit integer).
SEED_OFFSET_MAX = 2**32 - 1
# Domain tag mixed into the SeedSequence, so that (seed, offset) pairs never collide
# with the [seed, stream] lists some data generators pass to numpy directly.
_OFFSET_TAG = 0x5EED0FF5


def seed_offset() -> int:
    """Return the seed offset set by ``LEARNING_DYNAMICS_SEED_OFFSET`` (default 0).

    Raises
    ------
    ValueError
        If the variable is set to anything but a decimal integer in
        ``[0, SEED_OFFSET_MAX]``; the message names the variable.
    """
    raw = os.environ.get(SEED_OFFSET_VARIABLE, "").strip()
    if raw == "":
        return 0
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError(
            f"{SEED_OFFSET_VARIABLE} must be an integer in [0, {SEED_OFFSET_MAX}] "
            f"(unset means 0); got {raw!r}"
        )
    return check_int(SEED_OFFSET_VARIABLE, int(raw), minimum=0,
                     maximum=SEED_OFFSET_MAX)


def offset_seed(seed: int) -> int:
    """Return the seed actually used for the book's seed ``seed`` at the current offset.

    Parameters
    ----------
    seed : int
        Integer in ``[0, 2**64 - 1]``.

    Returns
    -------
    int
        ``seed`` itself at offset 0; otherwise a 64-bit integer drawn from
        ``SeedSequence([seed, offset, tag])``, unrelated to any other pair.
    """
    seed = check_seed("seed", seed)
    k = seed_offset()
    if k == 0:
        return seed
    words = np.random.SeedSequence([seed, k, _OFFSET_TAG]).generate_state(2)
    mixed = (int(words[0]) << 32) | int(words[1])
    return mixed & SEED_MAX


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, numpy's global state and torch; return a generator.

    Parameters
    ----------
    seed : int
        Integer in ``[0, 2**64 - 1]`` (torch takes 64-bit seeds), moved by the seed
        offset (:func:`offset_seed`).  It is checked before anything is seeded, so a
        rejected seed leaves every generator as it was.

    Returns
    -------
    numpy.random.Generator
        A fresh generator, equal to ``make_rng(seed)``; pass it (or the seed) to
        package calls.
    """
    used = offset_seed(seed)
    random.seed(used)
    np.random.seed(used % 2**32)
    torch.manual_seed(used)
    return np.random.default_rng(used)


def make_rng(seed: int | np.random.Generator, stream: int | None = None
             ) -> np.random.Generator:
    """Return a numpy generator for the book's seed ``seed`` (moved by the offset).

    Parameters
    ----------
    seed : int or numpy.random.Generator
        A seed in ``[0, 2**64 - 1]``, or a generator, which is passed through
        unchanged (it was made here already).
    stream : int, optional
        A non-negative stream number: generators for one seed and different streams
        are independent (e.g. a data set and a network initialised from one seed).

    Returns
    -------
    numpy.random.Generator
        ``default_rng(offset_seed(seed))``, or ``default_rng([offset_seed(seed),
        stream])`` for a stream.
    """
    if isinstance(seed, np.random.Generator):
        if stream is not None:
            raise TypeError("stream applies to an integer seed, not to a Generator")
        return seed
    used = offset_seed(seed)
    if stream is None:
        return np.random.default_rng(used)
    return np.random.default_rng([used, check_int("stream", stream, minimum=0,
                                                  maximum=SEED_MAX)])


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """Return a ``torch.Generator`` seeded with ``offset_seed(seed)`` on ``device``."""
    return torch.Generator(device=device).manual_seed(offset_seed(seed))
