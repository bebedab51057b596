"""Where computations run: the GPU when there is one, otherwise the CPU.

Nothing in the book needs a GPU.  Comparisons of theory with simulation run in
float64 on whichever device :func:`get_device` picks, so the numbers agree to
rounding error across machines.
"""
from __future__ import annotations

import os

import torch

from .validation import check_bool, check_int

__all__ = ["get_device", "configure_threads", "available_cores"]


def available_cores() -> int:
    """Number of CPU cores this process may use (respects CPU affinity, e.g. in containers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def get_device(prefer_gpu: bool = True) -> torch.device:
    """Return ``cuda`` (or ``mps``) when available and ``prefer_gpu``, else ``cpu``.

    Set the environment variable ``LEARNING_DYNAMICS_DEVICE=cpu`` to force the CPU.
    """
    prefer_gpu = check_bool("prefer_gpu", prefer_gpu)
    forced = os.environ.get("LEARNING_DYNAMICS_DEVICE")
    if forced:
        return torch.device(forced)
    if prefer_gpu and torch.cuda.is_available():
        return torch.device("cuda")
    if prefer_gpu and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def configure_threads(max_threads: int | None = None) -> int:
    """Limit torch's intra-op threads to the cores actually available.

    Parameters
    ----------
    max_threads : int, optional
        Upper bound; defaults to the number of available cores (2 on Binder).

    Returns
    -------
    int
        The number of threads torch will use.
    """
    cores = available_cores()
    n = cores if max_threads is None else min(cores, check_int("max_threads", max_threads, minimum=1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
