"""Reference answers to chapter 2's coding exercises (installed with the package)."""
from __future__ import annotations

import numpy as np


def tree_covariance(branching: int, depth: int, flip_prob: float) -> np.ndarray:
    """Item covariance ``C_ij = q^(D - l_ij)`` of branching-diffusion data, eq.
    (dl-tree-cov)."""
    n_items = branching**depth
    q = (1.0 - 2.0 * flip_prob) ** 2
    ancestor_level = np.zeros((n_items, n_items), dtype=int)
    index = np.arange(n_items)
    for level in range(depth + 1):
        subtree = branching ** (depth - level)  # items per level-``level`` subtree
        same = (index[:, None] // subtree) == (index[None, :] // subtree)
        ancestor_level[same] = level
    return q ** (depth - ancestor_level)


def train_torch_mse(y, w1, w2, lr: float, epochs: int):
    """Full-batch SGD on ``nn.MSELoss`` for ``y_hat = W2 W1 x`` with one-hot items."""
    import torch

    targets = torch.as_tensor(np.asarray(y, dtype=np.float64).T)
    first = torch.tensor(np.asarray(w1, dtype=np.float64), requires_grad=True)
    second = torch.tensor(np.asarray(w2, dtype=np.float64), requires_grad=True)
    inputs = torch.eye(targets.shape[0], dtype=torch.float64)
    optimiser = torch.optim.SGD([first, second], lr=lr)
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = torch.nn.MSELoss()(inputs @ first.T @ second.T, targets)
        loss.backward()
        optimiser.step()
    return first.detach().numpy(), second.detach().numpy()
