"""Simulations of chapter 5: the ODE integrator and what all engines share.

:func:`integrate_ode` is fixed-step RK4 for eq. (ts-ode-R) to eq. (ts-ode-v), batched
over a leading axis (seeds, learning rates, widths); :class:`Trajectory` is the sparse
record every engine returns; :func:`escape_time` reads the end of the plateau off a
record. The two SGD engines live in :mod:`learning_dynamics.teacher_student.sgd`.
Every engine raises :class:`~learning_dynamics.validation.DivergenceError` naming
``eta`` when a run blows up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import DivergenceError, check_array, check_float, check_int
from .data import OrderParameters
from .theory import _batch_vector, _check_drop, generalisation_error, ode_rhs

__all__ = [
    "Trajectory",
    "integrate_ode",
    "escape_time",
    "MAX_SGD_STEPS",
    "MAX_ODE_STEPS",
]

#: Most sequential SGD steps one call may take (about 2 minutes of CPU).
MAX_SGD_STEPS = 1_000_000
#: Student norms ``Q_kk`` above this mean the weights are running away: with a
#: bounded activation SGD at too large a learning rate does not produce NaNs, the
#: norms grow without bound, the units saturate and learning stops.
MAX_STUDENT_NORM = 100.0
#: Most RK4 steps one call may take.
MAX_ODE_STEPS = 200_000
GPRIME = math.sqrt(2.0 / math.pi)


@dataclass(frozen=True)
class Trajectory:
    """Sparse record of a batch of runs.

    Attributes
    ----------
    t : numpy.ndarray
        Times ``steps / d``, shape ``(n_record,)`` or ``(n_record, B)`` when the
        batch mixes input dimensions.
    eps_g : numpy.ndarray
        Generalisation error, eq. (ts-eg), shape ``(n_record, B)``.
    Q, R, v : numpy.ndarray
        Order parameters at the recorded times, shapes ``(n_record, B, K, K)``,
        ``(n_record, B, K, M)`` and ``(n_record, B, K)``.
    """

    t: np.ndarray
    eps_g: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray

    def at(self, index: int, params: OrderParameters) -> OrderParameters:
        """The recorded state ``index`` as :class:`OrderParameters`.

        The teacher's ``T`` and ``v*`` are taken from ``params``.
        """
        return params.replace(Q=self.Q[index], R=self.R[index], v=self.v[index])


def _record_steps(total, n_record):
    return np.unique(np.linspace(0, total, n_record).round().astype(np.int64))


def _rk4_step(state, dt, kwargs):
    x = (state.Q, state.R, state.v)

    def rhs_at(h, k):  # the ODEs at x + h k
        Q, R, v = (x[i] + h * k[i] for i in range(3))
        return ode_rhs(state.replace(Q=Q, R=R, v=v), **kwargs)

    k1 = ode_rhs(state, **kwargs)
    k2 = rhs_at(0.5 * dt, k1)
    k3 = rhs_at(0.5 * dt, k2)
    k4 = rhs_at(dt, k3)
    Q, R, v = (
        x[i] + dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) for i in range(3)
    )
    return state.replace(Q=Q, R=R, v=v)


def integrate_ode(
    params: OrderParameters,
    eta,
    t_max: float,
    *,
    dt: float = 0.05,
    eta_v=0.0,
    noise=0.0,
    unit_mask=None,
    n_record: int = 201,
    drop=(),
) -> Trajectory:
    """Integrate the order-parameter ODEs by fixed-step RK4, eq. (ts-ode-Q).

    Parameters
    ----------
    params : OrderParameters
        Initial state, batch ``B`` (every element integrated in one array).
    eta, eta_v, noise : float or array of shape ``(B,)``
        First- and second-layer learning rates, label noise ``sigma``.
    t_max : float
        Final time (in units of ``d`` SGD steps).
    dt : float
        RK4 step; the chapter halves it to check convergence.
    unit_mask : array of shape ``(B, K)``, optional
        0 marks padding units, whose ``v`` stays 0 (mixing widths in one batch).
    n_record : int
        Number of equally spaced snapshots (including ``t = 0`` and ``t_max``).
    drop : str or tuple of str, optional
        Terms of eq. (ts-ode-Q) to remove in every step, for ablations:
        ``"sgd_noise"`` (the ``eta^2 ... I4`` term) and/or ``"label_noise"`` (the
        ``eta^2 sigma^2 J2`` term); see :func:`~.theory.ode_rhs`. Default: none.
    """
    batch = params.batch
    kwargs = dict(
        eta=_batch_vector("eta", eta, batch, 0.0, 10.0),
        eta_v=_batch_vector("eta_v", eta_v, batch, 0.0, 10.0),
        noise=_batch_vector("noise", noise, batch, 0.0, 10.0),
        unit_mask=unit_mask,
        drop=_check_drop(drop),
    )
    t_max = check_float("t_max", t_max, minimum=0.0, min_inclusive=False)
    dt = check_float("dt", dt, minimum=1e-4, maximum=1.0)
    n_steps = int(math.ceil(t_max / dt - 1e-9))
    if n_steps > MAX_ODE_STEPS:
        raise ValueError(
            f"t_max / dt = {n_steps} RK4 steps exceeds the limit "
            f"{MAX_ODE_STEPS}; increase dt or reduce t_max"
        )
    n_record = check_int("n_record", n_record, minimum=2, maximum=100_000)
    record = _record_steps(n_steps, n_record)
    out, state = [(params.Q, params.R, params.v)], params
    for step in range(1, n_steps + 1):
        state = _rk4_step(state, dt, kwargs)
        _check_norms(state.Q, kwargs["eta"], step * dt)
        if step == record[len(out)]:
            out.append((state.Q, state.R, state.v))
    return _trajectory(record * dt, out, params)


def _trajectory(t, snapshots, params):
    """The record of float64 times ``t`` and ``snapshots`` of ``(Q, R, v)``."""
    Q, R, v = (np.stack([snap[i] for snap in snapshots]) for i in range(3))
    n_record, batch = Q.shape[:2]
    flat = params.replace(
        Q=Q.reshape((n_record * batch,) + Q.shape[2:]),
        R=R.reshape((n_record * batch,) + R.shape[2:]),
        v=v.reshape((n_record * batch,) + v.shape[2:]),
    )
    eps = generalisation_error(flat).reshape(n_record, batch)
    return Trajectory(t, eps, Q, R, v)


def escape_time(t, eps_g, threshold: float, *, after: float = 0.0) -> np.ndarray:
    """First recorded time after ``after`` at which ``eps_g`` falls below ``threshold``.

    Log-linear interpolation between records (exact for an exponential decay);
    ``inf`` where it never does.

    Parameters
    ----------
    t : array of shape ``(n,)`` (shared clock) or ``(n, B)`` (one clock per run)
    eps_g : array of shape ``(n, B)``, finite
    threshold : float ``> 0``
    after : float
        Only records at times ``> after`` count (to skip early dips).
    """
    eps_g = check_array("eps_g", eps_g, ndim=2)
    t = check_array("t", t)
    if t.shape not in ((len(eps_g),), eps_g.shape):
        raise ValueError(
            f"t must have shape ({len(eps_g)},) or {eps_g.shape} to match eps_g; "
            f"got {t.shape}"
        )
    t = np.broadcast_to(t[:, None] if t.ndim == 1 else t, eps_g.shape)
    threshold = check_float("threshold", threshold, minimum=0.0, min_inclusive=False)
    after = check_float("after", after)
    below = (eps_g < threshold) & (t > after)
    first = np.argmax(below, axis=0)
    out = np.full(eps_g.shape[1], np.inf)
    for b in np.flatnonzero(below.any(axis=0)):
        i = first[b]
        if i == 0:
            out[b] = t[0, b]
            continue
        e0, e1 = np.log(eps_g[i - 1, b]), np.log(eps_g[i, b])
        frac = (e0 - math.log(threshold)) / (e0 - e1) if e0 != e1 else 1.0
        out[b] = t[i - 1, b] + frac * (t[i, b] - t[i - 1, b])
    return out


def _check_norms(Q, eta, time):
    diagonal = np.diagonal(Q, axis1=-2, axis2=-1)
    if not np.all(np.isfinite(Q)) or diagonal.max() > MAX_STUDENT_NORM:
        raise DivergenceError(
            f"the student's norms ran away (max Q_kk = {np.nanmax(diagonal):.3g} > "
            f"{MAX_STUDENT_NORM:g} at t = {time:.3g}): the units saturate and learning "
            f"stops; reduce eta (largest in the batch: {np.max(eta):g})"
        )
