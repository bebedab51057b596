"""Chapter 5 (teacher-student online SGD): closed forms against Monte Carlo and
simulation, the exact overlap chain against explicit weights, and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learning_dynamics import DivergenceError
from learning_dynamics import teacher_student as ts
from learning_dynamics.teacher_student.data import field_covariance


def _random_params(rng, batch, hidden, teacher, scale=0.7):
    dim = hidden + teacher
    A = rng.standard_normal((batch, dim, dim + 2)) * scale
    C = A @ np.swapaxes(A, 1, 2) / (dim + 2) + 0.1 * np.eye(dim)
    T = np.eye(teacher)
    # rescale the teacher block to T = I by a congruence on the whole covariance
    L = np.linalg.cholesky(C[:, hidden:, hidden:])
    S = np.tile(np.eye(dim), (batch, 1, 1))
    S[:, hidden:, hidden:] = np.linalg.inv(L)
    C = S @ C @ np.swapaxes(S, 1, 2)
    v = rng.uniform(0.5, 1.5, (batch, hidden))
    v_star = rng.uniform(0.5, 1.5, teacher)
    return ts.order_parameters(
        C[:, :hidden, :hidden], C[:, :hidden, hidden:], T, v, v_star
    )


def _fields(params, rng, count):
    C = params.covariance()[0]
    return rng.multivariate_normal(np.zeros(C.shape[0]), C, size=count)


def _g(x):
    return ts.activation(x)


def _g_prime(x):
    return math.sqrt(2 / math.pi) * np.exp(-x * x / 2)


def test_gaussian_averages_match_monte_carlo():
    rng = np.random.default_rng(0)
    params = _random_params(rng, 1, 2, 2)
    avg = ts.gaussian_averages(params.covariance(), 2)
    h = _fields(params, rng, 400_000)
    g, gp = _g(h), _g_prime(h)
    checks = [
        (avg.I2[0, 1, 3], g[:, 1] * g[:, 3]),
        (avg.I2[0, 2, 2], g[:, 2] ** 2),
        (avg.I3[0, 0, 2, 3], gp[:, 0] * h[:, 2] * g[:, 3]),
        (avg.I3[0, 1, 1, 1], gp[:, 1] * h[:, 1] * g[:, 1]),
        (avg.I3[0, 0, 1, 0], gp[:, 0] * h[:, 1] * g[:, 0]),
        (avg.I4[0, 0, 1, 2, 3], gp[:, 0] * gp[:, 1] * g[:, 2] * g[:, 3]),
        (avg.I4[0, 1, 1, 0, 3], gp[:, 1] ** 2 * g[:, 0] * g[:, 3]),
        (avg.I4[0, 0, 0, 0, 0], gp[:, 0] ** 2 * g[:, 0] ** 2),
        (avg.J2[0, 0, 1], gp[:, 0] * gp[:, 1]),
    ]
    for closed, samples in checks:
        se = samples.std() / math.sqrt(samples.size)
        assert abs(closed - samples.mean()) < 4.5 * se, (closed, samples.mean(), se)


def test_ode_drift_matches_monte_carlo_of_one_sgd_step():
    rng = np.random.default_rng(1)
    params = _random_params(rng, 1, 3, 2)
    eta, eta_v, noise = 0.7, 0.4, 0.3
    dQ, dR, dv = ts.ode_rhs(params, eta, eta_v=eta_v, noise=noise)
    h = _fields(params, rng, 400_000)
    lam, nu = h[:, :3], h[:, 3:]
    v = params.v[0]
    err = _g(lam) @ v - _g(nu) @ params.v_star - noise * rng.standard_normal(len(h))
    a = v * _g_prime(lam) * err[:, None]
    # d times the mean change of Q, R, v in one step (|x|^2 / d -> 1)
    samples_q = (
        -eta * (a[:, :, None] * lam[:, None, :] + lam[:, :, None] * a[:, None, :])
        + eta**2 * a[:, :, None] * a[:, None, :]
    )
    samples_r = -eta * a[:, :, None] * nu[:, None, :]
    samples_v = -eta_v * _g(lam) * err[:, None]
    for closed, samples in ((dQ[0], samples_q), (dR[0], samples_r), (dv[0], samples_v)):
        se = samples.std(axis=0) / math.sqrt(len(h))
        assert np.all(np.abs(closed - samples.mean(axis=0)) < 4.5 * se + 1e-12)


def test_generalisation_error_matches_monte_carlo_of_explicit_networks():
    rng = np.random.default_rng(2)
    d = 300
    teacher = ts.make_teacher(d, 3, seed=3, orthonormal=False)
    W = ts.init_student(d, 2, scale=0.8, seed=4)
    v = np.array([[0.7, -1.2]])
    params = ts.order_parameters(
        W @ np.swapaxes(W, 1, 2) / d,
        W @ teacher.weights.T / d,
        teacher.overlap,
        v,
        teacher.second_layer,
    )
    x = rng.standard_normal((200_000, d))
    out_s = _g(x @ W[0].T / math.sqrt(d)) @ v[0]
    out_t = _g(x @ teacher.weights.T / math.sqrt(d)) @ teacher.second_layer
    sq = 0.5 * (out_s - out_t) ** 2
    se = sq.std() / math.sqrt(sq.size)
    assert abs(ts.generalisation_error(params)[0] - sq.mean()) < 4.5 * se


def test_overlap_chain_reproduces_explicit_weights_step_by_step():
    rng = np.random.default_rng(5)
    d, eta, eta_v, noise = 80, 0.9, 0.5, 0.2
    teacher = ts.make_teacher(d, 2, seed=6, noise=noise, orthonormal=False)
    T_inv = np.linalg.inv(teacher.overlap)
    W = ts.init_student(d, 3, seeds=2, scale=0.5, seed=7)
    v = np.ones((2, 3))
    R, vc = W @ teacher.weights.T / d, v.copy()
    S = W @ np.swapaxes(W, 1, 2) / d - R @ T_inv @ np.swapaxes(R, 1, 2)
    resid = np.linalg.cholesky(S)
    rates = (np.full(2, eta / d), np.full(2, eta_v / d))
    for _ in range(300):
        x = rng.standard_normal((2, d))
        lam = np.einsum("bkd,bd->bk", W, x) / math.sqrt(d)
        nu = x @ teacher.weights.T / math.sqrt(d)
        y = _g(nu) @ teacher.second_layer + noise * rng.standard_normal(2)
        # the chain's inputs, read off the explicit input x
        lam_perp = lam - np.einsum("bkm,mn,bn->bk", R, T_inv, nu)
        z_perp = np.linalg.solve(resid, lam_perp[:, :, None])[:, :, 0]
        chi2 = (
            np.sum(x * x, 1)
            - np.einsum("bm,mn,bn->b", nu, T_inv, nu)
            - np.sum(z_perp**2, 1)
        )
        R, resid, vc = ts.overlap_step(R, resid, vc, nu, z_perp, chi2, y, rates, T_inv)
        err = np.sum(v * _g(lam), axis=1) - y
        grad_w = v * _g_prime(lam) * err[:, None]
        W = W - eta / math.sqrt(d) * grad_w[:, :, None] * x[:, None, :]
        v = v - eta_v / d * _g(lam) * err[:, None]
    Q = resid @ np.swapaxes(resid, 1, 2) + R @ T_inv @ np.swapaxes(R, 1, 2)
    assert np.allclose(Q, W @ np.swapaxes(W, 1, 2) / d, atol=1e-10)
    assert np.allclose(R, W @ teacher.weights.T / d, atol=1e-11)
    assert np.allclose(vc, v, atol=1e-12)


def test_overlap_chain_has_the_law_of_explicit_sgd():
    d, seeds = 60, 400
    teacher = ts.make_teacher(d, 2, seed=0)
    W = np.tile(ts.init_student(d, 2, scale=0.5, seed=1), (seeds, 1, 1))
    start = ts.order_parameters(
        W @ np.swapaxes(W, 1, 2) / d, W @ teacher.weights.T / d, teacher.overlap
    )
    explicit = ts.online_sgd(teacher, W, 1.2, 3.0, n_record=2, seed=2)
    chain = ts.order_parameter_sgd(start, d, 1.2, 3.0, n_record=2, seed=3)
    for a, b in ((explicit.Q[-1], chain.Q[-1]), (explicit.R[-1], chain.R[-1])):
        se = np.sqrt((a.var(0) + b.var(0)) / seeds)
        assert np.all(np.abs(a.mean(0) - b.mean(0)) < 4.5 * se), (a.mean(0), b.mean(0))
        # the spread (finite-d fluctuations) must match too: ratio of variances
        ratio = a.var(0) / b.var(0)
        assert np.all((ratio > 0.7) & (ratio < 1.43)), ratio


def test_sgd_follows_the_ode_when_d_is_large():
    d, seeds = 2000, 8
    teacher = ts.make_teacher(d, 2, seed=0)
    W = ts.init_student(d, 2, seeds=seeds, scale=0.3, seed=1)
    start = ts.order_parameters(
        W @ np.swapaxes(W, 1, 2) / d, W @ teacher.weights.T / d, teacher.overlap
    )
    sgd = ts.order_parameter_sgd(start, d, 1.0, 4.0, n_record=5, seed=2)
    ode = ts.integrate_ode(start, 1.0, 4.0, dt=0.05, n_record=5)
    rel = np.abs(sgd.eps_g / ode.eps_g - 1)
    # finite-d fluctuations of eps_g are of relative size ~ 1/sqrt(d) ~ 0.02 per run
    assert np.median(rel[1:]) < 0.05 and rel.max() < 0.2, rel


def test_rk4_is_fourth_order():
    rng = np.random.default_rng(8)
    params = _random_params(rng, 2, 2, 2)
    runs = [
        ts.integrate_ode(params, 1.0, 4.0, dt=dt, eta_v=0.5, n_record=2).eps_g[-1]
        for dt in (0.4, 0.2, 0.1)
    ]
    ratio = np.abs(runs[0] - runs[1]) / np.abs(runs[1] - runs[2])
    assert np.all((ratio > 10) & (ratio < 24)), ratio


@pytest.mark.parametrize("hidden", [2, 3, 4])
def test_closed_form_plateau_is_a_stationary_point_of_the_eta_zero_flow(hidden):
    q, r, _ = ts.symmetric_plateau_closed_form(hidden)
    params = ts.symmetric_order_parameters(hidden, q, q, r)
    dQ, dR, _ = ts.ode_rhs(params, 1.0)  # the O(eta) part, divided by eta
    dQ2, dR2, _ = ts.ode_rhs(params, 1e-3)
    first_order_q = (dQ2 - 1e-6 * (dQ - 1e3 * dQ2) / (1 - 1e-3)) / 1e-3
    assert np.max(np.abs(dR)) < 1e-13
    assert np.max(np.abs(first_order_q)) < 1e-9


def test_symmetric_fixed_point_is_where_the_symmetric_ode_settles():
    point = ts.symmetric_fixed_point(2, 1.0)
    assert point.residual < 1e-12 and point.q_diag > point.q_off
    start = ts.symmetric_order_parameters(2, 0.05, 0.0, 0.01)
    ode = ts.integrate_ode(start, 1.0, 60.0, dt=0.1, n_record=2)
    # the exactly symmetric start stays symmetric; at t = 60 it sits on the plateau
    assert abs(ode.eps_g[-1, 0] / point.eps_g - 1) < 1e-3


def test_escape_time_grows_by_ln10_over_lambda_per_decade():
    eta = 1.0
    rate = ts.escape_rate(2, eta)
    point = ts.symmetric_fixed_point(2, eta)
    deltas = np.array([1e-4, 1e-6])
    base = point.params(2)
    R = np.repeat(base.R, 2, axis=0)
    R[:, 0, 0] += deltas
    R[:, 1, 1] += deltas
    start = base.replace(Q=np.repeat(base.Q, 2, 0), R=R, v=np.ones((2, 2)))
    ode = ts.integrate_ode(start, eta, 600.0, dt=0.2, n_record=3001)
    t_esc = ts.escape_time(ode.t, ode.eps_g, point.eps_g / 2)
    slope = (t_esc[1] - t_esc[0]) / (2 * math.log(10))
    assert abs(slope * rate - 1) < 0.02, (slope, 1 / rate)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 10_000))
def test_generalisation_error_is_nonnegative_and_zero_for_the_teacher(
    hidden, teacher, seed
):
    rng = np.random.default_rng(seed)
    params = _random_params(rng, 3, hidden, teacher)
    assert np.all(ts.generalisation_error(params) >= -1e-14)
    same = ts.order_parameters(
        np.eye(teacher),
        np.eye(teacher),
        np.eye(teacher),
        np.ones(teacher),
        np.ones(teacher),
    )
    assert abs(ts.generalisation_error(same)[0]) < 1e-14


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 10_000))
def test_averages_are_symmetric_where_the_indices_commute(hidden, teacher, seed):
    rng = np.random.default_rng(seed)
    params = _random_params(rng, 2, hidden, teacher)
    avg = ts.gaussian_averages(params.covariance(), hidden)
    assert np.allclose(avg.I2, np.swapaxes(avg.I2, -1, -2))
    assert np.allclose(avg.I4, np.swapaxes(avg.I4, -1, -2))
    assert np.allclose(avg.I4, np.swapaxes(avg.I4, 1, 2))
    assert np.all(np.abs(avg.I2) <= 1 + 1e-12)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="d must"):
        ts.make_teacher(5)
    with pytest.raises(ValueError, match="hidden"):
        ts.make_teacher(100, hidden=0)
    with pytest.raises(ValueError, match="hidden"):
        ts.init_student(100, 0)
    with pytest.raises(TypeError, match="d must"):
        ts.make_teacher(100.5)
    with pytest.raises(ValueError, match="positive"):
        ts.order_parameters([[1.0]], [[2.0]], [[1.0]])
    params = ts.symmetric_order_parameters(2, 0.5, 0.1, 0.1)
    with pytest.raises(ValueError, match="eta"):
        ts.integrate_ode(params, float("nan"), 1.0)
    with pytest.raises(ValueError, match="t_max"):
        ts.order_parameter_sgd(params, 1000, 1.0, 1e6)
    with pytest.raises(ValueError, match="d must"):
        ts.order_parameter_sgd(params, 3, 1.0, 1.0)
    with pytest.raises(ValueError, match="seeds"):
        ts.init_student(20_000, 8, seeds=1000)


def test_a_runaway_run_names_eta():
    d = 40
    teacher = ts.make_teacher(d, 2, seed=0)
    W = ts.init_student(d, 2, seeds=2, seed=1)
    start = ts.order_parameters(
        W @ np.swapaxes(W, 1, 2) / d, W @ teacher.weights.T / d, teacher.overlap
    )
    with pytest.raises(DivergenceError, match="reduce eta"):
        ts.order_parameter_sgd(start, d, 9.5, 200.0, seed=0)
    with pytest.raises(DivergenceError, match="reduce eta"):
        ts.online_sgd(teacher, W, 9.5, 200.0, seed=0)
    with pytest.raises(DivergenceError, match="reduce eta"):
        ts.integrate_ode(start, 9.5, 400.0, dt=0.1)
    # a learning rate that learns does not trip the check
    ts.integrate_ode(start, 1.0, 50.0, dt=0.1, n_record=2)


def test_field_covariance_layout():
    Q, R, T = np.eye(2)[None], np.full((1, 2, 1), 0.3), np.eye(1)
    C = field_covariance(Q, R, T)
    assert C.shape == (1, 3, 3) and C[0, 2, 0] == 0.3 and C[0, 0, 2] == 0.3


def test_exercise_checks_accept_the_reference_and_reject_plausible_mistakes():
    from learning_dynamics.exercises._answers.teacher_student import (
        mc_generalisation_error,
        sgd_step_autograd,
    )
    from learning_dynamics.exercises.teacher_student import (
        check_mc_generalisation_error,
        check_sgd_step,
    )

    assert check_sgd_step(sgd_step_autograd)
    assert check_mc_generalisation_error(mc_generalisation_error)

    def extra_root_d(W, v, W_star, v_star, x, y, eta, eta_v):  # eta / sqrt(d) on W
        return sgd_step_autograd(
            W, v, W_star, v_star, x, y, eta / math.sqrt(W.shape[1]), eta_v
        )

    def unscaled_v(
        W, v, W_star, v_star, x, y, eta, eta_v
    ):  # eta_v instead of eta_v / d
        return sgd_step_autograd(W, v, W_star, v_star, x, y, eta, eta_v * W.shape[1])

    def ascent(W, v, W_star, v_star, x, y, eta, eta_v):  # flipped sign
        return sgd_step_autograd(W, v, W_star, v_star, x, y, -eta, -eta_v)

    for wrong in (extra_root_d, unscaled_v, ascent):
        assert not check_sgd_step(wrong)

    def no_half(*args):
        return 2 * mc_generalisation_error(*args)

    def no_root_d(W, v, W_star, v_star, n, seed):
        d = W.shape[1]
        return mc_generalisation_error(
            W * math.sqrt(d), v, W_star * math.sqrt(d), v_star, n, seed
        )

    def not_implemented(*args):
        raise NotImplementedError("write your solution here")

    for wrong in (no_half, no_root_d, not_implemented):
        assert not check_mc_generalisation_error(wrong)


def test_padding_units_do_not_change_the_dynamics():
    teacher = ts.make_teacher(200, 2, seed=0)
    narrow = ts.student_overlaps(teacher, ts.init_student(200, 2, seeds=2, seed=3))
    wide = ts.student_overlaps(teacher, ts.init_student(200, 3, seeds=1, seed=4))
    padded, mask = ts.pad_students([narrow, wide])
    both = ts.integrate_ode(
        padded, 1.0, 5.0, dt=0.1, eta_v=0.5, unit_mask=mask, n_record=2
    )
    alone = ts.integrate_ode(narrow, 1.0, 5.0, dt=0.1, eta_v=0.5, n_record=2)
    assert np.allclose(both.eps_g[:, :2], alone.eps_g, rtol=1e-12, atol=1e-15)
    assert np.allclose(both.v[-1][:2, 2], 0.0)


def test_symmetric_fixed_point_for_three_units_is_where_the_symmetric_ode_settles():
    point = ts.symmetric_fixed_point(3, 1.0)
    assert point.residual < 1e-12 and point.q_diag > point.q_off
    start = ts.symmetric_order_parameters(3, 0.05, 0.0, 0.01)
    ode = ts.integrate_ode(start, 1.0, 150.0, dt=0.25, n_record=2)
    assert abs(ode.eps_g[-1, 0] / point.eps_g - 1) < 1e-3


def test_two_unit_fast_step_equals_the_general_step():
    from learning_dynamics.teacher_student.sgd import _overlap_step_two_units

    rng = np.random.default_rng(9)
    B = 7
    R = 0.3 * rng.standard_normal((B, 2, 3))
    A = rng.standard_normal((B, 2, 2))
    resid = np.linalg.cholesky(A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(2))
    v, nu, z = (
        rng.uniform(0.5, 1.5, (B, 2)),
        rng.standard_normal((B, 3)),
        rng.standard_normal((B, 2)),
    )
    chi2, y, eta_d = rng.chisquare(50, B), rng.standard_normal(B), np.full(B, 0.02)
    general = ts.overlap_step(
        R, resid, v, nu, z, chi2, y, (eta_d, np.zeros(B)), np.eye(3)
    )
    fast = _overlap_step_two_units(R, resid, v, nu, z, chi2, y, eta_d)
    for a, b in zip(general, fast, strict=True):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-15)
