"""Reference answers to chapter 3's coding exercises (installed with the package)."""

from __future__ import annotations

import numpy as np

__all__ = ["second_moment_step", "centred_loss_gradient"]


def second_moment_step(w_bar, M, g, G, c, eps):
    """M after one gradient step, eq. (lr-recursion)."""
    A = np.eye(len(w_bar)) - c * eps * G
    A_w = A @ w_bar
    return (
        A @ M @ A.T - c * (np.outer(A_w, g) + np.outer(g, A_w)) + c**2 * np.outer(g, g)
    )


def centred_loss_gradient(W, W0, X, y, alpha, eps):
    """Gradient of the centred training loss with respect to W, by torch autograd."""
    import torch

    W = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    W0 = torch.tensor(W0, dtype=torch.float64)
    X = torch.tensor(X, dtype=torch.float64)
    y = torch.tensor(y, dtype=torch.float64)

    def output(weights):
        H = X @ weights.T
        return alpha * (H + 0.5 * eps * H**2).mean(dim=1)

    loss = ((output(W) - output(W0) - y) ** 2).mean()
    (grad,) = torch.autograd.grad(loss, W)
    return grad.numpy()
