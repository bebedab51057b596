"""Data and model of chapter 3: the quadratic teacher and the committee machine.

A committee machine ``f(x) = (alpha/N) sum_i phi(w_i . x)`` with
``phi(h) = h + (eps/2) h**2``, eq. (lr-model), learns the quadratic target
``y = (beta . x)**2 / 2`` on Gaussian inputs ``x ~ N(0, I/d)``.  The dataclasses
validate their fields when built, so every function that receives one trusts it.

Size limits (documented maxima): ``d <= D_MAX`` (the recursion stores ``d x d``
matrices per run), ``P <= P_MAX`` and ``N * d <= WEIGHTS_MAX`` entries (float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..seeding import make_rng
from ..validation import check_array, check_float, check_int

__all__ = [
    "TeacherData",
    "Committee",
    "make_teacher_data",
    "make_network",
    "network_output",
    "D_MAX",
    "P_MAX",
    "WEIGHTS_MAX",
]

#: Largest input dimension: one ``d x d`` float64 matrix per run is 8 d^2 bytes.
D_MAX = 2000
#: Largest training set (the kernel on the training set is ``P x P``).
P_MAX = 20_000
#: Largest number of first-layer weights ``N * d`` (8 bytes each: 400 MB).
WEIGHTS_MAX = 50_000_000


def positive_values(
    name: str, value, *, minimum: float = 0.0, maximum: float | None = None
) -> np.ndarray:
    """A number or 1-d sequence of finite numbers in ``(minimum, maximum]``, as array.

    Built on :func:`learning_dynamics.validation.check_array`; ``minimum = 0`` means
    strictly positive.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(
            f"{name} must be a positive number or a 1-d sequence of them; got {value!r}"
        )
    arr = np.atleast_1d(check_array(name, value))
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a number or a 1-d sequence; got shape {arr.shape}"
        )
    limit = f" and <= {maximum:g}" if maximum is not None else ""
    bad = (
        (arr <= 0)
        | (arr < minimum)
        | ((arr > maximum) if maximum is not None else False)
    )
    if np.any(bad):
        low = f">= {minimum:g}" if minimum > 0 else "> 0"
        raise ValueError(
            f"{name} must hold finite values > 0 ({low}{limit}); got {value!r}"
        )
    return arr


@dataclass(frozen=True)
class TeacherData:
    """Training set of the quadratic teacher ``y = (beta.x)^2 / 2``, ``x ~ N(0, I/d)``.

    Validated when built: finite entries and matching shapes.

    Attributes
    ----------
    X : ndarray, shape (P, d)
        Training inputs.
    y : ndarray, shape (P,)
        Targets.
    beta : ndarray, shape (d,)
        Teacher direction, ``beta ~ N(0, I_d)``.
    """

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray

    def __post_init__(self):
        X = check_array("TeacherData.X", self.X, ndim=2)
        check_int("P", X.shape[0], maximum=P_MAX)
        check_int("d", X.shape[1], maximum=D_MAX)
        check_array("TeacherData.y", self.y, shape=(X.shape[0],))
        check_array("TeacherData.beta", self.beta, shape=(X.shape[1],))

    @property
    def P(self) -> int:
        """Number of training examples."""
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Input dimension."""
        return self.X.shape[1]

    @property
    def test_loss0(self) -> float:
        """Population loss at ``t = 0``: ``E[y^2] = 3 |beta|^4 / (4 d^2)``."""
        return float(3.0 * np.sum(self.beta**2) ** 2 / (4.0 * self.d**2))

    @property
    def train_loss0(self) -> float:
        """Training loss at ``t = 0``: ``mean(y^2)``."""
        return float(np.mean(self.y**2))


@dataclass(frozen=True)
class Committee:
    """First-layer weights and their sufficient statistics, eq. (lr-summary).

    Validated when built: finite entries, matching shapes, symmetric ``M0``.

    Attributes
    ----------
    W0 : ndarray, shape (N, d)
        Initial weights ``w_i ~ N(0, I_d)``.
    eps : float
        Strength of the quadratic part of ``phi(h) = h + (eps/2) h^2``.
    w_bar0 : ndarray, shape (d,)
        ``mean_i w_i`` at initialisation.
    M0 : ndarray, shape (d, d)
        ``mean_i w_i w_i^T`` at initialisation.
    """

    W0: np.ndarray
    eps: float
    w_bar0: np.ndarray
    M0: np.ndarray

    def __post_init__(self):
        W0 = check_array("Committee.W0", self.W0, ndim=2)
        d = W0.shape[1]
        check_float("eps", self.eps, minimum=0.0)
        check_array("Committee.w_bar0", self.w_bar0, shape=(d,))
        M0 = check_array("Committee.M0", self.M0, shape=(d, d))
        if not np.allclose(M0, M0.T, rtol=1e-12, atol=1e-12):
            raise ValueError(
                "Committee.M0 must be symmetric (a second moment); got max "
                f"|M0 - M0^T| = {np.max(np.abs(M0 - M0.T)):.3g}"
            )

    @property
    def N(self) -> int:
        """Width."""
        return self.W0.shape[0]


def check_pair(data, net) -> None:
    """Check that ``data`` and ``net`` are the chapter's dataclasses with one ``d``."""
    if not isinstance(data, TeacherData):
        raise TypeError(
            "data must be a TeacherData (from make_teacher_data); "
            f"got {type(data).__name__}"
        )
    if not isinstance(net, Committee):
        raise TypeError(
            f"net must be a Committee (from make_network); got {type(net).__name__}"
        )
    if data.d != net.W0.shape[1]:
        raise ValueError(
            f"net must have input dimension d = {data.d} like data; "
            f"got {net.W0.shape[1]}"
        )


def make_teacher_data(d: int = 100, P: int = 550, *, seed=0) -> TeacherData:
    """Draw ``beta ~ N(0, I_d)``, inputs ``x ~ N(0, I/d)`` and ``y = (beta.x)^2 / 2``.

    ``d <= D_MAX`` and ``P <= P_MAX``.
    """
    d = check_int("d", d, minimum=1, maximum=D_MAX)
    P = check_int("P", P, minimum=1, maximum=P_MAX)
    rng = make_rng(seed, stream=0)
    beta = rng.standard_normal(d)
    X = rng.standard_normal((P, d)) / np.sqrt(d)
    return TeacherData(X=X, y=0.5 * (X @ beta) ** 2, beta=beta)


def make_network(d: int = 100, N: int = 500, eps: float = 0.02, *, seed=0) -> Committee:
    """Draw the initial weights ``w_i ~ N(0, I_d)`` of a width-``N`` committee machine.

    The random stream is independent of :func:`make_teacher_data` with the same
    ``seed``.  ``d <= D_MAX`` and ``N * d <= WEIGHTS_MAX``.
    """
    d = check_int("d", d, minimum=1, maximum=D_MAX)
    N = check_int("N", N, minimum=1)
    if N * d > WEIGHTS_MAX:
        raise ValueError(
            f"N * d = {N * d} weights ({8 * N * d / 1e9:.1f} GB) exceeds the "
            f"limit WEIGHTS_MAX = {WEIGHTS_MAX}; lower N (the recursion needs "
            "only w_bar0 and M0, which do not depend much on N beyond a few "
            "hundred)"
        )
    eps = check_float("eps", eps, minimum=0.0)
    W0 = make_rng(seed, stream=1).standard_normal((N, d))
    return Committee(W0=W0, eps=eps, w_bar0=W0.mean(axis=0), M0=W0.T @ W0 / N)


def network_output(W, X, alpha, eps) -> np.ndarray:
    """Uncentred output ``f(x) = (alpha/N) sum_i phi(w_i . x)``, eq. (lr-model).

    ``W`` has shape (N, d), ``X`` shape (n, d); returns shape (n,).
    """
    W = check_array("W", W, ndim=2)
    X = check_array("X", X, ndim=2)
    if X.shape[1] != W.shape[1]:
        raise ValueError(
            f"X must have {W.shape[1]} columns like W; got shape {X.shape}"
        )
    alpha = check_float("alpha", alpha, minimum=0.0, min_inclusive=False)
    eps = check_float("eps", eps, minimum=0.0)
    H = X @ W.T
    return alpha * np.mean(H + 0.5 * eps * H**2, axis=1)
