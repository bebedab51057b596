"""Reference answers to chapter 5's coding exercises (installed with the package)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ...seeding import make_rng

__all__ = ["sgd_step_autograd", "mc_generalisation_error"]


def sgd_step_autograd(W, v, W_star, v_star, x, y, eta, eta_v):
    """One online SGD step of eq. (ts-sgd) with autograd: returns the new ``(W, v)``."""
    d = W.shape[1]
    W = W.clone().requires_grad_(True)
    v = v.clone().requires_grad_(True)
    y_hat = (v * torch.erf(W @ x / math.sqrt(d) / math.sqrt(2.0))).sum()
    loss = 0.5 * (y_hat - y) ** 2
    loss.backward()
    with torch.no_grad():
        # the 1/sqrt(d) of eq. (ts-sgd) is already inside dL/dW; v's rate is eta_v / d
        return W - eta * W.grad, v - (eta_v / d) * v.grad


def mc_generalisation_error(W, v, W_star, v_star, n, seed):
    """Monte-Carlo estimate of eq. (ts-eg) from ``n`` Gaussian inputs."""
    d = W.shape[1]
    x = make_rng(seed).standard_normal((n, d))
    g = lambda h: torch.erf(torch.from_numpy(h / math.sqrt(2.0))).numpy()  # noqa: E731
    diff = g(x @ W.T / math.sqrt(d)) @ v - g(x @ W_star.T / math.sqrt(d)) @ v_star
    return 0.5 * float(np.mean(diff**2))
