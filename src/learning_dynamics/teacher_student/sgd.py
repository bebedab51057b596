"""Online SGD of chapter 5, batched over students: explicit weights and the exact chain.

- :func:`online_sgd` — plain online SGD on explicit weights ``(B, K, d)``, eq. (ts-sgd);
- :func:`order_parameter_sgd` — the same SGD run exactly in law on the overlaps alone
  (eq. (ts-exact-chain)): per step it draws the ``K + M`` local fields and one
  chi-square variable for the rest of ``|x|^2``, so its cost does not grow with ``d``.

Both record sparsely (``n_record`` snapshots) and return a
:class:`~learning_dynamics.teacher_student.train.Trajectory`.
"""

from __future__ import annotations

import math

import numpy as np

from ..seeding import make_rng
from ..validation import DivergenceError, check_float, check_int
from .data import MAX_INPUT_DIM, MIN_INPUT_DIM, OrderParameters, Teacher, activation
from .train import (
    GPRIME,
    MAX_SGD_STEPS,
    Trajectory,
    _batch_vector,
    _check_norms,
    _record_steps,
    _trajectory,
)

__all__ = ["online_sgd", "order_parameter_sgd", "overlap_step", "small_cholesky"]

INV_SQRT2 = 1.0 / math.sqrt(2.0)


def overlap_step(R, resid, v, nu, z_perp, chi2, target, rates, T_inv, mask=None):
    """One online-SGD step written on the overlaps, eq. (ts-exact-chain).

    The state is ``R``, a square root ``resid`` of the residual Gram matrix
    ``S = Q - R T^{-1} R^T`` (``resid resid^T = S``; the student vectors' parts
    orthogonal to the teacher) and ``v``. A fresh input enters through the teacher
    fields ``nu`` (``(B, M)``), a standard normal ``z_perp`` (``(B, K)``) giving the
    residual fields ``lam_perp = resid z_perp`` and ``chi2``, the squared norm of the
    part of ``x`` outside the span of all ``K + M`` weight vectors. The SGD step
    ``w_k -= (eta / sqrt d) v_k g'(lam_k) Delta x`` then gives

    ``R' = R - (eta/d) a nu^T`` and
    ``S' = (resid - (eta/d) a z^T)(...)^T + (eta/d)^2 chi2 a a^T`` with
    ``a_k = v_k g'(lam_k) Delta``; ``v_k -= (eta_v / d) g(lam_k) Delta``.
    ``rates = (eta / d, eta_v / d)``, arrays of shape ``(B,)`` (``eta_v / d`` may be
    ``None`` when the second layer is not trained); ``T_inv`` is
    ``T^{-1}`` (``None`` when ``T = I``).

    Returns
    -------
    (R, resid, v)
        The new state; ``resid`` is the Cholesky factor of ``S'``.
    """
    eta_d, eta_v_d = rates
    if resid.shape[-1] == 2 and T_inv is None and eta_v_d is None:
        return _overlap_step_two_units(R, resid, v, nu, z_perp, chi2, target, eta_d)
    coupling = R if T_inv is None else R @ T_inv
    # tiny arrays: broadcasting beats einsum and matmul on call overhead
    lam = (coupling * nu[:, None, :]).sum(-1) + (resid * z_perp[:, None, :]).sum(-1)
    g_lam = _erf_scaled(lam)
    error = (v * g_lam).sum(1) - target
    step = (eta_d * error)[:, None] * v * GPRIME * np.exp(-0.5 * lam * lam)
    moved = resid - step[:, :, None] * z_perp[:, None, :]
    S = (moved[:, :, None, :] * moved[:, None, :, :]).sum(-1) + (
        chi2[:, None, None] * step[:, :, None]
    ) * step[:, None, :]
    R = R - step[:, :, None] * nu[:, None, :]
    if eta_v_d is not None:
        dv = eta_v_d[:, None] * g_lam * error[:, None]
        v = v - (dv if mask is None else dv * mask)
    return R, small_cholesky(S), v


def _overlap_step_two_units(R, resid, v, nu, z_perp, chi2, target, eta_d):
    """:func:`overlap_step` written out for ``K = 2``, ``T = I`` and a fixed second
    layer (the chapter's main runs); about 1.5 times faster, identical in law."""
    l11, l21, l22 = resid[:, 0, 0], resid[:, 1, 0], resid[:, 1, 1]
    z0, z1 = z_perp[:, 0], z_perp[:, 1]
    lam = (R @ nu[:, :, None])[:, :, 0]
    lam[:, 0] += l11 * z0
    lam[:, 1] += l21 * z0 + l22 * z1
    error = (v * _erf_scaled(lam)).sum(1) - target
    step = (eta_d * error)[:, None] * v * GPRIME * np.exp(-0.5 * lam * lam)
    s0, s1 = step[:, 0], step[:, 1]
    m00, m01 = l11 - s0 * z0, -s0 * z1
    m10, m11 = l21 - s1 * z0, l22 - s1 * z1
    S00 = m00 * m00 + m01 * m01 + chi2 * s0 * s0
    S10 = m10 * m00 + m11 * m01 + chi2 * s1 * s0
    S11 = m10 * m10 + m11 * m11 + chi2 * s1 * s1
    new = np.zeros_like(resid)
    new[:, 0, 0] = np.sqrt(S00)
    new[:, 1, 0] = S10 / new[:, 0, 0]
    new[:, 1, 1] = np.sqrt(S11 - new[:, 1, 0] ** 2)
    if not np.all(new[:, 0, 0] * new[:, 1, 1] > 0):
        raise np.linalg.LinAlgError("residual Gram matrix is not positive definite")
    return R - step[:, :, None] * nu[:, None, :], new, v


def _erf_scaled(x):
    import torch

    return torch.special.erf(torch.from_numpy(x * INV_SQRT2)).numpy()


def small_cholesky(S):
    """Cholesky factors of a stack of small SPD matrices ``(B, K, K)``.

    Faster than ``numpy.linalg.cholesky`` for tiny ``K`` and large ``B``;
    raises :class:`numpy.linalg.LinAlgError` when a pivot is not positive.
    """
    hidden = S.shape[-1]
    L = np.zeros_like(S)
    if hidden == 2:  # the common case, written out
        L[:, 0, 0] = np.sqrt(S[:, 0, 0])
        L[:, 1, 0] = S[:, 1, 0] / L[:, 0, 0]
        L[:, 1, 1] = np.sqrt(S[:, 1, 1] - L[:, 1, 0] ** 2)
        if not np.all(L[:, 0, 0] * L[:, 1, 1] > 0):
            raise np.linalg.LinAlgError("matrix is not positive definite")
        return L
    for j in range(hidden):
        pivot = S[:, j, j] - np.sum(L[:, j, :j] ** 2, -1)
        if not np.all(pivot > 0):
            raise np.linalg.LinAlgError("matrix is not positive definite")
        L[:, j, j] = np.sqrt(pivot)
        if j + 1 < hidden:
            below = S[:, j + 1 :, j] - np.sum(L[:, j + 1 :, :j] * L[:, j, None, :j], -1)
            L[:, j + 1 :, j] = below / L[:, j, j, None]
    return L


def _sgd_rates(batch, eta, eta_v, d):
    d = np.broadcast_to(np.asarray(d), (batch,))
    if (
        not np.issubdtype(d.dtype, np.integer)
        or d.min() < MIN_INPUT_DIM
        or d.max() > MAX_INPUT_DIM
    ):
        raise ValueError(
            f"d must hold integers in [{MIN_INPUT_DIM}, {MAX_INPUT_DIM}]; "
            f"got {d.min()} to {d.max()}"
        )
    eta = _batch_vector("eta", eta, batch, 0.0, 10.0)
    eta_v = _batch_vector("eta_v", eta_v, batch, 0.0, 10.0)
    return d.astype(np.int64), eta / d, eta_v / d, eta**2 / d


def _check_steps(t_max, d_max):
    t_max = check_float("t_max", t_max, minimum=0.0, min_inclusive=False)
    steps = int(round(t_max * d_max))
    if steps > MAX_SGD_STEPS:
        raise ValueError(
            f"t_max * d = {steps} SGD steps exceeds the limit "
            f"{MAX_SGD_STEPS}; reduce t_max or d"
        )
    return max(steps, 1)


def _diverged(eta):
    return DivergenceError(
        "online SGD diverged (overlaps became non-finite or "
        "the field covariance lost positive definiteness); reduce eta "
        f"(largest in the batch: {np.max(eta):g})"
    )


def order_parameter_sgd(
    params: OrderParameters,
    d,
    eta,
    t_max: float,
    *,
    eta_v=0.0,
    noise=0.0,
    unit_mask=None,
    n_record: int = 201,
    seed: int = 0,
    block: int = 2000,
) -> Trajectory:
    """Online SGD simulated exactly in law on the overlaps, eq. (ts-exact-chain).

    Per step the fields are drawn as ``nu = L_T z``, ``lam = R T^{-1} nu + L_c z'``
    (``L_c L_c^T = Q - R T^{-1} R^T``) and ``|x|^2 = |z|^2 + |z'|^2 + chi^2_{d-K-M}``,
    which is the joint law of the fields and the input norm for a fresh Gaussian
    ``x``; then :func:`overlap_step` applies the SGD update. The cost per step does
    not depend on ``d``.

    Parameters
    ----------
    params : OrderParameters
        Initial overlaps of ``B`` students (their covariance must be positive definite).
    d : int or array of shape ``(B,)``
        Input dimension of each run. Runs share the step counter, so a run with a
        smaller ``d`` reaches ``t = steps / d`` further.
    eta, eta_v, noise : float or array of shape ``(B,)``
        Learning rates (first layer ``eta / sqrt d`` per step, second ``eta_v / d``)
        and label-noise ``sigma``.
    t_max : float
        Time reached by the run(s) with the largest ``d``.
    unit_mask : array of shape ``(B, K)``, optional
        0 marks padding units (``v = 0``, never updated).
    n_record : int
        Snapshots, equally spaced in steps.
    seed : int
        Seed of the draws.
    """
    batch, hidden, teacher = params.R.shape
    d, eta_d, eta_v_d, _ = _sgd_rates(batch, eta, eta_v, d)
    noise = _batch_vector("noise", noise, batch, 0.0, 10.0)
    steps = _check_steps(t_max, d.max())
    record = _record_steps(
        steps, check_int("n_record", n_record, minimum=2, maximum=100_000)
    )
    chol_T = np.linalg.cholesky(params.T)
    T_inv = np.linalg.inv(params.T)
    rng = make_rng(seed)
    R, v = params.R.copy(), params.v.copy()
    resid = _residual_factor(params.Q, R, T_inv)
    # T = I to rounding (an orthonormal teacher): skip the T^{-1} products
    step_T_inv = None if np.allclose(params.T, np.eye(teacher), atol=1e-12) else T_inv
    out = [(params.Q.copy(), R, v)]
    for start in range(0, steps, block):
        count = min(block, steps - start)
        nu, z_perp, chi2, target = _draw_block(
            rng, count, batch, hidden, d, chol_T, params.v_star, noise
        )
        try:
            for j in range(count):
                R, resid, v = overlap_step(
                    R,
                    resid,
                    v,
                    nu[j],
                    z_perp[j],
                    chi2[j],
                    target[j],
                    (eta_d, eta_v_d if np.any(eta_v_d) else None),
                    step_T_inv,
                    unit_mask,
                )
                if start + j + 1 == record[len(out)]:
                    Q = resid @ np.swapaxes(resid, 1, 2) + R @ T_inv @ np.swapaxes(
                        R, 1, 2
                    )
                    out.append((Q, R, v))
        except np.linalg.LinAlgError:
            raise _diverged(eta_d * d) from None
        _check_norms(out[-1][0], eta_d * d, (start + count) / d.max())
    return _trajectory(record[:, None] / d[None, :], out, params)


def _residual_factor(Q, R, T_inv):
    S = Q - R @ T_inv @ np.swapaxes(R, 1, 2)
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the covariance [[Q, R], [R^T, T]] must be positive definite "
            "for SGD (the students' weights must be linearly independent "
            "of the teacher's)"
        ) from None


def _draw_block(rng, count, batch, hidden, d, chol_T, v_star, noise):
    z_nu = rng.standard_normal((count, batch, v_star.size))
    z_perp = rng.standard_normal((count, batch, hidden))
    chi2 = rng.chisquare(d - hidden - v_star.size, size=(count, batch))
    nu = z_nu @ chol_T.T
    target = activation(nu) @ v_star + noise * rng.standard_normal((count, batch))
    return nu, z_perp, chi2, target


def online_sgd(
    teacher: Teacher,
    weights,
    eta,
    t_max: float,
    *,
    second_layer=None,
    eta_v=0.0,
    n_record: int = 101,
    seed: int = 0,
) -> Trajectory:
    """Online SGD on explicit student weights, batched over students, eq. (ts-sgd).

    Every step draws a fresh ``x ~ N(0, I_d)`` per student, the teacher label
    ``y = v* . g(W* x / sqrt d) + sigma zeta``, and updates
    ``w_k -= (eta / sqrt d) v_k g'(lam_k) (yhat - y) x`` and
    ``v_k -= (eta_v / d) g(lam_k) (yhat - y)``. Cost per step ``O(B K d)``; the
    chapter uses :func:`order_parameter_sgd` for long runs and this engine to check it.

    Parameters
    ----------
    teacher : Teacher
        The teacher (shared by the batch).
    weights : array of shape ``(B, K, d)``
        Initial student first layers.
    eta, eta_v : float
        Learning rates of the first and second layer.
    t_max : float
        Final time (``t_max * d`` steps).
    second_layer : array of shape ``(K,)`` or ``(B, K)``, optional
        Initial ``v`` (default ones).
    """
    if not isinstance(teacher, Teacher):
        raise TypeError(f"teacher must be a Teacher; got {type(teacher).__name__}")
    W = np.array(weights, dtype=np.float64)
    if W.ndim != 3 or W.shape[2] != teacher.input_dim:
        raise ValueError(
            f"weights must have shape (B, K, {teacher.input_dim}); got {W.shape}"
        )
    batch, hidden, d = W.shape
    eta = check_float("eta", eta, minimum=0.0, maximum=10.0)
    eta_v = check_float("eta_v", eta_v, minimum=0.0, maximum=10.0)
    v = (
        np.ones((batch, hidden))
        if second_layer is None
        else np.broadcast_to(
            np.asarray(second_layer, dtype=np.float64), (batch, hidden)
        ).copy()
    )
    steps = _check_steps(t_max, d)
    record = _record_steps(
        steps, check_int("n_record", n_record, minimum=2, maximum=10_000)
    )
    rng, root_d = make_rng(seed), math.sqrt(d)
    out = [_overlaps(W, v, teacher)]
    for step in range(1, steps + 1):
        x = rng.standard_normal((batch, d))
        nu = x @ teacher.weights.T / root_d
        target = activation(
            nu
        ) @ teacher.second_layer + teacher.noise * rng.standard_normal(batch)
        lam = np.einsum("bkd,bd->bk", W, x) / root_d
        g_lam = activation(lam)
        error = np.sum(v * g_lam, axis=1) - target
        a = v * GPRIME * np.exp(-0.5 * lam * lam) * error[:, None]
        W -= (eta / root_d) * a[:, :, None] * x[:, None, :]
        v -= (eta_v / d) * g_lam * error[:, None]
        if step == record[len(out)]:
            out.append(_overlaps(W, v, teacher))
            _check_norms(out[-1][0], eta, step / d)
    params = OrderParameters(
        out[0][0], out[0][1], teacher.overlap, v, teacher.second_layer
    )
    return _trajectory(record / d, out, params)


def _overlaps(W, v, teacher):
    d = W.shape[2]
    return (W @ np.swapaxes(W, 1, 2) / d, W @ teacher.weights.T / d, v.copy())
