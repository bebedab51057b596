"""Closed forms and ODEs of chapter 5: Gaussian averages, ODEs, fixed points.

For erf units the four averages of eq. (ts-averages) have closed forms, so the
generalisation error (eq. (ts-eg)) and the N -> infinity ODEs for ``Q``, ``R`` and
``v`` (eq. (ts-ode-R), eq. (ts-ode-Q), eq. (ts-ode-v)) are explicit functions of the
order parameters. Everything is vectorised over a leading batch axis. No training
loops live here (see :mod:`learning_dynamics.teacher_student.train`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import check_array, check_float, check_int
from .data import OrderParameters, raw_symmetric_point, symmetric_order_parameters

__all__ = [
    "GaussianAverages",
    "gaussian_averages",
    "generalisation_error",
    "ode_rhs",
    "ODE_NOISE_TERMS",
    "symmetric_plateau_closed_form",
    "SymmetricFixedPoint",
    "symmetric_fixed_point",
    "stability_matrix",
    "escape_rate",
    "fixed_point",
    "plateau_branch",
]

TWO_OVER_PI = 2.0 / math.pi
#: The two ``eta^2`` terms of eq. (ts-ode-Q) that ``ode_rhs(..., drop=...)`` can
#: remove (ablations): the SGD noise ``eta^2 v_i v_k sum c_p c_q I4(i, k, p, q)`` and
#: the label noise ``eta^2 v_i v_k sigma^2 J2(i, k)``.
ODE_NOISE_TERMS = ("sgd_noise", "label_noise")


@dataclass(frozen=True)
class GaussianAverages:
    """The four averages of eq. (ts-averages) for every index tuple.

    Attributes
    ----------
    I2 : numpy.ndarray
        ``<g(h_a) g(h_b)>``, shape ``(B, D, D)`` with ``D = K + M`` fields.
    I3 : numpy.ndarray
        ``<g'(h_i) h_b g(h_c)>`` for student ``i``, shape ``(B, K, D, D)``.
    I4 : numpy.ndarray
        ``<g'(h_i) g'(h_k) g(h_c) g(h_e)>``, shape ``(B, K, K, D, D)``.
    J2 : numpy.ndarray
        ``<g'(h_i) g'(h_k)>``, shape ``(B, K, K)``.
    """

    I2: np.ndarray
    I3: np.ndarray
    I4: np.ndarray
    J2: np.ndarray


def _i2(C, shifted):
    norm = np.sqrt(shifted[..., :, None] * shifted[..., None, :])
    return TWO_OVER_PI * np.arcsin(C / norm)


def _i3(C, shifted, hidden):
    s_i = shifted[..., :hidden]  # 1 + C_ii, (B, K)
    c_ib = C[..., :hidden, :]  # (B, K, D)
    lam3 = s_i[..., :, None] * shifted[..., None, :] - c_ib**2  # over c: (B, K, D)
    numerator = (
        C[..., None, :, :] * s_i[..., :, None, None]
        - c_ib[..., :, :, None] * c_ib[..., :, None, :]
    )
    return (
        TWO_OVER_PI
        * numerator
        / (s_i[..., :, None, None] * np.sqrt(lam3)[..., :, None, :])
    )


def _i4_and_j2(C, shifted, hidden):
    """I4 and J2 of eq. (ts-averages), written with the quadratic form
    ``Lambda_0[p, q] = Lambda_4 C_pq - C_ip A_q - C_kp B_q`` (``A``, ``B`` below),
    whose diagonal with ``C_pp -> 1 + C_pp`` gives ``Lambda_1`` and ``Lambda_2``."""
    s_i = shifted[..., :hidden]
    c_ik = C[..., :hidden, :hidden]
    lam4 = s_i[..., :, None] * s_i[..., None, :] - c_ik**2  # (B, K, K)
    c_ip = C[..., :hidden, None, :]  # (B, K, 1, D): C_ip
    c_kp = C[..., None, :hidden, :]  # (B, 1, K, D): C_kp
    corr = c_ik[..., None]
    a_p = s_i[..., None, :, None] * c_ip - corr * c_kp  # s_k C_ip - C_ik C_kp
    b_p = s_i[..., :, None, None] * c_kp - corr * c_ip  # s_i C_kp - C_ik C_ip
    l4 = lam4[..., None]
    lam_diag = l4 * shifted[..., None, None, :] - c_ip * a_p - c_kp * b_p
    lam0 = (
        l4[..., None] * C[..., None, None, :, :]
        - c_ip[..., :, None] * a_p[..., None, :]
        - c_kp[..., :, None] * b_p[..., None, :]
    )
    inv_root = 1.0 / np.sqrt(lam_diag)
    ratio = lam0 * inv_root[..., :, None] * inv_root[..., None, :]
    i4 = (4.0 / math.pi**2) / np.sqrt(l4[..., None]) * np.arcsin(np.clip(ratio, -1, 1))
    return i4, TWO_OVER_PI / np.sqrt(lam4)


def gaussian_averages(C, hidden: int) -> GaussianAverages:
    """The erf averages of eq. (ts-averages) for field covariance ``C``.

    Parameters
    ----------
    C : numpy.ndarray
        Covariance of the ``D = K + M`` local fields, shape ``(B, D, D)``; the first
        ``hidden`` fields are the student's. Must be symmetric and positive
        semi-definite (smallest eigenvalue ``>= -1e-9`` times the largest).
    hidden : int
        Number of student units ``K`` (``1 <= hidden < D``).

    Raises
    ------
    ValueError
        If ``C`` is not a batch of symmetric positive semi-definite matrices.
    """
    C = check_array("C", C, ndim=3)
    if C.shape[1] != C.shape[2] or C.shape[1] > 64:
        raise ValueError(f"C must have shape (B, D, D) with D <= 64; got {C.shape}")
    hidden = check_int("hidden", hidden, minimum=1, maximum=C.shape[1] - 1)
    if not np.allclose(C, np.swapaxes(C, 1, 2), atol=1e-12):
        raise ValueError("C must be symmetric")
    eig = np.linalg.eigvalsh(C)
    if np.any(eig[:, 0] < -1e-9 * np.maximum(1.0, eig[:, -1])):
        raise ValueError(
            "C must be positive semi-definite (a covariance); its smallest "
            f"eigenvalue is {eig[:, 0].min():.3g}"
        )
    return _averages(C, hidden)


def _averages(C, hidden):
    """:func:`gaussian_averages` without the checks (finite differences step
    slightly outside the positive semi-definite cone, where the closed forms are
    still smooth)."""
    shifted = 1.0 + np.diagonal(C, axis1=-2, axis2=-1)
    i4, j2 = _i4_and_j2(C, shifted, hidden)
    return GaussianAverages(_i2(C, shifted), _i3(C, shifted, hidden), i4, j2)


def _signed_readout(params: OrderParameters) -> np.ndarray:
    """``c = (v, -v*)``: the error is ``sum_a c_a g(h_a) - sigma zeta``."""
    v_star = np.broadcast_to(-params.v_star, params.v.shape[:-1] + params.v_star.shape)
    return np.concatenate([params.v, v_star], axis=-1)


def generalisation_error(params: OrderParameters) -> np.ndarray:
    """``eps_g = <(yhat - y)^2> / 2`` against the noiseless teacher, eq. (ts-eg).

    Returns
    -------
    numpy.ndarray
        Shape ``(B,)``.
    """
    if not isinstance(params, OrderParameters):
        raise TypeError(f"params must be OrderParameters; got {type(params).__name__}")
    C = params.covariance()
    shifted = 1.0 + np.diagonal(C, axis1=-2, axis2=-1)
    readout = _signed_readout(params)
    return 0.5 * np.einsum("...p,...pq,...q->...", readout, _i2(C, shifted), readout)


def _batch_vector(name, value, batch, minimum, maximum):
    """``value`` (a number or a ``(batch,)`` array) as a finite float64 ``(batch,)``
    array in ``[minimum, maximum]``; ``TypeError`` for non-numbers."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array; got {value!r}") from None
    if arr.shape not in ((), (batch,)):
        raise ValueError(
            f"{name} must be a number or an array of shape ({batch},); "
            f"got shape {arr.shape}"
        )
    arr = np.broadcast_to(arr, (batch,)).copy()
    if not np.all(np.isfinite(arr)) or arr.min() < minimum or arr.max() > maximum:
        raise ValueError(
            f"{name} must be finite and in [{minimum:g}, {maximum:g}]; "
            f"got values from {arr.min():g} to {arr.max():g}"
        )
    return arr


def _check_drop(drop) -> frozenset:
    """``drop`` (one name of :data:`ODE_NOISE_TERMS` or a tuple of them) as a set.

    Raises
    ------
    TypeError
        If ``drop`` is neither a string nor a tuple/list of strings.
    ValueError
        If a name is not one of :data:`ODE_NOISE_TERMS`.
    """
    names = (drop,) if isinstance(drop, str) else drop
    if not isinstance(names, (tuple, list, set, frozenset)) or not all(
        isinstance(name, str) for name in names
    ):
        raise TypeError(
            "drop must be a term name or a tuple of term names from "
            f"{ODE_NOISE_TERMS}; got {drop!r}"
        )
    for name in names:
        if name not in ODE_NOISE_TERMS:
            raise ValueError(
                f"drop must name terms of eq. (ts-ode-Q) from {ODE_NOISE_TERMS}; "
                f"got {name!r}"
            )
    return frozenset(names)


def ode_rhs(
    params: OrderParameters, eta, *, eta_v=0.0, noise=0.0, unit_mask=None, drop=()
):
    """Time derivatives ``(dQ/dt, dR/dt, dv/dt)`` of eq. (ts-ode-R) to eq. (ts-ode-v).

    Parameters
    ----------
    params : OrderParameters
        Current state, batch ``B``.
    eta, eta_v, noise : float or array of shape ``(B,)``
        First- and second-layer learning rates and label-noise ``sigma``.
    unit_mask : array of shape ``(B, K)``, optional
        1 for live student units, 0 for padding units (their ``v`` stays 0).
    drop : str or tuple of str, optional
        Terms of eq. (ts-ode-Q) to remove, for ablations: ``"sgd_noise"`` (the
        ``eta^2 v_i v_k sum_pq c_p c_q I4(i, k, p, q)`` term) and/or
        ``"label_noise"`` (the ``eta^2 v_i v_k sigma^2 J2(i, k)`` term; the same as
        ``noise=0``). The gradient (order ``eta``) term, ``dR/dt`` and ``dv/dt``
        are unchanged. Default: nothing dropped, the ODEs of the chapter.

    Raises
    ------
    TypeError, ValueError
        For a ``drop`` that is not a name (or tuple of names) of
        :data:`ODE_NOISE_TERMS`, and for rates outside ``[0, 10]``.
    """
    if not isinstance(params, OrderParameters):
        raise TypeError(f"params must be OrderParameters; got {type(params).__name__}")
    drop = _check_drop(drop)
    hidden = params.R.shape[1]
    eta, eta_v, noise = (
        _batch_vector(name, x, params.batch, 0.0, 10.0)
        for name, x in (("eta", eta), ("eta_v", eta_v), ("noise", noise))
    )
    avg = _averages(params.covariance(), hidden)
    readout = _signed_readout(params)
    eta, eta_v, noise = (x.reshape(-1, 1, 1) for x in (eta, eta_v, noise))
    v = params.v
    drift = -v[..., :, None] * np.einsum("...ibp,...p->...ib", avg.I3, readout)
    dR = eta * drift[..., hidden:]
    first = drift[..., :hidden]
    pair = np.einsum("...ikpq,...p,...q->...ik", avg.I4, readout, readout)
    label = noise**2 * avg.J2
    if "sgd_noise" in drop:
        pair = np.zeros_like(pair)
    if "label_noise" in drop:
        label = np.zeros_like(label)
    dQ = eta * (first + np.swapaxes(first, -1, -2)) + eta**2 * (
        v[..., :, None] * v[..., None, :] * (pair + label)
    )
    dv = -eta_v[..., 0] * np.einsum(
        "...ip,...p->...i", avg.I2[..., :hidden, :], readout
    )
    if unit_mask is not None:
        dv = dv * unit_mask
    return dQ, dR, dv


def symmetric_plateau_closed_form(hidden: int) -> tuple[float, float, float]:
    """The unspecialised fixed point at ``eta -> 0``, eq. (ts-plateau-closed).

    For ``K = M``, ``T = I`` and ``v = v* = 1`` every student unit equals
    ``w = r sum_n w*_n`` with ``Q_ik = q = 1/(2K-1)`` and ``r = 1/sqrt(K(2K-1))``.

    Returns
    -------
    (q, r, eps_g) : tuple of float
        The overlaps and the generalisation error at the plateau.
    """
    hidden = check_int("hidden", hidden, minimum=1, maximum=8)
    q = 1.0 / (2 * hidden - 1)
    r = 1.0 / math.sqrt(hidden * (2 * hidden - 1))
    params = symmetric_order_parameters(hidden, q, q, r)
    return q, r, float(generalisation_error(params)[0])


@dataclass(frozen=True)
class SymmetricFixedPoint:
    """The symmetric fixed point of the ODEs at learning rate ``eta``.

    Attributes
    ----------
    q_diag, q_off, r : float
        ``Q_ii``, ``Q_ik`` (``i != k``) and ``R_in``.
    eps_g : float
        Generalisation error there (the plateau height).
    eta, noise : float
        Learning rate and label noise it was solved for.
    residual : float
        Largest ``|dQ/dt|, |dR/dt|`` left at the solution.
    """

    q_diag: float
    q_off: float
    r: float
    eps_g: float
    eta: float
    noise: float
    residual: float

    def params(self, hidden: int) -> OrderParameters:
        """The fixed point as :class:`OrderParameters` (batch 1)."""
        return symmetric_order_parameters(hidden, self.q_diag, self.q_off, self.r)


def _symmetric_residual(x, hidden, eta, noise):
    params = raw_symmetric_point(hidden, *x)
    dQ, dR, _ = ode_rhs(params, eta, noise=noise)
    return np.array([dQ[0, 0, 0], dQ[0, 0, 1], dR[0, 0, 0]])


MIN_RELAX_ETA = 0.01
"""Smallest ``eta`` for the flow relaxation (16 000 Euler steps, a few seconds)."""


def _relax_symmetric(hidden, eta, noise, *, step=0.5):
    """Euler steps of the flow restricted to the symmetric family (an invariant set),
    from a small symmetric start up to ``t = 80 / eta``: a starting point for Newton."""
    x = np.array([0.05, 0.0, 0.01])
    for _ in range(int(80 / (eta * step))):
        x = x + step * _symmetric_residual(x, hidden, eta, noise)
    return x


def _newton(func, x, *, tol=1e-13, max_iter=50):
    for _ in range(max_iter):
        f = func(x)
        step = 1e-7
        jac = np.column_stack(
            [
                (func(x + step * e) - func(x - step * e)) / (2 * step)
                for e in np.eye(x.size)
            ]
        )
        dx = np.linalg.solve(jac, -f)
        x = x + dx
        if np.max(np.abs(dx)) < tol:
            break
    return x


def _solve_symmetric(hidden, eta, noise, eta_step):
    """Newton's root of the symmetric residual, started as the docstring of
    :func:`symmetric_fixed_point` describes."""
    if hidden == 2 and noise == 0.0:
        q, r, _ = symmetric_plateau_closed_form(hidden)
        start = min(eta, eta_step)
        x = np.array([q + 0.07 * start, q - 0.01 * start, r])
        levels = np.append(np.arange(start, eta, eta_step), eta)
        for level in levels:
            x = _newton(lambda y, e=level: _symmetric_residual(y, hidden, e, noise), x)
        return x
    # follow the flow inside the symmetric family onto the plateau, then polish
    x = _relax_symmetric(hidden, eta, noise)
    return _newton(lambda y: _symmetric_residual(y, hidden, eta, noise), x)


def symmetric_fixed_point(
    hidden: int, eta: float, *, noise: float = 0.0, eta_step: float = 0.1
) -> SymmetricFixedPoint:
    """Solve eq. (ts-fixed-point) for the unspecialised point, ``K = M``, ``T = I``.

    Newton's method on ``(Q_ii, Q_ik, R_in)``. At ``eta -> 0`` the point is the
    closed form of eq. (ts-plateau-closed), where the direction ``Q_ii - Q_ik`` is
    marginal; for ``K = 2`` without label noise the root is therefore continued from
    ``eta = min(eta, eta_step)`` (started at ``Q_ii - Q_ik = 0.08 eta``) upwards in
    steps of ``eta_step``. For ``K >= 3``, and for ``K = 2`` with noise (where that
    continuation ends on the collapsed root ``Q_ii = Q_ik``, not on the plateau),
    the start is found by following the flow inside the symmetric family onto the
    plateau (up to ``t = 80 / eta``).

    Parameters
    ----------
    hidden : int
        ``K = M`` (2 to 8).
    eta : float
        Learning rate, ``0 < eta <= 3`` (``>= MIN_RELAX_ETA`` where the flow is
        followed).
    noise : float
        Label noise ``sigma`` (enters through the ``eta^2 sigma^2 J2`` term).
    eta_step : float
        Continuation step in ``eta``.

    Raises
    ------
    ValueError
        If the search ends off a plateau: strong noise or a large ``eta`` keeps the
        norms growing inside the symmetric family.
    """
    hidden = check_int("hidden", hidden, minimum=2, maximum=8)
    eta = check_float("eta", eta, minimum=0.0, maximum=3.0, min_inclusive=False)
    noise = check_float("noise", noise, minimum=0.0, maximum=10.0)
    eta_step = check_float("eta_step", eta_step, minimum=1e-3, maximum=0.5)
    if (hidden > 2 or noise > 0) and eta < MIN_RELAX_ETA:
        raise ValueError(
            f"eta must be >= {MIN_RELAX_ETA:g} for hidden > 2 or noise > 0, where the "
            f"plateau is found by following the flow to t = 80 / eta "
            f"({int(160 / eta)} Euler steps); got {eta:g}"
        )
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        x = _solve_symmetric(hidden, eta, noise, eta_step)
        residual = float(np.max(np.abs(_symmetric_residual(x, hidden, eta, noise))))
    gaps = (x[0] - x[1], x[0] + (hidden - 1) * x[1])  # the eigenvalues of Q
    if not (np.all(np.isfinite(x)) and residual < 1e-9 and min(gaps) > 0):
        raise ValueError(
            f"no unspecialised plateau for hidden={hidden}, eta={eta:g}, "
            f"noise={noise:g}: inside the symmetric family the flow does not settle "
            f"(the search ended at Q_ii = {x[0]:.3g}, Q_ik = {x[1]:.3g}, residual "
            f"{residual:.1e}); lower noise or eta"
        )
    params = symmetric_order_parameters(hidden, *x)
    eps = float(generalisation_error(params)[0])
    return SymmetricFixedPoint(
        float(x[0]), float(x[1]), float(x[2]), eps, eta, noise, residual
    )


def plateau_branch(hidden: int, eta: float, gap: float) -> SymmetricFixedPoint:
    """The quasi-stationary plateau state at a given ``Q_ii - Q_ik``, eq. (ts-slow-gap).

    On the symmetric family ``(q_diag, q_off, r)`` the direction
    ``gap = q_diag - q_off`` relaxes only at an ``O(eta^2)`` rate, so on the time
    scale of the plateau the state sits where the two fast equations
    ``d(Q_ii + Q_ik)/dt = 0`` and ``dR_in/dt = 0`` hold at the current ``gap``. At
    ``gap`` equal to the gap of :func:`symmetric_fixed_point` this is the fixed
    point; at ``gap = 0`` it is the collapsed branch (all units equal).

    Parameters
    ----------
    hidden : int
        ``K = M`` (2 to 8).
    eta : float
        Learning rate, ``0 < eta <= 1.25`` (above, the small-gap branch leaves the
        region where Newton's method is started reliably).
    gap : float
        ``Q_ii - Q_ik``, ``0 <= gap <= 1``.

    Returns
    -------
    SymmetricFixedPoint
        The state; ``residual`` holds ``|d gap/dt|`` there (zero only at the fixed
        point).
    """
    hidden = check_int("hidden", hidden, minimum=2, maximum=8)
    eta = check_float("eta", eta, minimum=0.0, maximum=1.25, min_inclusive=False)
    gap = check_float("gap", gap, minimum=0.0, maximum=1.0)
    fixed = symmetric_fixed_point(hidden, eta)

    def fast(y):
        res = _symmetric_residual(np.array([y[0] + gap, y[0], y[1]]), hidden, eta, 0.0)
        return np.array([res[0] + res[1], res[2]])

    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        y = _newton(fast, np.array([fixed.q_off, fixed.r]))
        x = np.array([y[0] + gap, y[0], y[1]])
        res = _symmetric_residual(x, hidden, eta, 0.0)
    if not (np.all(np.isfinite(x)) and np.max(np.abs(fast(y))) < 1e-9):
        raise ValueError(
            f"no plateau state at gap={gap:g} for hidden={hidden}, eta={eta:g}: "
            "Newton's method did not converge; use a gap nearer the fixed point's"
        )
    eps = float(generalisation_error(symmetric_order_parameters(hidden, *x))[0])
    return SymmetricFixedPoint(
        *(float(v) for v in x), eps, eta, 0.0, float(abs(res[0] - res[1]))
    )


def _check_single(params):
    if params.batch != 1:
        raise ValueError(
            f"params must hold a single point (batch 1); got batch {params.batch}"
        )


def stability_matrix(
    params: OrderParameters, eta: float, *, noise: float = 0.0, step: float = 1e-6
) -> np.ndarray:
    """Jacobian of the first-layer flow at ``params`` (batch 1), eq. (ts-linearised).

    Coordinates: the upper triangle of ``Q`` (row by row), then ``R`` row by row.
    Central differences with ``step``; all perturbations are done in one batch.
    """
    eta = check_float("eta", eta, minimum=0.0, maximum=3.0)
    noise = check_float("noise", noise, minimum=0.0, maximum=10.0)
    step = check_float("step", step, minimum=1e-10, maximum=1e-2)
    _check_single(params)
    hidden, teacher = params.R.shape[-2:]
    rows, cols = np.triu_indices(hidden)
    n_q, n_coord = rows.size, rows.size + hidden * teacher
    shifts = np.concatenate([np.eye(n_coord), -np.eye(n_coord)]) * step
    Q = np.repeat(params.Q, 2 * n_coord, axis=0)
    Q[:, rows, cols] += shifts[:, :n_q]
    Q[:, cols, rows] = Q[:, rows, cols]
    R = params.R + shifts[:, n_q:].reshape(2 * n_coord, hidden, teacher)
    batch = params.replace(Q=Q, R=R, v=np.repeat(params.v, 2 * n_coord, axis=0))
    dQ, dR, _ = ode_rhs(batch, eta, noise=noise)
    flat = _state_vector(batch.replace(Q=dQ, R=dR), with_v=False)
    return ((flat[:n_coord] - flat[n_coord:]) / (2 * step)).T


def escape_rate(hidden: int, eta: float, *, noise: float = 0.0) -> float:
    """The unstable eigenvalue ``omega`` of the symmetric fixed point, eq. (ts-escape).

    The largest real part among the eigenvalues of :func:`stability_matrix` at
    :func:`symmetric_fixed_point`; escape from a symmetry breaking ``delta`` takes
    about ``ln(1/delta) / omega``.
    """
    point = symmetric_fixed_point(hidden, eta, noise=noise)
    eig = np.linalg.eigvals(stability_matrix(point.params(hidden), eta, noise=noise))
    return float(np.max(eig.real))


def _state_vector(params, with_v):
    """Coordinates ``(B, n)``: upper triangle of ``Q`` and ``R`` row by row, then
    ``v`` if ``with_v``."""
    batch, hidden, teacher = params.R.shape
    rows, cols = np.triu_indices(hidden)
    parts = [params.Q[:, rows, cols], params.R.reshape(batch, hidden * teacher)]
    if with_v:
        parts.append(params.v)
    return np.concatenate(parts, axis=1)


def _from_vector(x, params, with_v):
    batch, hidden, teacher = x.shape[0], *params.R.shape[1:]
    rows, cols = np.triu_indices(hidden)
    Q = np.zeros((batch, hidden, hidden))
    Q[:, rows, cols] = x[:, : rows.size]
    Q[:, cols, rows] = x[:, : rows.size]
    R = x[:, rows.size : rows.size + hidden * teacher].reshape(batch, hidden, teacher)
    v = (
        x[:, rows.size + hidden * teacher :]
        if with_v
        else np.repeat(params.v, batch, 0)
    )
    return params.replace(Q=Q, R=R, v=v)


def fixed_point(
    params: OrderParameters,
    eta: float,
    *,
    eta_v: float = 0.0,
    noise: float = 0.0,
    unit_mask=None,
    tol: float = 1e-12,
):
    """Polish ``params`` (batch 1) into a zero of the full ODEs by Newton's method.

    Used for the asymptotic state of eq. (ts-asymptotic): integrate the ODEs close
    to it first, then call this. Coordinates are the upper triangle of ``Q``, ``R``
    and (when ``eta_v > 0``) ``v``; padding units (0 in ``unit_mask``, shape
    ``(1, K)``) are held fixed.

    Returns
    -------
    (OrderParameters, numpy.ndarray)
        The fixed point and the eigenvalues of the Jacobian there (all real parts
        negative for a stable asymptotic state).
    """
    eta = check_float("eta", eta, minimum=0.0, maximum=10.0)
    eta_v = check_float("eta_v", eta_v, minimum=0.0, maximum=10.0)
    noise = check_float("noise", noise, minimum=0.0, maximum=10.0)
    tol = check_float("tol", tol, minimum=0.0, min_inclusive=False)
    _check_single(params)
    _, hidden, teacher = params.R.shape
    dead = (
        np.zeros(hidden, dtype=bool)
        if unit_mask is None
        else check_array("unit_mask", unit_mask, shape=(1, hidden))[0] == 0
    )
    with_v = eta_v > 0
    x = _state_vector(params, with_v)[0]

    def rhs(points):
        # the padding units' rows are dropped below, so their dv needs no mask
        state = _from_vector(points, params, with_v)
        dQ, dR, dv = ode_rhs(state, eta, eta_v=eta_v, noise=noise)
        return _state_vector(state.replace(Q=dQ, R=dR, v=dv), with_v)

    live = ~_frozen_coordinates(dead, teacher, with_v)
    block = np.ix_(live, live)
    for _ in range(60):
        dx = np.zeros_like(x)
        try:
            dx[live] = np.linalg.solve(_jacobian(rhs, x)[block], -rhs(x[None])[0][live])
        except np.linalg.LinAlgError:
            raise ValueError(
                "fixed_point: the Jacobian of the ODEs is singular at the start (a "
                "degenerate state, e.g. two identical student units or a unit with "
                "zero norm); start from a nearby non-degenerate state"
            ) from None
        x = x + dx
        if not np.all(np.isfinite(x)):
            raise ValueError(
                "fixed_point: Newton's method left the finite states (a degenerate "
                "start); start from a nearby non-degenerate state"
            )
        if np.max(np.abs(dx)) < tol:
            break
    eig = np.linalg.eigvals(_jacobian(rhs, x)[block])
    return _from_vector(x[None], params, with_v), eig


def _jacobian(rhs, x, step=1e-6):
    shifts = np.concatenate([np.eye(x.size), -np.eye(x.size)]) * step
    values = rhs(x[None] + shifts)
    return ((values[: x.size] - values[x.size :]) / (2 * step)).T


def _frozen_coordinates(dead, teacher, with_v):
    """The coordinates (as in :func:`_state_vector`) that involve a ``dead`` unit."""
    rows, cols = np.triu_indices(dead.size)
    parts = [dead[rows] | dead[cols], np.repeat(dead, teacher)]
    if with_v:
        parts.append(dead)
    return np.concatenate(parts)
