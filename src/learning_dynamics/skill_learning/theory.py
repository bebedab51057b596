"""Closed forms and low-dimensional maps of chapter 7 (skills learned in turn).

No training loops here: the expected SGD law (eq. (sl-sgd-time)), the sign law of
SignGD in high dimension (eq. (sl-sign-law)), the common path of the skill residuals
and the clocks that move along it (eqs. (sl-path), (sl-clocks)), the Resource and
Domino models (eqs. (sl-resource), (sl-domino)), the two-skill time ratios (eq.
(sl-ratios)), the scaling exponents (eq. (sl-scaling)) and the mode law of a
two-layer linear network (eq. (sl-deep-linear)).
"""

from __future__ import annotations

import math

import numpy as np

from ..validation import check_array, check_float, check_int, check_memory
from .data import check_frequencies

__all__ = [
    "THRESHOLD",
    "MAX_MAP_STEPS",
    "sgd_expected_residual",
    "sgd_learning_time",
    "sgd_time_ratio",
    "sign_speed",
    "common_path",
    "path_tau",
    "clock",
    "flow_learning_times",
    "two_skill_ratio",
    "sign_law_map",
    "resource_model",
    "domino_model",
    "zipf_loss",
    "scaling_exponent",
    "local_slope",
    "deep_linear_mode",
    "deep_linear_time",
]

#: A skill is learned when ``s_k > THRESHOLD`` (the authors' code uses 0.9).
THRESHOLD = 0.9
#: Largest number of steps a map of this module iterates.
MAX_MAP_STEPS = 2_000_000


def _threshold(threshold) -> float:
    return check_float("threshold", threshold, minimum=0.0, maximum=1.0,
                       min_inclusive=False, max_inclusive=False)


def sgd_expected_residual(p, eta: float, t) -> np.ndarray:
    """Mean residual ``E u_k(t) = (1 - eta p_k)^t`` of minibatch SGD, eq. (sl-sgd-mean).

    Parameters
    ----------
    p : array_like
        Frequencies, shape ``(..., n)``.
    eta : float
        Step size, ``0 < eta * p_k < 1``.
    t : array_like
        Steps (non-negative), broadcast against ``p`` after adding a trailing axis.
    """
    p = check_frequencies("p", p)
    eta = check_float("eta", eta, minimum=0.0, maximum=1.0, min_inclusive=False)
    t = check_array("t", t)
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0; got min {t.min():g}")
    return (1 - eta * p) ** t[..., None]


def _log_factor_mean(p: np.ndarray, eta: float, batch: int | None) -> np.ndarray:
    """``E ln(1 - eta n_k / B)`` with ``n_k ~ Binomial(B, p_k)``; ``ln(1 - eta p)``
    when ``batch`` is None (exact gradients)."""
    if batch is None:
        return np.log1p(-eta * p)
    counts = np.arange(batch + 1, dtype=np.float64)
    logs = np.log1p(-eta * counts / batch)
    i = np.arange(1, batch + 1, dtype=np.float64)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log(batch - i + 1) - np.log(i))])
    pk = p[..., None]
    log_pmf = log_choose + counts * np.log(pk) + (batch - counts) * np.log1p(-pk)
    return np.exp(log_pmf) @ logs


def sgd_learning_time(p, eta: float, *, batch: int | None = None,
                      threshold: float = THRESHOLD) -> np.ndarray:
    """Learning time of each skill under SGD, eq. (sl-sgd-time).

    ``ln(1 - threshold) / E ln(1 - eta n_k / B)``: the log-residual is a sum of
    independent increments, so its first passage below ``ln(1 - threshold)`` happens
    after about that many steps (renewal law; exact for ``batch=None`` up to the
    rounding to a whole step).

    Parameters
    ----------
    p : array_like
        Frequencies, shape ``(..., n)``.
    eta : float
        Step size, ``0 < eta <= 1``.
    batch : int or None
        Minibatch size ``B`` (at most 10**5); None for exact (expected) gradients.
    threshold : float
        Skill level that counts as learned.
    """
    p = check_frequencies("p", p)
    eta = check_float("eta", eta, minimum=0.0, maximum=1.0, min_inclusive=False)
    if batch is not None:
        batch = check_int("batch", batch, minimum=1, maximum=10**5)
        if eta >= 1:
            raise ValueError(f"eta must be < 1 with minibatches; got {eta:g}")
        check_memory("batch * skills", batch * p.size, 8.0 * (batch + 1) * p.size * 3)
    threshold = _threshold(threshold)
    return math.log(1 - threshold) / _log_factor_mean(p, eta, batch)


def sgd_time_ratio(r, eta: float, *, batch: int | None = None,
                   threshold: float = THRESHOLD) -> np.ndarray:
    """``t_2 / t_1`` of two skills with ``p_1/p_2 = r`` under SGD, eq. (sl-sgd-time).

    Tends to ``r`` as ``eta -> 0`` and grows without bound with ``r``.
    """
    from .data import two_skill_frequencies

    times = sgd_learning_time(two_skill_frequencies(r), eta, batch=batch,
                              threshold=threshold)
    return times[..., 1] / times[..., 0]


def sign_speed(eta: float, d: int) -> float:
    """Speed ``v = eta sqrt(2 d / pi)`` of the skill vector under SignGD,
    eq. (sl-sign-law).

    Parameters
    ----------
    eta : float
        SignGD step size (> 0).
    d : int
        Parameter dimension (>= 1).
    """
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    d = check_int("d", d, minimum=1, maximum=10**9)
    return eta * math.sqrt(2 * d / math.pi)


def common_path(p, tau) -> np.ndarray:
    """Residuals ``u_k = exp(-p_k tau)`` on the common path, eq. (sl-path).

    Parameters
    ----------
    p : array_like
        Frequencies, shape ``(n,)``.
    tau : array_like
        Internal times (>= 0), any shape; the result has shape ``tau.shape + (n,)``.
    """
    p = check_frequencies("p", p)
    tau = check_array("tau", tau)
    if np.any(tau < 0):
        raise ValueError(f"tau must be >= 0; got min {tau.min():g}")
    check_memory("tau * skills", tau.size * p.size, 8.0 * tau.size * p.size)
    return np.exp(-tau[..., None] * p)


def path_tau(p, u) -> np.ndarray:
    """Internal time of each skill, ``tau_k = -ln(u_k) / p_k`` (eq. (sl-path)).

    On the common path every skill gives the same ``tau``; this is the collapse.
    """
    p = check_frequencies("p", p)
    u = np.asarray(u, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return -np.log(np.clip(u, 0, None)) / p


def _norm_on_path(p: np.ndarray, tau: np.ndarray, order: int) -> np.ndarray:
    out = np.empty(tau.size)
    chunk = max(1, int(2e6 // p.size))
    for i in range(0, tau.size, chunk):
        w = p * np.exp(-tau[i:i + chunk, None] * p)
        out[i:i + chunk] = np.linalg.norm(w, ord=order, axis=1)
    return out


def clock(p, tau, model: str, *, eta: float = 1.0, d: int | None = None,
          eta_eff: float = 1.0, quad_points: int = 4000) -> np.ndarray:
    """Training time ``t(tau)`` at which a model reaches ``tau`` on the path,
    eq. (sl-clocks).

    - ``"sgd"`` (gradient flow of the expected loss): ``t = tau / eta``;
    - ``"sign"`` (the sign law): ``t = (1/v) int_0^tau ||p * u|| dtau'`` with
      ``v = sign_speed(eta, d)`` (the arc length of the path over the speed);
    - ``"resource"`` (the Resource model with ``N_0 = 0``):
      ``t = sum_k (1 - exp(-p_k tau)) / eta_eff``.

    Parameters
    ----------
    p : array_like
        Frequencies, shape ``(n,)``.
    tau : array_like
        Non-negative internal times, one-dimensional, increasing.
    model : {"sgd", "sign", "resource"}
    eta, d, eta_eff : float, int, float
        Step size (``"sgd"``, ``"sign"``), dimension (``"sign"``), Resource rate.
    quad_points : int
        Points of the quadrature of the sign clock (geometric grid, at most 10**6).
    """
    p = check_frequencies("p", p)
    tau = check_array("tau", tau, ndim=1)
    if np.any(tau < 0) or np.any(np.diff(tau) < 0):
        raise ValueError("tau must be non-negative and non-decreasing")
    if model == "sgd":
        return tau / check_float("eta", eta, minimum=0.0, min_inclusive=False)
    if model == "resource":
        eta_eff = check_float("eta_eff", eta_eff, minimum=0.0, min_inclusive=False)
        check_memory("tau * skills", tau.size * p.size, 8.0 * tau.size * p.size)
        out = np.empty(tau.size)
        chunk = max(1, int(2e6 // p.size))
        for i in range(0, tau.size, chunk):
            out[i:i + chunk] = (-np.expm1(-tau[i:i + chunk, None] * p)).sum(axis=1)
        return out / eta_eff
    if model == "sign":
        if d is None:
            raise ValueError("d must be given for the sign clock; got None")
        v = sign_speed(eta, d)
        quad_points = check_int("quad_points", quad_points, minimum=10, maximum=10**6)
        check_memory("quad_points * skills", quad_points * p.size,
                     8.0 * min(quad_points * p.size, 2e6) * 3)
        if tau.size == 0 or tau.max() == 0:
            return np.zeros_like(tau)
        lo = min(1e-6 / p.max(), tau[tau > 0].min() if np.any(tau > 0) else 1.0)
        grid = np.concatenate([[0.0], np.geomspace(lo, tau.max(), quad_points)])
        speed = _norm_on_path(p, grid, 2)
        arc = np.concatenate([[0.0], np.cumsum(np.diff(grid) * 0.5 *
                                               (speed[1:] + speed[:-1]))])
        return np.interp(tau, grid, arc) / v
    raise ValueError(f"model must be one of 'sgd', 'sign', 'resource'; got {model!r}")


def flow_learning_times(p, model: str, *, threshold: float = THRESHOLD,
                        **clock_args) -> np.ndarray:
    """Learning time of each skill on the common path, eqs. (sl-path), (sl-clocks).

    Skill ``k`` crosses ``threshold`` at ``tau_k = -ln(1 - threshold)/p_k``; its time
    is the model's clock there. ``model="domino"`` gives ``k / eta_eff`` instead
    (eq. (sl-domino), skills in order of frequency, each taking ``t_0 = 1/eta_eff``).
    """
    p = check_frequencies("p", p)
    threshold = _threshold(threshold)
    if model == "domino":
        eta_eff = check_float("eta_eff", clock_args.get("eta_eff", 1.0), minimum=0.0,
                              min_inclusive=False)
        order = np.argsort(-p, kind="stable")
        rank = np.empty(p.size)
        rank[order] = np.arange(p.size)
        return (rank + threshold) / eta_eff
    tau_k = -math.log(1 - threshold) / p
    order = np.argsort(tau_k)
    times = np.empty(p.size)
    times[order] = clock(p, tau_k[order], model, **clock_args)
    return times


def two_skill_ratio(r, model: str, *, threshold: float = THRESHOLD) -> np.ndarray:
    """``t_2 / t_1`` for two skills with ``p_1/p_2 = r`` on the common path,
    eq. (sl-ratios).

    ``"sgd"``: ``r``. ``"resource"`` (``N_0 = 0``):
    ``(1 + h - q^r) / (1 + h - q^(1/r))`` with ``h = threshold``, ``q = 1 - h``.
    ``"sign"``: the ratio of arc lengths. The last two tend to ``(1 + h)/h``
    (= 19/9 for ``h = 0.9``) as ``r -> infinity``.
    """
    from .data import two_skill_frequencies

    threshold = _threshold(threshold)
    r_arr = check_array("r", r)
    p = two_skill_frequencies(r_arr)
    if model == "sgd":
        return r_arr.copy()
    if model == "resource":
        q = 1 - threshold
        return (1 + threshold - q**r_arr) / (1 + threshold - q ** (1 / r_arr))
    if model == "sign":
        flat = p.reshape(-1, 2)
        out = np.array([
            (lambda t: t[1] / t[0])(flow_learning_times(row, "sign", eta=1.0, d=1,
                                                        threshold=threshold))
            for row in flat
        ])
        return out.reshape(r_arr.shape)
    raise ValueError(f"model must be one of 'sgd', 'sign', 'resource'; got {model!r}")


def sign_law_map(p, v: float, steps: int) -> np.ndarray:
    """Iterate the sign law ``s <- s + v w / ||w||``, ``w_k = p_k (1 - s_k)``,
    eq. (sl-sign-law).

    Parameters
    ----------
    p : array_like
        Frequencies, shape ``(..., n)`` (leading axes are independent runs).
    v : float
        Speed per step, ``sign_speed(eta, d)``.
    steps : int
        Number of steps, at most ``MAX_MAP_STEPS``.

    Returns
    -------
    numpy.ndarray
        Skills ``s`` before each step and after the last, shape ``(steps + 1, ..., n)``.
    """
    p = check_frequencies("p", p)
    v = check_float("v", v, minimum=0.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=0, maximum=MAX_MAP_STEPS)
    check_memory("steps * skills", steps * p.size, 8.0 * (steps + 1) * p.size)
    s = np.zeros((steps + 1,) + p.shape)
    for i in range(steps):
        w = p * (1 - s[i])
        norm = np.linalg.norm(w, axis=-1, keepdims=True)
        s[i + 1] = s[i] + v * np.divide(w, norm, out=np.zeros_like(w), where=norm > 0)
    return s


def resource_model(p, eta_eff: float, n0: float, steps: int, *,
                   clip: bool = True) -> np.ndarray:
    """The Resource model of the authors' code, eq. (sl-resource).

    ``l_k <- max(l_k - eta_eff c_k / (sum_j c_j + N_0), 0)`` with ``c_k = p_k l_k``,
    ``l(0) = 1`` (correlation matrix the identity). Returns the skills ``s = 1 - l``.

    Parameters
    ----------
    p : array_like
        Frequencies, shape ``(..., n)``.
    eta_eff : float
        Rate (> 0, < 1); the authors' code sets ``2 eta sqrt(d)``.
    n0 : float or array_like
        Wasted resource ``N_0 >= 0`` (fitted in the authors' code); an array of shape
        ``p.shape[:-1]`` gives each run its own value.
    steps : int
        Number of steps, at most ``MAX_MAP_STEPS``.
    clip : bool
        Apply the ``max(., 0)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(steps + 1, ..., n)``.
    """
    p = check_frequencies("p", p)
    eta_eff = check_float("eta_eff", eta_eff, minimum=0.0, maximum=1.0,
                          min_inclusive=False, max_inclusive=False)
    n0 = check_array("n0", n0)
    if n0.ndim and n0.shape != p.shape[:-1]:
        raise ValueError(f"n0 must be a number or have shape {p.shape[:-1]}; got "
                         f"shape {n0.shape}")
    if np.any(n0 < 0):
        raise ValueError(f"n0 must be >= 0; got min {n0.min():g}")
    n0 = n0[..., None]
    steps = check_int("steps", steps, minimum=0, maximum=MAX_MAP_STEPS)
    check_memory("steps * skills", steps * p.size, 8.0 * (steps + 1) * p.size)
    lvl = np.ones((steps + 1,) + p.shape)
    for i in range(steps):
        c = p * lvl[i]
        total = c.sum(axis=-1, keepdims=True) + n0
        step = eta_eff * np.divide(c, total, out=np.zeros_like(c), where=total > 0)
        lvl[i + 1] = lvl[i] - step
        if clip:
            np.maximum(lvl[i + 1], 0.0, out=lvl[i + 1])
    return 1 - lvl


def domino_model(n: int, t, t0: float) -> np.ndarray:
    """The Domino model ``s_i(t) = clip((t - (i - 1) t_0)/t_0, 0, 1)``, eq. (sl-domino).

    Returns shape ``t.shape + (n,)``.
    """
    n = check_int("n", n, minimum=1, maximum=10**6)
    t = check_array("t", t)
    t0 = check_float("t0", t0, minimum=0.0, min_inclusive=False)
    check_memory("t * skills", t.size * n, 8.0 * t.size * n)
    i = np.arange(1, n + 1)
    return np.clip((t[..., None] - (i - 1) * t0) / t0, 0.0, 1.0)


def zipf_loss(p, tau) -> np.ndarray:
    """Loss ``L(tau) = sum_k p_k exp(-2 p_k tau)`` on the common path,
    eq. (sl-zipf-loss)."""
    p = check_frequencies("p", p)
    tau = check_array("tau", tau, ndim=1)
    if np.any(tau < 0):
        raise ValueError(f"tau must be >= 0; got min {tau.min():g}")
    out = np.empty(tau.size)
    chunk = max(1, int(2e6 // p.size))
    for i in range(0, tau.size, chunk):
        out[i:i + chunk] = (p * np.exp(-2 * tau[i:i + chunk, None] * p)).sum(axis=1)
    return out


def scaling_exponent(gamma: float, model: str) -> float:
    """Asymptotic exponent of ``L ~ t^(-alpha_S)`` for Zipf(gamma) skills,
    eq. (sl-scaling).

    ``"sgd"``: ``(gamma - 1)/gamma``; ``"resource"`` and ``"domino"``: ``gamma - 1``;
    ``"sign"``: ``2 (gamma - 1)``. Requires ``gamma > 1`` and infinitely many skills.
    """
    gamma = check_float("gamma", gamma, minimum=1.0, maximum=10.0, min_inclusive=False)
    table = {"sgd": (gamma - 1) / gamma, "resource": gamma - 1, "domino": gamma - 1,
             "sign": 2 * (gamma - 1)}
    if model not in table:
        raise ValueError(f"model must be one of {sorted(table)}; got {model!r}")
    return table[model]


def local_slope(t, loss) -> np.ndarray:
    """Local exponent ``-d ln L / d ln t`` by central differences (eq. (sl-scaling))."""
    t = check_array("t", t, ndim=1)
    loss = check_array("loss", loss, shape=(t.size,))
    if t.size < 3 or np.any(t <= 0) or np.any(loss <= 0):
        raise ValueError("t and loss must be positive with at least 3 points")
    return -np.gradient(np.log(loss), np.log(t))


def deep_linear_mode(p, a0, eta: float, t) -> np.ndarray:
    """Mode strength ``a_k(t)`` of a two-layer linear network, eq. (sl-deep-linear).

    Gradient flow of ``(1/2) E ||y - W_2 W_1 x||^2`` with input ``v_k`` and target
    ``u_k`` drawn with probability ``p_k`` (orthonormal ``v_k``, ``u_k``), balanced
    start: ``da_k/dt = 2 eta p_k a_k (1 - a_k)``, so
    ``a_k = a0 e^{2 eta p_k t} / (1 - a0 + a0 e^{2 eta p_k t})``.
    """
    p = check_frequencies("p", p)
    a0 = check_array("a0", a0)
    if np.any(a0 <= 0) or np.any(a0 >= 1):
        raise ValueError("a0 must be in (0, 1)")
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    t = check_array("t", t)
    grow = np.exp(np.clip(2 * eta * p * t[..., None], None, 700))
    return a0 * grow / (1 - a0 + a0 * grow)


def deep_linear_time(p, a0, eta: float, *, threshold: float = THRESHOLD) -> np.ndarray:
    """Time for ``a_k`` to reach ``threshold``, eq. (sl-deep-linear):
    ``ln[h (1 - a0) / ((1 - h) a0)] / (2 eta p_k)``."""
    p = check_frequencies("p", p)
    a0 = check_array("a0", a0)
    if np.any(a0 <= 0) or np.any(a0 >= 1):
        raise ValueError("a0 must be in (0, 1)")
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    h = _threshold(threshold)
    return np.log(h * (1 - a0) / ((1 - h) * a0)) / (2 * eta * p)
