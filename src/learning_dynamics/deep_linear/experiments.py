"""The chapter's comparisons of theory and simulation, one function each.

The orchestration of chapter 2 (sweeps over seeds, the per-network theory of the
Neuromatch stages, the category-in-noise sample) lives here, so that a chapter cell is
one call whose arguments are the knobs the reader may turn, and so that the tests can
rerun the same comparison over hundreds of seeds:

* :func:`level_groups` — modes of one level of a sampled hierarchy (near-degenerate
  singular values) grouped, so that they are compared as a block;
* :func:`seed_half_time_errors` — relative half-time errors of a batch of random
  starts against eq. (dl-half-time) with the bare or competition-corrected strengths,
  eqs. (dl-u0-eff) and (dl-u0-comp); :func:`competition_overlap` — the measure
  ``(p1 . p2)^2 u0_2 / u0_1`` of the weaker mode's pull on the first;
* :func:`check_stages` — a two-layer network's stages against the exact per-step map,
  eq. (dl-map), predicted from the network's own start (blocks for levels);
* :func:`category_noise_sample` — the data's top item vector and singular value for
  a category in noise over many seeds, eq. (dl-bbp).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_array, check_float, check_int
from .data import noisy_category_data
from .diagnostics import crossing_time, rsm, rsm_correlation
from .ensemble import SeedsHistory
from .theory import (
    effective_initial_blocks,
    effective_initial_strength,
    map_mode_matrix,
    map_mode_strength,
    predicted_loss,
    predicted_outputs,
    predicted_rsm,
)
from .train import History, train

__all__ = [
    "LEVEL_TOL",
    "StageCheck",
    "StageSample",
    "category_noise_sample",
    "check_stages",
    "competition_overlap",
    "level_groups",
    "plateau_steps",
    "remove_competition",
    "seed_half_time_errors",
    "stage_sample",
]

#: Relative gap (to ``s_1``) below which sampled singular values count as one level.
#: Source: over 200 seeds of the chapter's tree data (N_f = 1e4) the values of one
#: level lie within 2 % of ``s_1`` of each other, while levels are >= 12 % apart
#: (``tests/test_deep_linear_checks.py::test_level_groups_recover_the_tree_levels``).
LEVEL_TOL = 0.05


def level_groups(s, tol: float = LEVEL_TOL) -> tuple:
    """Group descending singular values whose gap to the group's first is small.

    Mode ``k`` joins the current group when ``s[first] - s[k] <= tol * s[0]``.

    Parameters
    ----------
    s : 1-D array
        Descending singular values.
    tol : float
        Relative tolerance in ``[0, 1)``.

    Returns
    -------
    tuple of tuple of int
    """
    s = check_array("s", s, ndim=1)
    if s.size == 0 or np.any(np.diff(s) > 0):
        raise ValueError(f"s must be a non-empty descending array; got {s[:5]}")
    tol = check_float("tol", tol, minimum=0.0, maximum=1.0, max_inclusive=False)
    groups, current = [], [0]
    for k in range(1, s.size):
        if s[current[0]] - s[k] <= tol * s[0]:
            current.append(k)
        else:
            groups.append(tuple(current))
            current = [k]
    groups.append(tuple(current))
    return tuple(groups)


def _check_seeds_history(ens) -> SeedsHistory:
    if not isinstance(ens, SeedsHistory):
        raise TypeError(f"ens must be a SeedsHistory; got {type(ens).__name__}")
    if len(ens.weights0[0]) != 2:
        raise ValueError("ens must come from a two-layer network (n_layers = 3)")
    return ens


def seed_half_time_errors(ens, *, orthogonalise: bool) -> np.ndarray:
    """Relative half-time errors ``simulated / predicted - 1`` of every seed.

    Each group of ``ens.svd.groups`` is compared once, against the exact per-step
    map, eq. (dl-map), started at the effective strength of eq. (dl-u0-eff)
    (``orthogonalise=False``) or eq. (dl-u0-comp) (``True``): a single mode by its
    half-time, a degenerate group by the time the trace of its block of
    ``U^T W_2 W_1 V`` reaches half the group's sum, against the sum of its predicted
    curves.  The finite step is therefore not an error source.

    Returns
    -------
    numpy.ndarray
        ``(n_seeds, n_groups)``.
    """
    ens = _check_seeds_history(ens)
    svd, steps = ens.svd, ens.step
    grid = np.arange(int(steps[-1]) + 1)
    errors = np.empty((len(ens.weights0), len(svd.groups)))
    for k, start in enumerate(ens.weights0):
        u0 = effective_initial_strength(start, svd, orthogonalise=orthogonalise)
        curves = map_mode_strength(grid, svd.s, u0, ens.eta)
        for j, group in enumerate(svd.groups):
            idx = list(group)
            level = svd.s[idx].sum() / 2
            block = np.trace(ens.mode_matrix[k][:, idx][:, :, idx], axis1=1, axis2=2)
            sim = crossing_time(steps, block, level)
            theory = crossing_time(grid, curves[:, idx].sum(1), level)
            errors[k, j] = sim / theory - 1
    return errors


def competition_overlap(ens) -> np.ndarray:
    """``(p1_hat . p2_hat)^2 u0_2 / u0_1`` for every seed: the second mode's pull on the
    first.

    ``p_alpha = W1 v_alpha + W2^T u_alpha`` is mode ``alpha``'s growing vector and
    ``u0_alpha = |p_alpha|^2 / 4``, eq. (dl-u0-eff).  While mode 1 rises, the
    competitive term of eq. (dl-coop-comp) couples it to mode 2 through the
    component of ``p_2`` along ``p_1``; this number is that component's share,
    weighted by the two strengths.  Shape ``(n_seeds,)``.
    """
    ens = _check_seeds_history(ens)
    svd, out = ens.svd, np.empty(len(ens.weights0))
    for k, (w1, w2) in enumerate(ens.weights0):
        p = w1 @ svd.v[:, :2] + w2.T @ svd.u[:, :2]
        norms = np.linalg.norm(p, axis=0)
        cosine = p[:, 0] @ p[:, 1] / (norms[0] * norms[1])
        out[k] = cosine**2 * norms[1] ** 2 / norms[0] ** 2
    return out


@dataclass(frozen=True)
class StageCheck:
    """A two-layer network's stages against the exact per-step map, eq. (dl-map).

    Attributes
    ----------
    groups : tuple of tuple of int
        The levels compared as blocks (:func:`level_groups` of the data's ``s``).
    u0 : numpy.ndarray
        Competition-corrected effective strengths of the network's own start,
        eq. (dl-u0-comp), ``(r,)``.
    mode_matrix : numpy.ndarray
        Predicted ``U^T W_2 W_1 V`` at the recorded steps, ``(n_t, r, r)``.
    half_steps : numpy.ndarray
        Predicted step at which each level's block trace reaches half the level's
        sum, ``(n_groups,)``.
    half_error : numpy.ndarray
        Simulated / predicted block half-step ``- 1`` per level.
    loss : numpy.ndarray
        Predicted loss, eq. (dl-loss), ``(n_t,)``.
    loss_error : float
        ``max |loss - predicted| / loss[0]``.
    """

    groups: tuple
    u0: np.ndarray
    mode_matrix: np.ndarray
    half_steps: np.ndarray
    half_error: np.ndarray
    loss: np.ndarray
    loss_error: float


def check_stages(history: History, *, tol: float = LEVEL_TOL) -> StageCheck:
    """Predict a two-layer run from its own start with the exact map, eq. (dl-map).

    Every mode gets its competition-corrected strength, eq. (dl-u0-comp), from the
    network's own start, in descending order of ``s``; only exactly degenerate modes
    (``history.svd.groups``) are treated as one block with its in-group rotation
    (:func:`~learning_dynamics.deep_linear.theory.effective_initial_blocks`).  The
    prediction is compared level by level (:func:`level_groups` with ``tol``): the
    time the trace of a level's block of ``U^T W_2 W_1 V`` reaches half the level's
    sum, which does not depend on the arbitrary basis of near-degenerate modes.  The
    run must record every step from 0 to the last (the map is compared step by step).
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a History; got {type(history).__name__}")
    if history.n_layers != 3:
        raise ValueError(f"history must be a two-layer run (n_layers = 3); got "
                         f"{history.n_layers}")
    steps = history.step
    if not np.array_equal(steps, np.arange(steps[-1] + 1)):
        raise ValueError("history must record every step from 0 (record=None or "
                         "np.arange(steps + 1))")
    svd = history.svd
    groups = level_groups(svd.s, tol)
    u0, rotation = effective_initial_blocks(history.weights0, svd)
    theory = map_mode_matrix(steps, svd.s, u0, rotation, history.eta)
    half, err = np.empty(len(groups)), np.empty(len(groups))
    for j, group in enumerate(groups):
        idx = list(group)
        level = svd.s[idx].sum() / 2
        th = crossing_time(steps, np.trace(theory[:, idx][:, :, idx], axis1=1,
                                           axis2=2), level)
        sim = crossing_time(steps, np.trace(history.mode_matrix[:, idx][:, :, idx],
                                            axis1=1, axis2=2), level)
        half[j], err[j] = th, sim / th - 1
    loss = predicted_loss(svd, theory)
    loss_error = float(np.max(np.abs(history.loss - loss)) / history.loss[0])
    return StageCheck(groups=groups, u0=u0, mode_matrix=theory, half_steps=half,
                      half_error=err, loss=loss, loss_error=loss_error)


def plateau_steps(half_steps, last: int) -> list:
    """Steps midway between consecutive predicted transitions, then ``last``."""
    half = check_array("half_steps", half_steps, ndim=1)
    last = check_int("last", last, minimum=0)
    return [int(round((half[k] + half[k + 1]) / 2)) for k in range(half.size - 1)] + [
        last]


def category_noise_sample(k_items: int, k_features: int, seeds, *, n_items: int,
                          n_features: int, noise: float):
    """Squared overlap of the data's top item vector with the category, and the top
    singular value, for each seed, eq. (dl-bbp).

    Returns
    -------
    (overlap, top) : numpy.ndarray, numpy.ndarray
        Each ``(len(seeds),)``.
    """
    seeds = np.atleast_1d(seeds)
    if not 1 <= seeds.size <= 2000:
        raise ValueError(f"seeds must hold 1 to 2000 seeds; got {seeds.size}")
    overlap, top = np.empty(seeds.size), np.empty(seeds.size)
    for i, seed in enumerate(seeds.tolist()):
        data = noisy_category_data(k_items, k_features, n_items=n_items,
                                   n_features=n_features, noise=noise, seed=seed)
        _, sv, vt = np.linalg.svd(data.y, full_matrices=False)
        overlap[i], top[i] = vt[0, :k_items].sum() ** 2 / k_items, sv[0]
    return overlap, top



@dataclass(frozen=True)
class StageSample:
    """:func:`check_stages` over pairs of networks of two widths, one row per pair.

    Attributes
    ----------
    widths : tuple of int
        The two hidden widths of each pair.
    half_error : numpy.ndarray
        Largest ``|simulated / predicted - 1|`` of the level half-steps, ``(n, 2)``.
    loss_error : numpy.ndarray
        ``max |loss - predicted| / loss[0]``, ``(n, 2)``.
    output_error : numpy.ndarray
        ``max_t |y_hat(row, item) - predicted|`` of the watched output, ``(n, 2)``.
    rsm_error : numpy.ndarray
        Largest ``||RSM - V A V^T|| / ||RSM||`` over the plateaus, with ``A``
        predicted from the network's own start, ``(n, 2)``.
    rsm_correlation : numpy.ndarray
        Smallest correlation over the plateaus of the two networks' similarity
        matrices (off-diagonal entries), ``(n,)``.
    """

    widths: tuple
    half_error: np.ndarray
    loss_error: np.ndarray
    output_error: np.ndarray
    rsm_error: np.ndarray
    rsm_correlation: np.ndarray


def stage_sample(data, seeds, *, eta: float, steps: int, widths=(30, 50),
                 init_scale: float = 1e-12, row: int = -1, item: int = 0
                 ) -> StageSample:
    """Train one network of each width per seed pair and compare it with its own
    theory, :func:`check_stages`, and with its partner.

    Network ``(seed, widths[0])`` uses seed ``2 seed`` and its partner
    ``2 seed + 1`` (``init="scaled_normal"``, the Neuromatch start).  ``row`` and
    ``item`` pick the watched output ``y_hat(row, item)`` (default: the last
    feature, the first item).  At most 200 pairs.
    """
    seeds = np.atleast_1d(seeds)
    if not 1 <= seeds.size <= 200:
        raise ValueError(f"seeds must hold 1 to 200 seeds; got {seeds.size}")
    if len(widths) != 2:
        raise ValueError(f"widths must hold two widths; got {widths}")
    n_out = data.y.shape[0]
    row = check_int("row", row, minimum=-n_out, maximum=n_out - 1) % n_out
    item = check_int("item", item, minimum=0, maximum=data.y.shape[1] - 1)
    fields = {k: np.empty((seeds.size, 2)) for k in ("half", "loss", "out", "rsm")}
    corr = np.empty(seeds.size)
    for i, seed in enumerate(seeds.tolist()):
        runs, plateaus = [], None
        for j, width in enumerate(widths):
            run = train(data, hidden=int(width), eta=eta, steps=steps,
                        init="scaled_normal", init_scale=init_scale,
                        seed=2 * int(seed) + j, prediction_rows=[row])
            check = check_stages(run)
            plateaus = plateau_steps(check.half_steps, steps) if j == 0 else plateaus
            out_th = predicted_outputs(run.svd, check.mode_matrix, rows=[row])
            sim, th = rsm(run.hidden[plateaus]), predicted_rsm(
                run.svd, check.mode_matrix[plateaus])
            fields["half"][i, j] = np.abs(check.half_error).max()
            fields["loss"][i, j] = check.loss_error
            fields["out"][i, j] = np.abs(run.predictions[:, 0, item]
                                         - out_th[:, 0, item]).max()
            fields["rsm"][i, j] = max(np.linalg.norm(a - b) / np.linalg.norm(a)
                                      for a, b in zip(sim, th, strict=True))
            runs.append(sim)
        corr[i] = min(rsm_correlation(a, b)
                      for a, b in zip(runs[0], runs[1], strict=True))
    return StageSample(widths=tuple(int(w) for w in widths),
                       half_error=fields["half"], loss_error=fields["loss"],
                       output_error=fields["out"], rsm_error=fields["rsm"],
                       rsm_correlation=corr)


def remove_competition(weights, svd) -> tuple:
    """Ablation: a two-layer start whose second mode has no component along the
    first mode's growing vector.

    With ``p_1 = W1 v_1 + W2^T u_1`` and ``p_hat = p_1 / |p_1|``, the hidden
    vectors of mode 2 lose their component along ``p_hat``:
    ``W1 <- W1 - p_hat (p_hat . W1 v_2) v_2^T`` and
    ``W2 <- W2 - u_2 (u_2^T W2 p_hat) p_hat^T``.  Mode 1's own vectors are
    untouched, and :func:`competition_overlap` of the result is zero, so any
    remaining mode-1 error does not come from competition with mode 2
    (eq. (dl-coop-comp)).
    """
    w1, w2 = (check_array(f"weights[{i}]", w, ndim=2) for i, w in enumerate(weights))
    if w1.shape[1] != svd.v.shape[0] or w2.shape[0] != svd.u.shape[0] or svd.s.size < 2:
        raise ValueError("weights must be a two-layer start (W1, W2) for these data, "
                         "with at least two modes")
    p1 = w1 @ svd.v[:, 0] + w2.T @ svd.u[:, 0]
    p_hat = p1 / np.linalg.norm(p1)
    v2, u2 = svd.v[:, 1], svd.u[:, 1]
    w1 = w1 - np.outer(p_hat * (p_hat @ (w1 @ v2)), v2)
    w2 = w2 - np.outer(u2, (w2.T @ u2) @ p_hat * p_hat)
    return w1, w2
