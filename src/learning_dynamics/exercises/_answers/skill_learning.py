"""Reference answers of chapter 7's coding exercises (not in the student edition)."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["sign_law_step", "signgd_step_torch"]


def sign_law_step(s, p, v):
    """One step of the sign law, eq. (sl-sign-law)."""
    w = p * (1 - s)
    return s + v * w / np.linalg.norm(w)


def signgd_step_torch(x, tasks, weights, eta):
    """One SignGD step (Adam with betas (0, 0)) with autograd, eq. (sl-geometry)."""
    x = x.clone().requires_grad_(True)
    loss = (weights * 0.5 * (1 - tasks @ x) ** 2).sum()
    loss.backward()
    with torch.no_grad():
        return x - eta * x.grad / (x.grad.abs() + 1e-8)
