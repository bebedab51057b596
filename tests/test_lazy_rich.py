"""Chapter 3: the exact (w_bar, M) recursion, population loss, lazy limit, sweeps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import learning_dynamics as ld
from learning_dynamics import lazy_rich as lr
from learning_dynamics.exercises._answers import lazy_rich as answers
from learning_dynamics.exercises.lazy_rich import (
    check_centred_loss_gradient,
    check_second_moment_step,
)


@pytest.fixture(scope="module")
def small():
    data = lr.make_teacher_data(12, 40, seed=3)
    net = lr.make_network(12, 9, 0.3, seed=3)
    return data, net


def test_recursion_matches_full_network_at_any_width(small):
    data, net = small
    for alpha in (0.5, 4.0):
        losses, W = lr.train_full_network(data, net, alpha, 120, eta0=2.0)
        h = lr.train_recursion(data, net, alpha, 240, eta0=2.0, keep_state=True)
        np.testing.assert_allclose(h.train[0], losses, rtol=1e-10)
        np.testing.assert_allclose(h.M[0], W.T @ W / net.N, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h.w_bar[0], W.mean(axis=0), rtol=1e-10, atol=1e-12)


def test_population_loss_matches_monte_carlo_and_initial_value():
    rng = np.random.default_rng(0)
    d = 5
    beta = rng.standard_normal(d)
    dw = 0.3 * rng.standard_normal(d)
    A = rng.standard_normal((d, d))
    dM = 0.2 * (A + A.T)
    terms = lr.population_loss_terms(dw, dM, beta, 1.5, 0.4)
    x = rng.standard_normal((1_000_000, d)) / np.sqrt(d)
    f = 1.5 * x @ dw + 0.5 * 1.5 * 0.4 * np.einsum("ni,ij,nj->n", x, dM, x)
    mc = np.mean((f - 0.5 * (x @ beta) ** 2) ** 2)
    assert abs(mc / terms.total - 1) < 0.02
    zero = lr.population_loss_terms(np.zeros(d), np.zeros((d, d)), beta, 2.0, 0.1)
    assert zero.linear == 0
    np.testing.assert_allclose(
        zero.total, 3 * (beta @ beta) ** 2 / (4 * d**2), rtol=1e-12
    )


def test_initial_kernel_is_the_network_tangent_kernel(small):
    data, net = small
    X = data.X[:6]
    H = X @ net.W0.T
    J = (1 + net.eps * H)[:, :, None] * X[
        :, None, :
    ]  # d phi(w_i.x) / d w_i, shape (P, N, d)
    K_net = np.einsum("pnd,qnd->pq", J, J) / net.N
    np.testing.assert_allclose(
        lr.initial_kernel(X, X, net.eps, net.w_bar0, net.M0), K_net, rtol=1e-10
    )
    K_inf = lr.initial_kernel(X, X, 0.5)
    G = X @ X.T
    np.testing.assert_allclose(K_inf, G + 0.25 * G**2, rtol=1e-12)


def test_large_alpha_recursion_is_the_linearised_model(small):
    data, net = small
    h = lr.train_recursion(
        data, net, 1e6, 300, eta0=0.1
    )  # gradient descent -> flow as eta0 -> 0
    idx = np.searchsorted(h.t, [20.0, 100.0, 299.0])
    train, test = lr.lazy_limit_losses(data, net, h.t[idx])
    np.testing.assert_allclose(h.train[0, idx], train, rtol=2e-3)
    np.testing.assert_allclose(h.test[0, idx], test, rtol=2e-3)


def test_lazy_limit_at_infinite_time_is_ridgeless_kernel_regression(small):
    data, net = small
    train, test = lr.lazy_limit_losses(data, net, [np.inf])
    assert train[0] < 1e-20
    K = lr.initial_kernel(data.X, data.X, net.eps, net.w_bar0, net.M0)
    a = np.linalg.solve(K, data.y)
    rng = np.random.default_rng(1)
    Xt = rng.standard_normal((300_000, data.d)) / np.sqrt(data.d)
    pred = lr.initial_kernel(Xt, data.X, net.eps, net.w_bar0, net.M0) @ a
    mc = np.mean((pred - 0.5 * (Xt @ data.beta) ** 2) ** 2)
    assert abs(mc / test[0] - 1) < 0.03


def test_log_spaced_steps_agree_with_unit_steps():
    data = lr.make_teacher_data(20, 80, seed=1)
    net = lr.make_network(20, 200, 0.2, seed=1)
    ref = lr.train_recursion(data, net, 1.0, 3000, eta0=1.0)
    fast = lr.train_recursion(
        data,
        net,
        1.0,
        3000,
        eta0=1.0,
        eta0_max=0.8 * lr.stability_limit(data, net),
        rel_step=0.02,
    )
    assert fast.t.size < ref.t.size / 4
    for key in ("train", "test"):
        interp = np.interp(fast.t, ref.t, getattr(ref, key)[0])
        err = np.max(np.abs(getattr(fast, key)[0] - interp)) / getattr(ref, key)[0, 0]
        assert err < 0.01, (key, err)


def test_early_dynamics_do_not_depend_on_alpha(small):
    data, net = small
    h = lr.train_recursion(data, net, [4.0, 30.0, 1e4], 2, eta0=0.25)
    for key in ("train", "test"):
        v = getattr(h, key)[:, -1]
        dev = np.abs(v / v[-1] - 1)
        assert dev.max() < 0.02, key
        assert 5 < dev[0] / dev[1] < 10, (
            key
        )  # departure from the lazy curve ~ 1/alpha (30/4 = 7.5)


def test_time_grid_reaches_t_max_with_bounded_steps():
    steps = lr.time_grid(1e4, eta0=1.0, eta0_max=20.0, rel_step=0.05)
    assert abs(steps.sum() - 1e4) < 1e-6
    assert steps.max() <= 20.0 and steps.min() > 0
    assert np.all(np.diff(steps[:-1]) >= -1e-12)


def test_crossing_time_of_an_exponential():
    t = np.linspace(0, 100, 100_001)
    assert abs(lr.crossing_time(t, np.exp(-t / 10), 0.1) - 10 * np.log(10)) < 1e-2
    assert np.isnan(lr.crossing_time(t, np.ones_like(t), 0.5))


def test_diagnostics_follow_their_definitions(small):
    data, net = small
    h = lr.train_recursion(data, net, 0.5, 200, eta0=1.0, keep_state=True)
    dM = h.M[0] - net.M0
    bb = np.outer(data.beta, data.beta)
    cos = np.sum(dM * bb) / (np.linalg.norm(dM) * np.linalg.norm(bb))
    np.testing.assert_allclose(h.alignment[0, -1], cos, rtol=1e-10)
    np.testing.assert_allclose(
        h.weight_norm[0, -1], np.sqrt(np.trace(h.M[0])), rtol=1e-12
    )
    terms = lr.population_loss_terms(
        h.w_bar[0] - net.w_bar0, dM, data.beta, 0.5, net.eps
    )
    np.testing.assert_allclose(h.test[0, -1], terms.total, rtol=1e-10)


def test_nan_data_is_refused_at_construction(small):
    data, _ = small
    X = data.X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="TeacherData.X must contain only finite"):
        lr.TeacherData(X=X, y=data.y, beta=data.beta)
    assert issubclass(ld.DivergenceError, FloatingPointError)


def test_step_above_the_initial_stability_limit_is_refused(small):
    data, net = small
    limit = lr.stability_limit(data, net)
    with pytest.raises(ValueError, match="eta0 = .* exceeds the stability limit"):
        lr.train_recursion(data, net, 1.0, 1e3, eta0=1.01 * limit)
    with pytest.raises(ValueError, match="reduce eta0"):
        lr.train_full_network(data, net, 1.0, 10, eta0=1.01 * limit)


def test_exercise_checks_accept_the_reference_answers():
    assert check_second_moment_step(answers.second_moment_step, verbose=False).passed
    gradient = answers.centred_loss_gradient
    assert check_centred_loss_gradient(gradient, verbose=False).passed


def test_second_moment_check_rejects_plausible_wrong_answers():
    def wrong_sign(w_bar, M, g, G, c, eps):  # A = I + c eps G
        return answers.second_moment_step(w_bar, M, g, G, -c, eps)

    def no_cross_term(w_bar, M, g, G, c, eps):  # forgets -c(A w g^T + g w^T A^T)
        A = np.eye(len(w_bar)) - c * eps * G
        return A @ M @ A.T + c**2 * np.outer(g, g)

    def half_c(w_bar, M, g, G, c, eps):  # loss with a factor 1/2
        return answers.second_moment_step(w_bar, M, g, G, c / 2, eps)

    for wrong in (wrong_sign, no_cross_term, half_c, lambda w, M, g, G, c, e: M):
        res = check_second_moment_step(wrong, verbose=False)
        assert not res.passed and "largest error" in res.message


def test_gradient_check_rejects_plausible_wrong_answers():
    def uncentred(W, W0, X, y, alpha, eps):  # forgets to subtract f(W0)
        return answers.centred_loss_gradient(W, np.zeros_like(W0), X, y, alpha, eps)

    def sum_loss(W, W0, X, y, alpha, eps):  # sum instead of mean over samples
        return X.shape[0] * answers.centred_loss_gradient(W, W0, X, y, alpha, eps)

    def transposed(W, W0, X, y, alpha, eps):
        return answers.centred_loss_gradient(W, W0, X, y, alpha, eps).T

    for wrong in (uncentred, sum_loss, transposed):
        assert not check_centred_loss_gradient(wrong, verbose=False).passed

    def stub(*args):
        raise NotImplementedError("write the gradient")

    res = check_centred_loss_gradient(stub, verbose=False)
    assert not res.passed and "not implemented yet" in res.message


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda d, n: lr.make_teacher_data(0, 10),
            ValueError,
            "d must be an integer >= 1",
        ),
        (
            lambda d, n: lr.make_teacher_data(5, 0),
            ValueError,
            "P must be an integer >= 1",
        ),
        (lambda d, n: lr.make_network(5, -2), ValueError, "N must be an integer >= 1"),
        (
            lambda d, n: lr.make_network(5, 3, eps=float("nan")),
            ValueError,
            "eps must be a finite",
        ),
        (lambda d, n: lr.make_teacher_data(5, 3, seed=-1), ValueError, "seed must be"),
        (
            lambda d, n: lr.train_recursion(d, n, 0.0, 10),
            ValueError,
            "alpha must hold finite values > 0",
        ),
        (lambda d, n: lr.train_recursion(d, n, "big", 10), TypeError, "alpha must be"),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, -5),
            ValueError,
            "t_max must hold finite values > 0",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, eta0=-1.0),
            ValueError,
            "eta0 must be > 0",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, eta0=2.0, eta0_max=1.0),
            ValueError,
            "eta0_max must be >= 2",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, [1.0, 2.0], [5, 6, 7]),
            ValueError,
            "alpha, eps and t_max must",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, stop_below=2.0),
            ValueError,
            "stop_below must be",
        ),
        (
            lambda d, n: lr.train_recursion("data", n, 1.0, 10),
            TypeError,
            "data must be a TeacherData",
        ),
        (
            lambda d, n: lr.train_recursion(d, lr.make_network(3, 4), 1.0, 10),
            ValueError,
            "net must have input dimension",
        ),
        (
            lambda d, n: lr.train_full_network(d, n, 1.0, -1),
            ValueError,
            "steps must be an integer >= 0",
        ),
        (
            lambda d, n: lr.initial_kernel(np.ones((3, 4)), np.ones((2, 5)), 0.1),
            ValueError,
            "X2 must have 4 columns",
        ),
        (
            lambda d, n: lr.population_loss_terms(
                np.ones(3), np.ones((2, 2)), np.ones(3), 1.0, 0.1
            ),
            ValueError,
            "dw_bar must have shape",
        ),
        (
            lambda d, n: lr.population_loss_terms(
                np.ones(2), np.eye(2), np.ones(2), -1.0, 0.1
            ),
            ValueError,
            "alpha must be finite and > 0",
        ),
        (lambda d, n: lr.lazy_limit_losses(d, n, [-1.0]), ValueError, "times must be"),
        (
            lambda d, n: lr.crossing_time([0, 1, 2], [1.0, 0.5], 0.1),
            ValueError,
            "loss must have 3 time points",
        ),
        (
            lambda d, n: lr.network_output(
                np.ones((2, 3)), np.ones((4, 3)), 1.0, np.inf
            ),
            ValueError,
            "eps must be a finite",
        ),
    ],
)
def test_bad_arguments_raise_errors_that_name_them(small, call, exc, match):
    data, net = small
    with pytest.raises(exc, match=match):
        call(data, net)


# ------------------------------------------ theory against independent computations
def test_stability_limit_is_the_inverse_top_eigenvalue_of_the_network_kernel(small):
    data, net = small
    H = data.X @ net.W0.T
    J = (1 + net.eps * H)[:, :, None] * data.X[:, None, :]  # d phi / d w_i, (P, N, d)
    K_net = np.einsum("pnd,qnd->pq", J, J) / net.N
    top = np.linalg.eigvalsh(K_net / data.P)[-1]
    np.testing.assert_allclose(lr.stability_limit(data, net), 1 / top, rtol=1e-10)


def test_lazy_network_follows_the_discrete_time_lazy_formula(small):
    data, net = small
    h = lr.train_recursion(
        data,
        net,
        [1e5, 1e6],
        200,
        eta0=1.0,
        eta0_max=0.5 * lr.stability_limit(data, net),
    )
    train, test = lr.lazy_gd_losses(data, net, np.diff(h.t))
    dev = [np.max(np.abs(h.test[i] / test - 1)) for i in (0, 1)]
    np.testing.assert_allclose(h.train[1], train, rtol=1e-4)
    assert dev[1] < 1e-4
    assert 5 < dev[0] / dev[1] < 20  # corrections of order 1/alpha


def test_lazy_gd_with_small_steps_approaches_gradient_flow(small):
    data, net = small
    t = np.array([50.0, 200.0])
    steps = np.full(2000, 0.1)
    train_gd, test_gd = lr.lazy_gd_losses(data, net, steps)
    train_gf, test_gf = lr.lazy_limit_losses(data, net, t)
    np.testing.assert_allclose(train_gd[[500, 2000]], train_gf, rtol=5e-3)
    np.testing.assert_allclose(test_gd[[500, 2000]], test_gf, rtol=5e-3)


def test_chance_linear_power_matches_its_expectation():
    # E |b|^2 / d ~ (d + 4) / (P - d) E[y^2], sandwich (X^T X)^-1 E[y^2 x x^T]
    # with E[y^2 x x^T] = E[y^2] (I + 4 u u^T) / d; mean over 30 seeds (std. error ~ 5%)
    values = [
        lr.chance_linear_power(lr.make_teacher_data(20, 120, seed=s))
        / lr.make_teacher_data(20, 120, seed=s).test_loss0
        for s in range(30)
    ]
    assert abs(np.mean(values) / (24 / 100) - 1) < 0.1


def test_feature_learning_time_is_the_growth_law():
    # t_feat solves exp(6 eps t / (alpha d)) = 1 + d / (alpha eps)
    alpha, d, eps = np.array([0.5, 2.0]), 50, 0.1
    t = lr.feature_learning_time(alpha, d, eps)
    np.testing.assert_allclose(np.exp(6 * eps * t / (alpha * d)), 1 + d / (alpha * eps))
    assert lr.feature_learning_time(1.0, d, eps, eta0=2.0) * 2 == pytest.approx(
        lr.feature_learning_time(1.0, d, eps)[0]
    )


def test_population_loss_terms_are_each_checked_by_monte_carlo():
    rng = np.random.default_rng(4)
    d = 4
    beta, dw = rng.standard_normal(d), 0.5 * rng.standard_normal(d)
    A = rng.standard_normal((d, d))
    dM = 0.3 * (A + A.T)
    terms = lr.population_loss_terms(dw, dM, beta, 2.0, 0.3)
    x = rng.standard_normal((400_000, d)) / np.sqrt(d)
    lin = 2.0 * x @ dw
    quad = 0.5 * np.einsum("ni,ij,nj->n", x, 2.0 * 0.3 * dM - np.outer(beta, beta), x)
    np.testing.assert_allclose(terms.linear, np.mean(lin**2), rtol=0.02)
    np.testing.assert_allclose(
        terms.variance + terms.misalignment, np.mean(quad**2), rtol=0.03
    )


def test_monte_carlo_standard_error_covers_the_exact_loss():
    rng = np.random.default_rng(5)
    d = 6
    beta, dw = rng.standard_normal(d), 0.2 * rng.standard_normal(d)
    dM = np.diag(rng.standard_normal(d))
    exact = lr.population_loss_terms(dw, dM, beta, 1.0, 0.5).total
    mc, se = lr.monte_carlo_test_loss(
        dw, dM, beta, 1.0, 0.5, n_samples=100_000, return_stderr=True
    )
    assert abs(mc - exact) < 4 * se and se < 0.05 * exact


# ------------------------------------------ robustness of the engine
@pytest.mark.parametrize(
    "d, P, eps, alpha", [(60, 300, 0.05, 1 / 16), (30, 150, 0.5, 1 / 8)]
)
def test_capped_schedule_is_stable_where_the_initial_cap_is_not(d, P, eps, alpha):
    # configurations the chapter does not use; the kernel grows during feature learning
    data, net = lr.make_teacher_data(d, P, seed=0), lr.make_network(d, 500, eps, seed=0)
    cap = 0.8 * lr.stability_limit(data, net)
    fast = lr.train_recursion(data, net, alpha, 2000, eta0=1.0, eta0_max=cap)
    ref = lr.train_recursion(data, net, alpha, 2000, eta0=1.0)
    assert np.all(np.isfinite(fast.train)) and np.all(np.diff(fast.train[0]) <= 1e-9)
    gap = np.max(np.abs(fast.test[0] - np.interp(fast.t, ref.t, ref.test[0])))
    assert gap / fast.test0 < 0.02


def test_a_cap_far_above_the_limit_is_stable_or_names_the_knob(small):
    data, net = small
    try:
        h = lr.train_recursion(
            data, net, 0.25, 3000, eta0=1.0, eta0_max=50 * lr.stability_limit(data, net)
        )
    except ld.DivergenceError as exc:
        assert "eta0_max" in str(exc)
    else:
        assert h.backoffs > 0 and np.all(np.isfinite(h.test))
        assert np.all(np.diff(h.train[0]) <= 1e-6 * h.train[0, :-1] + 1e-12 * h.train0)


def test_runs_stopped_early_keep_their_final_state(small):
    data, net = small
    both = lr.train_recursion(
        data, net, [0.5, 2.0], [50, 200], eta0=1.0, keep_state=True
    )
    alone = lr.train_recursion(data, net, 0.5, 50, eta0=1.0, keep_state=True)
    np.testing.assert_allclose(both.M[0], alone.M[0], rtol=1e-12, atol=1e-14)


# ------------------------------------------ bounds and clear errors
BOUNDS = [
    (
        lambda d, n: lr.train_recursion(d, n, 1.0, 1e12),
        ValueError,
        "t_max = 1e.12 needs",
    ),
    (lambda d, n: lr.time_grid(1e10), ValueError, "max_steps"),
    (
        lambda d, n: lr.monte_carlo_test_loss(
            np.zeros(2), np.eye(2), np.ones(2), 1.0, 0.1, n_samples=10**12
        ),
        ValueError,
        "n_samples",
    ),
    (lambda d, n: lr.make_network(d=40000), ValueError, "d must be an integer"),
    (lambda d, n: lr.make_network(d=1000, N=100_000), ValueError, "N \\* d"),
    (lambda d, n: lr.train_recursion(d, n, 1e-300, 10), ValueError, "alpha must hold"),
    (lambda d, n: lr.train_full_network(d, n, 1e-300, 10), ValueError, "alpha must be"),
    (
        lambda d, n: lr.train_recursion(d, n, 1.0, 10, eps="abc"),
        TypeError,
        "eps must be",
    ),
    (lambda d, n: lr.make_network(5, 3, eps="abc"), TypeError, "eps must be"),
    (
        lambda d, n: lr.train_recursion(d, n, 1.0, 10, eta0=1e300),
        ValueError,
        "exceeds the stability limit",
    ),
    (
        lambda d, n: lr.train_full_network(d, n, 1.0, 10, eta0=1e300),
        ValueError,
        "exceeds the stability limit",
    ),
    (
        lambda d, n: lr.population_loss_terms(
            np.ones(2), np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2), 1.0, 0.1
        ),
        ValueError,
        "dM must be symmetric",
    ),
    (
        lambda d, n: lr.initial_kernel(
            np.ones((3, 2)), np.ones((3, 2)), 0.1, M0=np.array([[1.0, 2.0], [0.0, 1.0]])
        ),
        ValueError,
        "M0 must be symmetric",
    ),
    (
        lambda d, n: lr.Committee(n.W0, n.eps, n.w_bar0, n.M0 + np.triu(n.M0, 1)),
        ValueError,
        "M0 must be symmetric",
    ),
    (
        lambda d, n: lr.TeacherData(d.X, np.full(d.P, np.nan), d.beta),
        ValueError,
        "TeacherData.y must contain only finite",
    ),
    (
        lambda d, n: lr.train_recursion(d, n, 1.0, 10, max_steps=5),
        ValueError,
        "max_steps",
    ),
    (
        lambda d, n: lr.chance_linear_power(lr.make_teacher_data(10, 8)),
        ValueError,
        "P > d",
    ),
]


@pytest.mark.parametrize("call, exc, match", BOUNDS)
def test_sizes_and_bad_values_fail_fast_with_a_clear_error(small, call, exc, match):
    data, net = small
    with pytest.raises(exc, match=match):
        call(data, net)


def test_count_steps_bounds_the_schedule():
    for t_max, eta0, cap, rel in [
        (1e4, 1.0, 20.0, 0.02),
        (500, 0.5, 0.5, 0.1),
        (3e5, 1.0, 46.0, 0.02),
    ]:
        n = lr.time_grid(t_max, eta0=eta0, eta0_max=cap, rel_step=rel).size
        assert (
            n
            <= lr.count_steps(t_max, eta0=eta0, eta0_max=cap, rel_step=rel)
            <= 1.2 * n + 5
        )


# ------------------------------------------ laws for all inputs (hypothesis)
finite = dict(allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(
    d=st.integers(1, 6),
    alpha=st.floats(0.05, 20, **finite),
    eps=st.floats(0.01, 2, **finite),
    seed=st.integers(0, 10_000),
)
def test_population_loss_vanishes_exactly_at_the_learned_feature(d, alpha, eps, seed):
    beta = np.random.default_rng(seed).standard_normal(d)
    optimum = np.outer(beta, beta) / (alpha * eps)  # M - M0 = beta beta^T / (alpha eps)
    terms = lr.population_loss_terms(np.zeros(d), optimum, beta, alpha, eps)
    assert terms.total == pytest.approx(0.0, abs=1e-9 * (1 + beta @ beta) ** 2)
    zero = lr.population_loss_terms(np.zeros(d), np.zeros((d, d)), beta, alpha, eps)
    assert zero.total == pytest.approx(3 * (beta @ beta) ** 2 / (4 * d**2), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    d=st.integers(1, 5),
    alpha=st.floats(0.05, 20, **finite),
    eps=st.floats(0.0, 2, **finite),
    scale=st.floats(0.0, 3, **finite),
    seed=st.integers(0, 10_000),
)
def test_loss_terms_are_non_negative_and_sum_to_the_total(d, alpha, eps, scale, seed):
    rng = np.random.default_rng(seed)
    A = scale * rng.standard_normal((d, d))
    terms = lr.population_loss_terms(
        scale * rng.standard_normal(d), A + A.T, rng.standard_normal(d), alpha, eps
    )
    parts = np.array([terms.variance, terms.misalignment, terms.linear])
    assert np.all(parts >= 0)
    assert terms.total == pytest.approx(parts.sum(), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    value=st.one_of(
        st.floats(max_value=0.0, **finite),
        st.just(float("nan")),
        st.text(min_size=1, max_size=3),
        st.floats(2e12, 1e300, **finite),
    )
)
def test_bad_alpha_values_are_refused_naming_alpha(value):
    data, net = lr.make_teacher_data(3, 5), lr.make_network(3, 4)
    with pytest.raises((ValueError, TypeError), match="alpha"):
        lr.train_recursion(data, net, value, 10)
