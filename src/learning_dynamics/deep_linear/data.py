"""Data sets of chapter 2 (deep linear networks).

The toy four-item set, branching-diffusion (tree) data with named items, typicality and
category-coherence sets (also embedded in noise), and the SVD of the input-output
correlation with its degenerate groups, eq. (dl-svd).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..seeding import make_rng
from ..validation import check_array, check_float, check_int, check_memory

__all__ = [
    "Dataset",
    "DataSVD",
    "data_svd",
    "toy_data",
    "branching_diffusion",
    "add_property",
    "typicality_data",
    "category_data",
    "noisy_category_data",
]

#: Largest number of items (columns) a generated data set may have.
MAX_ITEMS = 4096
#: Largest number of entries ``N_out * P`` of a generated target matrix (8 bytes each).
MAX_ENTRIES = 50_000_000
#: Largest entry of ``Sigma_x - I`` accepted without a warning (rounding of one-hot
#: or orthonormal inputs is ~1e-15; the chapter's theory assumes ``Sigma_x = I``).
WHITE_TOL = 1e-8


@dataclass(frozen=True)
class Dataset:
    """A supervised data set with named items and features.

    Attributes
    ----------
    x : numpy.ndarray
        Inputs as columns, shape ``(d, P)`` (the identity for one-hot items).
    y : numpy.ndarray
        Targets as columns, shape ``(N_out, P)``; row ``m`` is feature ``m`` of every
        item.
    item_names : tuple of str
        One name per item (column).
    feature_names : tuple of str
        One name per feature (row of ``y``).
    """

    x: np.ndarray
    y: np.ndarray
    item_names: tuple
    feature_names: tuple

    def __post_init__(self):
        """Validate once: finite 2-D arrays with one column per item and matching
        names."""
        x = check_array("x", self.x, ndim=2)
        y = check_array("y", self.y, ndim=2)
        if x.shape[1] != y.shape[1]:
            raise ValueError(f"x and y must have one column per item; got x {x.shape}, "
                             f"y {y.shape}")
        if len(self.item_names) != x.shape[1] or len(self.feature_names) != y.shape[0]:
            raise ValueError(f"item_names ({len(self.item_names)}) and feature_names "
                             f"({len(self.feature_names)}) must match the {x.shape[1]} "
                             f"items and {y.shape[0]} features")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        sigma_x = x @ x.T
        if not np.allclose(sigma_x, np.eye(x.shape[0]), rtol=0.0, atol=WHITE_TOL):
            warnings.warn(
                f"Sigma_x = x x^T is not the identity (largest deviation "
                f"{np.abs(sigma_x - np.eye(x.shape[0])).max():.3g} > {WHITE_TOL:g}): "
                f"the mode equations and the stability limit of chapter 2 assume "
                f"whitened inputs; whiten x or read their predictions as "
                f"approximate.", UserWarning, stacklevel=3)

    @property
    def sigma_yx(self) -> np.ndarray:
        """Input-output correlation ``y x^T`` (a sum over examples)."""
        return self.y @ self.x.T

    @property
    def sigma_x(self) -> np.ndarray:
        """Input correlation ``x x^T`` (the identity for one-hot items)."""
        return self.x @ self.x.T


@dataclass(frozen=True)
class DataSVD:
    """SVD of ``Sigma_yx = U diag(s) V^T`` (rank-``r`` part).

    Attributes
    ----------
    u : numpy.ndarray
        Output singular vectors, ``(N_out, r)``.
    s : numpy.ndarray
        Singular values, descending, ``(r,)``.
    v : numpy.ndarray
        Input (item) singular vectors, ``(d, r)``; signs chosen so that each column sums
        to a
        non-negative number (``v_1`` is then positive on every item).
    groups : tuple of tuple of int
        Modes with equal singular values (relative tolerance ``degeneracy_tol``);
        singular
        vectors are only defined up to rotation inside a group.
    """

    u: np.ndarray
    s: np.ndarray
    v: np.ndarray
    groups: tuple


def check_dataset(data) -> Dataset:
    """Return ``data`` if it is a :class:`Dataset` (its arrays are checked when
    built)."""
    if not isinstance(data, Dataset):
        raise TypeError(
            f"data must be a deep_linear.Dataset; got {type(data).__name__}"
        )
    return data


def check_flip_prob(name: str, value) -> float:
    """A flip probability in ``[0, 0.5)`` (0.5 would erase all structure)."""
    return check_float(name, value, minimum=0.0, maximum=0.5, max_inclusive=False)


def _check_size(n_features: int, n_items: int) -> None:
    if n_features * n_items > MAX_ENTRIES:
        raise ValueError(
            f"n_features * items = {n_features} * {n_items} entries would need "
            f"{8 * n_features * n_items / 1e9:.1f} GB; the limit is {MAX_ENTRIES} "
            f"entries "
            f"({8 * MAX_ENTRIES / 1e9:.1f} GB)"
        )


def data_svd(data: Dataset, *, degeneracy_tol: float = 1e-8) -> DataSVD:
    """SVD of the data's input-output correlation, eq. (dl-svd), with degenerate groups
    marked."""
    data = check_dataset(data)
    tol = check_float("degeneracy_tol", degeneracy_tol, minimum=0.0)
    U, s, Vt = np.linalg.svd(data.sigma_yx, full_matrices=False)
    keep = s > 1e-10 * s[0]
    U, s, V = U[:, keep], s[keep], Vt[keep].T
    for k in range(s.size):
        total = V[:, k].sum()
        flip = total < -1e-9 or (
            abs(total) <= 1e-9 and V[np.argmax(np.abs(V[:, k])), k] < 0
        )
        if flip:
            U[:, k], V[:, k] = -U[:, k], -V[:, k]
    groups, current = [], [0]
    for k in range(1, s.size):
        if abs(s[k] - s[current[0]]) <= tol * s[0]:
            current.append(k)
        else:
            groups.append(tuple(current))
            current = [k]
    groups.append(tuple(current))
    return DataSVD(u=U, s=s, v=V, groups=tuple(groups))


def toy_data() -> Dataset:
    """Four items (Canary, Salmon, Oak, Rose) by seven properties, one-hot inputs.

    ``Sigma_yx`` has singular values ``(sqrt 7, sqrt 3, 1, 1)``: living thing, animal vs
    plant,
    and a degenerate pair separating the items inside each kingdom.
    """
    items = ("Canary", "Salmon", "Oak", "Rose")
    features = ("grows", "moves", "roots", "flies", "swims", "leaves", "petals")
    y = np.array([[1, 1, 1, 1],
                  [1, 1, 0, 0],
                  [0, 0, 1, 1],
                  [1, 0, 0, 0],
                  [0, 1, 0, 0],
                  [0, 0, 1, 0],
                  [0, 0, 0, 1]], dtype=float)
    return Dataset(x=np.eye(4), y=y, item_names=items, feature_names=features)


_NMA_ITEMS = ("Goldfish", "Tuna", "Robin", "Canary", "Rose", "Daisy", "Pine", "Oak")


def branching_diffusion(
    branching: int = 2,
    depth: int = 3,
    flip_prob: float = 0.15,
    n_features: int = 10_000,
    *,
    seed=0,
    item_names: Sequence[str] | None = None,
) -> Dataset:
    """Hierarchical data from a branching-diffusion process on a tree, eq.
    (dl-tree-spectrum).

    Each of ``n_features`` binary (+1/-1) features starts at the root with a random sign
    and flips
    with probability ``flip_prob`` along every link of a tree with ``branching``
    children per node
    and ``depth`` levels; its values at the ``branching ** depth`` leaves are the items'
    features.
    Inputs are one-hot. The default (2, 3, 0.15) is the Neuromatch setting, with item
    names
    Goldfish, Tuna, Robin, Canary, Rose, Daisy, Pine, Oak.
    """
    branching = check_int("branching", branching, minimum=2)
    depth = check_int("depth", depth, minimum=1, maximum=12)
    flip_prob = check_flip_prob("flip_prob", flip_prob)
    n_features = check_int("n_features", n_features, minimum=1)
    rng = make_rng(seed)
    n_items = branching**depth
    if n_items > MAX_ITEMS:
        raise ValueError(f"branching ** depth must be at most {MAX_ITEMS} items; "
                         f"got {n_items}")
    _check_size(n_features, n_items)
    if item_names is None:
        item_names = (_NMA_ITEMS if (branching, depth) == (2, 3)
                      else tuple(f"item {i}" for i in range(n_items)))
    item_names = tuple(str(n) for n in item_names)
    if len(item_names) != n_items:
        raise ValueError(f"item_names must hold branching ** depth = {n_items} names; "
                         f"got {len(item_names)}")
    values = np.where(rng.random((n_features, 1)) < 0.5, -1.0, 1.0)
    for _ in range(depth):
        values = np.repeat(values, branching, axis=1)
        values = values * np.where(rng.random(values.shape) < flip_prob, -1.0, 1.0)
    return Dataset(x=np.eye(n_items), y=values, item_names=item_names,
                   feature_names=tuple(f"feature {m}" for m in range(n_features)))


def add_property(
    data: Dataset, name: str, values, *, rename: dict | None = None
) -> Dataset:
    """Append one named feature row (e.g. ``has_bones``) and optionally rename items."""
    data = check_dataset(data)
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string; got {name!r}")
    values = check_array("values", values, shape=(data.y.shape[1],))
    items = list(data.item_names)
    if rename is not None:
        if not isinstance(rename, dict):
            raise TypeError(
                f"rename must be a dict of old -> new item names; "
                f"got {type(rename).__name__}"
            )
        for old, new in rename.items():
            if old not in items:
                raise ValueError(
                    f"rename names an unknown item {old!r}; items are {items}"
                )
            items[items.index(old)] = str(new)
    return Dataset(
        x=data.x,
        y=np.vstack([data.y, values[None, :]]),
        item_names=tuple(items),
        feature_names=tuple(data.feature_names) + (name,),
    )


def typicality_data(atypical_features: int = 2) -> Dataset:
    """Four birds (Robin, Canary, Sparrow, Penguin) and six properties, one-hot inputs.

    Every bird has feathers, wings and a beak; the first three also sing, perch and fly.
    The penguin lacks the last ``atypical_features`` (0-3) of those three (with the
    default 2 it neither perches nor flies), so it is a less typical bird.
    """
    k = check_int("atypical_features", atypical_features, minimum=0, maximum=3)
    features = ("feathers", "wings", "beak", "sings", "perches", "flies")
    y = np.ones((6, 4))
    if k:
        y[6 - k:, 3] = 0.0
    return Dataset(
        x=np.eye(4),
        y=y,
        item_names=("Robin", "Canary", "Sparrow", "Penguin"),
        feature_names=features,
    )


def category_data(categories: Sequence[tuple[int, int]]) -> Dataset:
    """Disjoint categories, category ``c`` having ``K_i`` items that share ``K_o``
    features (a block of ones).

    Each block contributes one mode with singular value ``sqrt(K_i K_o)``, eq.
    (dl-coherence).
    """
    if (
        isinstance(categories, (str, bytes))
        or not hasattr(categories, "__len__")
        or len(categories) == 0
    ):
        raise ValueError(
            f"categories must be a non-empty sequence of (K_i, K_o) pairs; "
            f"got {categories!r}"
        )
    sizes = []
    for c, pair in enumerate(categories):
        if not hasattr(pair, "__len__") or len(pair) != 2:
            raise ValueError(f"categories[{c}] must be a (K_i, K_o) pair; got {pair!r}")
        sizes.append((check_int(f"categories[{c}] K_i", pair[0], minimum=1),
                      check_int(f"categories[{c}] K_o", pair[1], minimum=1)))
    P, n_out = sum(k for k, _ in sizes), sum(k for _, k in sizes)
    # before any work: the (N_out x P) targets and the (P x P) one-hot inputs
    check_memory("categories", categories, 8.0 * (n_out * P + P * P),
                 what=f"{n_out} x {P} targets and {P} x {P} inputs in float64")
    y = np.zeros((n_out, P))
    items, feats, i0, o0 = [], [], 0, 0
    for c, (ki, ko) in enumerate(sizes):
        y[o0:o0 + ko, i0:i0 + ki] = 1.0
        items += [f"c{c} item {j}" for j in range(ki)]
        feats += [f"c{c} feature {j}" for j in range(ko)]
        i0, o0 = i0 + ki, o0 + ko
    return Dataset(
        x=np.eye(P), y=y, item_names=tuple(items), feature_names=tuple(feats)
    )


def noisy_category_data(k_items: int, k_features: int, *, n_items: int = 400,
                        n_features: int = 1000, noise: float = 1.0, seed=0) -> Dataset:
    """One category (``k_items`` items sharing ``k_features`` features) inside noise.

    The target matrix is a ``k_features x k_items`` block of ones (strength
    ``sqrt(K_i K_o)``, eq. (dl-coherence)) in the corner of an ``N_o x N_i`` matrix,
    plus
    ``noise`` times i.i.d. standard normal entries everywhere; inputs are one-hot.
    Whether the category stands out of the noise is eq. (dl-bbp).
    """
    n_items = check_int("n_items", n_items, minimum=2, maximum=MAX_ITEMS)
    n_features = check_int("n_features", n_features, minimum=2)
    _check_size(n_features, n_items)
    k_items = check_int("k_items", k_items, minimum=1, maximum=n_items)
    k_features = check_int("k_features", k_features, minimum=1, maximum=n_features)
    noise = check_float("noise", noise, minimum=0.0)
    y = noise * make_rng(seed).standard_normal((n_features, n_items))
    y[:k_features, :k_items] += 1.0
    return Dataset(x=np.eye(n_items), y=y,
                   item_names=tuple(f"item {i}" for i in range(n_items)),
                   feature_names=tuple(f"feature {m}" for m in range(n_features)))
