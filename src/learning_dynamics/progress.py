"""Progress bars for long loops: visible to readers, silent under tests and builds.

Set ``LEARNING_DYNAMICS_PROGRESS=0`` to silence them; the test-suite, the book
build and the benchmark do so, because a progress bar in a built page is a dead
widget.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, TypeVar

__all__ = ["progress", "progress_enabled"]

T = TypeVar("T")


def progress_enabled() -> bool:
    """Whether progress bars are shown (``LEARNING_DYNAMICS_PROGRESS`` is not ``0``)."""
    return os.environ.get("LEARNING_DYNAMICS_PROGRESS", "1").strip().lower() not in {
        "0",
        "false",
        "no",
        "off",
    }


def progress(
    iterable: Iterable[T], *, total: int | None = None, desc: str | None = None
) -> Iterator[T] | Iterable[T]:
    """Wrap ``iterable`` in a ``tqdm.auto`` bar; unchanged when bars are off."""
    if not progress_enabled():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)
