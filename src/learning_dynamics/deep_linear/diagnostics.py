"""Measurements on simulated runs of chapter 2 (deep linear networks).

Crossing and half-times of recorded curves, summed strength of a degenerate group,
representational similarity matrices and their correlation, inductive projection,
eq. (dl-projection), and the Procrustes residual that says whether two networks'
hidden layers differ only by a rotation.
"""
from __future__ import annotations

import numpy as np

from ..validation import check_array, check_bool, check_int, check_times
from .theory import check_time_points
from .train import History

__all__ = [
    "crossing_time",
    "mode_half_times",
    "block_strength",
    "rsm",
    "rsm_correlation",
    "inductive_projection",
    "procrustes_residual",
]


def _check_history(history) -> History:
    if not isinstance(history, History):
        raise TypeError(f"history must be a History; got {type(history).__name__}")
    return history


def crossing_time(t, values, level) -> np.ndarray:
    """First time each column of ``values`` reaches ``level`` (linear interpolation).

    ``values`` has shape ``(len(t),)`` or ``(len(t), k)``; ``level`` is a scalar or one
    per column. NaN where a column never reaches its level.
    """
    t = check_time_points("t", t)
    vals = check_array("values", values)
    single = vals.ndim == 1
    vals = vals[:, None] if single else vals
    if vals.ndim != 2 or vals.shape[0] != t.size:
        raise ValueError(f"values must have shape (len(t), k) = ({t.size}, k); "
                         f"got {np.shape(values)}")
    levels = np.broadcast_to(
        np.atleast_1d(check_array("level", level)), (vals.shape[1],)
    )
    out = np.full(vals.shape[1], np.nan)
    for j in range(vals.shape[1]):
        above = np.nonzero(vals[:, j] >= levels[j])[0]
        if above.size == 0:
            continue
        i = above[0]
        if i == 0:
            out[j] = t[0]
        else:
            frac = (levels[j] - vals[i - 1, j]) / (vals[i, j] - vals[i - 1, j])
            out[j] = t[i - 1] + frac * (t[i] - t[i - 1])
    return out[0] if single else out


def mode_half_times(history: History, *, in_steps: bool = False) -> np.ndarray:
    """Time at which each recorded mode strength first reaches ``s/2`` (``tau`` or
    steps)."""
    history = _check_history(history)
    in_steps = check_bool("in_steps", in_steps)
    t = history.step.astype(float) if in_steps else history.t
    return crossing_time(t, history.mode_strength, history.svd.s / 2.0)


def block_strength(history: History, group) -> np.ndarray:
    """Summed strength ``tr(U_g^T W V_g)`` of a group of modes.

    Basis-independent inside a degenerate group, so it is the quantity to compare with
    theory there.
    """
    history = _check_history(history)
    idx = [int(i) for i in check_times("group", group, maximum=history.svd.s.size - 1)]
    return np.trace(history.mode_matrix[:, idx][:, :, idx], axis1=1, axis2=2)


def rsm(hidden) -> np.ndarray:
    """Representational similarity matrix ``H^T H`` (items as columns), eq. (dl-rsm).

    ``hidden`` is ``(N, P)`` or a stack ``(n, N, P)``; returns ``(P, P)`` or ``(n, P,
    P)``.
    """
    hidden = check_array("hidden", hidden)
    if hidden.ndim not in (2, 3):
        raise ValueError(
            f"hidden must have shape (N, P) or (n, N, P); got {hidden.shape}"
        )
    return np.swapaxes(hidden, -1, -2) @ hidden


def rsm_correlation(rsm_a, rsm_b, *, include_diagonal: bool = False) -> float:
    """Pearson correlation of the upper triangles of two ``P x P`` similarity
    matrices."""
    first = check_array("rsm_a", rsm_a, ndim=2)
    second = check_array("rsm_b", rsm_b, ndim=2)
    if (
        first.shape != second.shape
        or first.shape[0] != first.shape[1]
        or first.shape[0] < 3
    ):
        raise ValueError(
            f"rsm_a and rsm_b must be square matrices of the same size >= 3; "
            f"got {first.shape}, {second.shape}"
        )
    include_diagonal = check_bool("include_diagonal", include_diagonal)
    upper = np.triu_indices(first.shape[0], k=0 if include_diagonal else 1)
    for name, values in (("rsm_a", first[upper]), ("rsm_b", second[upper])):
        if np.ptp(values) <= 1e-12 * np.max(np.abs(values)):
            raise ValueError(
                f"{name} has the same value {values[0]:g} at every compared entry; a "
                "correlation with a constant is undefined (0/0)")
    return float(np.corrcoef(first[upper], second[upper])[0, 1])


def inductive_projection(hidden, item: int) -> np.ndarray:
    """How a property taught for ``item`` generalises to every item, eq.
    (dl-projection).

    Training only a new output row on ``item`` (hidden layer frozen) from zero gives the
    min-norm row ``w = h_i^T / ||h_i||^2``, which predicts ``h_j . h_i / ||h_i||^2`` for
    item ``j``. ``hidden`` is ``(N, P)`` or ``(n, N, P)``.
    """
    hidden = check_array("hidden", hidden)
    if hidden.ndim not in (2, 3):
        raise ValueError(
            f"hidden must have shape (N, P) or (n, N, P); got {hidden.shape}"
        )
    item = check_int("item", item, minimum=0, maximum=hidden.shape[-1] - 1)
    taught = hidden[..., item]
    return (np.einsum("...np,...n->...p", hidden, taught)
            / np.sum(taught * taught, axis=-1)[..., None])


def procrustes_residual(hidden_a, hidden_b) -> float:
    """Relative residual ``min_Q ||H_b - Q H_a|| / ||H_b||`` over orthogonal-like ``Q``.

    ``H_a`` is ``(N_a, P)`` and ``H_b`` is ``(N_b, P)``; ``Q`` ranges over ``N_b x N_a``
    matrices with orthonormal columns (``N_b >= N_a``) or rows, i.e. a rotation between
    hidden layers of different widths. Zero when the two representations differ only by
    a rotation; about 1 for unrelated ones.
    """
    first = check_array("hidden_a", hidden_a, ndim=2)
    second = check_array("hidden_b", hidden_b, ndim=2)
    if first.shape[1] != second.shape[1]:
        raise ValueError(f"hidden_a and hidden_b must have the same number of items "
                         f"(columns); got {first.shape} and {second.shape}")
    left, _, right_t = np.linalg.svd(second @ first.T, full_matrices=False)
    rotation = left @ right_t
    return float(np.linalg.norm(second - rotation @ first) / np.linalg.norm(second))
