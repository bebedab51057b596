"""Spectra of chapter 2's data sets (deep linear networks).

The level spectrum of branching-diffusion (tree) data, eq. (dl-tree-spectrum), and a
category embedded in Gaussian noise: its singular value, item overlap and detectability
threshold, eq. (dl-bbp).
"""
from __future__ import annotations

import math

import numpy as np

from ..validation import check_float, check_int
from .data import check_flip_prob
from .theory import positive_vector

__all__ = ["tree_level_spectrum", "tree_singular_values", "category_outlier"]

#: Largest tree (number of leaf items) whose spectrum is expanded item by item.
MAX_TREE_ITEMS = 4096


def tree_level_spectrum(branching: int, depth: int,
                        flip_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of the item covariance of branching-diffusion data, eq.
    (dl-tree-spectrum).

    With ``q = (1 - 2 flip_prob)^2``, ``w_0 = q^D`` and ``w_l = q^(D-l) (1-q)``, the
    level-``k`` eigenvalue is ``lambda_k = sum_{l >= k} w_l B^(D-l)``, with multiplicity
    1
    for ``k = 0`` and ``(B-1) B^(k-1)`` otherwise; ``B^D <= 2^53``.

    Returns
    -------
    (lambda, multiplicity) : tuple of numpy.ndarray
        Both of length ``depth + 1``, root level first (largest eigenvalue first).
    """
    branching = check_int("branching", branching, minimum=2)
    depth = check_int("depth", depth, minimum=1, maximum=53)
    if branching**depth > 2**53:
        raise ValueError(f"branching ** depth must be at most 2**53 (exact in floating "
                         f"point); got {branching}**{depth}")
    q = (1.0 - 2.0 * check_flip_prob("flip_prob", flip_prob)) ** 2
    levels = np.arange(depth + 1)
    weights = np.where(levels == 0, q**depth, q ** (depth - levels) * (1.0 - q))
    sizes = float(branching) ** (depth - levels)
    lam = np.array([np.sum(weights[k:] * sizes[k:]) for k in levels])
    mult = np.array([1] + [(branching - 1) * branching ** (k - 1)
                           for k in range(1, depth + 1)], dtype=np.int64)
    return lam, mult


def tree_singular_values(branching: int, depth: int, flip_prob: float,
                         n_features: int) -> np.ndarray:
    """Predicted singular values ``sqrt(N_f lambda_k)`` repeated by multiplicity.

    Largest first, one per item (``branching ** depth <= 4096`` items, the same limit
    as :func:`~learning_dynamics.deep_linear.data.branching_diffusion`), eq.
    (dl-tree-spectrum).
    """
    n_features = check_int("n_features", n_features, minimum=1)
    branching = check_int("branching", branching, minimum=2)
    depth = check_int("depth", depth, minimum=1, maximum=53)
    if branching**depth > MAX_TREE_ITEMS:
        raise ValueError(f"branching ** depth must be at most {MAX_TREE_ITEMS} items; "
                         f"got {branching}**{depth} = {branching**depth}")
    lam, mult = tree_level_spectrum(branching, depth, flip_prob)
    return np.repeat(np.sqrt(n_features * lam), mult)


def category_outlier(strength, noise: float, n_items: int, n_features: int) -> dict:
    """A category of strength ``s`` in Gaussian noise: outlier and threshold, eq.
    (dl-bbp).

    For ``s u v^T + noise * G`` (``G`` an ``N_o x N_i`` matrix of i.i.d. standard
    normals) the noise bulk of singular values ends at ``noise (sqrt N_o + sqrt N_i)``;
    the category separates from it only if ``s > s_c = noise (N_o N_i)^(1/4)``, and then
    its singular value is ``sqrt((s^2 + noise^2 N_o)(s^2 + noise^2 N_i)) / s`` and its
    item vector overlaps the category's with
    ``|v . v_hat|^2 = 1 - (c + theta^2) / (theta^2 (theta^2 + 1))``,
    ``theta^2 = s^2 / (noise^2 N_i)``, ``c = N_o / N_i`` (0 below the threshold).

    Returns
    -------
    dict
        ``singular_value``, ``item_overlap`` (arrays like ``strength``), ``threshold``
        and ``bulk_edge`` (floats).
    """
    s = positive_vector("strength", strength)
    noise = check_float("noise", noise, minimum=0.0, min_inclusive=False)
    n_items = check_int("n_items", n_items, minimum=1)
    n_features = check_int("n_features", n_features, minimum=1)
    threshold = noise * (n_features * n_items) ** 0.25
    edge = noise * (math.sqrt(n_features) + math.sqrt(n_items))
    above = s > threshold
    value = np.where(above, np.sqrt((s**2 + noise**2 * n_features)
                                    * (s**2 + noise**2 * n_items)) / s, edge)
    theta2, ratio = s**2 / (noise**2 * n_items), n_features / n_items
    overlap = np.where(above, 1.0 - (ratio + theta2) / (theta2 * (theta2 + 1.0)), 0.0)
    return {"singular_value": value, "item_overlap": np.clip(overlap, 0.0, 1.0),
            "threshold": threshold, "bulk_edge": edge}
