"""Many seeds at once: batched full-batch gradient descent of chapter 2.

:func:`train_seeds` runs the same gradient descent as
:func:`~learning_dynamics.deep_linear.train`, eq. (dl-gd), for a stack of random starts
in one batched loop (one matrix product per layer for all seeds), so claims can be
stated over 40 seeds within the chapter's budget. It records only mode strengths.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..device import single_threaded
from ..validation import check_finite_loss, check_int, check_times
from .data import Dataset, DataSVD, check_dataset, data_svd
from .theory import MAX_LAYERS
from .train import _check_eta, _check_weights0, init_weights

__all__ = ["SeedsHistory", "train_seeds"]

#: Most entries ``n_seeds * n_rec * r * r`` of the recorded mode matrices (8 bytes
# each).
MAX_RECORD_ENTRIES = 50_000_000


@dataclass(frozen=True)
class SeedsHistory:
    """Mode matrices of a batch of runs recorded by :func:`train_seeds`.

    Attributes
    ----------
    step, t : numpy.ndarray
        Recorded steps and times ``t = step * eta`` (units of ``tau``), ``(n_rec,)``.
    mode_matrix : numpy.ndarray
        ``U^T W(t) V`` for every seed, ``(n_seeds, n_rec, r, r)``.
    mode_strength : numpy.ndarray
        Its diagonal, ``(n_seeds, n_rec, r)``.
    weights0 : tuple of tuple of numpy.ndarray
        The initial weights of each seed.
    svd : DataSVD
    eta : float
    """

    step: np.ndarray
    t: np.ndarray
    mode_matrix: np.ndarray
    mode_strength: np.ndarray
    weights0: tuple
    svd: DataSVD
    eta: float


def train_seeds(data: Dataset, seeds, *, hidden: int = 16, n_layers: int = 3,
                eta: float = 1e-3, steps: int = 1000, init: str = "random",
                init_scale: float = 0.01, record=None,
                weights0=None) -> SeedsHistory:
    """Gradient descent from the starts of
    :func:`~learning_dynamics.deep_linear.train.init_weights`, for every seed in
    ``seeds``.

    Same arguments as :func:`~learning_dynamics.deep_linear.train` (no output
    reduction); ``record`` defaults to 201 evenly spaced steps. At most 1000 seeds.
    ``weights0``, if given, is one start per seed (each a sequence of
    ``n_layers - 1`` matrices, as
    :func:`~learning_dynamics.deep_linear.train.init_weights` returns) and replaces the
    drawn starts (for ablations that edit a start).
    """
    data = check_dataset(data)
    seeds = [check_int("seeds[i]", s, minimum=0) for s in np.atleast_1d(seeds).tolist()]
    if not 1 <= len(seeds) <= 1000:
        raise ValueError(f"seeds must hold between 1 and 1000 seeds; got {len(seeds)}")
    n_layers = check_int("n_layers", n_layers, minimum=2, maximum=MAX_LAYERS)
    eta, limit = _check_eta(data, eta, n_layers, True)
    steps = check_int("steps", steps, minimum=1, maximum=10_000_000)
    record = (np.unique(np.linspace(0, steps, 201).astype(np.int64)) if record is None
              else check_times("record", record, maximum=steps))
    svd = data_svd(data)
    rank = svd.s.size
    if len(seeds) * record.size * rank * rank > MAX_RECORD_ENTRIES:
        raise ValueError(
            f"seeds x record x rank^2 = {len(seeds) * record.size * rank**2} "
            f"entries exceed the limit {MAX_RECORD_ENTRIES}; record fewer steps"
        )
    if weights0 is None:
        starts = [init_weights(data, hidden=hidden, n_layers=n_layers, init=init,
                               scale=init_scale, seed=s) for s in seeds]
    else:
        if len(weights0) != len(seeds):
            raise ValueError(f"weights0 must hold one start per seed ({len(seeds)}); "
                             f"got {len(weights0)}")
        starts = [_check_weights0(data, w, n_layers) for w in weights0]
        if len({tuple(w.shape for w in start) for start in starts}) != 1:
            raise ValueError("weights0: every start must have the same shapes")
    weights = [np.stack([start[i] for start in starts]) for i in range(n_layers - 1)]
    wanted = set(record.tolist())
    with single_threaded():
        modes = _descend(weights, data, svd, steps, eta, limit, wanted)
    mode_matrix = np.stack(modes, axis=1)
    return SeedsHistory(step=record, t=record * eta, mode_matrix=mode_matrix,
                        mode_strength=np.einsum("sraa->sra", mode_matrix).copy(),
                        weights0=tuple(starts), svd=svd, eta=eta)


def _descend(weights, data, svd, steps, eta, limit, wanted) -> list:
    """The batched gradient-descent loop; returns the recorded mode matrices."""
    targets, inputs, modes = data.y, data.x, []
    for step in range(steps + 1):
        activations = [inputs]
        for weight in weights:
            activations.append(weight @ activations[-1])
        residual = targets - activations[-1]
        if step in wanted:
            check_finite_loss(float(np.sum(residual**2)), step, knob=f"eta = {eta:g}",
                              hint=f"The stability limit is {limit:.3g}.")
            product = svd.u.T
            for weight in reversed(weights):
                product = product @ weight
            modes.append(product @ svd.v)
        if step == steps:
            break
        delta, grads = residual, [None] * len(weights)
        for i in range(len(weights) - 1, -1, -1):
            grads[i] = delta @ np.swapaxes(activations[i], -1, -2)
            if i:
                delta = np.swapaxes(weights[i], -1, -2) @ delta
        weights = [w + eta * g for w, g in zip(weights, grads, strict=True)]
    return modes
