"""Where computations run: the GPU when there is one, otherwise the CPU.

Nothing in the book needs a GPU.  Comparisons of theory with simulation run in
float64 on whichever device :func:`get_device` picks, so the numbers agree to
rounding error across machines.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
from typing import Callable, Iterator

import torch

from .validation import check_bool, check_int

__all__ = ["get_device", "configure_threads", "available_cores", "single_threaded"]


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


def _openblas_thread_functions() -> tuple[Callable, Callable] | None:
    """``(set_num_threads, get_num_threads)`` of the OpenBLAS that numpy loaded, if any (Linux only)."""
    try:
        with open("/proc/self/maps") as fh:
            libs = sorted({w for w in fh.read().split() if "openblas" in w and w.endswith(".so")})
        for path in libs:
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas_", "openblas_"):
                for suffix in ("64_", ""):
                    if hasattr(lib, f"{prefix}set_num_threads{suffix}"):
                        return (getattr(lib, f"{prefix}set_num_threads{suffix}"),
                                getattr(lib, f"{prefix}get_num_threads{suffix}"))
    except (OSError, AttributeError):  # other platforms: leave BLAS alone
        return None
    return None


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch and numpy's OpenBLAS on one thread inside the block, then restore.

    Long loops of small matrix products (the exact recursions of chapter 3) run
    several times faster on one thread than on two competing ones, and do not
    oversubscribe a shared 2-core machine.  Where numpy's BLAS cannot be reached
    (not OpenBLAS, not Linux), only torch is limited.
    """
    torch_threads = torch.get_num_threads()
    blas = _openblas_thread_functions()
    old_blas = blas[1]() if blas else None
    torch.set_num_threads(1)
    if blas:
        blas[0](1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        if blas:
            blas[0](old_blas)
