"""Chapter 3: the exact (w_bar, M) recursion, population loss, lazy limit, sweeps."""

from __future__ import annotations

import warnings

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
from learning_dynamics.statistics import ASSERT_Z


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
    assert abs(mc / lr.kernel_regression_loss(data, net) - 1) < 0.03


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


# Helpers for the rows below: a state of the population loss with d = 2.
def _loss_terms(dw_bar=(0.1, 0.2), dM=((1.0, 0.5), (0.5, 1.0)), alpha=1.0, eps=0.1,
                beta=(1.0, 2.0)):
    return lr.population_loss_terms(
        np.array(dw_bar), np.array(dM), np.array(beta), alpha, eps
    )


# Nearly symmetric: an asymmetry of 1e-9 is above the tolerances of the symmetry
# checks (1e-10 relative, 1e-12 absolute) and below numpy's default ones.
_ALMOST_SYMMETRIC = np.array([[[2.0, 1.0], [1.0 + 1e-9, 3.0]]])
_X = np.ones((3, 4))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda d, n: lr.make_teacher_data(0, 10),
            ValueError,
            "^d must be an integer >= 1",
        ),
        (
            lambda d, n: lr.make_teacher_data(5, 0),
            ValueError,
            "^P must be an integer >= 1",
        ),
        (lambda d, n: lr.make_network(5, -2), ValueError, "^N must be an integer >= 1"),
        (
            lambda d, n: lr.make_network(5, 3, eps=float("nan")),
            ValueError,
            "^eps must be a finite",
        ),
        (lambda d, n: lr.make_teacher_data(5, 3, seed=-1), ValueError, "^seed must be"),
        # train_recursion
        (
            lambda d, n: lr.train_recursion(d, n, 0.0, 10),
            ValueError,
            r"^alpha must hold finite values > 0 \(>= 1e-06 and <= 1e\+12\); got 0",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1e-7, 10),
            ValueError,
            r"^alpha must hold finite values > 0 \(>= 1e-06 and <= 1e\+12\)",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, [1.0, 2e12], 10),
            ValueError,
            r"^alpha must hold finite values > 0 \(>= 1e-06 and <= 1e\+12\)",
        ),
        (lambda d, n: lr.train_recursion(d, n, "big", 10), TypeError, "^alpha must be"),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, -5),
            ValueError,
            r"^t_max must hold finite values > 0 \(> 0\); got -5",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, eps=np.nan),
            ValueError,
            "^eps must contain only finite values",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, eps=-0.1),
            ValueError,
            "^eps must be a finite value >= 0 or a 1-d sequence of them",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, eps=[[0.1]]),
            ValueError,
            "^eps must be a finite value >= 0 or a 1-d sequence of them",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, eta0=-1.0),
            ValueError,
            "^eta0 must be > 0",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, eta0=2.0, eta0_max=1.0),
            ValueError,
            "^eta0_max must be >= 2",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, [1.0, 2.0], [5, 6, 7]),
            ValueError,
            "^alpha, eps and t_max must have broadcastable lengths; got 2, 1, 3",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, stop_below=2.0),
            ValueError,
            "^stop_below must be > 0 and <= 1; got 2",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, stop_below=0.0),
            ValueError,
            "^stop_below must be > 0 and <= 1; got 0",
        ),
        (
            lambda d, n: lr.train_recursion(d, n, 1.0, 10, keep_state="yes"),
            TypeError,
            "^keep_state must be True or False",
        ),
        (
            lambda d, n: lr.train_recursion("data", n, 1.0, 10),
            TypeError,
            "^data must be a TeacherData",
        ),
        (
            lambda d, n: lr.train_recursion(d, lr.make_network(3, 4), 1.0, 10),
            ValueError,
            "^net must have input dimension",
        ),
        (
            lambda d, n: lr.train_full_network(d, n, 1.0, -1),
            ValueError,
            "^steps must be an integer >= 0",
        ),
        # initial_kernel
        (
            lambda d, n: lr.initial_kernel(np.ones(4), _X, 0.1),
            ValueError,
            "^X1 must be a 2-dimensional array",
        ),
        (
            lambda d, n: lr.initial_kernel(_X, np.ones(4), 0.1),
            ValueError,
            "^X2 must be a 2-dimensional array",
        ),
        (
            lambda d, n: lr.initial_kernel(_X, np.ones((2, 5)), 0.1),
            ValueError,
            r"^X2 must have 4 columns like X1; got shape \(2, 5\)",
        ),
        (
            lambda d, n: lr.initial_kernel(_X, _X, -0.1),
            ValueError,
            "^eps must be >= 0; got -0.1",
        ),
        (
            lambda d, n: lr.initial_kernel(_X, _X, 0.1, w_bar0=np.ones(3)),
            ValueError,
            r"^w_bar0 must have shape \(4\)",
        ),
        (
            lambda d, n: lr.initial_kernel(_X, _X, 0.1, M0=np.eye(3)),
            ValueError,
            r"^M0 must have shape \(4, 4\)",
        ),
        (
            lambda d, n: lr.initial_kernel(
                np.ones((3, 2)), np.ones((3, 2)), 0.1, M0=_ALMOST_SYMMETRIC[0]
            ),
            ValueError,
            "^M0 must be symmetric; the tangent kernel of a network is symmetric",
        ),
        # population_loss_terms
        (
            lambda d, n: _loss_terms(beta=[[1.0, 2.0]]),
            ValueError,
            "^beta must be a 1-dimensional array",
        ),
        (
            lambda d, n: _loss_terms(dw_bar=[np.nan, 0.0]),
            ValueError,
            "^dw_bar must contain only finite values",
        ),
        (
            lambda d, n: _loss_terms(dM=[[np.nan, 0.0], [0.0, 1.0]]),
            ValueError,
            "^dM must contain only finite values",
        ),
        (
            lambda d, n: _loss_terms(dw_bar=[0.1, 0.2, 0.3]),
            ValueError,
            r"^dw_bar must have shape \(\.\.\., 2\) and dM shape \(\.\.\., 2, 2\) "
            r"with the same batch shape; got dw_bar \(3,\), dM \(2, 2\)",
        ),
        (
            lambda d, n: _loss_terms(dM=np.eye(3)),
            ValueError,
            r"^dw_bar must have shape .*; got dw_bar \(2,\), dM \(3, 3\)",
        ),
        (
            lambda d, n: _loss_terms(dw_bar=np.zeros((2, 2)), dM=np.zeros((3, 2, 2))),
            ValueError,
            r"^dw_bar must have shape .*; got dw_bar \(2, 2\), dM \(3, 2, 2\)",
        ),
        (
            lambda d, n: _loss_terms(dw_bar=np.zeros((1, 2)), dM=_ALMOST_SYMMETRIC),
            ValueError,
            r"^dM must be symmetric \(a difference of second moments\); "
            r"got max \|dM - dM\^T\| = 1e-09$",
        ),
        (
            lambda d, n: _loss_terms(alpha=0.0),
            ValueError,
            "^alpha must be finite and > 0; got 0",
        ),
        (
            lambda d, n: _loss_terms(alpha=np.nan),
            ValueError,
            "^alpha must contain only finite values",
        ),
        (
            lambda d, n: _loss_terms(eps=-0.1),
            ValueError,
            "^eps must be finite and >= 0; got -0.1",
        ),
        (
            lambda d, n: _loss_terms(eps=np.inf),
            ValueError,
            "^eps must contain only finite values",
        ),
        # lazy limit, kernel regression
        (
            lambda d, n: lr.lazy_limit_losses(d, n, [-1.0]),
            ValueError,
            "^times must be a 1-d array of non-negative times",
        ),
        (
            lambda d, n: lr.lazy_limit_losses(d, n, [1.0, np.nan]),
            ValueError,
            "^times must be a 1-d array of non-negative times",
        ),
        (  # a missing time is read as NaN
            lambda d, n: lr.lazy_limit_losses(d, n, [1.0, None]),
            ValueError,
            "^times must be a 1-d array of non-negative times",
        ),
        (
            lambda d, n: lr.lazy_limit_losses(d, n, [[1.0]]),
            ValueError,
            "^times must be a 1-d array of non-negative times",
        ),
        (
            lambda d, n: lr.lazy_gd_losses(d, n, [0.1, np.nan]),
            ValueError,
            "^steps must contain only finite values",
        ),
        (
            lambda d, n: lr.lazy_gd_losses(d, n, [0.1, 0.0]),
            ValueError,
            "^steps must be a 1-d array of positive step sizes",
        ),
        (
            lambda d, n: lr.lazy_gd_losses(d, n, [[0.1]]),
            ValueError,
            "^steps must be a 1-d array of positive step sizes",
        ),
        # feature_learning_time, chance_linear_power
        (
            lambda d, n: lr.feature_learning_time(0.0, 10, 0.1),
            ValueError,
            "^alpha must hold finite values > 0",
        ),
        (
            lambda d, n: lr.feature_learning_time(1.0, 0, 0.1),
            ValueError,
            "^d must be > 0; got 0",
        ),
        (
            lambda d, n: lr.feature_learning_time(1.0, 10, 0.0),
            ValueError,
            "^eps must be > 0; got 0",
        ),
        (
            lambda d, n: lr.feature_learning_time(1.0, 10, 0.1, eta0=0.0),
            ValueError,
            "^eta0 must be > 0; got 0",
        ),
        (
            lambda d, n: lr.chance_linear_power("data"),
            TypeError,
            "^data must be a TeacherData; got str",
        ),
        (
            lambda d, n: lr.chance_linear_power(lr.make_teacher_data(10, 10)),
            ValueError,
            r"^chance_linear_power needs P > d .*; got P = 10, d = 10",
        ),
        # other modules of the chapter
        (
            lambda d, n: lr.crossing_time([0, 1, 2], [1.0, 0.5], 0.1),
            ValueError,
            "^loss must have 3 time points",
        ),
        (
            lambda d, n: lr.network_output(
                np.ones((2, 3)), np.ones((4, 3)), 1.0, np.inf
            ),
            ValueError,
            "^eps must be a finite",
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


def _chance_power_draws(d, P, n, seed):
    """Monte Carlo of L_lin / L0 split along beta and orthogonal to it (batched)."""
    rng = ld.make_rng(seed)
    X = rng.standard_normal((n, P, d)) / np.sqrt(d)
    beta = rng.standard_normal((n, d))
    y = 0.5 * np.einsum("npd,nd->np", X, beta) ** 2
    b = np.linalg.solve(
        np.einsum("npd,npe->nde", X, X), np.einsum("npd,np->nd", X, y)[..., None]
    )[..., 0]
    unit = beta / np.linalg.norm(beta, axis=1, keepdims=True)
    along = np.sum(b * unit, axis=1)
    L0 = 3 * np.sum(beta**2, axis=1) ** 2 / (4 * d**2)
    return (np.sum(b * b, axis=1) - along**2) / d / L0, along**2 / d / L0


@pytest.mark.parametrize(("d", "P"), [(5, 12), (10, 30), (20, 60)])
def test_chance_linear_power_orthogonal_to_beta_has_the_exact_mean(d, P):
    # eq. (lr-chance-linear-mean), first term: exact (inverse-Wishart mean and the
    # polar decomposition of a Gaussian vector); 4 standard errors of 20 000 draws
    orth, _ = _chance_power_draws(d, P, 20_000, seed=31)
    exact, _ = lr.expected_chance_linear_power(d, P)
    assert abs(orth.mean() - exact) < ASSERT_Z * orth.std() / np.sqrt(
        orth.size
    )


def test_chance_linear_power_along_beta_is_the_leading_order_at_large_P():
    # second term of eq. (lr-chance-linear-mean) is leading order in 1/P: at
    # P = 200 the next order (~ 1/P^2 relative to 1/P) is below 10 % of it
    orth, along = _chance_power_draws(10, 200, 20_000, seed=32)
    exact, leading = lr.expected_chance_linear_power(10, 200)
    se = along.std() / np.sqrt(along.size)
    assert abs(along.mean() - leading) < 0.1 * leading + ASSERT_Z * se
    # the single-data-set function agrees with the batched draws' definition
    data = lr.make_teacher_data(10, 200, seed=3)
    b = np.linalg.lstsq(data.X, data.y, rcond=None)[0]
    assert lr.chance_linear_power(data) == pytest.approx(b @ b / 10, rel=1e-10)


def test_expected_chance_linear_power_refuses_p_too_small():
    with pytest.raises(ValueError, match="P"):
        lr.expected_chance_linear_power(10, 11)


def test_feature_learning_time_is_the_growth_law():
    # t_feat(q) solves exp(6 eps |beta|^2 t / (alpha d^2)) = 1 + q |beta|^2/(alpha eps)
    alpha, d, eps, bsq, q = np.array([0.5, 2.0]), 50, 0.1, 61.0, 0.3
    t = lr.feature_learning_time(alpha, d, eps, beta_sq=bsq, fraction=q)
    np.testing.assert_allclose(
        np.exp(6 * eps * bsq * t / (alpha * d**2)), 1 + q * bsq / (alpha * eps)
    )
    # default |beta|^2 = d and q = 1: the d-form of the earlier chapter versions
    t1 = lr.feature_learning_time(alpha, d, eps)
    growth = np.exp(6 * eps * t1 / (alpha * d))
    np.testing.assert_allclose(growth, 1 + d / (alpha * eps))
    assert lr.feature_learning_time(1.0, d, eps, eta0=2.0) * 2 == pytest.approx(
        lr.feature_learning_time(1.0, d, eps)[0]
    )


def test_teacher_and_spurious_parts_split_the_misalignment_term_exactly():
    # ||alpha eps dM - beta beta^T||^2 = |beta|^4 ((1 - q)^2 + rho^2): Pythagoras
    data = lr.make_teacher_data(12, 60, seed=5)
    net = lr.make_network(12, 40, 0.3, seed=5)
    h = lr.train_recursion(data, net, [0.5, 2.0], 300.0, keep_state=True)
    bsq = float(data.beta @ data.beta)
    split = bsq**2 * ((1 - h.teacher) ** 2 + h.spurious**2) / (2 * 12**2)
    np.testing.assert_allclose(split, h.misalignment, rtol=1e-9)
    dM = h.M - net.M0
    unit = data.beta / np.sqrt(bsq)
    q = h.alpha * 0.3 * np.einsum("i,bij,j->b", unit, dM, unit) / bsq
    np.testing.assert_allclose(h.teacher[:, -1], q, rtol=1e-9)


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


def test_batched_population_loss_matches_two_closed_forms():
    # batch of two states (d = 3): eps = 0 leaves the quadratic part at -beta beta^T,
    # so L = alpha^2 |dw|^2 / d + E[y^2] (odd moments vanish); at the learned feature
    # alpha eps dM = beta beta^T only the linear power alpha^2 |dw|^2 / d is left
    rng = np.random.default_rng(6)
    d, beta = 3, rng.standard_normal(3)
    dw = rng.standard_normal((2, d))
    alpha, eps = np.array([1.5, 2.0]), np.array([0.0, 0.4])
    dM = np.stack([np.eye(d), np.outer(beta, beta) / (alpha[1] * eps[1])])
    terms = lr.population_loss_terms(dw, dM, beta, alpha, eps)
    linear = alpha**2 * np.sum(dw**2, axis=1) / d
    expected = linear + np.array([3 * (beta @ beta) ** 2 / (4 * d**2), 0.0])
    # float64 round-off of sums of O(10) terms
    np.testing.assert_allclose(terms.total, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(terms.linear, linear, rtol=1e-12)


def test_lazy_model_has_not_moved_at_time_zero(small):
    # at t = 0 the residual is -y: train loss mean(y^2),
    # test loss E[y^2] = 3 |beta|^4 / (4 d^2)
    data, net = small
    train, test = lr.lazy_limit_losses(data, net, [0])
    train_gd, test_gd = lr.lazy_gd_losses(data, net, [0.1])
    L0 = (data.train_loss0, data.test_loss0)
    np.testing.assert_allclose([train[0], test[0]], L0, rtol=1e-12)
    np.testing.assert_allclose([train_gd[0], test_gd[0]], L0, rtol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_lazy_model_learns_the_teacher_from_as_many_points_as_features(scale):
    # the tangent kernel spans f(x) = b.x + x^T Q x, d + d(d+1)/2 = 5 functions for
    # d = 2, and the target is one of them: 5 generic points determine it, so
    # ridgeless regression has zero test loss; a sixth point makes the kernel
    # singular.  The singularity test is relative: inputs scaled by 1e-3 (kernel
    # eigenvalues 1e-15 .. 1e-6) are not singular.
    data5 = lr.make_teacher_data(2, 5, seed=0)
    net = lr.make_network(2, 50, 0.3, seed=0)
    X = scale * data5.X
    data = lr.TeacherData(X=X, y=0.5 * (X @ data5.beta) ** 2, beta=data5.beta)
    train, test = lr.lazy_limit_losses(data, net, [np.inf])
    # condition number of K0 up to 1e9: relative error of the fit <= 1e-7, squared
    assert train[0] < 1e-12 * data.train_loss0 and test[0] < 1e-12 * data.test_loss0
    six = lr.make_teacher_data(2, 6, seed=0)
    with pytest.raises(
        ValueError,
        match=r"^the initial kernel on the training set is singular \(P = 6 too large "
        r"for d = 2\); ridgeless regression needs P <= d \+ d\(d\+1\)/2$",
    ):
        lr.lazy_gd_losses(six, net, [1.0])


@pytest.fixture(scope="module")
def linear():
    # eps = 0: the network is linear in its weights, f = alpha w_bar.x, so gradient
    # descent is the lazy model at every alpha; P = 10 <= d keeps the kernel X X^T
    # invertible
    data = lr.make_teacher_data(12, 10, seed=0)
    net = lr.make_network(12, 9, 0.0, seed=0)
    return data, net, lr.stability_limit(data, net)


@pytest.mark.parametrize("scale", [1.0, 1e-6])
def test_linear_network_follows_the_lazy_formula_through_back_offs(linear, scale):
    # steps 0.6, 0.6, 1.2, 2.4, then 2.5 x the stability limit: the loss rises, the
    # step is undone and halved (1.25, rises again) and halved again (0.625), then
    # the cap regrows by CAP_RECOVERY per step (still below the limit when t_max is
    # reached); the decisions compare losses relative to L0, so targets scaled by
    # 1e-6 (losses by 1e-12) are treated alike
    data, net, limit = linear
    data = lr.TeacherData(X=data.X, y=scale * data.y, beta=data.beta)
    kw = dict(eta0=0.6 * limit, eta0_max=2.5 * limit, rel_step=1.0)
    h = lr.train_recursion(data, net, [0.5, 3.0], 40 * limit, eps=0.0, **kw)
    steps = np.diff(h.t)
    planned = lr.time_grid(40 * limit, **kw)
    np.testing.assert_allclose(steps[:4], planned[:4], rtol=1e-12)
    regrown = planned[4] / 4 * lr.train.CAP_RECOVERY ** np.arange(steps.size - 5)
    np.testing.assert_allclose(steps[4:-1], regrown, rtol=1e-12)
    assert h.backoffs == 2 and regrown.max() < limit
    assert np.all(np.diff(h.train) <= 0)
    train, test = lr.lazy_gd_losses(data, net, steps)
    for run in range(2):  # round-off of 60 float64 steps; the model is exactly linear
        np.testing.assert_allclose(h.train[run], train, rtol=1e-10)
        np.testing.assert_allclose(h.test[run], test, rtol=1e-10)


def test_back_offs_that_pass_the_step_bound_stop_with_a_message_naming_the_knobs(
    linear,
):
    # max_steps = the count_steps bound of the planned schedule; the two back-offs
    # at t = 4.8 limit leave steps of about 0.6 limit for the remaining 35 limit
    data, net, limit = linear
    kw = dict(eta0=0.6 * limit, eta0_max=2.5 * limit, rel_step=1.0)
    n = lr.count_steps(40 * limit, **kw)
    message = (
        rf"^the step bound max_steps = {n} was passed at t = .* after 2 back-offs "
        rf"\(each halved the step cap, now .*\): start from a smaller eta0_max = "
        rf"{2.5 * limit:g} .* or raise max_steps$"
    )
    with pytest.raises(ld.DivergenceError, match=message):
        lr.train_recursion(data, net, 1.0, 40 * limit, eps=0.0, max_steps=n, **kw)


def test_the_default_step_bound_is_four_times_the_planned_steps(linear):
    data, net, limit = linear
    kw = dict(eta0=0.5 * limit, eta0_max=0.9 * limit, rel_step=0.02)
    h = lr.train_recursion(data, net, 1.0, 40 * limit, eps=0.0, **kw)
    assert h.step_bound == 4 * lr.count_steps(40 * limit, **kw) + 100
    assert h.steps == h.t.size - 1 and h.backoffs == 0


def test_a_run_converged_to_round_off_keeps_its_step():
    # d = 12, P = 4: the loss reaches 1e-32 L0 (round-off) within 150 limit-units;
    # its round-off rises there are not instabilities and must not halve the step
    data = lr.make_teacher_data(12, 4, seed=0)
    net = lr.make_network(12, 9, 0.0, seed=0)
    limit = lr.stability_limit(data, net)
    h = lr.train_recursion(data, net, 1.0, 150 * limit, eta0=0.9 * limit)
    assert h.train[0, -1] < 1e-28 * h.train0
    assert h.backoffs == 0
    planned = lr.time_grid(150 * limit, eta0=0.9 * limit, eta0_max=None)
    assert h.t.size == planned.size + 1


def test_linear_network_converges_to_the_least_squares_fit():
    # eps = 0, P = 20 > d = 4: gradient descent on the linear network converges to
    # the least-squares fit b = alpha dw_bar of the quadratic target, whose power is
    # the chance linear power; the slowest mode contracts by about 0.75 per step, so
    # 220 steps leave an excess far below float64 round-off.  On that plateau the
    # loss changes only by round-off (relative 1e-16 of a loss far above the 1e-12 L0
    # floor), which must not be taken for a rising loss.
    data = lr.make_teacher_data(4, 20, seed=0)
    net = lr.make_network(4, 9, 0.0, seed=0)
    limit = lr.stability_limit(data, net)
    h = lr.train_recursion(data, net, 1.0, 200 * limit, eta0=0.9 * limit)
    b, *_ = np.linalg.lstsq(data.X, data.y, rcond=None)
    np.testing.assert_allclose(h.train[0, -1], np.mean((data.X @ b - data.y) ** 2),
                               rtol=1e-10)
    np.testing.assert_allclose(h.linear[0, -1], lr.chance_linear_power(data),
                               rtol=1e-10)
    assert h.backoffs == 0


def test_an_overflowing_loss_stops_the_run_without_numpy_warnings(small):
    # targets of 1e160: the squared residual overflows at once and no step size helps
    data, net = small
    huge = lr.TeacherData(X=data.X, y=1e160 * data.y, beta=data.beta)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            ld.DivergenceError,
            match=r"^loss became (nan|inf) at step 1: the run diverged; reduce "
            r"eta0_max = 1 \(step size\)\. the stability limit grows during "
            r"feature learning$",
        ):
            lr.train_recursion(huge, net, 1.0, 10)


def test_stop_below_ends_a_run_at_its_first_crossing(small):
    # the rich run (alpha = 0.5) has both losses below 0.3 L0 near t = 100; the
    # lazy one never, and still stops at its own t_max = 150
    data, net = small
    kw = dict(eta0=1.0, keep_state=True)
    full = lr.train_recursion(data, net, [0.5, 4.0], [200, 150], **kw)
    stop = lr.train_recursion(data, net, [0.5, 4.0], [200, 150], stop_below=0.3, **kw)
    below = (full.train[0] < 0.3 * full.train0) & (full.test[0] < 0.3 * full.test0)
    k = np.argmax(below)
    assert 0 < k < full.t.size - 1 and not np.any(below[:k])
    np.testing.assert_array_equal(stop.t, full.t[full.t <= 150])  # all done at 150
    np.testing.assert_allclose(stop.train[0, : k + 1], full.train[0, : k + 1],
                               rtol=1e-12)
    assert np.all(np.isnan(stop.train[0, k + 1 :]))
    # the other run is untouched, up to round-off (its batch shrinks at the stop;
    # entries of M are O(1))
    np.testing.assert_allclose(stop.test[1], full.test[1, : stop.t.size], rtol=1e-12)
    np.testing.assert_allclose(stop.M[1], full.M[1], rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(stop.alpha, [0.5, 4.0])
    np.testing.assert_array_equal(stop.eps, [net.eps, net.eps])


def test_default_schedule_is_unit_steps_without_final_state(small):
    data, net = small
    h = lr.train_recursion(data, net, 1.0, 5)
    np.testing.assert_array_equal(h.t, np.arange(6.0))
    assert h.w_bar is None and h.M is None and h.backoffs == 0


def test_alignment_is_the_cosine_from_the_first_step(small):
    # after two steps |M - M0| is still below 1: the cosine must not depend on it
    data, net = small
    h = lr.train_recursion(data, net, 4.0, 2, eta0=1.0, keep_state=True)
    dM = h.M[0] - net.M0
    assert 0 < np.linalg.norm(dM) < 1
    bb = np.outer(data.beta, data.beta)
    cos = np.sum(dM * bb) / (np.linalg.norm(dM) * np.linalg.norm(bb))
    assert h.alignment[0, 0] == 0.0  # M = M0: no direction yet
    np.testing.assert_allclose(h.alignment[0, -1], cos, rtol=1e-10)


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
        "^eps must be a numeric array",
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
        r"^dM must be symmetric .* = 2$",
    ),
    (
        lambda d, n: lr.initial_kernel(
            np.ones((3, 2)), np.ones((3, 2)), 0.1, M0=np.array([[1.0, 2.0], [0.0, 1.0]])
        ),
        ValueError,
        "^M0 must be symmetric",
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
        "^chance_linear_power needs P > d",
    ),
    # The recorded history (9 float64 arrays of 999_992 steps, the count_steps bound
    # for t_max = 999_990 at constant eta0 = 1) is limited to 1 GB: 14 runs need
    # 1.008 GB and are refused before the other arguments are read ...
    (
        lambda d, n: lr.train_recursion(d, n, np.ones(14), 999_990, keep_state="no"),
        ValueError,
        r"^the history of 14 runs x about 999992 steps would need 1\.0 GB "
        r"\(limit 1 GB\): lower t_max, run fewer alphas at once or raise eta0_max$",
    ),
    # ... 13 runs (0.936 GB) pass that check and fail at the next argument.
    (
        lambda d, n: lr.train_recursion(d, n, np.ones(13), 999_990, keep_state="no"),
        TypeError,
        "^keep_state must be True or False",
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


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_goldilocks_edges_lie_between_d_and_d_squared(seed):
    # the computed answer of the chapter's goldilocks exercise (d = 40, alpha = 1,
    # eps = 0.1, t <= 6000): never generalises up to P = 80 = 2 d, and the delay
    # ratio t_test(0.5) / t_train(0.5) is below 1.5 from P = 500 (about d^2 / 3)
    ratios = {}
    for P in (80, 120, 500, 700):
        data = lr.make_teacher_data(40, P, seed=seed)
        net = lr.make_network(40, 500, 0.1, seed=seed)
        h = lr.train_recursion(
            data, net, 1.0, 6e3, eta0_max=0.8 * lr.stability_limit(data, net),
            rel_step=0.03,
        )
        t_tr = lr.crossing_time(h.t, h.train[0] / h.train0, 0.5)
        t_te = lr.crossing_time(h.t, h.test[0] / h.test0, 0.5)
        ratios[P] = t_te / t_tr
    assert np.isnan(ratios[80])
    assert ratios[120] > 3 or np.isnan(ratios[120])
    assert ratios[500] < 1.5 and ratios[700] < 1.5


FIGURE1_ALPHAS = np.array([1 / 512, 1 / 128, 1 / 32, 1 / 8, 1 / 2, 1])


def _figure1_quantities(seed: int) -> dict:
    """The chapter's seed-dependent numbers of the Figure-1 sweep (d = 100, P = 550,
    eps = 0.02, budgets max(3000, 40 t_feat), stopped at 0.1 L0 on test), computed
    as in the chapter's cells for one fresh (data, network) seed."""
    alphas = FIGURE1_ALPHAS
    data = lr.make_teacher_data(100, 550, seed=seed)
    net = lr.make_network(100, 500, 0.02, seed=seed)
    beta_sq = float(data.beta @ data.beta)
    t_feat = lr.feature_learning_time(alphas, 100, 0.02, beta_sq=beta_sq)
    h = lr.train_recursion(
        data, net, alphas, np.maximum(3e3, 40 * t_feat),
        eta0_max=0.9 * lr.stability_limit(data, net), stop_below=0.1,
    )
    assert h.steps <= h.step_bound
    t_tr = lr.crossing_time(h.t, h.train / h.train0, 0.1)
    t_te = lr.crossing_time(h.t, h.test / h.test0, 0.1)
    R = t_te / t_tr
    k = np.searchsorted(h.t, t_tr[5])
    q = h.teacher[5, k]
    end = np.flatnonzero(np.isfinite(h.test[5]))[-1]
    fall_q = (1 - q) ** 2 - (1 - h.teacher[5, end]) ** 2
    fall_rest = h.spurious[5, k] ** 2 - h.spurious[5, end] ** 2
    slope_t = np.polyfit(np.log(alphas[3:6]), np.log(t_tr[3:6]), 1)[0]
    slope_feat = np.polyfit(np.log(alphas[3:6]), np.log(t_feat[3:6]), 1)[0]
    R_half = lr.crossing_time(h.t, h.test / h.test0, 0.5) / lr.crossing_time(
        h.t, h.train / h.train0, 0.5)
    prose = {f"R_{i}": R[i] for i in range(6)} | {
        f"R_half_{i}": R_half[i] for i in range(6)} | {
        "train_over_feat": t_tr[5] / t_feat[5], "floor_use": t_te[0] / 3e3}
    k_peak = np.nanargmax(h.test[5])       # the bump of the alpha = 1 run
    bump_rel = abs(h.linear[5, k_peak] / lr.chance_linear_power(data) - 1)
    return prose | {
        # t_test(0.1) / t_feat, alpha >= 1/128: what the budget 40 t_feat must cover
        "budget_use": np.max(t_te[1:] / t_feat[1:]),
        "peak_small": np.nanmax(h.test[0]) / h.test0,   # no bump at alpha = 1/512
        "bump_rel": bump_rel,
        "R_rise": np.min(R[3:6] / R[2:5]),      # R(0.1) increasing, 1/32 ... 1
        "R_span": R[5] / R[2],                  # R(0.1) at alpha = 1 over 1/32
        "R_small": R[:2].min(),
        "t_bound": t_tr[5] / lr.feature_learning_time(
            1.0, 100, 0.02, beta_sq=beta_sq, fraction=q)[0],
        "slope_gap": abs(slope_t - slope_feat),
        "slope_train": slope_t,                  # the exercise's answer (last cell)
        "teacher_q": q,
        "teacher_share": fall_q / (fall_q + fall_rest),
    }


#: The chapter's windows on the Figure-1 sweep: (lower, upper) per quantity.
FIGURE1_WINDOWS = {
    "budget_use": (None, 40.0),
    "peak_small": (None, 1.01),
    "bump_rel": (None, 0.08),
    "R_span": (1.25, None),
    "R_small": (1, None),
    "t_bound": (0.65, None),
    "slope_gap": (None, 0.1),
    "slope_train": (0.7, 1.0),
    "teacher_q": (None, 0.5),
    "teacher_share": (0.5, None),
}
#: Ratios of times spread multiplicatively: the rule is applied to their logarithm.
#: So is the bump error, whose linear-scale spread is heavy-tailed (a seed outside the
#: stored 200 gave 0.029, five linear-scale sd beyond their mean; 2.4 on the log).
FIGURE1_LOG_SCALE = {"budget_use", "R_span", "R_small", "t_bound", "bump_rel"}
FIGURE1_SEEDS = range(1000, 1200)


#: Seeds of the stored spread recomputed by every run of the test (the whole spread
#: costs about 560 s of CPU, the sample about 12 s).
FIGURE1_CHECKED = (1000, 1100, 1199)


@pytest.mark.slow
def test_figure1_alpha_sweep_windows_hold_beyond_a_200_seed_spread():
    """Source of the chapter's Figure-1 windows: over 200 fresh seeds, each window
    lies beyond the 200 values and beyond mean -+ 3.89 sd (ASSERT_Z; one-sided
    about 5e-5 for a Gaussian spread), on a log scale for ratios of times.  The
    strict ordering of R(0.1) over alpha = 1/32 ... 1 is a rate (Wilson lower end
    at ASSERT_Z).

    The exact recursion at d = 100, P = 550 costs about 2.8 s of CPU per seed, so the
    200 seeds' values are stored (``tests/data/lazy_rich_figure1_spread.json``) and
    every run recomputes three of them (``tests/stored_spread.py``);
    ``LEARNING_DYNAMICS_REMEASURE=1`` recomputes all 200 and rewrites the file."""
    from stored_spread import stored_spread

    from learning_dynamics.statistics import rate

    values = stored_spread("lazy_rich_figure1_spread", FIGURE1_SEEDS,
                           _figure1_quantities, FIGURE1_CHECKED)
    assert set(FIGURE1_WINDOWS) <= set(values)
    for name, (low, high) in FIGURE1_WINDOWS.items():
        v = np.array(values[name])
        assert v.size >= 200 and np.all(np.isfinite(v)), name
        if name in FIGURE1_LOG_SCALE:
            v, low, high = (np.log(v), *(None if b is None else np.log(b)
                                         for b in (low, high)))
        mean, sd = v.mean(), v.std(ddof=1)
        if low is not None:
            assert low < min(v.min(), mean - ASSERT_Z * sd), (name, v.min(), mean, sd)
        if high is not None:
            assert high > max(v.max(), mean + ASSERT_Z * sd), (name, v.max(), mean, sd)
    rising = rate(np.array(values["R_rise"]) > 1)
    assert rising.interval(ASSERT_Z)[0] > 0.9, rising


SWEEP_ALPHAS = np.array([1 / 512, 1 / 128, 1 / 32, 1 / 8, 1 / 2, 1, 32, 1e4])


def _log_margin(a, b):
    """log(b / a): positive when a < b (inf when b never came, -inf when a never)."""
    a = np.inf if np.isnan(a) else a
    b = np.inf if np.isnan(b) else b
    if np.isinf(a) and np.isinf(b):
        return np.nan
    return float(np.log(b / a))


def _other_rows_quantities(seed: int) -> dict:
    """Chapter 3's remaining seed-dependent rows for one fresh seed, computed as in the
    chapter's cells: the alpha = 32 and 1e4 runs of the Figure-1 sweep, eps = 0.25,
    the P sweep and the phase diagram (orderings as log margins)."""
    out = {}
    # --- Figure-1 configuration, the chapter's whole sweep (alpha = 32, 1e4 rows)
    data = lr.make_teacher_data(100, 550, seed=seed)
    net = lr.make_network(100, 500, 0.02, seed=seed)
    beta_sq = float(data.beta @ data.beta)
    t_feat = lr.feature_learning_time(SWEEP_ALPHAS, 100, 0.02, beta_sq=beta_sq)
    budget = np.concatenate([np.maximum(3e3, 40 * t_feat[:6]), [6e4, 1e3]])
    sweep = lr.train_recursion(data, net, SWEEP_ALPHAS, budget, eta0=1.0,
                               eta0_max=0.9 * lr.stability_limit(data, net),
                               stop_below=0.1)
    t_tr = lr.crossing_time(sweep.t, sweep.train / sweep.train0, 0.1)
    t_lazy = np.geomspace(10, 1.5e5, 40)
    lazy_train, lazy_test = lr.lazy_limit_losses(data, net, t_lazy)
    k_tr = np.searchsorted(sweep.t, t_tr[5])
    out["align_ratio"] = sweep.alignment[5, k_tr] / sweep.alignment[6, k_tr]
    k32 = np.searchsorted(sweep.t, 6e4)
    out["train32_over_lazy"] = (sweep.train[6, k32] / sweep.train0) / (
        np.interp(6e4, t_lazy, lazy_train) / sweep.train0)
    out["test32"] = sweep.test[6, k32] / sweep.test0
    early = []
    for t_chk in (100, 1000):
        k = np.searchsorted(sweep.t, t_chk)
        for key, lazy_key in (("train", lazy_train), ("test", lazy_test)):
            v = getattr(sweep, key)[5:8, k]
            early.append(np.max(np.abs(v - np.interp(sweep.t[k], t_lazy, lazy_key)))
                         / v.min())
    out["early_err"] = max(early)
    # --- eps = 0.25 (d = 100, P = 450)
    data_b = lr.make_teacher_data(d=100, P=450, seed=seed)
    net_b = lr.make_network(d=100, N=500, eps=0.25, seed=seed)
    cap_b = 0.8 * lr.stability_limit(data_b, net_b)
    lazy = lr.train_recursion(data_b, net_b, [1e4, 1e5, 8, 1], [6e4, 3e3, 3e4, 3e4],
                              eta0=1.0, eta0_max=cap_b, keep_state=True)
    k_end, k_mid = np.searchsorted(lazy.t, 3e4), np.searchsorted(lazy.t, 1e4)
    out["train8"] = lazy.train[2, k_end] / lazy.train0
    out["change8"] = 1 - lazy.test[2, k_end] / lazy.test[2, k_mid]
    final_b = [lazy.test[i, k_end] / lazy.test0 for i in (3, 2, 0)]
    out["final_1_8"] = _log_margin(final_b[0], final_b[1])
    out["final_8_lazy"] = _log_margin(final_b[1], final_b[2])
    t_b = np.geomspace(10, 6e4, 30)
    lazy_b = lr.lazy_limit_losses(data_b, net_b, t_b)
    tr_b = lr.crossing_time(lazy.t, lazy.train / lazy.train0, 0.1)
    t_mem_b = lr.crossing_time(t_b, lazy_b[0] / lazy.train0, 0.1)
    out["fit_1_8"] = _log_margin(tr_b[3], tr_b[2])
    out["fit_8_kernel"] = _log_margin(tr_b[2], t_mem_b)
    out["lazy_at_fit"] = np.interp(tr_b[3], t_b, lazy_b[0]) / lazy.train0
    # --- P sweep (d = 40)
    Ps = [50, 120, 500, 1200]
    p_runs, p_lazy = [], []
    for P in Ps:
        d_p, n_p = lr.make_teacher_data(40, P, seed=seed), lr.make_network(40, 500, 0.1,
                                                                           seed=seed)
        p_runs.append(lr.train_recursion(d_p, n_p, 1.0, 6e3 if P < 1000 else 3e3,
                                         eta0=1.0,
                                         eta0_max=0.8 * lr.stability_limit(d_p, n_p),
                                         rel_step=0.03))
        t_p = np.geomspace(1, 6e3, 25)
        p_lazy.append((t_p, *lr.lazy_limit_losses(d_p, n_p, t_p)) if P == 500 else None)
    p_tr = np.array([lr.crossing_time(h.t, h.train[0] / h.train0, 0.5) for h in p_runs])
    p_te = np.array([lr.crossing_time(h.t, h.test[0] / h.test0, 0.5) for h in p_runs])
    gap = np.array([np.nanmax(h.test[0] / h.test0 - h.train[0] / h.train0)
                    for h in p_runs])
    out["P50_never"] = float(np.isnan(p_te[0]))
    out["P120_train_crosses"] = float(np.isfinite(p_tr[1]))
    out["P120_delay"] = np.inf if np.isnan(p_te[1]) else p_te[1] / p_tr[1]
    out["P500_delay"] = np.inf if np.isnan(p_te[2]) else p_te[2] / p_tr[2]
    out["lazy500"] = np.interp(p_tr[2], p_lazy[2][0], p_lazy[2][1]) / p_runs[2].train0
    out["gap_120_500"] = float(np.log(gap[1] / gap[2]))
    out["gap_500_1200"] = float(np.log(gap[2] / gap[3]))
    # --- phase diagram (d = 40, P = 160)
    pd_alpha, pd_eps = np.array([1 / 8, 1 / 2, 2, 8]), np.array([0.05, 0.1, 0.2, 0.4])
    A, E = np.meshgrid(pd_alpha, pd_eps, indexing="ij")
    d_pd, n_pd = lr.make_teacher_data(40, 160, seed=seed), lr.make_network(40, 500, 0.4,
                                                                           seed=seed)
    pd = lr.train_recursion(d_pd, n_pd, A.ravel(), 6e3, eps=E.ravel(), eta0=1.0,
                            eta0_max=0.5 * lr.stability_limit(d_pd, n_pd),
                            rel_step=0.03, stop_below=0.5)
    g = (lr.crossing_time(pd.t, pd.test / pd.test0, 0.5)
         / lr.crossing_time(pd.t, pd.train / pd.train0, 0.5)).reshape(A.shape)
    g = np.where(np.isnan(g), np.inf, g)
    out["pd_small_finite"] = np.isfinite(g[0]).astype(float)        # 4 per seed
    out["pd_row_margin"] = np.log(g[-1] / g[0])                     # 4 per seed
    return out


#: The chapter's other windows: (lower, upper, scale).  "log": the rule is applied to
#: the logarithm (ratios and small positive errors); "lin": to the value; "margin":
#: already a log ratio whose sign is the ordering the chapter asserts.  Quantities
#: that may be infinite (a crossing never reached within the budget) pass there by
#: construction and the rule is applied to their finite values.
OTHER_WINDOWS = {
    "early_err": (None, 0.02, "log"),
    "align_ratio": (2.0, None, "log"),
    # the two ratios below are the only rows whose rule was chosen after seeing the
    # spread: on the log scale it gives 1.09 and a negative margin (borderline);
    # the chapter says so
    "train32_over_lazy": (None, 1.0, "lin"),
    "test32": (0.6, None, "lin"),
    "train8": (None, 1e-4, "log"),
    "change8": (None, 0.05, "lin"),  # borderline: on its log the rule gives 0.052
    "final_1_8": (0.0, None, "margin"),
    "final_8_over_lazy": (None, 1.0, "lin"),
    "fit_1_8": (0.0, None, "margin"),
    "fit_8_kernel": (0.0, None, "margin"),
    "lazy_at_fit": (0.2, None, "lin"),
    "P500_delay": (None, 2.0, "log"),
    "lazy500": (0.5, None, "lin"),
    "gap_120_500": (0.0, None, "margin"),
    "gap_500_1200": (0.0, None, "margin"),
}
#: Quantities that must hold on every stored seed (derived, or 0/1 outcomes).
OTHER_EVERY_SEED = ("P50_never", "P120_train_crosses", "pd_small_finite")
OTHER_SEEDS = range(2000, 2200)
OTHER_CHECKED = (2000, 2199)


def _window_holds(name, values, low, high, scale):
    v = np.asarray(values, dtype=float)
    assert v.size >= 200 and not np.any(np.isnan(v)), name
    if scale == "log":
        v, low, high = (np.log(v), *(None if b is None else np.log(b)
                                     for b in (low, high)))
    finite = v[np.isfinite(v)]
    mean, sd = finite.mean(), finite.std(ddof=1)
    if low is not None:
        assert low < min(v.min(), mean - ASSERT_Z * sd), (name, v.min(), mean, sd)
    if high is not None:
        assert high > max(v.max(), mean + ASSERT_Z * sd), (name, v.max(), mean, sd)


@pytest.mark.slow
def test_chapter3_other_windows_hold_beyond_a_200_seed_spread():
    """Source of chapter 3's remaining windows and orderings (alpha = 32 and 1e4 rows,
    eps = 0.25, the P sweep, the phase diagram): over 200 fresh seeds each window lies
    beyond the extreme value and beyond mean -+ 3.89 sd, on a log scale for ratios;
    each strict ordering is a log margin that must stay positive by the same rule.
    About 8 s of CPU a seed: stored (``tests/data/lazy_rich_other_rows_spread.json``),
    two seeds recomputed."""
    from stored_spread import stored_spread

    values = stored_spread("lazy_rich_other_rows_spread", OTHER_SEEDS,
                           _other_rows_quantities, OTHER_CHECKED)
    values["final_8_over_lazy"] = np.exp(-values["final_8_lazy"])
    for name in OTHER_EVERY_SEED:
        assert np.all(values[name] == 1), (name, np.sum(values[name] != 1))
    for name, (low, high, scale) in OTHER_WINDOWS.items():
        _window_holds(name, values[name], low, high, scale)
    # P = 120: a delay that is infinite on a quarter of the seeds (never within the
    # budget).  The chapter asserts delay > 1 (or never): a log-Gaussian fit to the
    # finite delays puts P(delay <= 1) per seed at about 9e-5.  Its stronger
    # "at least 3" failed on one of 385 seeds (2.36, a referee's seed 9106): a rate.
    from statistics import NormalDist

    delay = values["P120_delay"]
    finite = np.log(delay[np.isfinite(delay)])
    tail = NormalDist(finite.mean(), finite.std(ddof=1)).cdf(0.0)
    assert finite.min() > 0 and tail * finite.size / delay.size < 1e-4, (
        np.exp(finite.min()), tail)
    # phase diagram: delay(1/8) / delay(8) per row, 0 where alpha = 8 never crosses
    # (75 % of the rows): a point mass, so no Gaussian rule; a rate over 800 rows
    from learning_dynamics.statistics import rate

    rows = np.exp(-values["pd_row_margin"])
    assert rows.size == 800 and rows.max() < 1, rows.max()
    assert rate(rows < 1).interval(ASSERT_Z)[0] > 0.98


#: Steps of the chapter's modular-addition run (``steps=2400`` in its cell).
MODULAR_STEPS = 2400


def _modular_quantities(seed: int) -> dict:
    """The chapter's modular-addition run (p = 23, N = 100, centred, alpha = 0.25,
    0.5, 1) for one fresh seed: steps to 90 % test accuracy, alpha = 1's test
    accuracy, and the training fit of every alpha at the end."""
    run = lr.train_modular_addition(p=23, alphas=(0.25, 0.5, 1.0), width=100,
                                    train_fraction=0.9, steps=MODULAR_STEPS, eta0=100.0,
                                    record_every=50, centred=True, seed=seed)
    t90 = lr.steps_to_accuracy(run, 0.9, "test")
    return {"t90": t90.astype(float), "test_1": float(run.test_acc[2, -1]),
            "max_test_1": float(run.test_acc[2].max()),
            "train_acc": run.train_acc[:, -1].astype(float),
            "train_loss": run.train_loss[:, -1].astype(float)}


@pytest.mark.slow
def test_modular_grokking_order_holds_beyond_a_200_seed_spread():
    """Source of the chapter's modular-addition rows: over 200 fresh seeds, the
    margins log(t90(0.5) / t90(0.25)) and log(budget / t90(0.5)) stay positive and
    alpha = 1's test accuracy stays below 0.5 (and never reaches 0.9), each beyond the
    extreme and mean -+ 3.89 sd.  Every alpha fits the training pairs to at least
    0.99 accuracy on every seed (a rate, not a margin: the chapter says so).  About
    2.5 s of CPU a seed: stored, one seed recomputed."""
    from stored_spread import stored_spread

    v = stored_spread("lazy_rich_modular_spread", OTHER_SEEDS, _modular_quantities,
                      (2000,))
    t90 = v["t90"].reshape(-1, 3)
    assert np.all(np.isinf(t90[:, 2])), np.sum(np.isfinite(t90[:, 2]))
    _window_holds("t90 order", np.log(t90[:, 1] / t90[:, 0]), 0.0, None, "margin")
    _window_holds("t90 budget", np.log(MODULAR_STEPS / t90[:, 1]), 0.0, None, "margin")
    _window_holds("test_1", v["test_1"], None, 0.5, "lin")
    _window_holds("max_test_1", v["max_test_1"], None, 0.9, "lin")
    assert v["train_acc"].min() == 1.0, v["train_acc"].min()  # the chapter: >= 0.99


#: What the stored chapter-3 spreads assume of the chapter's cells (configurations,
#: budgets, step caps): if a cell changes one of these, the stored spreads describe
#: another book, and they must be remeasured (LEARNING_DYNAMICS_REMEASURE=1).
STORED_SPREAD_CONFIGURATION = (
    "lr.make_teacher_data(d=100, P=550, seed=0)",
    "lr.make_network(d=100, N=500, eps=0.02, seed=0)",
    "alphas = np.array([1 / 512, 1 / 128, 1 / 32, 1 / 8, 1 / 2, 1, 32, 1e4])",
    "budget = np.concatenate([np.maximum(3e3, 40 * t_feat[:6]), [6e4, 1e3]])",
    "eta0_max=0.9 * eta_limit, stop_below=0.1",
    "lr.make_teacher_data(d=100, P=450, seed=0)",
    "lr.make_network(d=100, N=500, eps=0.25, seed=0)",
    "[1e4, 1e5, 8, 1], [6e4, 3e3, 3e4, 3e4]",
    "eta0_max=0.8 * lr.stability_limit(data_b, net_b)",
    "Ps = [50, 120, 500, 1200]",
    "lr.make_teacher_data(40, P, seed=0), lr.make_network(40, 500, 0.1, seed=0)",
    "6e3 if P < 1000 else 3e3",
    "eta0_max=0.8 * lr.stability_limit(d_p, n_p), rel_step=0.03",
    "pd_alpha, pd_eps = np.array([1 / 8, 1 / 2, 2, 8]), "
    "np.array([0.05, 0.1, 0.2, 0.4])",
    "lr.make_teacher_data(40, 160, seed=0), lr.make_network(40, 500, 0.4, seed=0)",
    "eta0_max=0.5 * lr.stability_limit(d_pd, n_pd), rel_step=0.03, stop_below=0.5",
    "p=23, alphas=mod_alphas, width=100, train_fraction=0.9, steps=2400, eta0=100.0, "
    "record_every=50, centred=True",
)


def test_stored_spreads_describe_the_chapters_own_configuration():
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    path = root / "chapters" / "03_lazy_rich_grokking.ipynb"
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")

    def flat(text):  # the formatter's line breaks and trailing commas do not count
        return re.sub(r"\s+", "", text).replace(",)", ")").replace(",]", "]")

    missing = [f for f in STORED_SPREAD_CONFIGURATION if flat(f) not in flat(code)]
    assert not missing, f"chapter 3 changed what its stored spreads assume: {missing}"
