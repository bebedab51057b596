"""Teacher, inputs and order parameters of chapter 5 (online SGD, teacher-student).

The teacher is a two-layer erf network with ``M`` hidden units acting on Gaussian
inputs ``x ~ N(0, I_d)``; the student has ``K`` units. Everything the dynamics needs
is in the overlaps ``Q = W W^T / d``, ``R = W W*^T / d`` and ``T = W* W*^T / d``
(eq. (ts-order-parameters)), held by :class:`OrderParameters`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..seeding import make_rng
from ..validation import check_array, check_float, check_int

__all__ = [
    "MAX_INPUT_DIM",
    "Teacher",
    "OrderParameters",
    "make_teacher",
    "init_student",
    "order_parameters",
    "symmetric_order_parameters",
    "activation",
    "student_overlaps",
    "pad_students",
]

#: Largest input dimension accepted (a (seeds, K, d) float64 weight array stays small).
MAX_INPUT_DIM = 20_000
#: The Gaussian-field argument needs d well above the number of fields.
MIN_INPUT_DIM = 20


def activation(x):
    """The activation ``g(x) = erf(x / sqrt 2)`` (numpy in and out), eq. (ts-model)."""
    import torch

    arr = np.asarray(x, dtype=np.float64)
    return torch.special.erf(torch.from_numpy(arr / math.sqrt(2.0))).numpy()


@dataclass(frozen=True)
class Teacher:
    """A two-layer erf teacher ``y = sum_m v*_m g(w*_m . x / sqrt d) + sigma zeta``.

    Attributes
    ----------
    weights : numpy.ndarray
        First-layer weights ``W*``, shape ``(M, d)``.
    second_layer : numpy.ndarray
        Second-layer weights ``v*``, shape ``(M,)``.
    noise : float
        Label-noise standard deviation ``sigma``.
    """

    weights: np.ndarray
    second_layer: np.ndarray
    noise: float

    @property
    def input_dim(self) -> int:
        """Input dimension ``d``."""
        return self.weights.shape[1]

    @property
    def hidden(self) -> int:
        """Number of teacher units ``M``."""
        return self.weights.shape[0]

    @property
    def overlap(self) -> np.ndarray:
        """``T = W* W*^T / d``, shape ``(M, M)``."""
        return self.weights @ self.weights.T / self.input_dim


def _check_dim(d) -> int:
    d = check_int("d", d, minimum=MIN_INPUT_DIM, maximum=MAX_INPUT_DIM)
    return d


def make_teacher(
    d: int,
    hidden: int = 2,
    *,
    noise: float = 0.0,
    seed: int = 0,
    orthonormal: bool = True,
    second_layer=None,
) -> Teacher:
    """Draw a teacher with ``M = hidden`` erf units on ``d`` inputs.

    Parameters
    ----------
    d : int
        Input dimension, ``20 <= d <= 20000`` (the Gaussian-field argument of
        eq. (ts-order-parameters) needs ``d`` much larger than ``K + M``).
    hidden : int
        Number of teacher units ``M`` (1 to 8).
    noise : float
        Label-noise standard deviation ``sigma >= 0``.
    seed : int
        Seed of the teacher's weights.
    orthonormal : bool
        Orthonormalise the rows and scale them to norm ``sqrt d`` so that ``T = I``
        exactly (the setting of the chapter); otherwise i.i.d. ``N(0, 1)`` entries.
    second_layer : array_like, optional
        ``v*``; default all ones (the soft committee machine).
    """
    d = _check_dim(d)
    hidden = check_int("hidden", hidden, minimum=1, maximum=8)
    noise = check_float("noise", noise, minimum=0.0, maximum=10.0)
    rng = make_rng(seed)
    weights = rng.standard_normal((hidden, d))
    if orthonormal:
        basis, _ = np.linalg.qr(weights.T)
        weights = basis.T * math.sqrt(d)
    if second_layer is None:
        second_layer = np.ones(hidden)
    second_layer = check_array("second_layer", second_layer, shape=(hidden,))
    return Teacher(weights, second_layer.copy(), noise)


def init_student(
    d: int, hidden: int, *, seeds: int = 1, scale: float = 0.1, seed: int = 0
) -> np.ndarray:
    """Student first-layer weights with i.i.d. ``N(0, scale^2)`` entries.

    Returns
    -------
    numpy.ndarray
        Shape ``(seeds, K, d)``; one independent student per seed.
    """
    d = _check_dim(d)
    hidden = check_int("hidden", hidden, minimum=1, maximum=8)
    seeds = check_int("seeds", seeds, minimum=1, maximum=1000)
    scale = check_float("scale", scale, minimum=0.0, maximum=10.0, min_inclusive=False)
    if seeds * hidden * d > 5e7:
        raise ValueError(
            f"seeds * hidden * d = {seeds * hidden * d:.3g} weights "
            f"({seeds * hidden * d * 8 / 1e9:.2g} GB) exceed the limit 5e7"
        )
    return scale * make_rng(seed).standard_normal((seeds, hidden, d))


@dataclass(frozen=True)
class OrderParameters:
    """Overlaps of a batch of students with one teacher, eq. (ts-order-parameters).

    Attributes
    ----------
    Q : numpy.ndarray
        Student-student overlaps, shape ``(B, K, K)``.
    R : numpy.ndarray
        Student-teacher overlaps, shape ``(B, K, M)``.
    T : numpy.ndarray
        Teacher-teacher overlaps, shape ``(M, M)`` (shared by the batch).
    v : numpy.ndarray
        Student second layer, shape ``(B, K)``.
    v_star : numpy.ndarray
        Teacher second layer, shape ``(M,)``.
    """

    Q: np.ndarray
    R: np.ndarray
    T: np.ndarray
    v: np.ndarray
    v_star: np.ndarray

    @property
    def batch(self) -> int:
        """Number of students ``B``."""
        return self.Q.shape[0]

    def covariance(self) -> np.ndarray:
        """The field covariance ``C = [[Q, R], [R^T, T]]``, shape ``(B, K+M, K+M)``."""
        return field_covariance(self.Q, self.R, self.T)

    def replace(self, **changes) -> "OrderParameters":
        """A copy with some fields replaced (no re-validation: internal use)."""
        fields = dict(Q=self.Q, R=self.R, T=self.T, v=self.v, v_star=self.v_star)
        fields.update(changes)
        return OrderParameters(**fields)


def field_covariance(Q, R, T) -> np.ndarray:
    """Assemble ``C = [[Q, R], [R^T, T]]`` for a batch, eq. (ts-order-parameters)."""
    T = np.broadcast_to(T, R.shape[:-2] + T.shape[-2:])
    top = np.concatenate([Q, R], axis=-1)
    bottom = np.concatenate([np.swapaxes(R, -1, -2), T], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def order_parameters(Q, R, T, v=None, v_star=None) -> OrderParameters:
    """Validated :class:`OrderParameters` from arrays (a single student or a batch).

    Raises
    ------
    ValueError
        If shapes disagree or the field covariance ``[[Q, R], [R^T, T]]`` is not
        symmetric positive semi-definite (no weights have these overlaps). The
        SGD simulation further needs it positive definite.
    """
    Q = check_array("Q", Q)
    Q = Q[None] if Q.ndim == 2 else Q
    if Q.ndim != 3 or Q.shape[1] != Q.shape[2]:
        raise ValueError(f"Q must have shape (K, K) or (B, K, K); got {Q.shape}")
    batch, hidden = Q.shape[:2]
    R = check_array("R", R)
    R = np.broadcast_to(R[None] if R.ndim == 2 else R, (batch,) + R.shape[-2:]).copy()
    if R.shape[1] != hidden:
        raise ValueError(f"R must have shape (K, M) with K = {hidden}; got {R.shape}")
    T = check_array("T", T, shape=(R.shape[2], R.shape[2]))
    v = np.ones((batch, hidden)) if v is None else check_array("v", v)
    v = np.broadcast_to(v, (batch, hidden)).copy()
    v_star = (
        np.ones(R.shape[2])
        if v_star is None
        else check_array("v_star", v_star, shape=(R.shape[2],))
    )
    C = field_covariance(Q, R, T)
    if not np.allclose(C, np.swapaxes(C, -1, -2), atol=1e-12):
        raise ValueError(
            "the covariance [[Q, R], [R^T, T]] must be symmetric; Q is not"
        )
    smallest = np.linalg.eigvalsh(C)[..., 0].min()
    if smallest < -1e-10:
        raise ValueError(
            "the covariance [[Q, R], [R^T, T]] must be positive "
            f"semi-definite; its smallest eigenvalue is {smallest:.3g}"
        )
    return OrderParameters(Q.copy(), R, T.copy(), v, v_star.copy())


MAX_SYMMETRIC_BATCH = 100_000
"""Largest ``batch`` of :func:`symmetric_order_parameters` (2 * 64 * 8 bytes each)."""


def symmetric_order_parameters(
    hidden: int, q_diag: float, q_off: float, r: float, *, batch: int = 1
) -> OrderParameters:
    """The unspecialised point ``Q_ii = q_diag``, ``Q_ik = q_off``, ``R_in = r``.

    The teacher has ``T = I`` and ``M = K`` units.

    Used for the symmetric fixed point of eq. (ts-fixed-point) with ``K = M``.
    """
    hidden = check_int("hidden", hidden, minimum=1, maximum=8)
    batch = check_int("batch", batch, minimum=1, maximum=MAX_SYMMETRIC_BATCH)
    return order_parameters(*_symmetric_arrays(hidden, q_diag, q_off, r, batch))


def _symmetric_arrays(hidden, q_diag, q_off, r, batch=1):
    Q = np.full((hidden, hidden), float(q_off)) + (q_diag - q_off) * np.eye(hidden)
    Q = np.broadcast_to(Q, (batch, hidden, hidden)).copy()
    R = np.full((batch, hidden, hidden), float(r))
    return Q, R, np.eye(hidden)


def raw_symmetric_point(hidden, q_diag, q_off, r) -> OrderParameters:
    """Unvalidated symmetric point (for finite differences near the boundary)."""
    Q, R, T = _symmetric_arrays(hidden, q_diag, q_off, r)
    return OrderParameters(Q, R, T, np.ones((1, hidden)), np.ones(hidden))


def student_overlaps(teacher: Teacher, weights, second_layer=None) -> OrderParameters:
    """Overlaps ``Q, R`` of explicit student weights ``(B, K, d)`` with ``teacher``."""
    W = check_array("weights", weights, ndim=3)
    if W.shape[2] != teacher.input_dim:
        raise ValueError(
            f"weights must have shape (B, K, {teacher.input_dim}); got {W.shape}"
        )
    d = teacher.input_dim
    return order_parameters(
        W @ np.swapaxes(W, 1, 2) / d,
        W @ teacher.weights.T / d,
        teacher.overlap,
        second_layer,
        teacher.second_layer,
    )


def pad_students(params_list) -> tuple[OrderParameters, np.ndarray]:
    """Stack batches of different widths ``K`` into one batch of width ``max K``.

    A padding unit is a unit vector orthogonal to every other weight vector
    (``Q_kk = 1``, no overlaps) with second-layer weight ``v_k = 0``; with the returned
    ``unit_mask`` (0 for padding units) the ODEs and SGD never move it, so it does
    not change the network.

    Returns
    -------
    (OrderParameters, numpy.ndarray)
        The stacked batch and the mask of shape ``(B, K_max)``.
    """
    width = max(p.Q.shape[-1] for p in params_list)
    Qs, Rs, vs, masks = [], [], [], []
    for p in params_list:
        batch, hidden, teacher = p.R.shape
        Q = np.tile(np.eye(width), (batch, 1, 1))
        Q[:, :hidden, :hidden] = p.Q
        R = np.zeros((batch, width, teacher))
        R[:, :hidden] = p.R
        v = np.zeros((batch, width))
        v[:, :hidden] = p.v
        mask = np.zeros((batch, width))
        mask[:, :hidden] = 1.0
        Qs.append(Q), Rs.append(R), vs.append(v), masks.append(mask)
    first = params_list[0]
    stacked = OrderParameters(
        np.concatenate(Qs),
        np.concatenate(Rs),
        first.T,
        np.concatenate(vs),
        first.v_star,
    )
    return stacked, np.concatenate(masks)
