"""Tests for learning_dynamics.deep_linear (chapter 2): closed forms against integration
and invariants."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from learning_dynamics import DivergenceError
from learning_dynamics import deep_linear as dl
from learning_dynamics.deep_linear import engine


@pytest.fixture(scope="module")
def toy():
    return dl.toy_data()


def test_toy_singular_values_are_sqrt7_sqrt3_1_1(toy):
    svd = dl.data_svd(toy)
    np.testing.assert_allclose(svd.s, [np.sqrt(7), np.sqrt(3), 1, 1], atol=1e-12)
    assert svd.groups == ((0,), (1,), (2, 3))
    assert np.all(svd.v[:, 0] > 0)


def test_mode_strength_matches_numerical_integration_of_mode_ode():
    s, a0, t = np.array([3.0, 1.5, 0.4]), 1e-3, np.linspace(0, 12, 25)
    closed = dl.mode_strength(t, s, a0, tau=1.3)
    numeric = dl.integrate_mode_ode(t, s, a0, tau=1.3)  # default: n_layers = 3
    np.testing.assert_allclose(numeric, closed, rtol=1e-7, atol=1e-12)


def test_shallow_closed_form_matches_ode_with_two_layers_of_units():
    s, b0, t = np.array([2.0, 0.5]), 1e-3, np.linspace(0, 5, 11)
    np.testing.assert_allclose(
        dl.integrate_mode_ode(t, s, b0, n_layers=2),
        dl.shallow_mode_strength(t, s, b0),
        rtol=1e-8,
    )


def test_half_time_is_where_the_sigmoid_reaches_half():
    s, a0, tau = np.array([5.0, 2.0, 0.7]), np.array([1e-4, 1e-3, 1e-2]), 2.0
    th = dl.half_time(s, a0, tau)
    for k in range(3):
        a = dl.mode_strength([th[k]], s[k], a0[k], tau)[0, 0]
        assert a == pytest.approx(s[k] / 2, rel=1e-10)


def test_deep_half_time_equals_closed_form_for_two_weight_layers():
    s = np.array([4.0, 1.0])
    np.testing.assert_allclose(
        dl.deep_half_time(s, 1e-3), dl.half_time(s, 1e-3), rtol=1e-8  # n_layers = 3
    )


def test_deep_half_time_matches_integrated_ode_for_three_weight_layers():
    s, u0 = np.array([2.0]), 1e-2
    th = dl.deep_half_time(s, u0, n_layers=4)[0]
    u = dl.integrate_mode_ode([th], s, u0, n_layers=4)[0, 0]
    assert u == pytest.approx(1.0, rel=1e-6)


def test_discrete_half_time_tends_to_continuous_for_small_steps():
    s, a0 = np.array([3.0]), 1e-4
    for eta in (1e-3, 1e-4):
        rel = dl.discrete_half_time(s, a0, eta)[0] * eta / dl.half_time(s, a0)[0] - 1
        assert abs(rel) < eta * s[0]


def test_gradient_descent_error_is_first_order_in_the_step(toy):
    svd = dl.data_svd(toy)
    errs = []
    for eta in (2e-2, 4e-3):
        h = dl.train(
            toy,
            hidden=8,
            eta=eta,
            steps=int(round(6 / eta)),
            init="balanced",
            init_scale=1e-3,
        )
        errs.append(
            np.max(np.abs(h.mode_strength - dl.mode_strength(h.t, svd.s, 1e-3)) / svd.s)
        )
    assert 4.0 < errs[0] / errs[1] < 6.0


def test_tree_level_spectrum_matches_brute_force_covariance():
    for B, D, eps in [(2, 3, 0.15), (3, 2, 0.1), (4, 3, 0.05)]:
        lam, mult = dl.tree_level_spectrum(B, D, eps)
        P = B ** D
        level = np.zeros((P, P), dtype=int)  # level of the lowest common ancestor
        for lv in range(D + 1):
            block = B ** (D - lv)
            same = (np.arange(P)[:, None] // block) == (np.arange(P)[None, :] // block)
            level[same] = lv
        C = ((1 - 2 * eps) ** 2) ** (D - level)
        np.testing.assert_allclose(
            np.sort(np.linalg.eigvalsh(C))[::-1], np.repeat(lam, mult), rtol=1e-10
        )
        assert mult.sum() == P


def test_tree_singular_values_match_sampled_data():
    data = dl.branching_diffusion(2, 3, 0.15, 20_000, seed=1)
    measured = np.linalg.svd(data.y, compute_uv=False)
    np.testing.assert_allclose(
        measured, dl.tree_singular_values(2, 3, 0.15, 20_000), rtol=0.05
    )


def test_category_blocks_have_singular_values_sqrt_ki_ko():
    data = dl.category_data([(2, 3), (4, 5), (1, 7)])
    np.testing.assert_allclose(
        dl.data_svd(data).s, np.sort(np.sqrt([6, 20, 7]))[::-1], rtol=1e-12
    )


def test_typicality_loading_is_projection_on_the_prototype():
    data = dl.typicality_data(2)
    svd = dl.data_svd(data)
    loading = svd.u.T @ data.y / svd.s[:, None]
    np.testing.assert_allclose(loading, svd.v.T, atol=1e-12)
    assert svd.v[3, 0] < svd.v[0, 0]  # the penguin is less typical


def test_reduced_output_training_equals_full_width_training(monkeypatch):
    built = []  # the reduction is really used when asked, and only then
    build = engine.OutputReduction.build
    monkeypatch.setattr(engine.OutputReduction, "build",
                        lambda *args: built.append(args) or build(*args))
    data = dl.branching_diffusion(n_features=300, seed=2)
    kw = dict(
        hidden=10,
        eta=2e-4,
        steps=200,
        init="random",
        init_scale=0.05,
        seed=4,
        prediction_rows=[0, 7],
    )
    for n_layers in (2, 3, 4):
        a = dl.train(data, n_layers=n_layers, reduce_outputs=True, **kw)
        assert len(built) == n_layers - 1
        b = dl.train(data, n_layers=n_layers, reduce_outputs=False, **kw)
        assert len(built) == n_layers - 1
        assert (a.eta, a.n_layers, a.prediction_rows) == (2e-4, n_layers, (0, 7))
        np.testing.assert_allclose(a.mode_matrix, b.mode_matrix, atol=1e-10)
        np.testing.assert_allclose(a.predictions, b.predictions, atol=1e-10)
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)
        for wa, wb in zip(a.weights, b.weights, strict=True):
            np.testing.assert_allclose(wa, wb, atol=1e-10)


def test_torch_and_numpy_backends_agree(toy):
    kw = dict(hidden=6, eta=0.05, steps=100, init="random", init_scale=0.1, seed=3)
    a = dl.train(toy, backend="numpy", **kw)
    b = dl.train(toy, backend="torch", **kw)
    np.testing.assert_allclose(a.mode_matrix, b.mode_matrix, atol=1e-12)
    np.testing.assert_allclose(a.hidden, b.hidden, atol=1e-12)


def test_conserved_quantity_stays_put_for_small_steps(toy):
    h = dl.train(
        toy,
        hidden=8,
        eta=1e-3,
        steps=4000,
        init="random",
        init_scale=0.05,
        record=[0, 4000],
    )
    assert h.balance_drift[-1] < 1e-3
    W1, W2 = h.weights
    assert (
        np.linalg.norm(W1 @ W1.T - W2.T @ W2) > 1e-3
    )  # not trivially zero: random start is unbalanced


def test_balanced_start_converges_to_v_s_vt(toy):
    h = dl.train(
        toy,
        hidden=8,
        eta=0.01,
        steps=2000,
        init="balanced",
        init_scale=1e-3,
        record=[2000],
    )
    svd = h.svd
    W1 = h.weights[0]
    target = svd.v @ np.diag(svd.s) @ svd.v.T
    assert np.linalg.norm(W1.T @ W1 - target) / np.linalg.norm(target) < 1e-6


def test_effective_initial_strength_of_a_balanced_start_is_a0(toy):
    w0 = dl.init_weights(toy, hidden=6, init="balanced", scale=3e-3, seed=1)
    np.testing.assert_allclose(
        dl.effective_initial_strength(w0, dl.data_svd(toy)), 3e-3, rtol=1e-10
    )


def test_random_start_half_times_follow_the_competition_corrected_strength(toy):
    h = dl.train(
        toy, hidden=16, eta=2e-3, steps=2000, init="random", init_scale=0.01, seed=0
    )
    u0 = dl.effective_initial_strength(h.weights0, h.svd, orthogonalise=True)
    measured = dl.mode_half_times(h)[:2]
    # tolerance: finite step (eta s ~ 0.5 %) and the decaying part of the start
    np.testing.assert_allclose(measured, dl.half_time(h.svd.s[:2], u0[:2]), rtol=0.012)


def test_inductive_projection_matches_gradient_descent_on_a_new_row():
    rng = np.random.default_rng(0)
    H = rng.standard_normal((6, 5))
    w = np.zeros(6)
    for _ in range(3000):
        w += 0.05 * (1.0 - w @ H[:, 2]) * H[:, 2]
    np.testing.assert_allclose(w @ H, dl.inductive_projection(H, 2), atol=1e-9)


def test_rsm_correlation_is_one_for_scaled_copies():
    H = np.random.default_rng(1).standard_normal((7, 5))
    assert dl.rsm_correlation(dl.rsm(H), 3 * dl.rsm(H)) == pytest.approx(1.0)


def test_crossing_time_interpolates_linearly():
    assert dl.crossing_time([0, 1, 2], [0.0, 0.2, 1.0], 0.6) == pytest.approx(1.5)
    assert np.isnan(dl.crossing_time([0, 1], [0.0, 0.1], 0.6))


def test_large_learning_rate_diverges_with_a_named_knob(toy):
    with pytest.raises(DivergenceError, match="eta"):
        dl.train(toy, hidden=8, eta=5.0, steps=200, init="random", init_scale=0.5,
                 check_stability=False)


def test_explorer_figure_draws_and_explorer_builds():
    fig = dl.explorer_figure(eta=0.05)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 8
    widget = dl.explorer(eta=0.05)
    assert hasattr(widget, "children")


_TOY = dl.toy_data()
_SVD = dl.data_svd(_TOY)
_W = dl.init_weights(_TOY, hidden=3)  # W1 is 3 x 4, W2 is 7 x 3
_CATS = dl.category_data([(2, 3), (4, 5)])  # 6 items, 8 features, rank 2
_LIMIT = dl.stability_limit(_TOY)
with pytest.warns(UserWarning, match="not the identity"):  # x x^T != I is flagged
    _WIDE = dl.Dataset(np.ones((3, 4)), _TOY.y, _TOY.item_names, _TOY.feature_names)
_NOT_POS = r"must be > 0; got"
BAD_INPUTS = [
    # closed forms: each function names each argument it validates
    (lambda: dl.mode_strength([-1.0], [1.0], 1e-3), ValueError,
     r"^t must hold times >= 0"),
    (lambda: dl.mode_strength([np.nan], 1.0, 1e-3), ValueError,
     r"^t must contain only finite values"),
    (lambda: dl.mode_strength([[0.0, 1.0]], 1.0, 1e-3), ValueError,
     r"^t must be a scalar or a 1-dimensional array of times"),
    (lambda: dl.mode_strength([1.0], [0.0], 1e-3), ValueError, r"^s " + _NOT_POS),
    (lambda: dl.mode_strength([1.0], [-1, -2, -3, -4], 1e-3), ValueError,
     r"^s must be > 0; got \[-1\. -2\. -3\.\]$"),  # at most three offending values
    (lambda: dl.mode_strength([1.0], [[1.0, 2.0]], 1e-3), ValueError,
     r"^s must be a scalar or a 1-dimensional array"),
    (lambda: dl.mode_strength([1.0], [np.nan], 1e-3), ValueError,
     r"^s must contain only finite values"),
    (lambda: dl.mode_strength([1.0], [1.0], 0.0), ValueError, r"^a0 " + _NOT_POS),
    (lambda: dl.mode_strength([0, 1], [1.0], 1.0), ValueError,
     r"^a0 must be smaller than 1 \* s for every mode"),
    (lambda: dl.mode_strength([1.0], [1.0], 1e-3, tau=0.0), ValueError,
     r"^tau must be > 0; got 0"),
    (lambda: dl.half_time([-1.0], 1e-3), ValueError, r"^s " + _NOT_POS),
    (lambda: dl.half_time([1.0, 2.0], [1e-3, 1e-3, 1e-3]), ValueError,
     r"^a0 must be a scalar or have one entry per singular value \(2\); got 3"),
    (lambda: dl.half_time([2.0], 1.0), ValueError,
     r"^a0 must be smaller than 0\.5 \* s"),
    (lambda: dl.discrete_half_time([0.0], 1e-3, eta=0.1), ValueError,
     r"^s " + _NOT_POS),
    (lambda: dl.discrete_half_time([2.0], 1.0, eta=0.1), ValueError,
     r"^a0 must be smaller than 0\.5 \* s"),
    (lambda: dl.discrete_half_time([1.0], 1e-3, eta=0.0), ValueError,
     r"^eta " + _NOT_POS),
    (lambda: dl.discrete_mode_strength([-1], 1.0, 1e-3, 0.1), ValueError,
     r"^steps must hold times >= 0"),
    (lambda: dl.discrete_mode_strength([1], 0.0, 1e-3, 0.1), ValueError,
     r"^s " + _NOT_POS),
    (lambda: dl.discrete_mode_strength([1], 1.0, 1.0, 0.1), ValueError,
     r"^a0 must be smaller than 1 \* s"),
    (lambda: dl.discrete_mode_strength([1], 1.0, 1e-3, 0.0), ValueError,
     r"^eta " + _NOT_POS),
    (lambda: dl.shallow_mode_strength([-1.0], 1.0, 0.0), ValueError,
     r"^t must hold times >= 0"),
    (lambda: dl.shallow_mode_strength([1.0], 0.0, 0.0), ValueError, r"^s " + _NOT_POS),
    (lambda: dl.shallow_mode_strength([1.0], 1.0, np.nan), ValueError,
     r"^b0 must contain only finite values"),
    (lambda: dl.shallow_mode_strength([1.0], [1.0, 2.0, 3.0], [0.1, 0.2]), ValueError,
     r"^b0 must be a scalar or have one entry per singular value \(3\); got shape"),
    (lambda: dl.shallow_half_time(0.0, 0.1), ValueError, r"^s " + _NOT_POS),
    (lambda: dl.shallow_half_time(2.0, 1.0), ValueError,
     r"^b0 must be smaller than 0\.5 \* s"),
    (lambda: dl.integrate_mode_ode([-1.0], 1.0, 1e-3), ValueError,
     r"^t must hold times >= 0"),
    (lambda: dl.integrate_mode_ode([1.0], 0.0, 1e-3), ValueError, r"^s " + _NOT_POS),
    (lambda: dl.integrate_mode_ode([1.0], 1.0, 0.0), ValueError, r"^u0 " + _NOT_POS),
    (lambda: dl.integrate_mode_ode([1.0], 1.0, 1.0), ValueError,
     r"^u0 must be smaller than 1 \* s"),
    (lambda: dl.integrate_mode_ode([1.0], 1.0, 1e-3, n_layers=1), ValueError,
     r"^n_layers must be an integer >= 2 and <= 12; got 1"),
    (lambda: dl.integrate_mode_ode([1.0], 1.0, 1e-3, n_layers=13), ValueError,
     r"^n_layers must be an integer >= 2 and <= 12; got 13"),
    (lambda: dl.deep_half_time(2.0, 1.0, n_layers=4), ValueError,
     r"^u0 must be smaller than 0\.5 \* s"),
    (lambda: dl.blowup_time(0.0, 1e-3), ValueError, r"^s " + _NOT_POS),
    (lambda: dl.blowup_time(1.0, 0.0), ValueError, r"^u0 " + _NOT_POS),
    (lambda: dl.blowup_time(1.0, 1e-3, n_layers=3), ValueError,
     r"^n_layers must be an integer >= 4 and <= 12; got 3"),
    (lambda: dl.blowup_time(1.0, 1e-3, n_layers=13), ValueError,
     r"^n_layers must be an integer >= 4 and <= 12; got 13"),
    (lambda: dl.stability_limit(np.eye(3)), TypeError, r"^data must be a deep_linear"),
    (lambda: dl.stability_limit(_TOY, 1), ValueError,
     r"^n_layers must be an integer >= 2 and <= 12; got 1"),
    (lambda: dl.stability_limit(_TOY, 13), ValueError,
     r"^n_layers must be an integer >= 2 and <= 12; got 13"),
    (lambda: dl.tau_from_hyperparameters(0.0), ValueError, r"^eta " + _NOT_POS),
    (lambda: dl.tau_from_hyperparameters(1.0, loss="l1"), ValueError,
     r"^loss must be one of 'sum', 'mean', 'torch_mse'; got 'l1'"),
    (lambda: dl.tau_from_hyperparameters(1.0, n_samples=0), ValueError,
     r"^n_samples must be an integer >= 1; got 0"),
    (lambda: dl.tau_from_hyperparameters(1.0, n_outputs=0), ValueError,
     r"^n_outputs must be an integer >= 1; got 0"),
    # random starts and what the modes predict
    (lambda: dl.effective_initial_strength(_W[:1], _SVD), ValueError,
     r"^weights must be the pair \(W1, W2\) of a two-layer net"),
    (lambda: dl.effective_initial_strength(5, _SVD), ValueError,
     r"^weights must be the pair \(W1, W2\)"),
    (lambda: dl.effective_initial_strength(_W, _TOY), TypeError,
     r"^svd must be a DataSVD; got Dataset"),
    (lambda: dl.effective_initial_strength((np.ones(4), _W[1]), _SVD), ValueError,
     r"^weights\[0\] must be a 2-dimensional array"),
    (lambda: dl.effective_initial_strength((_W[0], np.ones(7)), _SVD), ValueError,
     r"^weights\[1\] must be a 2-dimensional array"),
    (lambda: dl.effective_initial_strength((_W[0][:, :3], _W[1]), _SVD), ValueError,
     r"^weights shapes \(3, 3\), \(7, 3\) do not match the data "
     r"\(4 inputs, 7 outputs\)"),
    (lambda: dl.effective_initial_strength((_W[0], _W[1][:6]), _SVD), ValueError,
     r"^weights shapes \(3, 4\), \(6, 3\) do not match"),
    (lambda: dl.effective_initial_strength((_W[0], _W[1][:, :2]), _SVD), ValueError,
     r"^weights shapes \(3, 4\), \(7, 2\) do not match"),
    (lambda: dl.effective_initial_strength((np.ones((3, 2)), np.ones((8, 3))),
                                           dl.data_svd(_CATS)), ValueError,
     r"^weights shapes \(3, 2\), \(8, 3\) do not match the data "
     r"\(6 inputs, 8 outputs\)"),
    (lambda: dl.effective_initial_strength(_W, _SVD, orthogonalise=1), TypeError,
     r"^orthogonalise must be True or False"),
    (lambda: dl.predicted_loss(_TOY, np.ones((2, 4))), TypeError,
     r"^svd must be a DataSVD; got Dataset"),
    (lambda: dl.predicted_rsm(_SVD, np.ones((2, 3))), ValueError,
     r"^strengths must have shape \(any, 4\); got \(2, 3\)"),
    (lambda: dl.predicted_outputs(_SVD, np.ones((2, 4)), rows=[7]), ValueError,
     r"^rows must hold steps between 0 and 6"),
    # initial weights and training
    (lambda: dl.init_weights(_TOY, hidden=0), ValueError,
     r"^hidden must be an integer >= 1 and <= 4096; got 0"),
    (lambda: dl.init_weights(_TOY, hidden=4097), ValueError,
     r"^hidden must be an integer >= 1 and <= 4096; got 4097"),
    (lambda: dl.init_weights(_TOY, n_layers=1), ValueError,
     r"^n_layers must be an integer >= 2 and <= 12; got 1"),
    (lambda: dl.init_weights(_TOY, n_layers=13), ValueError,
     r"^n_layers must be an integer >= 2 and <= 12; got 13"),
    (lambda: dl.init_weights(_TOY, init="zeros"), ValueError,
     r"^init must be one of 'random', 'scaled_normal', 'balanced'; got 'zeros'"),
    (lambda: dl.init_weights(_TOY, scale=0.0), ValueError, r"^scale " + _NOT_POS),
    (lambda: dl.init_weights(_TOY, hidden=3, init="balanced", scale=1e-3), ValueError,
     r"^hidden must be >= the rank of Sigma_yx \(4\) for a balanced start; got 3"),
    (lambda: dl.train(np.eye(3), eta=1e-3, steps=10), TypeError, r"^data must be a"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, backend="jax"), ValueError,
     r"^backend must be one of 'numpy', 'torch'"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=0), ValueError,
     r"^steps must be an integer >= 1 and <= 10000000; got 0"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=2.5), TypeError,
     r"^steps must be an integer"),
    (lambda: dl.train(_TOY, hidden=0, eta=1e-3, steps=10), ValueError,
     r"^hidden must be an integer >= 1"),
    (lambda: dl.train(_TOY, eta=float("inf"), steps=10), ValueError,
     r"^eta must be a finite number"),
    (lambda: dl.train(_TOY, eta=0.0, steps=10), ValueError, r"^eta " + _NOT_POS),
    (lambda: dl.train(_TOY, eta=_LIMIT, steps=10), ValueError,
     r"^eta = 0\.377964 is at or above the stability limit 0\.378"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, check_stability="yes"), TypeError,
     r"^check_stability must be True or False"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, record=[20]), ValueError,
     r"^record must hold steps between 0 and 10; got min 20, max 20"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, weights0=[np.zeros((3, 4))]),
     ValueError, r"^weights0 must be a sequence of n_layers - 1 = 2 matrices"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, weights0=np.zeros((2, 4, 4))),
     ValueError, r"^weights0 must be a sequence of n_layers - 1 = 2 matrices"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, weights0=5), ValueError,
     r"^weights0 must be a sequence"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, weights0=[np.ones(4), _W[1]]),
     ValueError, r"^weights0\[0\] must be a 2-dimensional array"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, weights0=[_W[0], _W[1][:, :2]]),
     ValueError, r"^weights0\[1\] must have 3 columns; got shape \(7, 2\)"),
    (lambda: dl.train(_TOY, eta=1e-3, steps=10, weights0=[_W[0], _W[1][:5]]),
     ValueError, r"^weights0\[-1\] must have 7 rows \(outputs\); got 5$"),
    (lambda: dl.train(_WIDE, eta=1e-3, steps=10,  # 3 input features, 4 items
                      weights0=[np.ones((2, 3)), np.ones((5, 2))]),
     ValueError, r"^weights0\[-1\] must have 7 rows \(outputs\); got 5$"),
    (lambda: dl.train(_TOY, hidden=0, eta=1e-3, steps=10, weights0=_W), ValueError,
     r"^hidden must be an integer >= 1; got 0"),
    (lambda: dl.simulate_gradient_flow(np.ones(3), [1.0]), ValueError,
     r"^sigma_yx must be a 2-dimensional array"),
    (lambda: dl.simulate_gradient_flow(_TOY.sigma_yx, [-1.0]), ValueError,
     r"^t must hold times >= 0"),
    (lambda: dl.simulate_gradient_flow(_TOY.sigma_yx, [1.0], dt=0.0), ValueError,
     r"^dt must be > 0 and <= 0\.5; got 0"),
    (lambda: dl.simulate_gradient_flow(_TOY.sigma_yx, [1.0], dt=0.6), ValueError,
     r"^dt must be > 0 and <= 0\.5; got 0\.6"),
    (lambda: dl.simulate_gradient_flow(_TOY.sigma_yx, [1.0], a0=0.0), ValueError,
     r"^a0 " + _NOT_POS),
    (lambda: dl.simulate_gradient_flow(_TOY.sigma_yx, [1.0], hidden=0), ValueError,
     r"^hidden must be an integer >= 1; got 0$"),
    (lambda: dl.simulate_gradient_flow(_TOY.sigma_yx, [1.0], hidden=3), ValueError,
     r"^hidden must be >= the rank of Sigma_yx \(4\)"),
    (lambda: dl.simulate_gradient_flow(_TOY.sigma_yx, [10.000001], dt=1e-6),
     ValueError, r"^t / dt must be at most 10 000 000 steps; got 10000001"),
    # other modules of the chapter
    (lambda: dl.tree_level_spectrum(1, 3, 0.1), ValueError, "branching"),
    (lambda: dl.tree_level_spectrum(2, 3, 0.5), ValueError, "flip_prob"),
    (lambda: dl.branching_diffusion(2, 3, 0.1, 0), ValueError, "n_features"),
    (
        lambda: dl.branching_diffusion(2, 3, 0.1, 10, item_names=["a"]),
        ValueError,
        "item_names",
    ),
    (lambda: dl.add_property(_TOY, "x", [1.0, 2.0]), ValueError, "values"),
    (lambda: dl.category_data([(0, 3)]), ValueError, "K_i"),
    (lambda: dl.inductive_projection(np.ones((3, 4)), 4), ValueError, "item"),
    (lambda: dl.rsm_correlation(np.eye(3), np.eye(4)), ValueError, "rsm_a"),
    (lambda: dl.explorer_figure(n_layers=9), ValueError, "n_layers"),
    (lambda: dl.explorer_figure(start="orthogonal"), ValueError, "start"),
]


@pytest.mark.parametrize(
    "call, error, match",
    BAD_INPUTS,
    # plain ids: a regex escape in an id cannot be selected back by node id
    ids=[str(i) + "-" + re.sub(r"[^\w-]", "", b[2].split(" ")[0])
         for i, b in enumerate(BAD_INPUTS)],
)
def test_bad_inputs_raise_errors_that_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_simulated_matrix_flow_matches_closed_form_mode_strength(toy):
    t = np.linspace(0, 6, 13)
    sim = dl.simulate_gradient_flow(toy.sigma_yx, t, a0=1e-3, dt=2e-3)
    closed = dl.mode_strength(t, dl.data_svd(toy).s, 1e-3)
    assert np.max(np.abs(sim - closed) / dl.data_svd(toy).s) < 5e-3
