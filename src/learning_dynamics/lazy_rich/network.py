"""The width-``N`` network of chapter 3 and the diagnostics of its runs.

* :func:`train_full_network`: the straightforward network in torch (autograd,
  float64, full-batch gradient descent), against which the recursion is checked;
* :func:`monte_carlo_test_loss`: the empirical test loss on fresh inputs;
* :func:`crossing_time`: when a loss curve first falls below a level.
"""

from __future__ import annotations

import numpy as np

from ..device import single_threaded
from ..seeding import make_rng
from ..validation import (
    check_array,
    check_bool,
    check_finite_loss,
    check_float,
    check_int,
)
from .data import Committee, TeacherData, check_pair
from .schedule import ALPHA_MAX, ALPHA_MIN, MAX_STEPS, check_stable_start

__all__ = [
    "MC_SAMPLES_MAX",
    "train_full_network",
    "monte_carlo_test_loss",
    "crossing_time",
]

#: Largest Monte-Carlo sample of :func:`monte_carlo_test_loss` (about a minute).
MC_SAMPLES_MAX = 100_000_000


def train_full_network(
    data: TeacherData, net: Committee, alpha: float, steps: int, *, eta0: float = 1.0
):
    """The straightforward width-``N`` network: torch autograd, float64, full-batch GD.

    Trains ``f~(x) = f(W, x) - f(W0, x)``, eq. (lr-model), on ``mean (f~ - y)^2`` with
    ``eta = eta0 N / alpha^2`` for ``steps`` steps (at most ``MAX_STEPS``).  Returns
    ``(train_losses, W)``: the loss before each step (length ``steps + 1``) and the
    final weights (N, d) as numpy arrays.
    """
    import torch

    check_pair(data, net)
    alpha = check_float("alpha", alpha, minimum=ALPHA_MIN, maximum=ALPHA_MAX)
    steps = check_int("steps", steps, minimum=0, maximum=MAX_STEPS)
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    check_stable_start(data, net, eta0)
    X = torch.tensor(data.X, dtype=torch.float64)
    y = torch.tensor(data.y, dtype=torch.float64)
    W = torch.tensor(net.W0, dtype=torch.float64, requires_grad=True)
    eps, N = net.eps, net.N

    def output(weights):
        H = X @ weights.T
        return alpha * (H + 0.5 * eps * H**2).mean(dim=1)

    with torch.no_grad():
        f0 = output(W)
    eta = eta0 * N / alpha**2
    losses = []
    with single_threaded():  # small matrices: one thread is faster
        for k in range(steps + 1):
            loss = ((output(W) - f0 - y) ** 2).mean()
            losses.append(float(loss.detach()))
            check_finite_loss(
                losses[-1],
                k,
                knob=f"eta0 = {eta0:g}",
                hint="stability limit eta0 < 1/lambda_max(K0/P)",
            )
            if k == steps:
                break
            (grad,) = torch.autograd.grad(loss, W)
            with torch.no_grad():
                W -= eta * grad
    return np.array(losses), W.detach().numpy().copy()


def monte_carlo_test_loss(
    dw_bar,
    dM,
    beta,
    alpha,
    eps,
    *,
    n_samples: int = 1_000_000,
    seed=0,
    chunk: int = 50_000,
    return_stderr: bool = False,
):
    """Empirical test MSE of ``f~(x) = alpha dw_bar.x + (alpha eps/2) x^T dM x``.

    The centred network equals this expression exactly, eq. (lr-summary), so this is
    a Monte-Carlo estimate of the population loss, eq. (lr-pop-loss), on
    ``n_samples <= MC_SAMPLES_MAX`` draws ``x ~ N(0, I/d)``.  With
    ``return_stderr=True`` returns ``(estimate, standard error)``.
    """
    beta = check_array("beta", beta, ndim=1)
    d = beta.shape[0]
    dw_bar = check_array("dw_bar", dw_bar, shape=(d,))
    dM = check_array("dM", dM, shape=(d, d))
    alpha = check_float("alpha", alpha, minimum=ALPHA_MIN, maximum=ALPHA_MAX)
    eps = check_float("eps", eps, minimum=0.0)
    n_samples = check_int("n_samples", n_samples, minimum=2, maximum=MC_SAMPLES_MAX)
    chunk = check_int("chunk", chunk, minimum=1, maximum=1_000_000)
    return_stderr = check_bool("return_stderr", return_stderr)
    rng = make_rng(seed, stream=3)
    total, total_sq, done = 0.0, 0.0, 0
    with single_threaded():
        while done < n_samples:
            m = min(chunk, n_samples - done)
            X = rng.standard_normal((m, d)) / np.sqrt(d)
            f = alpha * (X @ dw_bar) + 0.5 * alpha * eps * np.einsum(
                "nd,nd->n", X @ dM, X
            )
            sq = (f - 0.5 * (X @ beta) ** 2) ** 2
            total += float(np.sum(sq))
            total_sq += float(np.sum(sq * sq))
            done += m
    mean = total / n_samples
    if not return_stderr:
        return mean
    variance = max(total_sq / n_samples - mean**2, 0.0) * n_samples / (n_samples - 1)
    return mean, float(np.sqrt(variance / n_samples))


def crossing_time(t, loss, level) -> float:
    """First time ``loss`` falls below ``level`` (linear interpolation in log-time).

    NaN if never.  ``loss`` may be 1-d (one run) or 2-d (runs x time); returns a float
    or an array.
    """
    t = check_array("t", t, ndim=1)
    loss = check_array("loss", loss, finite=False)  # NaN marks a diverged run
    if loss.shape[-1] != t.size:
        raise ValueError(
            f"loss must have {t.size} time points in its last axis; got shape "
            f"{loss.shape}"
        )
    level = check_float("level", level, minimum=0.0, min_inclusive=False)
    flat = loss.reshape(-1, t.size)
    out = np.full(flat.shape[0], np.nan)
    for i, row in enumerate(flat):
        below = np.flatnonzero(row < level)
        if below.size == 0:
            continue
        j = below[0]
        if j == 0:
            out[i] = t[0]
            continue
        t1, t2, l1, l2 = t[j - 1], t[j], row[j - 1], row[j]
        frac = (l1 - level) / (l1 - l2)
        if t1 > 0:
            out[i] = float(np.exp(np.log(t1) + frac * (np.log(t2) - np.log(t1))))
        else:
            out[i] = t1 + frac * (t2 - t1)
    return out.reshape(loss.shape[:-1]) if loss.ndim > 1 else float(out[0])
