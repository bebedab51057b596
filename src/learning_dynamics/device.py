"""Where computations run: the GPU when there is one, otherwise the CPU.

Nothing in the book needs a GPU.  Comparisons of theory with simulation run in
float64 on whichever device :func:`get_device` picks, so the numbers agree to
rounding error across machines.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
from pathlib import Path
from typing import Callable, Iterator

import torch

from .validation import check_bool, check_int

__all__ = [
    "get_device",
    "configure_threads",
    "available_cores",
    "cgroup_cpu_limit",
    "single_threaded",
]


def cgroup_cpu_limit(root: str | os.PathLike = "/sys/fs/cgroup") -> int | None:
    """CPU cores allowed by the cgroup CPU quota, or ``None`` when there is no quota.

    Reads ``cpu.max`` (cgroup v2: ``"<quota> <period>"`` or ``"max <period>"``) or,
    failing that, ``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us`` (cgroup v1).
    A quota of 1.5 cores counts as 2 (a partial core still runs a thread).  Binder
    and most container platforms limit CPU this way, which ``sched_getaffinity``
    does not see.
    """
    base = Path(root)
    try:
        if (base / "cpu.max").is_file():
            quota, period = (base / "cpu.max").read_text().split()[:2]
        else:
            quota = (base / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (base / "cpu" / "cpu.cfs_period_us").read_text().strip()
        if quota in ("max", "-1"):
            return None
        quota_us, period_us = int(quota), int(period)
    except (OSError, ValueError):  # no cgroup files, or a format we do not know
        return None
    if quota_us <= 0 or period_us <= 0:
        return None
    return max(1, math.ceil(quota_us / period_us))


def available_cores() -> int:
    """CPU cores this process may use: its CPU affinity, capped by the cgroup quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return cores if limit is None else max(1, min(cores, limit))


DEVICE_VARIABLE = "LEARNING_DYNAMICS_DEVICE"


def _forced_device(text: str) -> torch.device:
    """The device named by ``LEARNING_DYNAMICS_DEVICE``, checked to exist."""
    accepted = "'cpu', 'cuda', 'cuda:<index>' or 'mps'"
    try:
        device = torch.device(text.strip())
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"environment variable {DEVICE_VARIABLE} must be {accepted}; got {text!r}"
        )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"environment variable {DEVICE_VARIABLE}={text!r} asks for "
            "CUDA, but no CUDA device is available; unset it or use 'cpu'"
        )
    mps = getattr(torch.backends, "mps", None)
    if device.type == "mps" and (mps is None or not mps.is_available()):
        raise ValueError(
            f"environment variable {DEVICE_VARIABLE}={text!r} asks for "
            "MPS, but MPS is not available; unset it or use 'cpu'"
        )
    return device


def get_device(prefer_gpu: bool = True) -> torch.device:
    """Return ``cuda`` (or ``mps``) when available and ``prefer_gpu``, else ``cpu``.

    Set the environment variable ``LEARNING_DYNAMICS_DEVICE=cpu`` to force the CPU
    (or ``cuda``, ``cuda:1``, ``mps``); any other value, or a device that is not
    available, raises a ``ValueError`` that names the variable.
    """
    prefer_gpu = check_bool("prefer_gpu", prefer_gpu)
    forced = os.environ.get(DEVICE_VARIABLE, "")
    if forced.strip():
        return _forced_device(forced)
    if prefer_gpu and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if prefer_gpu and mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def configure_threads(max_threads: int | None = None) -> int:
    """Limit torch's intra-op threads to the cores actually available.

    Parameters
    ----------
    max_threads : int, optional
        Upper bound; defaults to the number of available cores (the CPU affinity
        capped by the cgroup quota: 2 on Binder), or to ``OMP_NUM_THREADS`` when
        that environment variable is a positive integer (the test-suite sets it
        to 1 so that its two workers do not each start two BLAS threads).

    Returns
    -------
    int
        The number of threads torch will use.
    """
    cores = available_cores()
    if max_threads is None:
        requested = os.environ.get("OMP_NUM_THREADS", "").strip()
        positive = requested.isdigit() and int(requested) > 0
        max_threads = int(requested) if positive else cores
    n = min(cores, check_int("max_threads", max_threads, minimum=1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def _openblas_thread_functions() -> tuple[Callable, Callable] | None:
    """``(set_num_threads, get_num_threads)`` of numpy's OpenBLAS (Linux only)."""
    try:
        with open("/proc/self/maps") as fh:
            libs = sorted(
                {w for w in fh.read().split() if "openblas" in w and w.endswith(".so")}
            )
        for path in libs:
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas_", "openblas_"):
                for suffix in ("64_", ""):
                    if hasattr(lib, f"{prefix}set_num_threads{suffix}"):
                        return (
                            getattr(lib, f"{prefix}set_num_threads{suffix}"),
                            getattr(lib, f"{prefix}get_num_threads{suffix}"),
                        )
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
