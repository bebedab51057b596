"""Reference answers of chapter 6's coding exercises (not in the student edition)."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["mode_test_error", "torch_gradient_descent"]


def mode_test_error(eigenvalues, t, sigma_w2, noise2):
    """Eq. (gen-eg-modes) for gradient flow from zero initial weights."""
    lam = np.asarray(eigenvalues, dtype=float)[:, None]
    t = np.asarray(t, dtype=float)[None, :]
    decay = np.exp(-lam * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = np.where(lam > 1e-9, (1 - decay) ** 2 / lam, 0.0)
    return np.mean(sigma_w2 * decay**2 + noise2 * noise, axis=0) + noise2


def torch_gradient_descent(X, y, w0, eta, steps):
    """``steps`` steps of eq. (gen-gd) with autograd on the summed loss, float64."""
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.from_numpy(w0).clone().requires_grad_(True)
    for _ in range(steps):
        loss = 0.5 * ((y - w @ X) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, w)
        with torch.no_grad():
            w -= eta * grad
    return w.detach().numpy()
