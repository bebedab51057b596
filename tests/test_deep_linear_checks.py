"""Chapter 2 theory against independent computations, bounds on sizes, exercise
checks."""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learning_dynamics import DivergenceError
from learning_dynamics import deep_linear as dl
from learning_dynamics.deep_linear.train import DEFAULT_SPARSE_RECORDS, _record_steps
from learning_dynamics.exercises._answers.deep_linear import (
    train_torch_mse,
    tree_covariance,
)
from learning_dynamics.exercises.deep_linear import (
    check_torch_mse,
    check_tree_covariance,
)

TOY = dl.toy_data()
SVD = dl.data_svd(TOY)


# ----------------------------------------------------------------- closed forms
@settings(max_examples=30, deadline=None)
@given(s=st.floats(0.2, 20), ratio=st.floats(1e-6, 0.4), tau=st.floats(0.1, 10))
def test_mode_strength_solves_the_mode_ode(s, ratio, tau):
    a0, t, h = ratio * s, np.array([0.3, 1.0]) * tau / s, 1e-5 * tau / s
    a = dl.mode_strength(t, s, a0, tau)[:, 0]
    slope = (dl.mode_strength(t + h, s, a0, tau) - dl.mode_strength(t - h, s, a0, tau))
    np.testing.assert_allclose(slope[:, 0] / (2 * h), 2 * a * (s - a) / tau, rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(s=st.floats(0.2, 20), ratio=st.floats(0.0, 0.45), tau=st.floats(0.1, 10))
def test_shallow_half_time_is_where_the_shallow_curve_crosses_half(s, ratio, tau):
    b0 = ratio * s + 1e-9 * s
    t_half = dl.shallow_half_time(s, b0, tau)[0]
    # the curve rises monotonically from b0 < s/2 to s: one crossing, at t_half
    before, at = dl.shallow_mode_strength([0.999 * t_half, t_half], s, b0, tau)[:, 0]
    assert before < s / 2
    assert at == pytest.approx(s / 2, rel=1e-12)  # float64 round-off


def test_shallow_half_time_matches_gradient_descent():
    # a shallow net has no hidden layer: any width is accepted, none is recorded
    run = dl.train(TOY, n_layers=2, hidden=1, eta=1e-3, steps=2000, init="balanced",
                   init_scale=0.3)
    assert run.hidden is None
    expected = dl.shallow_half_time(SVD.s, 0.3)
    np.testing.assert_allclose(dl.mode_half_times(run), expected, rtol=2e-3)


@settings(max_examples=20, deadline=None)
@given(n_layers=st.integers(2, 7), ratio=st.floats(1e-4, 0.3), s=st.floats(0.5, 5))
def test_integrated_depth_ode_solves_the_depth_ode(n_layers, ratio, s):
    u0, depth = ratio * s, n_layers - 1
    t_half = dl.deep_half_time(s, u0, n_layers=n_layers)[0]
    t, h = np.array([0.5, 1.0, 1.5]) * t_half, 1e-4 / s
    u = dl.integrate_mode_ode(t, s, u0, n_layers=n_layers)[:, 0]
    slope = (dl.integrate_mode_ode(t + h, s, u0, n_layers=n_layers)[:, 0]
             - dl.integrate_mode_ode(t - h, s, u0, n_layers=n_layers)[:, 0]) / (2 * h)
    rate = depth * u ** (2 - 2 / depth) * (s - u)
    np.testing.assert_allclose(slope, rate, rtol=1e-4, atol=1e-9 * s)


def test_integrate_mode_ode_cost_does_not_grow_with_time():
    start = time.process_time()
    u = dl.integrate_mode_ode([1e12, 1e6], [2.0, 1.0], 1e-6, n_layers=6)
    assert time.process_time() - start < 2.0
    np.testing.assert_allclose(u, [[2.0, 1.0], [2.0, 1.0]], rtol=1e-12)


def test_deep_half_time_approaches_the_blowup_time_for_small_starts():
    for n_layers in (4, 6):
        blowup = {"n_layers": n_layers} if n_layers != 4 else {}  # 4 is the default
        ratios = [dl.deep_half_time(2.0, u, n_layers=n_layers)[0]
                  / dl.blowup_time(2.0, u, **blowup)[0] for u in (1e-3, 1e-9)]
        assert abs(ratios[1] - 1) < abs(ratios[0] - 1)
        assert abs(ratios[1] - 1) < 0.02


def test_discrete_half_time_matches_the_exact_scalar_map():
    s, u0 = 2.0, 1e-6
    for eta in (0.005, 0.05, 0.2):
        u, steps = u0, 0
        while u < s / 2:  # exact GD map of one balanced two-layer mode
            u, steps = u * (1 + eta * (s - u)) ** 2, steps + 1
        predicted = dl.discrete_half_time(s, u0, eta)[0]
        assert steps - 1 <= predicted * (1 + 0.02) and predicted <= steps * (1 + 0.02)


def test_balanced_gradient_descent_is_the_scalar_map():
    eta, steps = 0.05, 200
    run = dl.train(  # hidden = rank of Sigma_yx, the narrowest balanced start
        TOY, hidden=4, eta=eta, steps=steps, init="balanced", init_scale=1e-3
    )
    u = np.full(4, 1e-3)
    for _ in range(steps):
        u = u * (1 + eta * (SVD.s - u)) ** 2
    np.testing.assert_allclose(run.mode_strength[-1], u, rtol=1e-9)


def test_stability_limit_brackets_the_observed_threshold():
    for n_layers in (2, 3, 4):
        limit = dl.stability_limit(TOY, n_layers)
        conv = dl.train(TOY, hidden=6, n_layers=n_layers, eta=0.3 * limit, steps=3000,
                        init="balanced", init_scale=0.5, record=[3000])
        rng = np.random.default_rng(0)
        start = [w + 1e-6 * rng.standard_normal(w.shape) for w in conv.weights]
        losses = {}
        for factor in (0.95, 1.05):
            run = dl.train(
                TOY,
                n_layers=n_layers,
                eta=factor * limit,
                steps=600,
                weights0=start,
                hidden=6,
                check_stability=False,
                record=[600],
            )
            losses[factor] = run.loss[-1]
        assert losses[0.95] < 1e-12 < 1e-6 < losses[1.05], (n_layers, losses)


def test_train_refuses_a_step_above_the_stability_limit_naming_both():
    with pytest.raises(ValueError, match=r"eta = 0\.4 .*0\.378"):
        dl.train(TOY, eta=0.4, steps=10)


# ----------------------------------------------------------------- random starts
@pytest.fixture(scope="module")
def forty_seeds():
    return dl.train_seeds(TOY, range(40), hidden=16, eta=1e-3, steps=8000,
                          init_scale=0.01, record=np.arange(0, 8001, 4))


def _errors(ens, orthogonalise):
    errors = []
    for k in range(len(ens.weights0)):
        u0 = dl.effective_initial_strength(
            ens.weights0[k], SVD, orthogonalise=orthogonalise
        )
        sim = dl.crossing_time(ens.t, ens.mode_strength[k][:, 1], SVD.s[1] / 2)
        errors.append(sim / dl.half_time(SVD.s[1], u0[1])[0] - 1)
    return np.array(errors)


def test_competition_correction_fixes_the_late_second_mode(forty_seeds):
    bare, corrected = _errors(forty_seeds, False), _errors(forty_seeds, True)
    assert np.all(bare > 0)  # the simulation is always late for the bare prediction
    assert np.sum(bare > 0.03) >= 3
    assert np.abs(corrected).max() < 0.01


def test_orthogonalised_strength_equals_bare_for_a_decoupled_start():
    w0 = dl.init_weights(TOY, hidden=6, init="balanced", scale=3e-3, seed=1)
    for flag in (False, True):
        np.testing.assert_allclose(
            dl.effective_initial_strength(w0, SVD, orthogonalise=flag), 3e-3, rtol=1e-10
        )


def test_train_seeds_matches_train_seed_by_seed():
    ens = dl.train_seeds(TOY, [3, 5], hidden=5, eta=0.01, steps=100, init_scale=0.1,
                         record=[0, 50, 100])
    for k, seed in enumerate((3, 5)):
        run = dl.train(TOY, hidden=5, eta=0.01, steps=100, init_scale=0.1, seed=seed,
                       record=[0, 50, 100])
        np.testing.assert_allclose(ens.mode_matrix[k], run.mode_matrix, atol=1e-12)


# ----------------------------------------------------------------- mode predictions
def test_outputs_rsm_and_loss_follow_the_mode_strengths():
    run = dl.train(
        TOY,
        hidden=8,
        eta=1e-3,
        steps=5000,
        init="balanced",
        init_scale=1e-3,
        record=np.arange(0, 5001, 50),
    )
    strengths = dl.mode_strength(run.t, SVD.s, 1e-3)
    np.testing.assert_allclose(run.predictions, dl.predicted_outputs(SVD, strengths),
                               atol=0.02)
    chosen = dl.predicted_outputs(SVD, run.mode_strength, rows=[6, 1])  # sorted rows
    np.testing.assert_allclose(chosen, run.predictions[:, [1, 6]], atol=1e-9)
    similarity = dl.rsm(run.hidden)
    np.testing.assert_allclose(similarity, dl.predicted_rsm(SVD, run.mode_strength),
                               atol=1e-9)
    np.testing.assert_allclose(run.loss, dl.predicted_loss(SVD, run.mode_strength),
                               atol=1e-9)


def test_category_outlier_matches_monte_carlo():
    n_features, n_items, noise = 300, 150, 1.0
    for k_items, k_features in ((2, 5), (20, 40)):
        sv, overlap = [], []
        for seed in range(4):
            data = dl.noisy_category_data(k_items, k_features, n_items=n_items,
                                          n_features=n_features, noise=noise, seed=seed)
            _, values, vt = np.linalg.svd(data.y)
            sv.append(values[0])
            overlap.append(vt[0, :k_items].sum() ** 2 / k_items)
        pred = dl.category_outlier(np.sqrt(k_items * k_features), noise, n_items,
                                   n_features)
        assert np.mean(sv) == pytest.approx(pred["singular_value"][0], rel=0.03)
        assert abs(np.mean(overlap) - pred["item_overlap"][0]) < 0.08


def test_procrustes_residual_is_zero_for_rotations_and_large_otherwise():
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal((5, 8))
    rotation = np.linalg.qr(rng.standard_normal((9, 5)))[0]
    assert dl.procrustes_residual(hidden, rotation @ hidden) < 1e-12
    assert dl.procrustes_residual(hidden, rng.standard_normal((9, 8))) > 0.3


def test_explorer_theory_respects_the_width():
    fig = dl.explorer_figure(hidden=2, eta=0.05)
    theory = [line for line in fig.axes[0].lines if line.get_linestyle() == "--"]
    assert len(theory) == 4
    assert np.allclose(theory[2].get_ydata(), 0) and np.allclose(
        theory[3].get_ydata(), 0
    )
    assert theory[0].get_ydata()[-1] > 0.9


# ----------------------------------------------------------------- bounds
def test_default_record_is_sparse_for_long_runs():
    steps = _record_steps(None, 10_000_000, 1000)
    assert steps.size == DEFAULT_SPARSE_RECORDS and steps[-1] == 10_000_000
    assert _record_steps(None, 100, 1000).size == 101


BOUNDS = [
    # refused before the first step: this run would diverge within ten steps
    (lambda: dl.train(TOY, eta=1.0, init_scale=0.5, check_stability=False,
                      steps=2_000_000, record=np.arange(0, 2_000_001)), "record",
     ValueError, "snapshots of 912 bytes = 1.8 GB; the limit is 0.5 GB"),
    (lambda: dl.tree_singular_values(2, 30, 0.1, 10), "branching", ValueError, "4096"),
    (lambda: dl.tree_level_spectrum(2, 60, 0.1), "depth", ValueError, "53"),
    (lambda: dl.branching_diffusion(2, 3, 0.1, 10**8), "n_features", ValueError, "GB"),
    (lambda: dl.integrate_mode_ode([1.0], 1.0, 1e-3, n_layers=13), "n_layers",
     ValueError, "12"),
    (lambda: dl.train_seeds(TOY, range(2000)), "seeds", ValueError, "1000"),
    (lambda: dl.noisy_category_data(500, 3, n_items=100), "k_items", ValueError, "100"),
    (lambda: dl.Dataset(np.eye(2), np.array([[1.0, np.nan]]), ("a", "b"), ("f",)), "y",
     ValueError, "finite"),
    (lambda: dl.Dataset(np.eye(2), np.ones((1, 3)), ("a", "b"), ("f",)), "x and y",
     ValueError, "column"),
    (lambda: dl.explorer_figure(start="balanced", hidden=2), "hidden", ValueError, "4"),
    (lambda: dl.blowup_time(1.0, 1e-3, n_layers=3), "n_layers", ValueError, "4"),
    (lambda: dl.category_outlier(1.0, 0.0, 10, 10), "noise", ValueError, "0"),
    (lambda: dl.discrete_mode_strength([1], 1.0, 2.0, 0.1), "a0", ValueError, "s"),
    (lambda: dl.effective_initial_strength(dl.init_weights(TOY), SVD, orthogonalise=1),
     "orthogonalise", TypeError, "True"),
]


@pytest.mark.parametrize("call, name, error, limit", BOUNDS,
                         ids=[b[1] + str(i) for i, b in enumerate(BOUNDS)])
def test_sizes_and_bad_values_are_refused_with_the_limit(call, name, error, limit):
    with pytest.raises(error) as info:
        call()
    assert name in str(info.value) and limit in str(info.value)


# ----------------------------------------------------------------- exercises
def test_tree_covariance_check_accepts_the_reference_and_rejects_wrong_answers():
    assert check_tree_covariance(tree_covariance, verbose=False)

    def unsquared(b, d, e):  # q = 1 - 2 eps instead of (1 - 2 eps)^2
        return np.sqrt(tree_covariance(b, d, e))

    def levels_from_leaves(b, d, e):  # q^l instead of q^(D - l)
        return (1 - 2 * e) ** (2 * d) / tree_covariance(b, d, e)

    def one_item_short(b, d, e):
        return tree_covariance(b, d, e)[:-1]

    for wrong in (unsquared, levels_from_leaves, one_item_short):
        result = check_tree_covariance(wrong, verbose=False)
        assert not result
        assert "differs" in result.message or "shape" in result.message


def test_tree_covariance_reference_has_the_theorem_spectrum():
    for b, d, e in [(2, 3, 0.15), (3, 2, 0.1)]:
        lam, mult = dl.tree_level_spectrum(b, d, e)
        eig = np.sort(np.linalg.eigvalsh(tree_covariance(b, d, e)))[::-1]
        np.testing.assert_allclose(eig, np.repeat(lam, mult), rtol=1e-10)


def test_torch_check_accepts_the_reference_and_rejects_wrong_answers():
    pytest.importorskip("torch")
    assert check_torch_mse(train_torch_mse, verbose=False)

    def swapped(y, w1, w2, lr, epochs):
        first, second = train_torch_mse(y, w1, w2, lr, epochs)
        return second, first

    def double_rate(y, w1, w2, lr, epochs):  # the sum loss's time constant
        return train_torch_mse(y, w1, w2, 2 * lr, epochs)

    def one_step_short(y, w1, w2, lr, epochs):
        return train_torch_mse(y, w1, w2, lr, epochs - 1)

    for wrong in (swapped, double_rate, one_step_short):
        assert not check_torch_mse(wrong, verbose=False)


def test_exercise_checks_report_stubs_without_crashing():
    def stub(*args):
        raise NotImplementedError("write it")

    result = check_tree_covariance(stub, verbose=False)
    assert not result and "not implemented yet" in result.message


# ----------------------------------------------------------------- finite steps
@pytest.mark.parametrize("s", [0.3, 3.0])
@pytest.mark.parametrize("ratio", [0.05, 0.3, 0.45])
def test_discrete_closed_forms_tend_to_gradient_flow_for_small_steps(s, ratio):
    a0, eta = ratio * s, 1e-3 / s
    # The odds grow by (1 + eta s)^2 per step instead of e^(2 eta s): the half-times
    # differ by the factor eta s / ln(1 + eta s) = 1 + eta s / 2 + ...
    rel = dl.discrete_half_time(s, a0, eta)[0] * eta / dl.half_time(s, a0)[0] - 1
    assert 0 < rel < eta * s
    # ... and after k steps the log-odds lag by 2k (eta s - ln(1 + eta s)), at most
    # k (eta s)^2; the sigmoid's slope is at most s / 4.
    k = np.array([0, 500, 2000, 5000])
    lag = dl.discrete_mode_strength(k, s, a0, eta) - dl.mode_strength(k * eta, s, a0)
    assert np.all(np.abs(lag[:, 0]) <= s / 4 * k * (eta * s) ** 2 + 1e-15 * s)


def test_discrete_mode_strength_reaches_half_at_the_discrete_half_time():
    s, a0 = np.array([3.0, 1.0, 0.2]), np.array([1e-3, 0.1, 0.09])
    for eta in (0.01, 0.3):
        k = dl.discrete_half_time(s, a0, eta)
        for i in range(3):
            a = dl.discrete_mode_strength([k[i]], s, a0, eta)[0, i]
            assert a == pytest.approx(s[i] / 2, rel=1e-12)


def test_shallow_strength_of_each_mode_starts_at_its_own_b0():
    s, b0 = np.array([2.0, 0.5, 1.0]), np.array([1e-3, 0.2, 0.4])
    np.testing.assert_allclose(  # the linear shallow ODE and its integration in w
        dl.shallow_mode_strength(np.linspace(0, 5, 11), s, b0, tau=0.7),
        dl.integrate_mode_ode(np.linspace(0, 5, 11), s, b0, tau=0.7, n_layers=2),
        rtol=1e-8,  # RK4 on a 1/64 logit grid: O(h^4) ~ 1e-8
    )


def test_stability_limit_is_two_over_the_largest_hessian_eigenvalue_at_the_minimum():
    # Two-layer net (the default n_layers = 3) at its balanced global minimum
    # W1 = sqrt(S) V^T, W2 = U sqrt(S); Hessian of the loss by central differences.
    w1, w2 = np.sqrt(SVD.s)[:, None] * SVD.v.T, SVD.u * np.sqrt(SVD.s)
    p0, n1 = np.concatenate([w1.ravel(), w2.ravel()]), w1.size

    def loss(p):
        first, second = p[:n1].reshape(w1.shape), p[n1:].reshape(w2.shape)
        return 0.5 * np.sum((TOY.y - second @ first @ TOY.x) ** 2)

    h, n = 1e-4, p0.size
    step = np.eye(n) * h
    hessian = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            hessian[i, j] = hessian[j, i] = (
                loss(p0 + step[i] + step[j]) - loss(p0 + step[i] - step[j])
                - loss(p0 - step[i] + step[j]) + loss(p0 - step[i] - step[j])
            ) / (4 * h * h)
    top = np.linalg.eigvalsh(hessian)[-1]
    # truncation h^2/12 * (4th derivative ~ 1) and round-off eps / h^2: both ~1e-8
    assert dl.stability_limit(TOY) == pytest.approx(2 / top, rel=1e-6)


# ----------------------------------------------------------------- tau map
def _torch_loss(torch, name, out, y):
    """The three losses of eq. (dl-tau-map), written for torch's autograd."""
    if name == "torch_mse":
        return torch.nn.MSELoss()(out, y)
    total = 0.5 * ((out - y) ** 2).sum()
    return total if name == "sum" else total / y.shape[0]


_ONE = dl.Dataset(np.eye(1), np.array([[2.0]]), ("item",), ("feature",))
_D50 = dl.branching_diffusion(n_features=50, seed=0)  # P = 8 items, 50 outputs


@pytest.mark.parametrize("loss, data, kwargs", [
    ("sum", _D50, {}),
    ("mean", _D50, {"n_samples": 8}),
    ("mean", _ONE, {}),  # defaults: one sample ...
    ("torch_mse", _ONE, {}),  # ... and one output
    ("torch_mse", _D50, {"n_samples": 8, "n_outputs": 50}),
])
def test_tau_map_reproduces_torch_sgd_on_each_loss(loss, data, kwargs):
    torch = pytest.importorskip("torch")
    lr, steps = 0.02, 30
    w0 = dl.init_weights(data, hidden=3, scale=0.3, seed=1)
    W1 = torch.tensor(w0[0], requires_grad=True)
    W2 = torch.tensor(w0[1], requires_grad=True)
    opt = torch.optim.SGD([W1, W2], lr=lr)
    x, y = torch.tensor(data.x.T), torch.tensor(data.y.T)
    for _ in range(steps):
        opt.zero_grad()
        _torch_loss(torch, loss, x @ W1.T @ W2.T, y).backward()
        opt.step()
    tau = dl.tau_from_hyperparameters(lr, loss=loss, **kwargs)
    ours = dl.train(data, eta=1 / tau, steps=steps, weights0=w0, hidden=3,
                    record=[steps])
    np.testing.assert_allclose(ours.weights[0], W1.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.weights[1], W2.detach().numpy(), atol=1e-12)


# ----------------------------------------------------------------- random starts
def _one_qr_strengths(growing, groups):
    """Competition-corrected strengths from ONE QR of all growing vectors."""
    _, r = np.linalg.qr(growing)  # columns in descending order of s
    out = np.zeros(growing.shape[1])
    for group in groups:
        idx = list(group)
        block = r[idx[0]:, idx]  # what is left after the stronger modes' directions
        values = np.linalg.svd(block, compute_uv=False) if block.size else []
        out[idx[:len(values)]] = np.sort(values)[::-1] ** 2 / 4
    return out


@pytest.mark.parametrize("hidden", [1, 2, 3, 6])
def test_competition_corrected_strength_is_one_gram_schmidt_of_the_growing_vectors(
        hidden):
    w1, w2 = dl.init_weights(TOY, hidden=hidden, scale=0.1, seed=hidden)
    growing = w1 @ SVD.v + w2.T @ SVD.u  # a + b of every mode, eq. (dl-u0-eff)
    np.testing.assert_allclose(
        dl.effective_initial_strength((w1, w2), SVD, orthogonalise=True),
        _one_qr_strengths(growing, SVD.groups), rtol=1e-10, atol=1e-16)
    # the default is the bare strength: |a + b|^2 / 4, or for the degenerate pair
    # the squared singular values of its growing vectors / 4
    bare = np.zeros(4)
    bare[:2] = np.sum(growing[:, :2] ** 2, axis=0) / 4
    pair = np.linalg.svd(growing[:, 2:], compute_uv=False)  # one value if hidden = 1
    bare[2:2 + pair.size] = pair ** 2 / 4
    np.testing.assert_allclose(dl.effective_initial_strength((w1, w2), SVD), bare,
                               rtol=1e-10, atol=1e-16)


# ----------------------------------------------------------------- initial weights
def test_initialisers_draw_entries_with_the_documented_spread():
    scale, hidden = 0.3, 1000
    with pytest.warns(UserWarning, match="whiten"):  # x x^T != I: flagged, allowed
        data = dl.Dataset(np.ones((3, 4)), TOY.y, TOY.item_names, TOY.feature_names)
    for init in ("random", "scaled_normal"):  # 3 input features, 4 items
        weights = dl.init_weights(data, hidden=hidden, init=init, scale=scale, seed=2)
        for w, (n_in, n_out) in zip(weights, [(3, hidden), (hidden, 7)], strict=True):
            assert w.shape == (n_out, n_in)
            std = scale if init == "random" else scale / np.sqrt(n_in + n_out)
            # the sample std of n normal entries has relative spread 1 / sqrt(2 n)
            assert np.std(w) == pytest.approx(std, rel=5 / np.sqrt(2 * w.size))


def test_init_weights_defaults_are_the_start_train_uses():
    start = dl.train(TOY, steps=1, record=[0]).weights0  # hidden 16, scale 0.01, seed 0
    for ours, trains in zip(dl.init_weights(TOY), start, strict=True):
        np.testing.assert_array_equal(ours, trains)


# ----------------------------------------------------------------- records, divergence
def test_default_record_keeps_every_step_up_to_100_mb():
    every = _record_steps(None, 99_999, 1000)  # (99 999 + 1) * 1000 B = 100 MB
    np.testing.assert_array_equal(every, np.arange(100_000))
    sparse = _record_steps(None, 100_000, 1000)  # one step more does not fit
    assert sparse.size == DEFAULT_SPARSE_RECORDS and np.issubdtype(sparse.dtype,
                                                                   np.integer)
    assert sparse[0] == 0 and sparse[-1] == 100_000


def test_record_requests_up_to_500_mb_are_accepted():
    np.testing.assert_array_equal(_record_steps(np.arange(10), 9, 50_000_000),
                                  np.arange(10))  # exactly 500 MB
    with pytest.raises(ValueError, match=r"^record asks for 11 snapshots of 50000000 "
                                         r"bytes = 0\.6 GB; the limit is 0\.5 GB"):
        _record_steps(np.arange(11), 10, 50_000_000)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no numpy warnings on the way
@pytest.mark.parametrize("steps, record, caught_at", [
    (15, None, 6),  # every step recorded, so checked: the first non-finite loss
    (15, [0], 10),  # otherwise every 10th step ...
    (8, [0], 8),  # ... the last step ...
    (15, [0, 7], 7),  # ... and every recorded step
])
def test_divergence_is_caught_at_the_first_checked_step(steps, record, caught_at):
    with pytest.raises(DivergenceError,
                       match=rf"^loss became (inf|nan) at step {caught_at}: the run "
                             r"diverged; reduce eta \(learning rate\) = 1\. Gradient "
                             r"descent is stable near convergence only for eta < "
                             r"0\.378\.$"):
        dl.train(TOY, hidden=8, eta=1.0, steps=steps, init="random", init_scale=0.5,
                 check_stability=False, record=record)


def test_training_shows_a_progress_bar_named_training(monkeypatch, capsys):
    monkeypatch.setenv("LEARNING_DYNAMICS_PROGRESS", "1")
    dl.train(TOY, eta=1e-3, steps=3, record=[3])
    assert "training:" in capsys.readouterr().err


# ----------------------------------------------------------------- matrix flow
@pytest.mark.parametrize("n_layers, a0", [(3, None), (4, 1e-2)])
def test_matrix_flow_error_is_first_order_in_dt(n_layers, a0):
    # one output, two items: rank 1, s = sqrt(5); a width-1 hidden layer suffices
    sigma_yx, s, t = np.array([[2.0, 1.0]]), np.sqrt(5.0), np.linspace(0, 4, 9)
    if a0 is None:  # the defaults: a0 = 1e-3, dt = 1e-3, n_layers = 3
        exact = dl.mode_strength(t, s, 1e-3)
        fine = dl.simulate_gradient_flow(sigma_yx, t, hidden=1)
        coarse = dl.simulate_gradient_flow(sigma_yx, t, dt=2e-3, hidden=1)
    else:
        exact = dl.integrate_mode_ode(t, s, a0, n_layers=n_layers)
        fine, coarse = (dl.simulate_gradient_flow(sigma_yx, t, a0=a0, dt=dt, hidden=1,
                                                  n_layers=n_layers)
                        for dt in (1e-3, 2e-3))
    errors = [np.max(np.abs(run - exact)) for run in (coarse, fine)]
    # Euler: error = C dt + O(dt^2), with dt s ~ 0.5 %: halving dt halves it
    assert 1.8 < errors[0] / errors[1] < 2.2
