"""The gradient-descent engine behind :func:`~learning_dynamics.deep_linear.train`.

Array backend (numpy or torch), the exact output-space reduction of eq. (dl-reduction),
forward and backward passes of a linear network for eq. (dl-gd), the loss, and the
recorder of what :class:`~learning_dynamics.deep_linear.History` holds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Dataset

__all__ = ["Backend", "OutputReduction", "forward", "gradients", "Recorder",
           "loss_and_feedback"]


class Backend:
    """Array conversion for the numpy or torch (float64, CPU) engine."""

    def __init__(self, name: str):
        self.name = name
        if name == "torch":
            import torch

            self._torch = torch

    def array(self, value):
        value = np.array(value, dtype=np.float64)
        return self._torch.from_numpy(value) if self.name == "torch" else value

    def numpy(self, value):
        return value.detach().cpu().numpy() if self.name == "torch" else value


@dataclass
class OutputReduction:
    """Exact reduction of the last layer to the column space of ``y``, eq.
    (dl-reduction).

    ``W_L = Q A + W_perp`` with ``Q`` an orthonormal basis of the column space of ``y``;
    ``W_perp(t) = W_perp(0) Pi(t)`` with ``Pi <- Pi (I - eta h h^T)`` (``h`` the last
    hidden
    activations), so only ``A`` (rank x N) and ``Pi`` (N x N) are updated and nothing of
    size ``N_out`` is touched during training.
    """

    basis: np.ndarray            # Q, (N_out, rank of y)
    perp0: np.ndarray            # W_perp(0), (N_out, N)
    perp_gram: object            # W_perp(0)^T W_perp(0), backend array
    propagator: object           # Pi(t), backend array
    unfit_loss: float            # 1/2 ||y - Q Q^T y||^2, constant

    @classmethod
    def build(cls, data: Dataset, last_weight: np.ndarray, backend: Backend):
        basis, sv, _ = np.linalg.svd(data.y, full_matrices=False)
        basis = basis[:, sv > 1e-12 * sv[0]]
        perp0 = last_weight - basis @ (basis.T @ last_weight)
        unfit = 0.5 * float(np.sum((data.y - basis @ (basis.T @ data.y)) ** 2))
        return cls(basis, perp0, backend.array(perp0.T @ perp0),
                   backend.array(np.eye(last_weight.shape[1])), unfit)


def forward(weights: list, x) -> list:
    """Activations ``[x, W_1 x, W_2 W_1 x, ...]``."""
    activations = [x]
    for weight in weights:
        activations.append(weight @ activations[-1])
    return activations


def gradients(weights: list, activations: list, residual, perp_feedback) -> list:
    """Minus the loss gradient for each weight matrix (back-propagation of
    ``residual``).

    ``perp_feedback`` is ``W_perp^T W_perp h`` for the reduced last layer (else None).
    """
    delta = residual  # back-propagated error at the current layer's output
    grads = [None] * len(weights)
    for i in range(len(weights) - 1, -1, -1):
        grads[i] = delta @ activations[i].T
        if i:
            delta = weights[i].T @ delta
            if perp_feedback is not None and i == len(weights) - 1:
                delta = delta - perp_feedback
    return grads


class Recorder:
    """Collects the recorded quantities of :class:`History`."""

    def __init__(self, weights, reduction, svd, rows, backend):
        self.backend, self.reduction, self.rows = backend, reduction, list(rows)
        self.out_basis_t = backend.array(
            svd.u.T @ reduction.basis if reduction else svd.u.T)
        self.in_basis = backend.array(svd.v)
        if reduction:
            self.basis_rows = backend.array(reduction.basis[self.rows])
            self.perp_rows = backend.array(reduction.perp0[self.rows])
        self.steps, self.loss, self.modes, self.hidden, self.pred, self.drift = (
            [] for _ in range(6)
        )
        self.balance0 = self._balance(weights)

    def _balance(self, weights):
        grams = [weights[i + 1].T @ weights[i + 1] for i in range(len(weights) - 1)]
        if self.reduction and grams:
            prop = self.reduction.propagator
            grams[-1] = grams[-1] + prop.T @ self.reduction.perp_gram @ prop
        return [self.backend.numpy(grams[i] - weights[i] @ weights[i].T)
                for i in range(len(grams))]

    def add(self, step, loss, weights, activations):
        product = self.out_basis_t
        for weight in reversed(weights):
            product = product @ weight
        self.modes.append(self.backend.numpy(product @ self.in_basis))
        self.steps.append(step)
        self.loss.append(loss)
        if len(weights) > 1:
            self.hidden.append(self.backend.numpy(activations[1]))
        if self.reduction:
            readout = (
                self.basis_rows @ weights[-1]
                + self.perp_rows @ self.reduction.propagator
            )
            self.pred.append(self.backend.numpy(readout @ activations[-2]))
        else:
            self.pred.append(self.backend.numpy(activations[-1][self.rows]))
        self.drift.append(
            max(
                (
                    float(np.linalg.norm(q - q0))
                    for q, q0 in zip(self._balance(weights), self.balance0, strict=True)
                ),
                default=0.0,
            )
        )


def loss_and_feedback(residual, activations, reduction):
    """Loss and, for the reduced last layer, the feedback ``W_perp^T W_perp h``."""
    loss = 0.5 * float((residual * residual).sum())
    if reduction is None:
        return loss, None
    prop = reduction.propagator
    feedback = prop.T @ (reduction.perp_gram @ (prop @ activations[-2]))
    return loss + reduction.unfit_loss + 0.5 * float(
        (activations[-2] * feedback).sum()
    ), feedback
