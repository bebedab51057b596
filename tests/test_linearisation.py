"""Chapter 1: the linearised model's closed form, gradient flow, and the 1/alpha laws.

Every test compares two independent computations: hand-derived Jacobians against
finite differences or autograd, the eigen closed form against plain matrix
iteration or simulated gradient descent, predicted limits against observed
divergence.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import learning_dynamics as ld
from learning_dynamics import linearisation as lin
from learning_dynamics.exercises._answers.linearisation import (
    best_constant_step,
    torch_tangent_kernel,
)
from learning_dynamics.exercises.linearisation import (
    check_best_constant_step,
    check_torch_tangent_kernel,
)


@pytest.fixture(scope="module")
def setup():
    data = lin.make_teacher_data(24, 4, P_test=50, seed=0)
    params0 = lin.init_params(4, 64, seed=1)
    return data, params0


def _loss(data, params0, theta, alpha):
    f = alpha * (lin.network_output(params0.unflatten(theta), data.x_train)
                 - lin.network_output(params0, data.x_train))
    return 0.5 * np.mean((f - data.y_train) ** 2)


def _random_psd(seed: int, P: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((P, P + 3))
    return features @ features.T / (P + 3)


# ----------------------------------------------------------------- model and kernel
@pytest.mark.parametrize("seed", [0, 1])
def test_inputs_have_covariance_identity_over_d(seed):
    """x ~ N(0, I/d): every coordinate of sqrt(d) x has unit variance.

    The mean of the P d squares of sqrt(d) x is 1 with standard error
    sqrt(2 / (P d)) (chi-square); the tolerance is ASSERT_Z of those.  A missing or
    doubled 1/sqrt(d) moves the mean by a factor d.
    """
    from learning_dynamics.statistics import ASSERT_Z

    P, d = 2000, 20
    data = lin.make_teacher_data(P, d, P_test=P, seed=seed)
    for x in (data.x_train, data.x_test):
        squares = d * x**2
        assert abs(squares.mean() - 1.0) < ASSERT_Z * np.sqrt(2.0 / (P * d))
        assert abs((np.sqrt(d) * x).mean()) < ASSERT_Z / np.sqrt(P * d)


def test_one_direction_teacher_is_tanh_of_a_unit_projection_at_scale_two():
    """y = tanh(2 sqrt(d) u.x) with ||u|| = 1: arctanh(y) / (2 sqrt(d)) is linear in x.

    Least squares recovers u from the training set; it must reproduce the test
    targets and have unit norm (to rounding), so a wrong scale of the teacher's
    pre-activation (a dropped 2 or sqrt(d)) fails.
    """
    d = 6
    data = lin.make_teacher_data(200, d, P_test=50, teacher_width=1, seed=3)
    pre = np.arctanh(data.y_train) / (2.0 * np.sqrt(d))
    u, *_ = np.linalg.lstsq(data.x_train, pre, rcond=None)
    np.testing.assert_allclose(np.linalg.norm(u), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.tanh(2.0 * np.sqrt(d) * data.x_test @ u),
                               data.y_test, rtol=1e-6, atol=1e-9)


def test_targets_have_the_gaussian_mean_square_of_the_teacher():
    """E[y^2] = E[tanh(2 z)^2], z ~ N(0, 1), for one teacher direction.

    The expectation and the variance of tanh(2 z)^2 come from Gauss-Hermite
    quadrature (independent of the sampler); the tolerance is ASSERT_Z standard
    errors of the mean over P examples.  Inputs at scale N(0, I) instead of
    N(0, I/d) would give E[y^2] near 1.
    """
    from learning_dynamics.statistics import ASSERT_Z

    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    weights = weights / weights.sum()
    m2 = float(weights @ np.tanh(2 * nodes) ** 2)
    m4 = float(weights @ np.tanh(2 * nodes) ** 4)
    P, d = 4000, 30
    data = lin.make_teacher_data(P, d, P_test=10, teacher_width=1, seed=4)
    assert abs(np.mean(data.y_train**2) - m2) < ASSERT_Z * np.sqrt((m4 - m2**2) / P)


def test_jacobian_matches_finite_differences(setup):
    data, p0 = setup
    x = data.x_train[:3]
    jac = lin.jacobian(p0, x)
    theta = p0.flat()
    eps = 1e-6
    for idx in (0, p0.width + 5, theta.size - 1):
        step = np.zeros_like(theta)
        step[idx] = eps
        plus = lin.network_output(p0.unflatten(theta + step), x)
        minus = lin.network_output(p0.unflatten(theta - step), x)
        np.testing.assert_allclose(jac[:, idx], (plus - minus) / (2 * eps),
                                   rtol=1e-6, atol=1e-9)


def test_tangent_kernel_matches_autograd_reference(setup):
    data, p0 = setup
    as_tensor = torch.as_tensor
    expected = torch_tangent_kernel(as_tensor(p0.W), as_tensor(p0.a),
                                    as_tensor(data.x_train)).numpy()
    np.testing.assert_allclose(lin.tangent_kernel(p0, data.x_train), expected,
                               rtol=1e-10, atol=1e-12)


def test_cross_kernel_is_the_transpose_of_its_swap(setup):
    data, p0 = setup
    k12 = lin.tangent_kernel(p0, data.x_train[:5], data.x_test[:7])
    k21 = lin.tangent_kernel(p0, data.x_test[:7], data.x_train[:5])
    assert k12.shape == (5, 7)
    np.testing.assert_allclose(k12, k21.T, rtol=1e-12)


# ----------------------------------------------------------------- closed forms
def test_linearised_gradient_descent_matches_closed_form(setup):
    data, p0 = setup
    kernel0 = lin.tangent_kernel(p0, data.x_train)
    run = lin.train(data, p0, alpha=3.0, eta0=1.0, steps=50, checkpoints=[10, 50],
                    model="linearised")
    residual = lin.gd_residual_closed_form(kernel0, data.y_train, 1.0, [10, 50])
    np.testing.assert_allclose(run.train_loss, 0.5 * np.mean(residual**2, axis=1),
                               rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), P=st.integers(1, 7), k=st.integers(0, 30),
       eta0=st.floats(0.05, 1.5))
def test_closed_form_equals_plain_matrix_iteration(seed, P, k, eta0):
    kernel = _random_psd(seed, P)
    y = np.random.default_rng(seed + 1).standard_normal(P)
    residual = -y
    for _ in range(k):
        residual = residual - eta0 / P * kernel @ residual
    closed = lin.gd_residual_closed_form(kernel, y, eta0, [k])[0]
    np.testing.assert_allclose(closed, residual, rtol=1e-8, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), P=st.integers(1, 6), s=st.floats(0.0, 20.0))
def test_gradient_flow_residual_solves_its_ode(seed, P, s):
    kernel = _random_psd(seed, P)
    y = np.random.default_rng(seed + 1).standard_normal(P)
    h = 1e-5
    r_minus, r_mid, r_plus = lin.gradient_flow_residual(kernel, y, [s + h, s + 2 * h,
                                                                    s + 3 * h])
    derivative = (r_plus - r_minus) / (2 * h)
    np.testing.assert_allclose(derivative, -kernel @ r_mid / P, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(lin.gradient_flow_residual(kernel, y, [0.0])[0], -y)


def test_gradient_descent_converges_to_gradient_flow_at_first_order(setup):
    data, p0 = setup
    kernel0 = lin.tangent_kernel(p0, data.x_train)
    flow = lin.gradient_flow_residual(kernel0, data.y_train, [20.0])[0]
    errors = [np.abs(lin.gd_residual_closed_form(kernel0, data.y_train, h,
                                                 [int(20 / h)])[0] - flow).max()
              for h in (1.0, 0.5, 0.25)]
    # next-order term of eq. (pre-gd-vs-flow): the ratio is 2 (1 + O(eta0 lambda))
    assert 1.8 < errors[0] / errors[1] < 2.2 and 1.8 < errors[1] / errors[2] < 2.2


def test_observed_divergence_threshold_brackets_the_stability_limit(setup):
    """Simulated GD (parameters, no eigen-decomposition) against 2/lambda_max."""
    data, p0 = setup
    limit = lin.stability_limit(lin.tangent_kernel(p0, data.x_train))

    def growth(eta0):
        run = lin.train(data, p0, alpha=1.0, eta0=eta0, steps=1500,
                        checkpoints=[0, 1500], model="linearised")
        return run.train_loss[-1] / run.train_loss[0]

    assert growth(0.97 * limit) < 1 < 1e6 < growth(1.03 * limit)


def test_gd_flow_ratio_lies_in_the_derived_interval_for_200_random_networks():
    """E(2h)/E(h) from the matrix-power and matrix-exponential closed forms lies in
    the interval of ``euler_ratio_interval`` (Taylor bounds) for every kernel, the
    interval holds the first-order law 2 and narrows when the step halves."""
    for seed in range(200):
        data = lin.make_teacher_data(16, 3, P_test=4, seed=50_000 + seed)
        K0 = lin.tangent_kernel(lin.init_params(3, 32, seed=60_000 + seed),
                                data.x_train)
        h = lin.stability_limit(K0) / 16  # largest step 4h: 4 h lambda_max = 1/2
        s = 64 * h
        flow = lin.gradient_flow_residual(K0, data.y_train, [s])[0]
        errors = [np.linalg.norm(lin.gd_residual_closed_form(
            K0, data.y_train, step, [round(s / step)])[0] - flow)
            for step in (4 * h, 2 * h, h)]
        wide = lin.euler_ratio_interval(K0, data.y_train, s, 2 * h)
        narrow = lin.euler_ratio_interval(K0, data.y_train, s, h)
        assert wide[0] <= errors[0] / errors[1] <= wide[1], (seed, wide)
        assert narrow[0] <= errors[1] / errors[2] <= narrow[1], (seed, narrow)
        assert wide[0] < narrow[0] < 2 < narrow[1] < wide[1]


def test_stability_limit_is_two_over_the_largest_eigenvalue_by_power_iteration():
    kernel = _random_psd(3, 6)
    vector = np.ones(6)
    for _ in range(500):
        vector = kernel @ vector / 6
        vector /= np.linalg.norm(vector)
    top = vector @ kernel @ vector / 6
    assert lin.stability_limit(kernel) == pytest.approx(2 / top, rel=1e-9)


# ----------------------------------------------------------------- training
def test_network_gradient_step_matches_finite_difference_of_the_loss(setup):
    """A flipped sign or a dropped alpha/P in the gradient changes the first step."""
    data, p0 = setup
    alpha, eta0 = 2.0, 0.5
    theta0 = p0.flat()
    eps = 1e-6
    gradient = np.array([
        (_loss(data, p0, theta0 + eps * e, alpha) - _loss(data, p0, theta0 - eps * e,
                                                          alpha)) / (2 * eps)
        for e in np.eye(theta0.size)])
    theta1 = theta0 - eta0 / alpha**2 * gradient
    run = lin.train(data, p0, alpha=alpha, eta0=eta0, steps=1, checkpoints=[1])
    # finite-difference error O(eps^2) on the gradient: a few 1e-9 relative
    assert run.train_loss[-1] == pytest.approx(_loss(data, p0, theta1, alpha), rel=1e-7)
    moved = np.linalg.norm(theta1 - theta0) / np.linalg.norm(theta0)
    assert run.weight_change[-1] == pytest.approx(moved, rel=1e-6)


def _autograd_descent(data, p0, *, alpha, eta0, steps, model):
    """The chapter's training loop written naively: torch autograd, no reductions.

    Returns per-step train and test losses and weight changes, the final test
    outputs, and the relative change of the tangent kernel.
    """
    t = {name: torch.as_tensor(getattr(data, name))
         for name in ("x_train", "y_train", "x_test", "y_test")}
    W0, a0 = torch.as_tensor(p0.W), torch.as_tensor(p0.a)
    theta0 = torch.cat([a0, W0.ravel()])

    def g(W, a, x):
        return torch.tanh(x @ W.T) @ a / a.numel() ** 0.5

    def f(W, a, x):
        if model == "network":
            return alpha * (g(W, a, x) - g(W0, a0, x))
        _, tangent = torch.autograd.functional.jvp(
            lambda W_, a_: g(W_, a_, x), (W0, a0), (W - W0, a - a0), create_graph=True
        )
        return alpha * tangent

    def kernel(W, a):
        jac_W, jac_a = torch.autograd.functional.jacobian(
            lambda W_, a_: g(W_, a_, t["x_train"]), (W, a)
        )
        jac = torch.cat([jac_a, jac_W.flatten(1)], dim=1)
        return jac @ jac.T

    W, a = W0.clone(), a0.clone()
    eta = eta0 / alpha**2
    out = {"train": [], "test": [], "moved": []}
    for step in range(steps + 1):
        W.requires_grad_(True)
        a.requires_grad_(True)
        loss = 0.5 * torch.mean((f(W, a, t["x_train"]) - t["y_train"]) ** 2)
        with torch.no_grad():
            out["train"].append(loss.item())
            test_residual = f(W, a, t["x_test"]) - t["y_test"]
            out["test"].append(0.5 * torch.mean(test_residual**2).item())
            moved = torch.linalg.norm(torch.cat([a, W.ravel()]) - theta0)
            out["moved"].append((moved / torch.linalg.norm(theta0)).item())
        if step < steps:
            grad_W, grad_a = torch.autograd.grad(loss, (W, a))
            W, a = (W - eta * grad_W).detach(), (a - eta * grad_a).detach()
    W, a = W.detach(), a.detach()
    with torch.no_grad():
        out["f_test"] = f(W, a, t["x_test"]).numpy()
    k0, k_end = kernel(W0, a0), kernel(W, a)
    kernel_change = torch.linalg.norm(k_end - k0) / torch.linalg.norm(k0)
    out["kernel_change"] = kernel_change.item() if model == "network" else 0.0
    return out


@pytest.mark.parametrize("model, alpha", [("network", 0.5), ("network", 3.0),
                                          ("linearised", 3.0)])
def test_training_engine_agrees_with_a_naive_autograd_loop(setup, model, alpha):
    # same float64 arithmetic in a different order: agreement to ~1e-12 over
    # 12 steps; 1e-9 leaves room for round-off growth, far below any modelling
    # change (a factor or a sign moves these numbers at order one)
    data, p0 = setup
    steps = 12
    run = lin.train(data, p0, alpha=alpha, eta0=1.0, steps=steps,
                    checkpoints=range(steps + 1), model=model)
    naive = _autograd_descent(data, p0, alpha=alpha, eta0=1.0, steps=steps,
                              model=model)
    np.testing.assert_array_equal(run.t, np.arange(steps + 1))
    np.testing.assert_allclose(run.train_loss, naive["train"], rtol=1e-9)
    np.testing.assert_allclose(run.test_loss, naive["test"], rtol=1e-9)
    np.testing.assert_allclose(run.weight_change, naive["moved"], rtol=1e-9,
                               atol=1e-15)
    np.testing.assert_allclose(run.f_test, naive["f_test"], rtol=1e-9, atol=1e-12)
    assert run.kernel_change == pytest.approx(naive["kernel_change"], rel=1e-9)
    assert run.model == model


def test_default_checkpoints_are_step_zero_and_log_spaced_steps_up_to_the_end(setup):
    data, p0 = setup
    run = lin.train(data, p0, alpha=2.0, eta0=1.0, steps=1000)
    expected = np.unique(np.r_[0, np.round(10 ** np.linspace(0, 3, 50))])
    np.testing.assert_array_equal(run.t, expected)
    assert run.t[0] == 0 and run.t[-1] == 1000 and len(run.t) == len(run.train_loss)


def test_weight_movement_and_linearisation_gap_shrink_like_one_over_alpha(setup):
    data, p0 = setup
    alphas = np.array([4.0, 8.0, 16.0, 32.0])
    res = lin.lazy_scaling(data, p0, alphas, eta0=1.0, steps=200)
    assert -1.1 < lin.fit_power_law(alphas, res.weight_change) < -0.9
    assert -1.25 < lin.fit_power_law(alphas, res.lin_gap) < -0.75


def test_linearised_weight_movement_equals_the_summed_residuals_of_the_closed_form(
        setup):
    """Eq. (pre-weight-move): |theta_k - theta_0| = (eta0/alpha) |J0^T sum_j r_j| / P,
    with r_j from the eigen closed form; catches a lost constant factor in
    weight_change, which the exponent checks cannot see."""
    data, p0 = setup
    alpha, eta0, k = 4.0, 1.0, 60
    run = lin.train(data, p0, alpha=alpha, eta0=eta0, steps=k, checkpoints=[k],
                    model="linearised")
    K0 = lin.tangent_kernel(p0, data.x_train)
    r = lin.gd_residual_closed_form(K0, data.y_train, eta0, list(range(k)))
    J0 = lin.jacobian(p0, data.x_train)
    moved = eta0 / alpha * np.linalg.norm(J0.T @ r.sum(axis=0)) / data.y_train.size
    expected = moved / np.linalg.norm(p0.flat())
    assert run.weight_change[-1] == pytest.approx(expected, rel=1e-9)


def test_readout_only_kernel_change_matches_the_two_block_formula(setup):
    """With W frozen only the first-layer block a_i^2 tanh'(.)tanh'(.) x.x'/N of the
    kernel moves; its change, written out by hand, equals kernel_change (catches a
    lost constant factor there) and W and a stay put where frozen."""
    data, p0 = setup
    x, N = data.x_train, p0.width
    ro = lin.train(data, p0, alpha=0.5, eta0=1.0, steps=40, checkpoints=[40],
                   trainable="readout")
    fl = lin.train(data, p0, alpha=0.5, eta0=1.0, steps=40, checkpoints=[40],
                   trainable="first_layer")
    assert np.array_equal(ro.params_end.W, p0.W) and not np.array_equal(ro.params_end.a,
                                                                        p0.a)
    assert np.array_equal(fl.params_end.a, p0.a) and not np.array_equal(fl.params_end.W,
                                                                        p0.W)
    h = np.tanh(x @ p0.W.T)

    def kernel(a):
        s = (1 - h**2) * a / np.sqrt(N)
        return h @ h.T / N + (s @ s.T) * (x @ x.T)

    K0, K1 = kernel(p0.a), kernel(ro.params_end.a)
    expected = np.linalg.norm(K1 - K0) / np.linalg.norm(K0)
    assert ro.kernel_change == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="trainable"):
        lin.train(data, p0, alpha=1.0, eta0=1.0, steps=2, trainable="a")


def test_linearised_predictions_do_not_depend_on_alpha(setup):
    data, p0 = setup
    a = lin.train(data, p0, alpha=1.0, eta0=1.0, steps=30, checkpoints=[30],
                  model="linearised")
    b = lin.train(data, p0, alpha=50.0, eta0=1.0, steps=30, checkpoints=[30],
                  model="linearised")
    np.testing.assert_allclose(a.f_test, b.f_test, rtol=1e-10)


def _history(model, f_test, *, end=40, train_loss=0.1, test_loss=0.2, moved=0.3,
             kernel_change=0.0):
    t = np.array([0, end])
    return lin.History(t=t, train_loss=np.array([1.0, train_loss]),
                       test_loss=np.array([1.0, test_loss]),
                       weight_change=np.array([0.0, moved]), f_test=np.asarray(f_test),
                       kernel_change=kernel_change, model=model)


def test_summary_reads_the_last_record_of_each_run_and_the_rms_gap():
    # hand-made histories with known answers: test outputs differ by (3, 4, 0, 0)
    # from the linearised model's, an RMS gap of sqrt(25 / 4) = 2.5
    linearised = _history("linearised", [0.0, 0.0, 1.0, 1.0], test_loss=0.7)
    runs = {2.0: _history("network", [3.0, 4.0, 1.0, 1.0], train_loss=0.11,
                          test_loss=0.21, moved=0.31, kernel_change=0.41),
            8.0: _history("network", [0.0, 0.0, 1.0, 1.0], train_loss=0.12,
                          test_loss=0.22, moved=0.32, kernel_change=0.42)}
    summary = lin.summarise_scaling(runs, linearised)
    np.testing.assert_array_equal(summary.alpha, [2.0, 8.0])
    np.testing.assert_allclose(summary.lin_gap, [2.5, 0.0], rtol=1e-15)
    np.testing.assert_array_equal(summary.train_loss, [0.11, 0.12])
    np.testing.assert_array_equal(summary.test_loss, [0.21, 0.22])
    np.testing.assert_array_equal(summary.weight_change, [0.31, 0.32])
    np.testing.assert_array_equal(summary.kernel_change, [0.41, 0.42])
    assert summary.lin_test_loss == 0.7


def test_lazy_scaling_summarises_one_network_run_per_alpha(setup):
    data, p0 = setup
    summary = lin.lazy_scaling(data, p0, [2.0, 8.0], eta0=1.0, steps=40)
    for alpha, gap, kernel_change in zip((2.0, 8.0), summary.lin_gap,
                                         summary.kernel_change, strict=True):
        network = lin.train(data, p0, alpha=alpha, eta0=1.0, steps=40)
        linearised = lin.train(data, p0, alpha=alpha, eta0=1.0, steps=40,
                               model="linearised")
        rms = np.sqrt(np.mean((network.f_test - linearised.f_test) ** 2))
        assert gap == pytest.approx(rms, rel=1e-9)
        assert kernel_change == pytest.approx(network.kernel_change, rel=1e-12)
        assert linearised.kernel_change == 0.0


def test_fit_power_law_recovers_exponent():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    assert lin.fit_power_law(x, 3 * x**-1.5) == pytest.approx(-1.5)
    # two points determine the line
    assert lin.fit_power_law([1.0, 2.0], [3.0, 12.0]) == pytest.approx(2.0)


def test_run_above_stability_limit_stops_with_a_message_naming_eta0(setup):
    data, p0 = setup
    limit = lin.stability_limit(lin.tangent_kernel(p0, data.x_train))
    message = (r"^loss became (inf|nan) at step [1-9]\d*: the run diverged; reduce "
               rf"eta0 = {5 * limit:g}\. The linearised dynamics are stable only for "
               rf"eta0 < 2/lambda_max\(K0/P\) = {limit:.3g}\.$")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one clear error, not a stream of warnings
        with pytest.raises(ld.DivergenceError, match=message):
            lin.train(data, p0, alpha=1.0, eta0=5 * limit, steps=2000,
                      model="linearised")


def test_huge_eta0_is_reported_as_divergence(setup):
    data, p0 = setup
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ld.DivergenceError, match="reduce eta0 = 1e"):
            lin.train(data, p0, alpha=1.0, eta0=1e300, steps=5)


# ----------------------------------------------------------------- exercise checks
def test_exercise_checks_accept_the_reference_answers():
    assert check_best_constant_step(best_constant_step, verbose=False)
    assert check_torch_tangent_kernel(torch_tangent_kernel, verbose=False)


def test_best_constant_step_reference_minimises_the_slowest_rate():
    eigenvalues = np.linalg.eigvalsh(_random_psd(7, 5) / 5)
    step, rate = best_constant_step(_random_psd(7, 5))
    grid = np.linspace(0.01, 2.0 / eigenvalues[-1], 100_001)
    slowest = np.abs(1 - grid[:, None] * eigenvalues).max(axis=1)
    assert step == pytest.approx(grid[slowest.argmin()], rel=1e-4)
    assert rate == pytest.approx(slowest.min(), rel=1e-6)


def _eig(kernel):
    return np.linalg.eigvalsh(np.asarray(kernel) / len(kernel))


WRONG_STEPS = {
    "1/lambda_max": lambda K: (1 / _eig(K)[-1], 1 - _eig(K)[0] / _eig(K)[-1]),
    "2/lambda_max": lambda K: (2 / _eig(K)[-1], best_constant_step(K)[1]),
    "forgot 1/P": lambda K: (2 / (np.linalg.eigvalsh(K)[0] + np.linalg.eigvalsh(K)[-1]),
                             best_constant_step(K)[1]),
    "rate (kappa-1)/kappa": lambda K: (best_constant_step(K)[0],
                                      1 - _eig(K)[0] / _eig(K)[-1]),
}


@pytest.mark.parametrize("name", list(WRONG_STEPS))
def test_best_step_check_rejects_plausible_wrong_answers(name):
    assert not check_best_constant_step(WRONG_STEPS[name], verbose=False)


def _readout_only(W, a, x):
    hidden = torch.tanh(x @ W.T) / a.numel() ** 0.5
    return hidden @ hidden.T


WRONG_KERNELS = {
    "readout layer only": _readout_only,
    "missing 1/N": lambda W, a, x: torch_tangent_kernel(W, a, x) * a.numel(),
    "J^T J instead of J J^T": lambda W, a, x: torch_tangent_kernel(W, a, x)[:1],
    "dropped the tanh derivative": lambda W, a, x: _readout_only(W, a, x)
    + (x @ x.T) * (a**2).mean(),
}


@pytest.mark.parametrize("name", list(WRONG_KERNELS))
def test_kernel_check_rejects_plausible_wrong_answers(name):
    assert not check_torch_tangent_kernel(WRONG_KERNELS[name], verbose=False)


def test_failed_check_reports_shapes_and_error_not_arrays(capsys):
    result = check_torch_tangent_kernel(WRONG_KERNELS["missing 1/N"])
    message = result.message
    assert "shape (3, 3)" in message and "largest relative error" in message
    assert "[" not in message.split("shape")[0]
    assert "tensor(" not in capsys.readouterr().out


def test_stub_is_reported_as_not_implemented():
    def stub(kernel):
        raise NotImplementedError("use the extreme eigenvalues")

    result = check_best_constant_step(stub, verbose=False)
    assert not result and "not implemented yet" in result.message


# ----------------------------------------------------------------- bounds and errors
@pytest.mark.parametrize("call, exc, match", [
    (lambda d, p: lin.init_params(0, 5), ValueError, "d must be an integer >= 1"),
    (lambda d, p: lin.init_params(3, -1), ValueError, "N must be an integer >= 1"),
    (lambda d, p: lin.init_params(40_000, 40_000), ValueError,
     r"N = 40000 and d = 40000 .* GiB; the limit is 2.0 GiB"),
    (lambda d, p: lin.make_teacher_data(10, 3, P_test=0), ValueError, "P_test must be"),
    (lambda d, p: lin.make_teacher_data(10**6, 3), ValueError,
     "P must be an integer >= 1 and <= 100000"),
    (lambda d, p: lin.train(d, p, alpha=0.0, eta0=1.0, steps=5), ValueError,
     "alpha must be >= 0.001"),
    (lambda d, p: lin.train(d, p, alpha=1e-300, eta0=1.0, steps=5), ValueError,
     r"alpha must be >= 0.001 and <= 1e\+06; got 1e-300"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=-1.0, steps=5), ValueError,
     "eta0 must be > 0"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=1.0, steps=10**9), ValueError,
     r"steps must be an integer >= 1 and <= 1000000; got 1000000000"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=1.0, steps=1e9), TypeError,
     "steps must be an integer"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=1.0, steps=5, model="kernel"),
     ValueError, "model must be one of"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=1.0, steps=5, checkpoints=[9]),
     ValueError, "checkpoints must hold steps between 0 and 5"),
    (lambda d, p: lin.train("data", p, alpha=1.0, eta0=1.0, steps=5), TypeError,
     r"^data must be a Dataset \(see make_teacher_data\); got str$"),
    (lambda d, p: lin.train(d, lin.init_params(3, 8), alpha=1.0, eta0=1.0, steps=5),
     ValueError, r"^data has input dimension 4 but params0 expects 3$"),
    (lambda d, p: lin.train(d, p, alpha=1.0, eta0=0.0, steps=5), ValueError,
     r"^eta0 must be > 0; got 0"),
    # 20000 training inputs: the 20000 x 20000 kernel alone is 3.0 GiB
    (lambda d, p: lin.train(lin.make_teacher_data(20_000, 4, P_test=10), p,
                            alpha=1.0, eta0=1.0, steps=5),
     ValueError, r"^data: training on 20000 examples \(10 test\) with 320 "
     r"parameters needs about 3\.1 GiB; the limit is 2\.0 GiB"),
    # the linearised model also holds the test Jacobian: 2 x 8 bytes x 500000 x 320
    (lambda d, p: lin.train(lin.Dataset(d.x_train[:10], d.y_train[:10],
                                        np.zeros((500_000, 4)), np.zeros(500_000)),
                            p, alpha=1.0, eta0=1.0, steps=5, model="linearised"),
     ValueError, r"^data: training on 10 examples \(500000 test\) with 320 "
     r"parameters needs about 2\.4 GiB"),
    (lambda d, p: lin.lazy_scaling(d, p, [[1.0, 2.0]], eta0=1.0, steps=5),
     ValueError, r"^alphas must be a 1-dimensional array"),
    (lambda d, p: lin.lazy_scaling(d, p, [1.0, 0.0], eta0=1.0, steps=5),
     ValueError, r"^alphas must be >= 0\.001 and <= 1e\+06; got 0"),
    (lambda d, p: lin.summarise_scaling({}, _history("linearised", [0.0])),
     TypeError, r"^runs must be a non-empty dict \{alpha: History\}; got dict$"),
    (lambda d, p: lin.summarise_scaling([], _history("linearised", [0.0])),
     TypeError, r"^runs must be a non-empty dict \{alpha: History\}; got list$"),
    (lambda d, p: lin.summarise_scaling({1.0: _history("linearised", [0.0])},
                                        _history("linearised", [0.0])),
     TypeError, r"^runs must map alpha to network History objects \(see train\)$"),
    (lambda d, p: lin.summarise_scaling({1.0: "run"}, _history("linearised", [0.0])),
     TypeError, r"^runs must map alpha to network History objects"),
    (lambda d, p: lin.summarise_scaling({1.0: _history("network", [0.0])},
                                        _history("network", [0.0])),
     TypeError, r"^linearised must be the History of a model='linearised' run$"),
    (lambda d, p: lin.summarise_scaling({1.0: _history("network", [0.0])}, None),
     TypeError, r"^linearised must be the History"),
    (lambda d, p: lin.summarise_scaling({1.0: _history("network", [0.0], end=30)},
                                        _history("linearised", [0.0])),
     ValueError, r"^runs and linearised must end at the same step; got \{"),
    (lambda d, p: lin.fit_power_law([[1.0, 2.0]], [1.0, 2.0]), ValueError,
     r"^x must be a 1-dimensional array"),
    (lambda d, p: lin.fit_power_law([1.0, 2.0], [1.0, 2.0, 3.0]), ValueError,
     r"^y must have shape \(2\)"),
    (lambda d, p: lin.fit_power_law([0.0, 2.0], [1.0, 2.0]), ValueError,
     r"^x and y must be positive to fit a power law; got min x 0, min y 1$"),
    (lambda d, p: lin.fit_power_law([1.0, 2.0], [0.0, 2.0]), ValueError,
     r"^x and y must be positive to fit a power law; got min x 1, min y 0$"),
    (lambda d, p: lin.fit_power_law([1.0], [1.0]), ValueError,
     r"^x must hold at least 2 points; got 1$"),
    (lambda d, p: lin.network_output(p, np.zeros((3, 7))), ValueError,
     r"x must have shape \(any, 4\)"),
    (lambda d, p: lin.tangent_kernel(p, np.zeros((60_000, 4))), ValueError,
     r"x1: the 60000 x 60000 tangent kernel .* needs about 2[0-9]\.\d GiB; "
     r"the limit is 2.0 GiB"),
    (lambda d, p: lin.jacobian(p, np.zeros((10**6, 4))), ValueError,
     r"x: the Jacobian of 1000000 inputs .* GiB"),
    (lambda d, p: lin.gd_residual_closed_form(np.eye(3), np.ones(4), 1.0, [1]),
     ValueError, r"y must have shape \(3\)"),
    (lambda d, p: lin.gd_residual_closed_form(np.triu(np.ones((3, 3))), np.ones(3),
                                              1.0, [1]),
     ValueError, "kernel must be symmetric"),
    (lambda d, p: lin.gradient_flow_residual(np.eye(2), np.ones(2), [-1.0]),
     ValueError, "times must be >= 0"),
    # every argument of the closed forms, at the edge of what it accepts
    (lambda d, p: lin.gd_residual_closed_form(np.ones((2, 2, 2)), np.ones(2), 1.0,
                                              [1]),
     ValueError, r"^kernel must be a 2-dimensional array"),
    (lambda d, p: lin.stability_limit(np.ones((2, 3))), ValueError,
     r"^kernel must be square; got shape \(2, 3\)"),
    # a tiny kernel's asymmetry is judged relative to its own scale
    (lambda d, p: lin.stability_limit(1e-6 * np.array([[1.0, 1e-3], [0.0, 1.0]])),
     ValueError, r"^kernel must be symmetric; got a relative asymmetry"),
    (lambda d, p: lin.gd_residual_closed_form(np.eye(2), np.ones(2), 0.0, [1]),
     ValueError, r"^eta0 must be > 0; got 0"),
    (lambda d, p: lin.gd_residual_closed_form(np.eye(2), np.ones(2), -1.0, [1]),
     ValueError, r"^eta0 must be > 0; got -1"),
    (lambda d, p: lin.gd_residual_closed_form(np.eye(2), np.ones(2), 1.0, [-1]),
     ValueError, r"^steps must hold steps >= 0"),
    (lambda d, p: lin.gradient_flow_residual(np.eye(2), np.ones(3), [1.0]),
     ValueError, r"^y must have shape \(2\)"),
    (lambda d, p: lin.gradient_flow_residual(np.eye(2), np.ones(2), [[1.0]]),
     ValueError, r"^times must be a 1-dimensional array"),
    (lambda d, p: lin.gradient_flow_residual(np.ones((2, 2, 2)), np.ones(2), [1.0]),
     ValueError, r"^kernel must be a 2-dimensional array"),
    (lambda d, p: lin.stability_limit(np.zeros((2, 2))), ValueError,
     "kernel must have a positive eigenvalue"),
    (lambda d, p: lin.fit_power_law([1.0, 2.0], [1.0, -1.0]), ValueError,
     "must be positive"),
    (lambda d, p: lin.fit_power_law([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]), ValueError,
     "x must hold at least two distinct values; got all x = 2"),
    (lambda d, p: lin.Dataset(np.full((3, 2), np.nan), np.zeros(3), np.zeros((2, 2)),
                              np.zeros(2)),
     ValueError, "x_train must contain only finite values"),
])
def test_bad_arguments_raise_errors_that_name_them(setup, call, exc, match):
    data, p0 = setup
    with pytest.raises(exc, match=match):
        call(data, p0)


def test_kernel_symmetric_to_the_documented_tolerance_is_accepted():
    # "symmetric to 1e-8 of its largest entry": exactly 1e-8 passes, 2e-8 does not
    at_tolerance = np.array([[1.0, 1e-8], [0.0, 1.0]])
    # K/P has eigenvalues 1/2 (to 1e-8), so the limit is 2 / (1/2) = 4
    assert lin.stability_limit(at_tolerance) == pytest.approx(4.0, rel=1e-7)
    with pytest.raises(ValueError, match="^kernel must be symmetric"):
        lin.stability_limit(np.array([[1.0, 2e-8], [0.0, 1.0]]))



# ----------------------------------------------------------------- seed spread
#: The chapter's tolerances whose source is "seed spread": (lower, upper) per quantity.
CHAPTER_TOLERANCES = {
    "early_spread": (None, 0.02),
    "slope_gap": (-1.1, -0.9),
    "slope_move": (-1.1, -0.9),
    "slope_kernel": (-1.25, -0.75),
    "rich_ratio": (None, 1),
    "kernel_change_quarter": (0.1, None),
    "readout_gain": (0.75, None),        # cell pre-ablation-layers
    # cell pre-ablation-layers: the first layer alone (readout frozen) over the
    # linearised test loss, derived from the stored rich_ratio and first_layer_share
    "first_layer_gain": (None, 1.1),
    "move_drop": (2**-0.5 - 0.1, 2**-0.5 + 0.1),
    "alpha_threshold": (2.8, 4.7),
}


def _network_runs_batched(data, params0, alphas, *, eta0: float, steps: int,
                          early: int, trainable=None):
    """``lin.train``'s network runs at several ``alpha`` in one vectorised loop (the
    slow spread test's engine; ``test_batched_engine_matches_train`` ties it to
    ``lin.train``).  ``trainable`` gives, per run, "both" or "first_layer" (the
    readout frozen).  Returns the parameters after ``early`` and after ``steps``
    steps, one ``Params`` per alpha each."""
    x, y = data.x_train, data.y_train
    P, N = y.size, params0.width
    trainable = ["both"] * len(alphas) if trainable is None else list(trainable)
    assert set(trainable) <= {"both", "first_layer"}, trainable
    scale = np.asarray(alphas, dtype=float)[:, None]          # (A, 1)
    g0 = np.tanh(x @ params0.W.T) @ params0.a / np.sqrt(N)
    V = np.repeat(params0.W.T[None], len(scale), axis=0)     # W^T, (A, d, N)
    a = np.repeat(params0.a[None], len(scale), axis=0)       # (A, N)
    eta = eta0 / scale**2
    eta_a = eta * np.array([t == "both" for t in trainable])[:, None]
    c = scale / (P * np.sqrt(N))                              # d loss / d (h a)
    xT = np.ascontiguousarray(x.T)

    def snapshot():
        return [lin.Params(W=Vi.T.copy(), a=ai.copy())
                for Vi, ai in zip(V, a, strict=True)]

    at_early = None
    for step in range(steps):
        if step == early:
            at_early = snapshot()
        h = np.tanh(x @ V)                                    # (A, P, N)
        r = scale * ((h @ a[:, :, None])[..., 0] / np.sqrt(N) - g0) - y
        cr = c * r                                            # (A, P)
        grad_a = (cr[:, None, :] @ h)[:, 0, :]
        # x^T diag(cr) (1 - h^2) diag(a), with one pass over h instead of four
        xc = xT * cr[:, None, :]                              # (A, d, P)
        np.multiply(h, h, out=h)
        grad_V = xc.sum(axis=2)[:, :, None] - xc @ h          # (A, d, N)
        grad_V *= a[:, None, :]
        a -= eta_a * grad_a
        V -= eta[:, :, None] * grad_V
    return at_early, snapshot()


def _readout_only_run(data, params0, *, alpha: float, eta0: float, steps: int):
    """``lin.train(..., trainable="readout")`` with the features computed once (W is
    frozen, so ``tanh(x W^T)`` never changes): the readout after ``steps`` steps."""
    x, y = data.x_train, data.y_train
    P, N = y.size, params0.width
    h = np.tanh(x @ params0.W.T)
    g0 = h @ params0.a / np.sqrt(N)
    a = params0.a.copy()
    step = eta0 / alpha**2 * alpha / (P * np.sqrt(N))
    for _ in range(steps):
        a -= step * (h.T @ (alpha * (h @ a / np.sqrt(N) - g0) - y))
    return lin.Params(W=params0.W.copy(), a=a)


def test_batched_engine_matches_train(setup):
    data, p0 = setup
    alphas = [0.5, 4.0, 0.5]
    trainable = ["both", "both", "first_layer"]
    early, end = _network_runs_batched(data, p0, alphas, eta0=1.0, steps=30, early=10,
                                       trainable=trainable)
    for alpha, which, p_early, p_end in zip(alphas, trainable, early, end,
                                            strict=True):
        for k, p in ((10, p_early), (30, p_end)):
            ref = lin.train(data, p0, alpha=alpha, eta0=1.0, steps=k, checkpoints=[k],
                            trainable=which)
            np.testing.assert_allclose(p.a, ref.params_end.a, rtol=0, atol=1e-12)
            np.testing.assert_allclose(p.W, ref.params_end.W, rtol=0, atol=1e-12)
    readout = _readout_only_run(data, p0, alpha=0.5, eta0=1.0, steps=30)
    ref = lin.train(data, p0, alpha=0.5, eta0=1.0, steps=30, checkpoints=[30],
                    trainable="readout")
    np.testing.assert_allclose(readout.a, ref.params_end.a, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(readout.W, ref.params_end.W)


def _setup_of_seed(seed: int):
    "Fresh data and initialisation of the chapter's sizes for one spread seed."
    data = lin.make_teacher_data(64, 8, P_test=500, seed=7_000_000 + 2 * seed)
    return data, lin.init_params(8, 256, seed=7_000_001 + 2 * seed)


def _run_summaries(data, params0, ends, alphas):
    "Test outputs, relative weight movement and kernel change of each finished run."
    x, xt = data.x_train, data.x_test

    def output(p):
        return np.tanh(xt @ p.W.T) @ p.a / np.sqrt(p.width)   # eq. (pre-network)

    out0, k0 = output(params0), lin.tangent_kernel(params0, x)
    rows = [(alpha * (output(p) - out0),
             np.linalg.norm(p.flat() - params0.flat()) / np.linalg.norm(params0.flat()),
             np.linalg.norm(lin.tangent_kernel(p, x) - k0) / np.linalg.norm(k0))
            for p, alpha in zip(ends, alphas, strict=True)]
    return map(np.array, zip(*rows, strict=True))


def _feature_block_change(data, params0, params):
    "Change of the readout block h h^T / N of the kernel, relative to |K0|."
    def block(p):
        h = np.tanh(data.x_train @ p.W.T)
        return h @ h.T / p.width

    return (np.linalg.norm(block(params) - block(params0))
            / np.linalg.norm(lin.tangent_kernel(params0, data.x_train)))


#: Quantities the spread tests record that set no tolerance (quoted in the prose).
PROSE_ONLY = {"feature_block_quarter", "kernel_drop", "first_layer_share"}


def _chapter_quantities(seed: int) -> dict:
    """Chapter 1's seed-dependent claims for one fresh (data, initialisation) pair,
    except the width doubling (``_width_quantities``).

    Same quantities as the chapter (same alphas, steps and widths); the network runs
    go through the batched engine above, the linearised one through ``lin.train``."""
    eta0, steps = 1.0, 1000
    data, params0 = _setup_of_seed(seed)
    alphas = np.array([0.25, 4, 8, 16, 32, 64, 0.25])
    linear = lin.train(data, params0, alpha=1.0, eta0=eta0, steps=steps,
                       checkpoints=[10, steps], model="linearised")
    trainable = ["both"] * 6 + ["first_layer"]
    early, end = _network_runs_batched(data, params0, alphas, eta0=eta0, steps=steps,
                                       early=10, trainable=trainable)
    end.append(_readout_only_run(data, params0, alpha=0.25, eta0=eta0, steps=steps))
    f, moved, kc = _run_summaries(data, params0, end, [*alphas, 0.25])
    yt = data.y_test
    gain = 0.5 * np.mean((f - yt) ** 2, axis=1) / linear.test_loss[-1]
    lazy = slice(1, 6)                                  # alpha = 4 ... 64, trains both
    gap = np.sqrt(np.mean((f[lazy] - linear.f_test) ** 2, axis=1))
    early_f, _, _ = _run_summaries(data, params0, [early[1], early[4]], [4.0, 32.0])
    early_loss = 0.5 * np.mean((early_f - yt) ** 2, axis=1)
    return {
        "early_spread": np.max(np.abs(early_loss - linear.test_loss[0]))
        / linear.test_loss[0],
        "slope_gap": lin.fit_power_law(alphas[lazy], gap),
        "slope_move": lin.fit_power_law(alphas[lazy], moved[lazy]),
        "slope_kernel": lin.fit_power_law(alphas[lazy], kc[lazy]),
        "rich_ratio": gain[0],
        "kernel_change_quarter": kc[0],
        "readout_gain": gain[7],                        # W frozen
        "feature_block_quarter": _feature_block_change(data, params0, end[0]),
        "first_layer_share": (1 - gain[6]) / (1 - gain[0]),   # readout frozen
        "alpha_threshold": np.sqrt(lin.stability_limit(
            lin.tangent_kernel(params0, data.x_train))),
    }


def _width_quantities(seed: int) -> dict:
    """The width-doubling claims (cell of the exercise on width): weight movement and
    kernel change at alpha = 1/2 and 1, width 2N over width N, same seeds."""
    eta0, steps = 1.0, 1000
    data, params0 = _setup_of_seed(seed)
    wide0 = lin.init_params(8, 512, seed=7_000_001 + 2 * seed)
    moved, kc = {}, {}
    for p0 in (params0, wide0):
        _, end = _network_runs_batched(data, p0, [0.5, 1.0], eta0=eta0, steps=steps,
                                       early=steps)
        _, moved[p0.width], kc[p0.width] = _run_summaries(data, p0, end, (0.5, 1.0))
    return {"move_drop": moved[512] / moved[256], "kernel_drop": kc[512] / kc[256]}


SPREAD_SEEDS = 200


def _check_spread(values: dict) -> None:
    """Every tolerance of ``CHAPTER_TOLERANCES`` measured in ``values`` lies beyond
    mean + 3.89 sd of its quantity (ASSERT_Z: about 1e-4 for a Gaussian tail) and
    beyond the values themselves."""
    from learning_dynamics.statistics import ASSERT_Z

    for name, (low, high) in CHAPTER_TOLERANCES.items():
        if name not in values:
            continue
        v = np.array(values[name])
        assert v.size >= SPREAD_SEEDS, (name, v.size)
        mean, sd = v.mean(), v.std(ddof=1)
        if low is not None:
            assert low < min(v.min(), mean - ASSERT_Z * sd), (name, v.min(), mean, sd)
        if high is not None:
            assert high > max(v.max(), mean + ASSERT_Z * sd), (name, v.max(), mean, sd)


def _spread(name: str, quantities) -> dict:
    """The 200-seed spread, stored in ``tests/data`` and spot-checked on five seeds
    (``tests/stored_spread.py``): measuring it costs 104 + 77 s of CPU."""
    from stored_spread import stored_spread

    return stored_spread(name, range(SPREAD_SEEDS), quantities, (0, 57, 123, 199))


@pytest.mark.slow
def test_seed_spread_of_the_chapter_claims():
    """Source of chapter 1's "seed spread" tolerances (all but the width doubling):
    over 200 fresh seeds each lies beyond mean -+ 3.89 sd and beyond the 200 values.
    104 s of CPU on one thread measured on a loaded shared machine (batched engine;
    the readout-only run without recomputing tanh): slow tier."""
    from learning_dynamics.statistics import ASSERT_Z, rate

    values = _spread("linearisation_chapter_spread", _chapter_quantities)
    derived = {"first_layer_gain"}
    assert set(values) - PROSE_ONLY == set(CHAPTER_TOLERANCES) - {"move_drop"} - derived
    # first-layer-only test loss over the linearised one: share = (1 - g) / (1 - rich)
    values["first_layer_gain"] = 1 - np.array(values["first_layer_share"]) * (
        1 - np.array(values["rich_ratio"]))
    _check_spread(values)
    # the prose's typical behaviour, as rates (Wilson lower ends at z = 3.89): rich
    # training beats the linearisation, and the first layer alone keeps more than
    # half of that gain (cell pre-ablation-layers and the paragraph after it)
    rich, share = np.array(values["rich_ratio"]), np.array(values["first_layer_share"])
    assert rate(rich < 1).interval(ASSERT_Z)[0] > 0.9, rate(rich < 1)
    assert rate(share > 0.5).interval(ASSERT_Z)[0] > 0.75, rate(share > 0.5)


@pytest.mark.slow
def test_seed_spread_of_the_width_doubling():
    """Source of the width-doubling tolerance (``move_drop``) and of the exercise's
    prose: doubling the width lowers the kernel change (and the 10 % crossing
    scale) in at least nine seeds out of ten, Wilson lower bound.  77 s of CPU on
    one thread measured on a loaded shared machine: slow tier."""
    from learning_dynamics.statistics import rate

    values = _spread("linearisation_width_spread", _width_quantities)
    assert rate(np.array(values["kernel_drop"]) < 1).interval()[0] > 0.9
    _check_spread(values)
