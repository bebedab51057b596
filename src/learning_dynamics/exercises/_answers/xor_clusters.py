"""Reference answers to chapter 4's coding exercises (installed with the package)."""
from __future__ import annotations

import numpy as np

__all__ = ["gram_step", "torch_gd_step"]


def gram_step(C, Z0, G, y, a, eta):
    """One full-batch GD step in coefficient space, eq. (xor-gram).

    ``C`` (m, n) coefficients with ``W = W0 + C X``; ``Z0 = X W0^T`` (n, m);
    ``G = X X^T`` (n, n); labels ``y`` (n,); second layer ``a`` (m,); step ``eta``.
    Returns the coefficients after the step.
    """
    pre = Z0 + G @ C.T
    margins = y * (np.maximum(pre, 0.0) @ a)
    loss_weights = 0.5 * (1.0 - np.tanh(0.5 * margins))
    n = pre.shape[0]
    return C + (eta / n) * a[:, None] * ((pre > 0) * (loss_weights * y)[:, None]).T


def torch_gd_step(W, a, X, y, eta):
    """One GD step on the first layer with autograd (mean logistic loss)."""
    import torch

    W = W.detach().clone().requires_grad_(True)
    f = torch.relu(X @ W.T) @ a
    loss = torch.nn.functional.softplus(-y * f).mean()
    loss.backward()
    return (W - eta * W.grad).detach()
