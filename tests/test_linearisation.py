"""Chapter 1: the linearised model's closed form, gradient flow, and the 1/alpha laws."""
from __future__ import annotations

import numpy as np
import pytest

import learning_dynamics as ld
from learning_dynamics import linearisation as lin
from learning_dynamics.exercises.linearisation import check_linearised_residual


@pytest.fixture(scope="module")
def setup():
    data = lin.make_teacher_data(24, 4, P_test=50, seed=0)
    params0 = lin.init_params(4, 64, seed=1)
    return data, params0


def test_jacobian_matches_finite_differences(setup):
    data, p0 = setup
    J = lin.jacobian(p0, data.x_train[:3])
    theta = p0.flat()
    N, d = p0.W.shape
    eps = 1e-6
    for idx in (0, N + 5, theta.size - 1):
        e = np.zeros_like(theta)
        e[idx] = eps
        plus = lin.Params(W=(theta + e)[N:].reshape(N, d), a=(theta + e)[:N])
        minus = lin.Params(W=(theta - e)[N:].reshape(N, d), a=(theta - e)[:N])
        fd = (lin.network_output(plus, data.x_train[:3]) - lin.network_output(minus, data.x_train[:3])) / (2 * eps)
        np.testing.assert_allclose(J[:, idx], fd, rtol=1e-6, atol=1e-9)


def test_linearised_gradient_descent_matches_closed_form(setup):
    data, p0 = setup
    K0 = lin.tangent_kernel(p0, data.x_train)
    h = lin.train(data, p0, alpha=3.0, eta0=1.0, steps=50, checkpoints=[10, 50], model="linearised")
    r = lin.gd_residual_closed_form(K0, data.y_train, 1.0, [10, 50])
    np.testing.assert_allclose(h.train_loss, 0.5 * np.mean(r**2, axis=1), rtol=1e-10)


def test_gradient_descent_converges_to_gradient_flow_at_first_order(setup):
    data, p0 = setup
    K0 = lin.tangent_kernel(p0, data.x_train)
    flow = lin.gradient_flow_residual(K0, data.y_train, [20.0])[0]
    errs = [np.abs(lin.gd_residual_closed_form(K0, data.y_train, h, [int(20 / h)])[0] - flow).max()
            for h in (1.0, 0.5, 0.25)]
    assert 1.8 < errs[0] / errs[1] < 2.2 and 1.8 < errs[1] / errs[2] < 2.2


def test_weight_movement_and_linearisation_gap_shrink_like_one_over_alpha(setup):
    data, p0 = setup
    alphas = np.array([4.0, 8.0, 16.0, 32.0])
    res = lin.lazy_scaling(data, p0, alphas, eta0=1.0, steps=200)
    assert -1.1 < lin.fit_power_law(alphas, res.weight_change) < -0.9
    assert -1.25 < lin.fit_power_law(alphas, res.lin_gap) < -0.75


def test_linearised_predictions_do_not_depend_on_alpha(setup):
    data, p0 = setup
    a = lin.train(data, p0, alpha=1.0, eta0=1.0, steps=30, checkpoints=[30], model="linearised")
    b = lin.train(data, p0, alpha=50.0, eta0=1.0, steps=30, checkpoints=[30], model="linearised")
    np.testing.assert_allclose(a.f_test, b.f_test, rtol=1e-10)


def test_fit_power_law_recovers_exponent():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    assert lin.fit_power_law(x, 3 * x**-1.5) == pytest.approx(-1.5)


def test_run_above_stability_limit_stops_with_a_message_naming_eta0(setup):
    data, p0 = setup
    limit = lin.stability_limit(lin.tangent_kernel(p0, data.x_train))
    with pytest.raises(ld.DivergenceError, match=r"reduce eta0 = .*2/lambda_max\(K0/P\)"):
        lin.train(data, p0, alpha=1.0, eta0=5 * limit, steps=2000, model="linearised")


def test_exercise_check_accepts_the_reference_solution():
    assert check_linearised_residual(lambda K, y, eta0, k: lin.gd_residual_closed_form(K, y, eta0, [k])[0])


@pytest.mark.parametrize("call, exc, match", [
    (lambda d, p: lin.init_params(0, 5), ValueError, "d must be an integer >= 1"),
    (lambda d, p: lin.init_params(3, -1), ValueError, "N must be an integer >= 1"),
    (lambda d, p: lin.make_teacher_data(10, 3, P_test=0), ValueError, "P_test must be"),
    (lambda d, p: lin.train(d, p, alpha=0.0, eta0=1.0, steps=5), ValueError, "alpha must be >= 0.001"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=-1.0, steps=5), ValueError, "eta0 must be > 0"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=1.0, steps=5, model="kernel"), ValueError, "model must be one of"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=1.0, steps=5, checkpoints=[9]), ValueError, "checkpoints must hold steps between 0 and 5"),
    (lambda d, p: lin.train("data", p, alpha=1.0, eta0=1.0, steps=5), TypeError, "data must be a Dataset"),
    (lambda d, p: lin.network_output(p, np.zeros((3, 7))), ValueError, r"x must have shape \(any, 4\)"),
    (lambda d, p: lin.gd_residual_closed_form(np.eye(3), np.ones(4), 1.0, [1]), ValueError, r"y must have shape \(3\)"),
    (lambda d, p: lin.gradient_flow_residual(np.eye(2), np.ones(2), [-1.0]), ValueError, "times must be >= 0"),
    (lambda d, p: lin.fit_power_law([1.0, 2.0], [1.0, -1.0]), ValueError, "must be positive"),
])
def test_bad_arguments_raise_errors_that_name_them(setup, call, exc, match):
    data, p0 = setup
    with pytest.raises(exc, match=match):
        call(data, p0)
