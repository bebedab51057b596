"""The two-layer network of chapter 1, its Jacobian and its tangent kernel.

``g(theta, x) = N**-0.5 * sum_i a_i tanh(w_i . x)`` with both layers trained,
eq. (pre-network); numpy float64 throughout (the problem is small).  Sizes are
checked against a memory estimate before any Jacobian or kernel is allocated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..seeding import make_rng
from ..validation import check_array, check_int

__all__ = [
    "Params",
    "init_params",
    "network_output",
    "jacobian",
    "tangent_kernel",
    "kernel_memory_bytes",
    "MAX_MEMORY_BYTES",
]

#: Largest allocation (bytes) that ``jacobian``, ``tangent_kernel`` and ``train`` make
#: for Jacobians and kernels: 2 GiB, twice the chapter's 1 GB budget headroom.
MAX_MEMORY_BYTES = 2 * 1024**3

_GIB = 1024**3
_FLOAT_BYTES = 8


@dataclass(frozen=True)
class Params:
    """Parameters of ``g(theta, x) = N**-0.5 * sum_i a_i tanh(w_i . x)``.

    Attributes
    ----------
    W : ndarray, shape (N, d)
        First-layer weights, rows ``w_i``.
    a : ndarray, shape (N,)
        Readout weights.
    """

    W: np.ndarray
    a: np.ndarray

    def flat(self) -> np.ndarray:
        """All parameters as one vector ``(a, vec W)``."""
        return np.concatenate([self.a, self.W.ravel()])

    @property
    def width(self) -> int:
        """Hidden width ``N``."""
        return self.a.size

    @property
    def input_dim(self) -> int:
        """Input dimension ``d``."""
        return self.W.shape[1]

    @property
    def size(self) -> int:
        """Number of parameters ``N + N d``."""
        return self.a.size + self.W.size

    def unflatten(self, theta: np.ndarray) -> "Params":
        """Parameters of the same shapes from a vector in ``flat`` order."""
        width = self.width
        return Params(W=theta[width:].reshape(self.W.shape), a=theta[:width])


def init_params(d: int, N: int, seed=0) -> Params:
    """Standard-normal initialisation ``w_i ~ N(0, I_d)``, ``a_i ~ N(0, 1)``.

    ``N * (d + 1)`` parameters must fit in ``MAX_MEMORY_BYTES``.
    """
    d = check_int("d", d, minimum=1)
    N = check_int("N", N, minimum=1)
    needed = _FLOAT_BYTES * N * (d + 1)
    if needed > MAX_MEMORY_BYTES:
        raise ValueError(
            f"N = {N} and d = {d} give {N * (d + 1)} parameters, about "
            f"{needed / _GIB:.1f} GiB; the limit is {MAX_MEMORY_BYTES / _GIB:.1f} GiB "
            "(MAX_MEMORY_BYTES): reduce N or d")
    rng = make_rng(seed)
    return Params(W=rng.standard_normal((N, d)), a=rng.standard_normal(N))


def check_params(params) -> Params:
    """Return ``params`` if it is a ``Params``; otherwise raise ``TypeError``."""
    if not isinstance(params, Params):
        raise TypeError("params must be a Params instance (see init_params); "
                        f"got {type(params).__name__}")
    return params


def _check_inputs(name: str, x, params: Params) -> np.ndarray:
    return check_array(name, x, ndim=2, shape=(None, params.input_dim))


def kernel_memory_bytes(n_params: int, P1: int, P2: int | None = None) -> int:
    """Bytes needed for the Jacobians and the ``P1 x P2`` tangent kernel.

    Each Jacobian is ``P x n_params`` floats and its first-layer block is built
    through one intermediate of the same size, hence the factor 2; ``P2=None``
    means the kernel of ``P1`` inputs with themselves (one Jacobian).
    """
    jacobian_rows = P1 if P2 is None else P1 + P2
    kernel_cols = P1 if P2 is None else P2
    return _FLOAT_BYTES * (P1 * kernel_cols + 2 * jacobian_rows * n_params)


def check_memory(name: str, needed: int, what: str) -> None:
    """Refuse an allocation above ``MAX_MEMORY_BYTES``, with the estimate."""
    if needed > MAX_MEMORY_BYTES:
        raise ValueError(
            f"{name}: {what} needs about {needed / _GIB:.1f} GiB; the limit is "
            f"{MAX_MEMORY_BYTES / _GIB:.1f} GiB (MAX_MEMORY_BYTES): pass fewer inputs")


def network_output(params: Params, x: np.ndarray) -> np.ndarray:
    """``g(theta, x)`` for each row of ``x``, eq. (pre-network)."""
    params = check_params(params)
    x = _check_inputs("x", x, params)
    return np.tanh(x @ params.W.T) @ params.a / np.sqrt(params.width)


def _jacobian(params: Params, x: np.ndarray) -> np.ndarray:
    width = params.width
    hidden = np.tanh(x @ params.W.T)                               # (P, N)
    grad_a = hidden / np.sqrt(width)                               # (P, N)
    slope = (1.0 - hidden**2) * params.a / np.sqrt(width)          # (P, N)
    grad_W = slope[:, :, None] * x[:, None, :]                     # (P, N, d)
    return np.concatenate([grad_a, grad_W.reshape(x.shape[0], -1)], axis=1)


def jacobian(params: Params, x: np.ndarray) -> np.ndarray:
    """Jacobian ``d g(theta, x_mu) / d theta``, shape ``(P, N + N d)``, ``flat`` order.

    Raises ``ValueError`` if the Jacobian would exceed ``MAX_MEMORY_BYTES``.
    """
    params = check_params(params)
    x = _check_inputs("x", x, params)
    check_memory("x", _FLOAT_BYTES * 2 * x.shape[0] * params.size,
                 f"the Jacobian of {x.shape[0]} inputs x {params.size} parameters")
    return _jacobian(params, x)


def output_and_pullback(params: Params, x: np.ndarray):
    """``g(theta, x)`` and the map ``r -> J(theta)^T r``, sharing one forward pass.

    The backward pass of the network without forming the Jacobian.  Internal:
    arguments are trusted (called from the training loop).
    """
    width = params.width
    hidden = np.tanh(x @ params.W.T)
    output = hidden @ params.a / np.sqrt(width)

    def pullback(residual: np.ndarray) -> np.ndarray:
        grad_a = hidden.T @ residual / np.sqrt(width)
        slope = (1.0 - hidden**2) * residual[:, None] * params.a / np.sqrt(width)
        return np.concatenate([grad_a, (slope.T @ x).ravel()])

    return output, pullback


def tangent_kernel(params: Params, x1: np.ndarray,
                   x2: np.ndarray | None = None) -> np.ndarray:
    """Tangent kernel ``K(x, x') = grad g(x) . grad g(x')``, eq. (pre-ntk).

    Parameters
    ----------
    params : Params
        The weights ``theta`` at which the kernel is taken.
    x1, x2 : ndarray, shapes (P1, d), (P2, d)
        Inputs; ``x2=None`` gives the ``P1 x P1`` kernel of ``x1`` with itself.

    Returns
    -------
    ndarray, shape (P1, P2)

    Raises
    ------
    ValueError
        If the kernel and Jacobians would exceed ``MAX_MEMORY_BYTES`` (about
        27 GiB for 60 000 inputs at the chapter's width), with the estimate.
    """
    params = check_params(params)
    x1 = _check_inputs("x1", x1, params)
    x2 = None if x2 is None else _check_inputs("x2", x2, params)
    P2 = None if x2 is None else x2.shape[0]
    shape = f"{x1.shape[0]} x {x1.shape[0] if P2 is None else P2}"
    check_memory("x1", kernel_memory_bytes(params.size, x1.shape[0], P2),
                 f"the {shape} tangent kernel with {params.size} parameters")
    jacobian1 = _jacobian(params, x1)
    jacobian2 = jacobian1 if x2 is None else _jacobian(params, x2)
    return jacobian1 @ jacobian2.T
