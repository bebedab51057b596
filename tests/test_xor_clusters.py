"""Tests for learning_dynamics.xor_clusters (chapter 4): closed forms, engines, invariants."""
import numpy as np
import pytest

from learning_dynamics import xor_clusters as xc
from learning_dynamics.exercises._answers.xor_clusters import gram_step
from learning_dynamics.exercises.xor_clusters import check_gram_step

SMALL = xc.XORConfig(n=20, p=400, m=10, signal=10.0, rho=0.2, eta=0.5, init_std=1e-6, n_test=40)


@pytest.fixture(scope="module")
def small_runs():
    steps = [0, 1, 2, 5, 20]
    return xc.run_xor(SMALL, [0, 1], steps), xc.run_xor(SMALL, [0, 1], steps, engine="direct")


def test_every_linear_classifier_scores_one_half():
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = rng.standard_normal(7) * rng.uniform(0.1, 30, size=7)
        assert xc.linear_classifier_accuracy(v, mu_norm=rng.uniform(0.1, 50)) == pytest.approx(0.5, abs=1e-12)


def test_step1_margin_formula_matches_simulated_first_step():
    # median over seeds of measured / predicted; a dropped or extra factor 1/2 is
    # off by 2, the seed spread of the median is a few per cent
    cfg = xc.XORConfig(n=40, p=8000, m=200, signal=10.0, eta=0.05, n_test=8)
    run = xc.run_xor(cfg, range(8), [1])
    predicted = xc.step1_margin_theory(cfg.n, cfg.p, cfg.mu_norm_sq, cfg.eta)
    ratio = np.median(run.mean_margin[:, 0]) / predicted
    assert 0.9 <= ratio <= 1.1


def test_gram_engine_matches_direct_p_dimensional_gd(small_runs):
    gram, direct = small_runs
    for name in ["train_loss", "mean_margin", "corr_linear", "even_odd", "cos_align", "delta", "w_plane"]:
        np.testing.assert_allclose(getattr(gram, name), getattr(direct, name), rtol=1e-9, atol=1e-12, err_msg=name)
    for name in ["train_acc", "test_clean", "test_noisy", "cluster_acc"]:
        np.testing.assert_array_equal(getattr(gram, name), getattr(direct, name))


def test_train_gram_and_train_direct_return_the_same_trajectory():
    cfg = xc.XORConfig(n=12, p=300, m=6, signal=5.0, rho=0.1, init_std=1e-3, n_test=20)
    data = xc.make_xor_data(cfg, seed=3)
    W0 = xc.init_first_layer(cfg, seed=4)
    steps = [0, 3, 7]
    a = xc.train_gram(xc.gram_from_data(data, W0), eta=0.3, steps=steps)
    b = xc.train_direct(data, W0, eta=0.3, steps=steps)
    for name in ["pre_train", "pre_test", "w_plane", "w_norm", "coeff", "loss"]:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-13, err_msg=name)


def test_gram_statistics_from_cached_noise_equal_those_of_the_materialised_data():
    cfg = xc.XORConfig(n=8, p=50, m=4, signal=3.0, rho=0.25, eta=0.1, init_std=0.01, n_test=12)
    st = xc.sample_gram(cfg, 5)
    rng = xc.make_rng(5)
    data = xc.make_xor_data(cfg, seed=rng)
    ref = xc.gram_from_data(data, xc.init_first_layer(cfg, seed=rng))
    names = ["gram", "pre_init", "test_gram", "test_pre_init", "x_plane", "w0_plane",
             "w0_norm_sq", "y", "y_test_noisy"]
    for name in names:
        np.testing.assert_allclose(getattr(st, name), getattr(ref, name), rtol=1e-10, atol=1e-10, err_msg=name)


def test_odd_part_of_network_is_exactly_linear():
    rng = np.random.default_rng(1)
    W, X = rng.standard_normal((8, 30)), rng.standard_normal((15, 30))
    a = xc.output_weights(8)
    f_odd = (xc.network_output(W, a, X) - xc.network_output(W, a, -X)) / 2
    np.testing.assert_allclose(f_odd, X @ (0.5 * a @ W), rtol=1e-12, atol=1e-12)


def test_first_step_makes_network_proportional_to_the_step_size():
    cfg1, cfg2 = SMALL, xc.XORConfig(**{**SMALL.__dict__, "eta": 2 * SMALL.eta, "init_std": 1e-12})
    cfg1 = xc.XORConfig(**{**SMALL.__dict__, "init_std": 1e-12})
    r1, r2 = xc.run_xor(cfg1, [0], [1]), xc.run_xor(cfg2, [0], [1])
    assert r2.mean_margin[0, 0] == pytest.approx(2 * r1.mean_margin[0, 0], rel=1e-6)
    np.testing.assert_array_equal(r1.train_acc, r2.train_acc)


def test_loss_starts_at_log2_and_decreases(small_runs):
    gram, _ = small_runs
    assert gram.train_loss[:, 0] == pytest.approx(np.log(2), abs=1e-3)
    assert np.all(np.diff(gram.train_loss, axis=1) < 0)


def test_data_labels_follow_xor_and_flip_rate():
    cfg = xc.XORConfig(n=4000, p=10, signal=4.0, rho=0.2, n_test=8)
    data = xc.make_xor_data(cfg, seed=0)
    np.testing.assert_array_equal(data.y_clean, np.where(data.cluster < 2, 1.0, -1.0))
    assert data.flipped.mean() == pytest.approx(0.2, abs=0.03)
    means = [data.X[data.cluster == k, :2].mean(axis=0) for k in range(4)]
    mu = data.mu_norm
    np.testing.assert_allclose(means, [[mu, 0], [-mu, 0], [0, mu], [0, -mu]], atol=0.15)
    assert np.bincount(data.cluster_test).tolist() == [2, 2, 2, 2]


def test_decision_plane_is_odd_linear_for_a_single_neuron_pair():
    w_plane = np.array([[1.0, 0.0], [0.0, 1.0]])
    s, r, F = xc.decision_plane(w_plane, 2.0, extent=1.0, resolution=5)
    S, R = np.meshgrid(s, r)
    np.testing.assert_allclose(F, (np.maximum(2 * S, 0) - np.maximum(2 * R, 0)) / np.sqrt(2))


def test_same_seed_gives_identical_runs():
    a, b = xc.run_xor(SMALL, [3], [0, 4]), xc.run_xor(SMALL, [3], [0, 4])
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    np.testing.assert_array_equal(a.w_plane, b.w_plane)


def test_exercise_check_accepts_reference_and_reports_stub():
    assert check_gram_step(gram_step).passed

    def stub(C, Z0, G, y, a, eta):
        raise NotImplementedError("use Z = Z0 + G C^T")
    res = check_gram_step(stub)
    assert not res.passed and "not implemented yet" in res.message


def test_figures_and_explorer_figure_render(small_runs):
    import matplotlib.pyplot as plt
    gram, _ = small_runs
    xc.plot_training_curves(gram)
    xc.plot_decision_planes(gram, [0, 1])
    xc.plot_alignment(gram)
    xc.plot_linearity(gram)
    xc.plot_controls({"a": gram})
    xc.plot_seed_variability(gram)
    xc.plot_margin_theory([0.1, 0.2], [[1, 1.1], [2, 2.1]], [1, 2])
    xc.explorer_figure(n=12, p=200, m=6, steps=5)
    plt.close("all")


_C = xc.XORConfig(n=8, p=20, m=4, signal=1.0, rho=0.1, init_std=0.1, n_test=8)
_D = xc.make_xor_data(_C, seed=0)
_W = xc.init_first_layer(_C, seed=0)

BAD = [
    (lambda: xc.XORConfig(rho=0.5), ValueError, "rho"),
    (lambda: xc.XORConfig(rho=-0.1), ValueError, "rho"),
    (lambda: xc.XORConfig(p=1), ValueError, "p"),
    (lambda: xc.XORConfig(m=7), ValueError, "m must be even"),
    (lambda: xc.XORConfig(m=0), ValueError, "m"),
    (lambda: xc.XORConfig(eta=0.0), ValueError, "eta"),
    (lambda: xc.XORConfig(eta=float("nan")), ValueError, "eta"),
    (lambda: xc.XORConfig(init_std=-1e-3), ValueError, "init_std"),
    (lambda: xc.XORConfig(n=2.5), TypeError, "n"),
    (lambda: xc.XORConfig(signal=-1.0), ValueError, "signal"),
    (lambda: xc.run_xor(SMALL, [0], [1], engine="fast"), ValueError, "engine"),
    (lambda: xc.run_xor(SMALL, [-1], [1]), ValueError, "seeds"),
    (lambda: xc.run_xor(SMALL, [0], [-2]), ValueError, "steps"),
    (lambda: xc.run_xor({"n": 10}, [0], [1]), TypeError, "config"),
    (lambda: xc.train_direct(_D, _W[:, :10], eta=0.1, steps=[1]), ValueError, "W0"),
    (lambda: xc.train_direct(_D, _W[:3], eta=0.1, steps=[1]), ValueError, "W0"),
    (lambda: xc.train_direct(_D, _W, eta=-0.1, steps=[1]), ValueError, "eta"),
    (lambda: xc.train_direct("data", _W, eta=0.1, steps=[1]), TypeError, "data"),
    (lambda: xc.train_gram(_D, eta=0.1, steps=[1]), TypeError, "gram"),
    (lambda: xc.make_xor_data({"n": 8}), TypeError, "config"),
    (lambda: xc.linear_classifier_accuracy([np.inf, 1.0], 1.0), ValueError, "v"),
    (lambda: xc.decision_plane(np.ones((4, 3)), 1.0), ValueError, "w_plane"),
    (lambda: xc.step1_margin_theory(10, 100, 1.0, 0.0), ValueError, "eta"),
    (lambda: xc.output_weights(5), ValueError, "m"),
]


@pytest.mark.parametrize("call, exc, name", BAD, ids=[f"bad{i}-{b[2].split()[0]}" for i, b in enumerate(BAD)])
def test_bad_inputs_raise_errors_naming_the_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()
