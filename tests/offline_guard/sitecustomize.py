"""Start-up hook of the offline test guard (see ``offline_guard.py``).

``tests/conftest.py`` puts this folder first on ``PYTHONPATH`` and sets
``LEARNING_DYNAMICS_OFFLINE=1``; every Python process the suite starts then runs
this file at start-up and refuses network connections.  Another ``sitecustomize``
later on ``sys.path`` (e.g. Debian's) is still run.
"""
from __future__ import annotations

import importlib.util
import os
import sys


def _run_next_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        candidate = os.path.join(entry or os.getcwd(), "sitecustomize.py")
        if os.path.abspath(entry or os.getcwd()) != here and os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_sitecustomize", candidate)
            if spec is not None and spec.loader is not None:
                try:
                    spec.loader.exec_module(importlib.util.module_from_spec(spec))
                except Exception as error:  # as Python does for its own sitecustomize
                    print(f"Error in {candidate}: {error!r}", file=sys.stderr)
            return


if os.environ.get("LEARNING_DYNAMICS_OFFLINE") == "1":
    from offline_guard import install

    install()
_run_next_sitecustomize()
