"""Reference answers to chapter 1's coding exercises (installed with the package)."""
from __future__ import annotations

import numpy as np
import torch


def best_constant_step(kernel):
    """Step ``eta0* = 2 / (lambda_min + lambda_max)`` of ``K / P`` and its rate.

    The rate is ``(kappa - 1) / (kappa + 1)`` with ``kappa = lambda_max / lambda_min``,
    the slowest contraction factor ``max_j |1 - eta0* lambda_j|``.
    """
    eigenvalues = np.linalg.eigvalsh(np.asarray(kernel) / len(kernel))
    low, high = eigenvalues[0], eigenvalues[-1]
    return 2.0 / (low + high), (high - low) / (high + low)


def torch_tangent_kernel(W, a, x):
    """Tangent kernel of ``g = N**-0.5 sum_i a_i tanh(w_i . x)``, eq. (pre-ntk).

    Computed with autograd (``torch.func.jacrev``); float64 tensors in and out.
    """

    def network(W, a):
        return torch.tanh(x @ W.T) @ a / a.numel() ** 0.5

    jac_W, jac_a = torch.func.jacrev(network, argnums=(0, 1))(W, a)
    jac = torch.cat([jac_a, jac_W.reshape(x.shape[0], -1)], dim=1)
    return jac @ jac.T
