"""Data of chapter 1: inputs ``x ~ N(0, I/d)`` and targets from a narrow teacher."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..seeding import make_rng
from ..validation import check_array, check_int

__all__ = ["Dataset", "make_teacher_data", "MAX_EXAMPLES"]

#: Largest number of training or test examples ``make_teacher_data`` draws.  The
#: chapter's computations form ``P x P`` kernels; beyond this they no longer fit in
#: memory (see ``model.MAX_MEMORY_BYTES``).
MAX_EXAMPLES = 100_000


@dataclass(frozen=True)
class Dataset:
    """A regression task: inputs ``x ~ N(0, I/d)`` and targets from a narrow teacher.

    The arrays are validated on construction (finite, matching shapes), so a data set
    holding NaN is refused here rather than reported later as a diverging run.

    Attributes
    ----------
    x_train, y_train : ndarray, shapes (P, d), (P,)
    x_test, y_test : ndarray, shapes (P_test, d), (P_test,)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self):
        x_train = check_array("x_train", self.x_train, ndim=2)
        P, d = x_train.shape
        x_test = check_array("x_test", self.x_test, ndim=2, shape=(None, d))
        object.__setattr__(self, "x_train", x_train)
        object.__setattr__(self, "x_test", x_test)
        y_train = check_array("y_train", self.y_train, shape=(P,))
        object.__setattr__(self, "y_train", y_train)
        y_test = check_array("y_test", self.y_test, shape=(x_test.shape[0],))
        object.__setattr__(self, "y_test", y_test)


def make_teacher_data(P: int, d: int, *, P_test: int = 500, teacher_width: int = 2,
                      seed=0) -> Dataset:
    """Inputs ``x ~ N(0, I/d)``, targets ``y = sum_k tanh(2 sqrt(d) u_k.x) / sqrt(K)``.

    ``K = teacher_width``.

    The teacher has a few unit-norm directions ``u_k``: a target the initial kernel
    does not fit exactly, so that lazy and rich training can differ (chapter 1,
    section Setup).

    Parameters
    ----------
    P, P_test : int
        Numbers of training and test examples (at most ``MAX_EXAMPLES``).
    d : int
        Input dimension.
    teacher_width : int
        Number of teacher directions ``u_k``.
    seed : int or numpy.random.Generator
        Seed of every draw.
    """
    P = check_int("P", P, minimum=1, maximum=MAX_EXAMPLES)
    d = check_int("d", d, minimum=1, maximum=MAX_EXAMPLES)
    P_test = check_int("P_test", P_test, minimum=1, maximum=MAX_EXAMPLES)
    teacher_width = check_int("teacher_width", teacher_width, minimum=1,
                              maximum=MAX_EXAMPLES)
    rng = make_rng(seed)
    directions = rng.standard_normal((teacher_width, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)

    def teacher(x):
        pre = 2.0 * np.sqrt(d) * x @ directions.T
        return np.tanh(pre).sum(axis=1) / np.sqrt(teacher_width)

    x_train = rng.standard_normal((P, d)) / np.sqrt(d)
    x_test = rng.standard_normal((P_test, d)) / np.sqrt(d)
    return Dataset(x_train, teacher(x_train), x_test, teacher(x_test))
