"""Self-checks for the exercises of chapter 7 (skills learned in turn)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..seeding import make_rng
from ..skill_learning.data import task_vectors, zipf_frequencies
from ..skill_learning.theory import sign_law_map
from ._core import CheckResult, run_check

__all__ = ["check_sign_law_step", "check_signgd_step_torch"]


def check_sign_law_step(student_fn: Callable, *, verbose: bool = True) -> CheckResult:
    """Check ``student_fn(s, p, v)`` (numpy in, numpy out) makes one step of the sign
    law, eq. (sl-sign-law), on three skill vectors (two, five and ten skills).

    An L1 normalisation (the Resource model's), a missing ``p_k`` or the wrong sign
    fails: each changes the step by far more than the tolerance.
    """
    rng = make_rng(71)
    cases = []
    for n, v in ((2, 0.01), (5, 0.05), (10, 0.002)):
        p = zipf_frequencies(n, 1.3)
        s = rng.uniform(0.0, 0.95, n)
        # the package's map, started from s: shift by one step of the law
        w = p * (1 - s)
        step = sign_law_map(p, v, 1)[1]  # one step from s = 0 ...
        expected = s + v * w / np.linalg.norm(w)  # ... and from s, written out
        assert np.allclose(step, v * p / np.linalg.norm(p))
        cases.append(((s, p, v), {}, expected))
    return run_check("sign-law step", student_fn, cases, rtol=1e-10, atol=1e-13,
                     verbose=verbose)


def _signgd_reference(x, tasks, weights, eta, eps=1e-8):
    s = tasks @ x
    g = -(weights * (1 - s)) @ tasks  # gradient of sum_k w_k (1 - s_k)^2 / 2
    return x - eta * g / (np.abs(g) + eps)


def check_signgd_step_torch(student_fn: Callable, *,
                            verbose: bool = True) -> CheckResult:
    """Check ``student_fn(x, tasks, weights, eta)`` (float64 torch tensors in, a
    tensor out) makes one SignGD step (Adam with betas (0, 0), eps = 1e-8) on the
    loss ``sum_k w_k (1 - t_k . x)^2 / 2`` of eq. (sl-geometry)."""
    import torch

    rng = make_rng(72)
    cases = []
    for n, d, eta in ((2, 50, 1e-3), (4, 200, 3e-4), (3, 30, 0.01)):
        tasks = task_vectors(n, d, seed=int(rng.integers(1000)))[0]
        x = 0.3 * rng.standard_normal(d) / np.sqrt(d)
        weights = zipf_frequencies(n, 1.0)
        expected = _signgd_reference(x, tasks, weights, eta)
        args = tuple(torch.tensor(a) for a in (x, tasks, weights)) + (eta,)
        cases.append((args, {}, expected))

    def as_numpy(*args):
        out = student_fn(*args)
        return out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)

    # tolerance: float64 round-off of a d <= 200 dot product (~ d 2^-52 = 4e-14,
    # relative); an exact sign differs by eta eps/|g| ~ 1e-9 and is rejected
    # (chapter 7, sl-ex-torch).
    return run_check("SignGD step (PyTorch)", as_numpy, cases, rtol=1e-12, atol=1e-15,
                     verbose=verbose)
