"""Chapter 4: the p-independent Gram engine against the explicit p-dimensional one."""
import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from learning_dynamics import DivergenceError
from learning_dynamics import xor_clusters as xc
from learning_dynamics.xor_clusters.gram import draws_from_data

GRAM_FIELDS = ["gram", "pre_init", "test_gram", "test_pre_init", "x_plane", "w0_plane",
               "w0_norm_sq", "y", "y_clean", "y_test_clean", "y_test_noisy"]


def ks_two_sample(a, b):
    """Two-sample Kolmogorov-Smirnov statistic and its asymptotic p-value."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    stat = np.max(np.abs(cdf_a - cdf_b))
    size = math.sqrt(a.size * b.size / (a.size + b.size))
    lam = (size + 0.12 + 0.11 / size) * stat
    pvalue = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam)
                     for k in range(1, 101))
    return stat, min(max(pvalue, 0.0), 1.0)


def _explicit(cfg, seed):
    rng = xc.make_rng(seed)
    data = xc.make_xor_data(cfg, seed=rng)
    return data, xc.init_first_layer(cfg, seed=rng)


@pytest.mark.parametrize("p", [5, 60, 400])
def test_bartlett_assembly_of_explicit_vectors_equals_their_inner_products(p):
    # p = 5 has fewer orthogonal directions (3) than vectors (8 + 6): a trapezoidal L
    cfg = xc.XORConfig(n=8, p=p, m=6, signal=3.0, rho=0.25, init_std=0.01, n_test=12)
    data, W0 = _explicit(cfg, 5)
    exact, assembled = xc.gram_from_data(data, W0), draws_from_data(cfg, data, W0)
    for name in GRAM_FIELDS:
        np.testing.assert_allclose(getattr(assembled, name), getattr(exact, name),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


def test_train_gram_and_train_direct_return_the_same_trajectory():
    cfg = xc.XORConfig(n=12, p=300, m=6, signal=5.0, rho=0.1, init_std=1e-3, n_test=20)
    data, W0 = _explicit(cfg, 3)
    steps = [0, 3, 7]
    fast = xc.train_gram(xc.gram_from_data(data, W0), eta=0.3, steps=steps)
    slow = xc.train_direct(data, W0, eta=0.3, steps=steps)
    for name in ["pre_train", "pre_test", "w_plane", "w_norm", "coeff", "loss"]:
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name),
                                   rtol=1e-9, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("p", [5, 60])
def test_sampled_gram_has_the_exact_moments(p):
    # E||x||^2 = p + ||mu||^2, E<x_i, x_k> = <mu_i, mu_k>, E||w_j(0)||^2 = omega^2 p,
    # E<x_test, x_i>^2 = ||mu_test + ...||: checked through the mean of the diagonal
    cfg = xc.XORConfig(n=6, p=p, m=4, signal=2.0, init_std=0.5, n_test=8)
    grams = [xc.sample_gram(cfg, s) for s in range(1500)]
    diag = np.array([np.diag(g.gram) for g in grams]).ravel()
    norms = np.array([g.w0_norm_sq for g in grams]).ravel()
    for sample, expected in [(diag, p + cfg.mu_norm_sq), (norms, 0.25 * p)]:
        se = sample.std() / math.sqrt(sample.size)
        assert abs(sample.mean() - expected) < 4 * se  # 4 standard errors
    means = [xc.data.signal_coords(g.cluster, cfg.mu_norm) for g in grams[:500]]
    off = np.array([g.gram - m @ m.T for g, m in zip(grams[:500], means, strict=True)])
    off = off[:, ~np.eye(cfg.n, dtype=bool)].ravel()  # noise cross terms: mean 0
    assert abs(off.mean()) < 4 * off.std() / math.sqrt(off.size)


def test_gram_engine_and_direct_engine_agree_in_distribution():
    # two independent samplers of the same model: loss after 4 steps, one Gram
    # entry and one test inner product; KS p-values above 1e-3 for all three
    cfg = xc.XORConfig(n=10, p=80, m=6, signal=3.0, rho=0.2, eta=0.5, init_std=1e-3,
                       n_test=8)
    seeds = range(250)
    stats = {"gram": [], "direct": []}
    for seed in seeds:
        gram = xc.sample_gram(cfg, seed)
        data, W0 = _explicit(cfg, 10_000 + seed)
        for key, g in [("gram", gram), ("direct", xc.gram_from_data(data, W0))]:
            loss = xc.train_gram(g, eta=cfg.eta, steps=[4]).loss[4]
            stats[key].append((loss, g.gram[0, 1], g.test_gram[0, 0]))
    fast, slow = np.array(stats["gram"]), np.array(stats["direct"])
    for k in range(3):
        assert ks_two_sample(fast[:, k], slow[:, k])[1] > 1e-3


def test_ks_check_detects_a_wrong_dimension():
    # the same statistic separates p = 80 from p = 60 (a dropped-directions bug)
    cfg = xc.XORConfig(n=10, p=80, m=6, signal=3.0, n_test=8)
    wrong = cfg.replace(p=60)
    a = [xc.sample_gram(cfg, s).gram[0, 0] for s in range(250)]
    b = [xc.sample_gram(wrong, 500 + s).gram[0, 0] for s in range(250)]
    assert ks_two_sample(np.array(a), np.array(b))[1] < 1e-3


def test_run_xor_engines_agree_in_distribution_on_accuracies():
    # independent samples: the two engines get disjoint seed blocks (the same seed
    # would pair the draws and hide a difference in distribution)
    cfg = xc.XORConfig(n=20, p=400, m=10, signal=10.0, rho=0.2, eta=0.5, n_test=40)
    fast = xc.run_xor(cfg, range(60), [1, 10])
    slow = xc.run_xor(cfg, range(5_000, 5_060), [1, 10], engine="direct")
    for name in ["train_loss", "test_clean"]:
        a, b = getattr(fast, name)[:, 1], getattr(slow, name)[:, 1]
        assert ks_two_sample(a, b)[1] > 1e-4, name


def test_cost_of_a_seed_does_not_depend_on_p():
    # same draws shape for p = 2e4 and 2e6: no array grows with p
    small = xc.sample_gram(xc.XORConfig(p=20_000), 0)
    huge = xc.sample_gram(xc.XORConfig(p=2_000_000), 0)
    for name in GRAM_FIELDS:
        assert getattr(small, name).shape == getattr(huge, name).shape
    ratio = np.mean(np.diag(huge.gram)) / (2e6 + huge.mu_norm**2)
    assert abs(ratio - 1) < 0.01  # self term ~ p; relative spread ~ sqrt(2/p)


def test_gradient_steps_match_autograd_of_the_mean_logistic_loss():
    # torch differentiates softplus(-y f) with f = relu(X W^T) a; the engine uses the
    # closed-form gradient in coefficients, W(t) = W(0) + C(t) X.  A neuron at exactly
    # zero stays there (relu'(0) = 0, torch's convention).  float64 round-off only.
    cfg = xc.XORConfig(n=8, p=20, m=6, signal=2.0, rho=0.25, init_std=0.3, n_test=4)
    data = xc.make_xor_data(cfg, seed=4)
    W0 = xc.init_first_layer(cfg, seed=5)
    W0[1] = 0.0
    eta = 0.7
    run = xc.train_direct(data, W0, eta=eta, steps=[0, 1, 2, 3])
    X, y = torch.tensor(data.X), torch.tensor(data.y)
    a = torch.tensor(xc.output_weights(cfg.m))
    W = torch.tensor(W0)
    for t in range(4):
        W.requires_grad_(True)
        loss = torch.nn.functional.softplus(-y * (torch.relu(X @ W.T) @ a)).mean()
        loss.backward()
        expected = W.detach().numpy()
        np.testing.assert_allclose(W0 + run.coeff[t] @ data.X, expected,
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(run.pre_train[t], data.X @ expected.T,
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(run.w_plane[t], expected[:, :2], rtol=1e-10)
        np.testing.assert_allclose(run.w_norm[t], np.linalg.norm(expected, axis=1),
                                   rtol=1e-10)
        assert run.loss[t] == pytest.approx(loss.item(), rel=1e-12)
        W = (W - eta * W.grad).detach()
    assert np.all(run.w_norm[:, 1] == 0)
    assert np.ptp(run.loss) > 0.05  # margins of order one: the steps do move


def test_overflowing_inputs_stop_both_engines_with_a_message_naming_the_step_size():
    cfg = xc.XORConfig(n=8, p=20, m=4, init_std=0.1, n_test=8)
    data, W0 = _explicit(cfg, 0)
    huge = dataclasses.replace(data, X=data.X * 1e200)
    message = ("^loss became (inf|nan) at step {}" + re.escape(
        ": the run diverged; reduce eta (step size) = 0.5. "
        "The logistic loss is bounded below"))
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(DivergenceError, match=message.format(1)):
            xc.train_direct(huge, W0, eta=0.5, steps=[3])
        gram = xc.gram_from_data(huge, W0)  # X X^T overflows already
        with pytest.raises(DivergenceError, match=message.format(0)):
            xc.train_gram(gram, eta=0.5, steps=[3])


def test_direct_engine_draws_each_seeds_data_then_init_from_one_generator():
    cfg = xc.XORConfig(n=8, p=20, m=4, signal=2.0, init_std=0.1, eta=0.5, n_test=8)
    run = xc.run_xor(cfg, [3, 4], [0, 2], engine="direct")
    for row, seed in enumerate([3, 4]):
        data, W0 = _explicit(cfg, seed)
        trajectory = xc.train_direct(data, W0, eta=cfg.eta, steps=[0, 2])
        np.testing.assert_array_equal(run.w_plane[row], trajectory.w_plane)
        np.testing.assert_array_equal(run.train_loss[row], trajectory.loss[[0, 2]])


def test_every_64_bit_seed_is_accepted():
    cfg = xc.XORConfig(n=8, p=20, m=4, n_test=8)
    seeds = [0, 2**64 - 1]
    run = xc.run_xor(cfg, seeds, [0])
    assert run.seeds.tolist() == seeds
    np.testing.assert_array_equal(run.cluster_flip_rate[1],
                                  xc.sample_gram(cfg, 2**64 - 1).cluster_flip_rate())


def test_init_draws_are_float32_normals_scaled_by_the_init_std():
    cfg = xc.XORConfig(n=8, p=500, m=4, init_std=0.5, n_test=4)
    W = xc.init_first_layer(cfg)  # default seed 0, like make_xor_data
    np.testing.assert_array_equal(W, xc.init_first_layer(cfg, seed=0))
    assert W.dtype == np.float64 and W.shape == (cfg.m, cfg.p)
    draws = W / cfg.init_std  # exact: the std is a power of two
    np.testing.assert_array_equal(draws, draws.astype(np.float32))
    assert abs(draws.std() - 1) < 4 / math.sqrt(2 * draws.size)  # 4 standard errors


def test_progress_bar_counts_seeds(monkeypatch, capsys):
    monkeypatch.setenv("LEARNING_DYNAMICS_PROGRESS", "1")
    xc.run_xor(xc.XORConfig(n=8, p=20, m=4, n_test=8), [0, 1], [0])
    assert re.search(r"(^|\r)seeds: ", capsys.readouterr().err)


def test_run_xor_over_several_seeds_equals_run_xor_seed_by_seed_bitwise():
    # Batching seeds must not change any number: every array of XORRun is bitwise
    # equal to the per-seed runs stacked, here at a configuration the chapter does
    # not use (n = 37, m = 30, eta = 0.5; measured bitwise, not merely to 1e-13).
    cfg = xc.XORConfig(n=37, p=3000, m=30, signal=5.0, rho=0.15, eta=0.5,
                       init_std=1e-6, n_test=50)
    seeds, steps = [3, 11, 29], [0, 1, 2, 5, 20]
    batched = xc.run_xor(cfg, seeds, steps)
    single = [xc.run_xor(cfg, [s], steps) for s in seeds]
    compared = 0
    for field in dataclasses.fields(batched):
        value = getattr(batched, field.name)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == 3:
            stacked = np.concatenate([getattr(r, field.name) for r in single])
            assert np.array_equal(stacked, value, equal_nan=True), field.name
            compared += 1
    assert compared >= 15
