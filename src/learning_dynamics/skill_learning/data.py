"""Skills, frequencies and task directions of chapter 7 (skills learned in turn).

A *skill* ``k`` is the projection ``s_k = e_k . x`` of one parameter vector ``x`` on a
unit task direction ``e_k``; tasks are drawn with frequencies ``p_k`` (eq.
(sl-geometry)). This module makes the frequencies (two skills with ratio
``r = p_1/p_2``, or Zipf with exponent ``gamma``), the task directions and the
per-step task counts of a minibatch.
"""

from __future__ import annotations

import numpy as np

from ..seeding import make_rng
from ..validation import check_array, check_choice, check_float, check_int, check_memory

__all__ = [
    "MAX_DIM",
    "MAX_SKILLS",
    "two_skill_frequencies",
    "zipf_frequencies",
    "task_vectors",
    "draw_counts",
    "check_frequencies",
    "parity_data",
]

#: Largest parameter dimension ``d`` accepted.
MAX_DIM = 100_000
#: Largest number of skills ``n`` accepted.
MAX_SKILLS = 2_000_000


def check_frequencies(name: str, p) -> np.ndarray:
    """Return ``p`` as a float64 array of shape ``(..., n)`` of positive frequencies
    summing to one along the last axis (eq. (sl-geometry))."""
    arr = check_array(name, p)
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(
            f"{name} must have a last axis of skills; got shape {arr.shape}"
        )
    if arr.shape[-1] > MAX_SKILLS:
        raise ValueError(
            f"{name} must hold at most {MAX_SKILLS} skills; got {arr.shape[-1]}"
        )
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere; got min {arr.min():g}")
    total = arr.sum(axis=-1)
    if np.any(np.abs(total - 1) > 1e-9):
        raise ValueError(
            f"{name} must sum to 1 along its last axis; got sums in "
            f"[{total.min():.12g}, {total.max():.12g}]"
        )
    return arr


def two_skill_frequencies(r) -> np.ndarray:
    """Frequencies ``(p_1, p_2) = (r, 1) / (1 + r)`` of two skills with ratio ``r``.

    Parameters
    ----------
    r : float or array_like
        Frequency ratio ``p_1 / p_2 >= 1`` (at most ``1e8``).

    Returns
    -------
    numpy.ndarray
        Shape ``(..., 2)``, rows summing to one (eq. (sl-geometry)).
    """
    arr = check_array("r", r)
    if np.any(arr < 1) or np.any(arr > 1e8):
        raise ValueError(f"r must be in [1, 1e8]; got values in [{arr.min():g}, "
                         f"{arr.max():g}]")
    return np.stack([arr / (1 + arr), 1 / (1 + arr)], axis=-1)


def zipf_frequencies(n: int, gamma: float) -> np.ndarray:
    """Zipf frequencies ``p_k = k^(-gamma) / sum_j j^(-gamma)``, ``k = 1..n``.

    Parameters
    ----------
    n : int
        Number of skills, ``1 <= n <= MAX_SKILLS``.
    gamma : float
        Zipf exponent, ``0 <= gamma <= 10`` (the paper writes alpha; eq. (sl-zipf)).
    """
    n = check_int("n", n, minimum=1, maximum=MAX_SKILLS)
    gamma = check_float("gamma", gamma, minimum=0.0, maximum=10.0)
    w = np.arange(1, n + 1, dtype=np.float64) ** -gamma
    return w / w.sum()


def task_vectors(n: int, d: int, *, seeds: int = 1, seed: int = 0,
                 kind: str = "orthonormal") -> np.ndarray:
    """Unit task directions ``e_k`` in ``R^d`` for ``seeds`` independent draws.

    Parameters
    ----------
    n, d : int
        Number of skills and parameter dimension (``n <= d`` for orthonormal tasks).
    seeds : int
        Independent task sets (leading axis).
    seed : int
        Seed of the draw (moved by ``LEARNING_DYNAMICS_SEED_OFFSET``).
    kind : {"orthonormal", "gaussian"}
        ``"orthonormal"``: the first ``n`` rows of a Haar-random orthogonal matrix;
        ``"gaussian"``: independent normalised Gaussian vectors.

    Returns
    -------
    numpy.ndarray
        Shape ``(seeds, n, d)``, float64, rows of unit norm.
    """
    n = check_int("n", n, minimum=1, maximum=MAX_SKILLS)
    d = check_int("d", d, minimum=1, maximum=MAX_DIM)
    seeds = check_int("seeds", seeds, minimum=1, maximum=100_000)
    kind = check_choice("kind", kind, ("orthonormal", "gaussian"))
    if kind == "orthonormal" and n > d:
        raise ValueError(f"n must be <= d for orthonormal tasks; got n = {n}, d = {d}")
    check_memory("seeds * n * d", seeds * n * d, 8.0 * seeds * n * d * 2)
    g = make_rng(seed).standard_normal((seeds, d, n))
    if kind == "orthonormal":
        q, rr = np.linalg.qr(g)  # Haar: fix the signs by the diagonal of R
        q = q * np.sign(np.diagonal(rr, axis1=1, axis2=2))[:, None, :]
        return np.ascontiguousarray(np.swapaxes(q, 1, 2))
    t = np.swapaxes(g, 1, 2)
    return t / np.linalg.norm(t, axis=2, keepdims=True)


def draw_counts(p, batch: int, steps: int, *, seed: int = 0) -> np.ndarray:
    """Task counts ``n_k`` of each minibatch: multinomial(``batch``, ``p``) per step.

    Parameters
    ----------
    p : array_like
        Frequencies, shape ``(seeds, n)`` (or ``(n,)`` for one run).
    batch : int
        Minibatch size ``B``, ``1 <= B <= 10**6``.
    steps : int
        Number of steps, at most ``10**6``.
    seed : int
        Seed of the draw.

    Returns
    -------
    numpy.ndarray
        Shape ``(steps, seeds, n)``, int64; each row sums to ``batch``
        (eq. (sl-sgd-step)).
    """
    p = check_frequencies("p", p)
    p2 = p.reshape(-1, p.shape[-1])
    batch = check_int("batch", batch, minimum=1, maximum=10**6)
    steps = check_int("steps", steps, minimum=1, maximum=10**6)
    check_memory("steps * seeds * n", steps * p2.size, 8.0 * steps * p2.size * 2)
    rng = make_rng(seed)
    if p2.shape[1] == 2:
        first = rng.binomial(batch, p2[:, 0], size=(steps, p2.shape[0]))
        return np.stack([first, batch - first], axis=-1).astype(np.int64)
    return rng.multinomial(batch, p2, size=(steps, p2.shape[0])).astype(np.int64)


def parity_data(P: int, bits: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two-task sparse parity: ``y_1 = x_1 xor x_2``, ``y_2 = x_3 xor x_4``.

    Parameters
    ----------
    P : int
        Number of examples, ``1 <= P <= 10**6``.
    bits : int
        Input bits (``4 <= bits <= 1024``), each 0 or 1 with probability one half.
    seed : int
        Seed of the draw.

    Returns
    -------
    x, y : numpy.ndarray
        Shapes ``(P, bits)`` and ``(P, 2)``, float64 in {0, 1}.
    """
    P = check_int("P", P, minimum=1, maximum=10**6)
    bits = check_int("bits", bits, minimum=4, maximum=1024)
    check_memory("P * bits", P * bits, 8.0 * P * bits)
    x = make_rng(seed).integers(0, 2, size=(P, bits)).astype(np.float64)
    y = np.stack([np.logical_xor(x[:, 0], x[:, 1]),
                  np.logical_xor(x[:, 2], x[:, 3])], axis=1).astype(np.float64)
    return x, y
