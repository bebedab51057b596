"""Self-check functions for the book's coding exercises.

Each chapter's coding exercises have a ``check_*`` function here that calls the
student's function on several inputs, compares with the reference answer and
prints a clear verdict.  A student stub that still raises ``NotImplementedError``
gets a "not implemented yet" verdict rather than a traceback.
"""
from ._core import CheckResult, run_check

__all__ = ["CheckResult", "run_check"]
