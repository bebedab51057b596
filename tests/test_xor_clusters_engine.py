"""Chapter 4: the p-independent Gram engine against the explicit p-dimensional one."""
import math

import numpy as np
import pytest

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
    cfg = xc.XORConfig(n=20, p=400, m=10, signal=10.0, rho=0.2, eta=0.5, n_test=40)
    fast = xc.run_xor(cfg, range(60), [1, 10])
    slow = xc.run_xor(cfg, range(60), [1, 10], engine="direct")
    for name in ["train_loss", "test_clean"]:
        a, b = getattr(fast, name)[:, 1], getattr(slow, name)[:, 1]
        assert ks_two_sample(a, b)[1] > 1e-3, name


def test_cost_of_a_seed_does_not_depend_on_p():
    # same draws shape for p = 2e4 and 2e6: no array grows with p
    small = xc.sample_gram(xc.XORConfig(p=20_000), 0)
    huge = xc.sample_gram(xc.XORConfig(p=2_000_000), 0)
    for name in GRAM_FIELDS:
        assert getattr(small, name).shape == getattr(huge, name).shape
    ratio = np.mean(np.diag(huge.gram)) / (2e6 + huge.mu_norm**2)
    assert abs(ratio - 1) < 0.01  # self term ~ p; relative spread ~ sqrt(2/p)
