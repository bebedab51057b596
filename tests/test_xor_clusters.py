"""Chapter 4 (XOR clusters): closed forms against simulation, invariants, bad inputs."""
import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from learning_dynamics import xor_clusters as xc
from learning_dynamics.exercises._answers.xor_clusters import gram_step, torch_gd_step
from learning_dynamics.exercises.xor_clusters import (
    check_gram_step,
    check_torch_gd_step,
)
from learning_dynamics.statistics import ASSERT_Z, rate, rate_agrees

SMALL = xc.XORConfig(n=20, p=400, m=10, signal=10.0, rho=0.2, eta=0.5, init_std=1e-6,
                     n_test=40)


@pytest.fixture(scope="module")
def small_run():
    return xc.run_xor(SMALL, [0, 1], [0, 1, 2, 5, 20])


@pytest.mark.parametrize("v, bias", [([1.0, 0.3, 0.5], 0.0), ([0.05, -0.02, 1.0], 0.0),
                                     ([0.0, 1.0, 0.0], 3.0), ([0.02, 0.03, 1.0], -0.7),
                                     ([0.03, 0.01, 0.2], 0.4), ([0.2, 0.5, 0.3], 1.0),
                                     ([1.0, 0.0], 0.3)])
def test_linear_classifier_accuracy_matches_monte_carlo(v, bias):
    # a 2-entry v is a direction in the signal plane (p = 2), padded with zeros
    cfg = xc.XORConfig(p=3, signal=30.0, n_test=40000)
    data = xc.make_xor_data(cfg, seed=3)
    exact = xc.linear_classifier_accuracy(v, cfg.mu_norm, bias=bias)
    direction = np.pad(v, (0, 3 - len(v)))
    mc = np.mean(np.sign(data.X_test @ direction + bias) == data.y_test_clean)
    assert abs(mc - exact) < 4 * np.sqrt(exact * (1 - exact) / cfg.n_test)  # 4 sigma


@settings(max_examples=60, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.01, 50), st.floats(-80, 80))
def test_linear_accuracy_is_one_half_without_bias_and_at_most_three_quarters(
        v1, v2, mu_norm, bias):
    v = [v1, v2, 1.0]
    assert xc.linear_classifier_accuracy(v, mu_norm) == pytest.approx(0.5, abs=1e-12)
    assert xc.linear_classifier_accuracy(v, mu_norm, bias=bias) <= 0.75 + 1e-12


def test_without_signal_every_linear_classifier_is_at_chance():
    # ||mu|| = 0: the four clusters sit at the origin, so the inputs carry no label
    for v, bias in [([1.0, 0.0], 0.0), ([0.3, -2.0, 1.0], 1.5), ([0.0, 1.0], -4.0)]:
        assert xc.linear_classifier_accuracy(v, 0.0, bias=bias) == pytest.approx(0.5)


@pytest.mark.parametrize("m", [2, 4, 10])
def test_second_layer_is_balanced_with_unit_norm_and_positive_neurons_first(m):
    a = xc.output_weights(m)
    assert a.shape == (m,)
    assert a.sum() == pytest.approx(0.0, abs=1e-15) and a @ a == pytest.approx(1.0)
    assert np.all(a[: m // 2] > 0) and np.all(a[m // 2:] < 0)


def test_step1_margin_formula_matches_simulated_first_step():
    # median over seeds of measured / predicted; a dropped or extra factor 1/2 is
    # off by 2, the seed spread of the median is a few per cent
    cfg = xc.XORConfig(n=40, p=8000, m=200, signal=10.0, eta=0.05, n_test=8)
    run = xc.run_xor(cfg, range(8), [1])
    predicted = xc.step1_margin_theory(cfg.n, cfg.p, cfg.mu_norm_sq, cfg.eta)
    ratio = np.median(run.mean_margin[:, 0]) / predicted
    assert 0.9 <= ratio <= 1.1


def test_pointwise_step1_margins_match_the_gram_prediction():
    cfg = xc.XORConfig(n_test=8)
    a = xc.output_weights(cfg.m)
    ratios, corrs = [], []
    for seed in range(6):
        gram = xc.sample_gram(cfg, seed)
        pre = xc.train_gram(gram, eta=cfg.eta, steps=[1]).pre_train[0]
        measured = gram.y * (np.maximum(pre, 0) @ a)
        predicted = xc.step1_margins(gram.gram, gram.y, cfg.eta)
        ratios.append(np.median(measured / predicted))
        corrs.append(np.corrcoef(measured, predicted)[0, 1])
    assert 0.9 <= np.median(ratios) <= 1.1 and np.median(corrs) >= 0.9


def _step1_fits(cfg, seeds):
    a = xc.output_weights(cfg.m)
    fitted = []
    for seed in seeds:
        gram = xc.sample_gram(cfg, seed)
        pre = xc.train_gram(gram, eta=cfg.eta, steps=[1]).pre_train[0]
        fitted.append(np.all(gram.y * (np.maximum(pre, 0) @ a) > 0))
    return rate(np.array(fitted))


# The closed form of eq. (xor-step1-fit) treats the points' noises as independent;
# over 400 seeds per cell of the chapter's 3 x 3 grid and 2000 seeds at the main
# configuration it is 0.00-0.06 below the measured rate (largest at n = 40,
# signal 30: 0.35 vs 0.41).  The chapter quotes this bound.
STEP1_FIT_APPROXIMATION = 0.07


def test_step1_fit_probability_is_within_its_approximation_error_of_600_seeds():
    # main configuration: 600 fresh draws (true rate ~0.77), assert-level interval
    # widened by the approximation error; the double-counting formula of the first
    # edition (0.88) lies outside
    cfg = xc.XORConfig(n_test=4)
    low, high = _step1_fits(cfg, range(40_000, 40_600)).interval(ASSERT_Z)
    predicted = xc.step1_fit_probability(cfg)
    assert low - STEP1_FIT_APPROXIMATION <= predicted <= high
    assert high < 0.879


@pytest.mark.slow
@pytest.mark.parametrize(("n", "signal"), [(40, 30.0), (100, 30.0), (160, 10.0)])
def test_step1_fit_probability_across_the_phase_grid_with_400_seeds(n, signal):
    cfg = xc.XORConfig(n=n, signal=signal, eta=0.08 * n / 100, n_test=4)
    low, high = _step1_fits(cfg, range(50_000, 50_400)).interval(ASSERT_Z)
    predicted = xc.step1_fit_probability(cfg)
    assert low - STEP1_FIT_APPROXIMATION <= predicted <= high


def test_step1_score_is_p_plus_the_signed_imbalance_plus_mean_zero_noise():
    # eq. (xor-step1-criterion): y_k (G y)_k - (p + y_k s_k ||mu||^2 D) has mean 0
    # (within the assert-level standard error of 200 per-draw means) and the
    # standard deviation of step1_noise_sd's data part (within 5 %, a chi-square
    # bound at 20000 points is 1.5 %); the double count (+||mu||^2) is refused
    cfg = xc.XORConfig(n_test=4)
    residuals = []
    for seed in range(200):
        g = xc.sample_gram(cfg, seed)
        score = xc.step1_signal_score(g.cluster, g.y, cfg.mu_norm_sq, cfg.p)
        residuals.append(g.y * (g.gram @ g.y) - score)
    r = np.concatenate(residuals)
    draw_means = np.array([d.mean() for d in residuals])  # points of a draw correlate
    se = draw_means.std() / np.sqrt(draw_means.size)
    assert abs(r.mean()) < ASSERT_Z * se
    assert abs(r.mean() + cfg.mu_norm_sq) > ASSERT_Z * se
    assert r.std() == pytest.approx(xc.step1_noise_sd(cfg)[0], rel=0.05)


def test_width_noise_of_the_step1_margin_matches_the_finite_width_formula():
    # measured margin (x 8n/eta) minus the neuron-averaged eq. (xor-step1-point):
    # its spread is the width noise of step1_noise_sd (within 15 %: the formula
    # ignores the per-point variation of the cross terms)
    cfg = xc.XORConfig(n_test=4)
    a = xc.output_weights(cfg.m)
    diffs = []
    for seed in range(100):
        g = xc.sample_gram(cfg, seed)
        pre = xc.train_gram(g, eta=cfg.eta, steps=[1]).pre_train[0]
        measured = g.y * (np.maximum(pre, 0) @ a)
        diffs.append((measured - xc.step1_margins(g.gram, g.y, cfg.eta))
                     * 8 * cfg.n / cfg.eta)
    d = np.concatenate(diffs)
    assert abs(d.mean()) < ASSERT_Z * d.std() / np.sqrt(d.size)
    assert d.std() == pytest.approx(xc.step1_noise_sd(cfg)[1], rel=0.15)


def test_fit_probability_enumeration_matches_a_monte_carlo_of_its_own_model():
    # eq. (xor-step1-fit) sums over N_1 and the signs exactly; a Monte Carlo of the
    # same model (binomial axis counts, Rademacher y s, independent Gaussian noise)
    # agrees within the assert-level binomial error of 20000 draws
    cfg = xc.XORConfig(signal=20.0, n_test=4)
    rng = np.random.default_rng(0)
    sigma = math.hypot(*xc.step1_noise_sd(cfg))
    draws = 20_000
    axis = rng.random((draws, cfg.n)) < 0.5
    ys = rng.choice([-1.0, 1.0], size=(draws, cfg.n))
    d = np.where(axis, (ys * axis).sum(1, keepdims=True),
                 (ys * ~axis).sum(1, keepdims=True))
    score = cfg.p + ys * cfg.mu_norm_sq * d + sigma * rng.standard_normal(ys.shape)
    measured = rate(np.all(score > 0, axis=1))
    assert rate_agrees(measured, xc.step1_fit_probability(cfg))


def test_noiseless_threshold_is_where_the_losing_side_score_turns_negative():
    cfg = xc.XORConfig(signal=20.0, n_test=4)
    z_star = xc.step1_fit_threshold(cfg)
    d_star = z_star * math.sqrt(cfg.n / 2)
    assert cfg.p - cfg.mu_norm_sq * d_star == pytest.approx(0.0, abs=1e-6)
    assert xc.step1_fit_probability(cfg.replace(signal=0.0)) == pytest.approx(1.0)


def test_step2_split_total_is_the_delta_of_the_trained_network_at_step_two():
    cfg = xc.XORConfig(n_test=8)
    gram = xc.sample_gram(cfg, 3)
    split = xc.step2_split(gram, eta=cfg.eta)
    trajectory = xc.train_gram(gram, eta=cfg.eta, steps=[1, 2])
    delta = xc.diagnostics(trajectory, gram)["delta"]
    np.testing.assert_allclose(split.delta_step1, delta[0], atol=1e-12)
    np.testing.assert_allclose(split.delta_step2, delta[1], atol=1e-12)
    # the two partial updates are different and neither is the total
    assert not np.allclose(split.delta_seen, split.delta_silent)


def test_self_term_budget_measures_the_self_term_of_the_diagnostics():
    cfg = xc.XORConfig(n_test=8)
    gram = xc.sample_gram(cfg, 4)
    budget = xc.self_term_budget(gram, eta=cfg.eta, start=10, stop=30)
    trajectory = xc.train_gram(gram, eta=cfg.eta, steps=[10, 30])
    self_margin = xc.diagnostics(trajectory, gram)["self_margin"]   # (T, 2) means
    for group, mask in enumerate([budget.flipped, ~budget.flipped]):
        growth = self_margin[1, group] - self_margin[0, group]
        assert budget.measured[mask].mean() == pytest.approx(growth, rel=1e-10)
    # eq. (xor-self-growth) without switching neurons: within 10 % per seed
    assert budget.measured.sum() == pytest.approx(budget.predicted.sum(), rel=0.1)
    with pytest.raises(ValueError, match="stop"):
        xc.self_term_budget(gram, eta=cfg.eta, start=5, stop=5)


def _two_sample_p_value(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test that two binomial rates are equal.

    Conditional on the k1 + k2 successes, k1 is hypergeometric; the p-value sums
    the probabilities of the tables no more likely than the observed one.
    """
    total = k1 + k2
    def prob(k):
        return math.comb(n1, k) * math.comb(n2, total - k) / math.comb(n1 + n2, total)
    observed = prob(k1)
    support = range(max(0, total - n2), min(total, n1) + 1)
    return min(1.0, sum(prob(k) for k in support if prob(k) <= observed * (1 + 1e-9)))


def test_two_sample_p_value_matches_known_tables():
    # Fisher's tea-tasting table 3/4 vs 1/4: two-sided p = 34/70; identical rates: 1
    assert _two_sample_p_value(3, 4, 1, 4) == pytest.approx(34 / 70)
    assert _two_sample_p_value(5, 10, 50, 100) == pytest.approx(1.0)
    assert _two_sample_p_value(1, 1000, 40, 400) < 1e-10


@pytest.mark.slow
def test_main_rates_agree_with_a_fresh_block_of_400_seeds():
    # Same definitions and checkpoints as the chapter (fit_every_t2: every label
    # fitted at every checkpoint t >= 2 of the chapter's list; the failures are
    # seeds still unfitted at t = 2, which the every-step definition also counts).
    # The stored rates are themselves estimates from MAIN_RATES_SEEDS seeds, so the
    # fresh block is compared with them by a two-sample exact test at 1e-4, not by
    # an interval that treats the stored rate as exact (which refused a correct
    # rare-event rate: 999/1000 stored against 395/400 here).
    cfg = xc.XORConfig()
    run = xc.run_xor(cfg, range(200_000, 200_400), [0, 1, 2, 3, 5, 10, 20, 50, 100,
                                                      200])
    measured = {
        "fit_t1": run.train_acc[:, run.index(1)] == 1.0,
        "clean_095_t10": run.test_clean[:, run.index(10)] >= 0.95,
        "clean_099_t200": run.test_clean[:, run.index(200)] >= 0.99,
        "fit_every_t2": run.train_acc[:, run.steps >= 2].min(axis=1) == 1.0,
    }
    stored_n = xc.MAIN_RATES_SEEDS
    for name, outcomes in measured.items():
        stored_k = round(xc.MAIN_RATES[name] * stored_n)
        p_value = _two_sample_p_value(int(outcomes.sum()), outcomes.size, stored_k,
                                      stored_n)
        assert p_value > 1e-4, (name, int(outcomes.sum()), stored_k)


def _lower_median_end_fails(seeds: int, q: float) -> float:
    """P(the chapter's median-interval lower end <= 3/4) when P(one seed <= 3/4) = q.

    quantile_interval's lower end is the order statistic of index
    floor(N/2 - ASSERT_Z sqrt(N)/2) (from 0); it is <= 3/4 when at least one more
    than that many of the N seeds are.
    """
    index = int(math.floor(seeds / 2 - ASSERT_Z * math.sqrt(seeds) / 2))
    return sum(math.comb(seeds, j) * q**j * (1 - q) ** (seeds - j)
               for j in range(index + 1, seeds + 1))


#: Seeds of the chapter's eta/10 run (Exercise "Doubling the step size").
ETA_TENTH_SEEDS = 64


@pytest.mark.slow
def test_a_tenth_of_the_step_size_beats_every_linear_classifier_on_800_seeds():
    # The chapter asserts that the lower end of the median interval of its
    # ETA_TENTH_SEEDS seeds' clean test accuracy (t = 200, eta/10) exceeds 3/4.
    # Over 800 fresh seeds, the rate q of seeds at or below 3/4 has a Wilson upper
    # bound at ASSERT_Z; at that q the chapter's assert fails with probability
    # <= 1e-4.  (At 32 seeds, the first edition's size, it would not: q ~ 0.03
    # gives about 2e-3.)  800 rather than 400 seeds: at q ~ 0.03 the bound then
    # stays clear of the limit (about 0.08 at 64 seeds) at other seed blocks too.
    cfg = xc.XORConfig()
    run = xc.run_xor(cfg.replace(eta=cfg.eta / 10, n_test=100), range(310_000, 310_800),
                     [200])
    below = rate(run.test_clean[:, 0] <= 0.75)
    print(f"eta / 10, clean test at t = 200 <= 3/4: {below}")
    q_high = below.interval(ASSERT_Z)[1]
    assert _lower_median_end_fails(ETA_TENTH_SEEDS, q_high) <= 1e-4, str(below)
    assert np.median(run.test_clean[:, 0]) > 0.9


def _theorem_sweep_config(n: int) -> xc.XORConfig:
    """The chapter's (A1)-(A2) configuration at C = 1 for n samples."""
    signal = 1.2 * n**0.51
    p = int((1.5 * n**2 * signal) ** 2)
    eta = 0.5 * 8 * n / (p + signal * math.sqrt(p))
    return xc.XORConfig(n=n, p=p, m=200, signal=signal, rho=0.15, eta=eta,
                        init_std=1e-6 * eta / 0.08, n_test=200)


@pytest.mark.slow
def test_theorem_regime_share_of_generalising_seeds_rises_with_n_over_200_seeds():
    # The chapter's n-sweep (24 seeds per n) is shown without an assert; its prose
    # quotes these 200-seed rates: the share with clean test >= 0.95 at t = 200
    # rises from n = 16 to n = 128 (assert-level Wilson intervals disjoint) and
    # stays far from 1 at n = 128 (C = 1 does not deliver part (2) at these n).
    rates = {}
    for n in (16, 32, 64, 128):
        run = xc.run_xor(_theorem_sweep_config(n), range(60_000, 60_200), [200])
        rates[n] = rate(run.test_clean[:, 0] >= 0.95)
        print(f"n = {n}: {rates[n]}")
    assert rates[16].interval(ASSERT_Z)[1] < rates[128].interval(ASSERT_Z)[0]
    assert rates[128].interval(ASSERT_Z)[1] < 0.9


@pytest.mark.slow
def test_theorem_regime_fit_reference_reproduces_over_2000_seeds():
    # The chapter bounds the theorem regime's misfit rate at t = 1 by this stored
    # count (eq. xor-step1-fit's 1e-15 is a tail the approximation cannot vouch for).
    cfg = _theorem_sweep_config(16).replace(n_test=4)
    run = xc.run_xor(cfg, range(960_000, 960_000 + xc.THEOREM_FIT_T1_SEEDS), [1])
    assert int(np.sum(run.train_acc[:, 0] < 1.0)) == xc.THEOREM_FIT_T1_MISFITS


def test_self_term_at_step1_is_the_memorisation_term():
    # eq. (xor-step1-point): the self part of each margin is eta ||x_k||^2 / (8 n)
    cfg = xc.XORConfig(n=60, p=20000, m=400, n_test=8)
    gram = xc.sample_gram(cfg, 1)
    trajectory = xc.train_gram(gram, eta=cfg.eta, steps=[1])
    diag = xc.diagnostics(trajectory, gram)
    predicted = cfg.eta * np.diag(gram.gram) / (8 * cfg.n)
    self_mean = np.nanmean(diag["self_margin"][0])
    assert self_mean == pytest.approx(predicted.mean(), rel=0.1)
    flipped = gram.flipped.mean()
    parts = diag["self_margin"][0] + diag["rest_margin"][0]  # flipped, clean means
    total = flipped * parts[0] + (1 - flipped) * parts[1]
    assert total == pytest.approx(diag["mean_margin"][0], rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([-1.0, 1.0])),
                min_size=1, max_size=12))
@example([(0, 1.0), (2, 1.0), (3, -1.0)])  # one point on the mu1 axis
@example([(2, -1.0), (3, -1.0)])           # none on the mu1 axis
def test_axis_imbalance_is_the_label_difference_of_opposite_clusters(points):
    # brute force over the named clusters: D = sum_{+mu} y - sum_{-mu} y, divided by
    # the square root of the number of points on the axis (0 on an empty axis)
    cluster = np.array([c for c, _ in points])
    y = np.array([label for _, label in points])
    expected = []
    for plus, minus in [(0, 1), (2, 3)]:
        diff = (sum(label for c, label in points if c == plus)
                - sum(label for c, label in points if c == minus))
        count = sum(c in (plus, minus) for c, _ in points)
        expected.append(diff / math.sqrt(count) if count else 0.0)
    np.testing.assert_allclose(xc.axis_imbalance(cluster, y), expected, atol=1e-12)


def test_axis_imbalance_counts_labels_and_is_standard_normal_over_draws():
    cluster = np.array([0, 0, 1, 2, 3, 3, 1])
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0])
    # axis 1: (+1 - 1) - (+1 - 1) = 0 over 4 points; axis 2: -1 - 0 over 3 points
    np.testing.assert_allclose(xc.axis_imbalance(cluster, y), [0.0, -1 / np.sqrt(3)])
    cfg = xc.XORConfig(m=2, n_test=4)
    grams = [xc.sample_gram(cfg, s) for s in range(300)]
    z = np.array([xc.axis_imbalance(g.cluster, g.y) for g in grams]).ravel()
    assert abs(z.mean()) < 4 / np.sqrt(z.size) and abs(z.var() - 1) < 0.2


def test_after_step_one_positive_neurons_take_mu1_and_negative_neurons_mu2():
    cfg = xc.XORConfig(n_test=200)
    run = xc.run_xor(cfg, [0, 1, 2], [1, 20])
    assert np.all(np.abs(run.delta[:, 0]) < 0.15)       # no preference at t = 1
    assert np.all(run.delta[:, 1] > 0.3)                # delta1, delta2 > 0 later
    cos = run.cos_align[:, 1]                           # [seed, group, mu_k]
    assert np.all(cos[:, 0, 0] > 2 * cos[:, 0, 1])      # J+ prefers mu1
    assert np.all(cos[:, 1, 1] > 2 * cos[:, 1, 0])      # J- prefers mu2
    assert np.all(run.corr_linear[:, 0] > 0.9)          # linear at t = 1
    assert np.all(run.even_odd[:, 1] > 3 * run.even_odd[:, 0])


def test_odd_part_of_network_is_exactly_linear():
    rng = np.random.default_rng(1)
    W, X = rng.standard_normal((8, 30)), rng.standard_normal((15, 30))
    a = xc.output_weights(8)
    f_odd = (xc.network_output(W, a, X) - xc.network_output(W, a, -X)) / 2
    np.testing.assert_allclose(f_odd, X @ (0.5 * a @ W), rtol=1e-12, atol=1e-12)


def test_first_step_makes_network_proportional_to_the_step_size():
    cfg1 = SMALL.replace(init_std=1e-12)
    cfg2 = cfg1.replace(eta=2 * SMALL.eta)
    r1, r2 = xc.run_xor(cfg1, [0], [1]), xc.run_xor(cfg2, [0], [1])
    assert r2.mean_margin[0, 0] == pytest.approx(2 * r1.mean_margin[0, 0], rel=1e-6)
    np.testing.assert_array_equal(r1.train_acc, r2.train_acc)


def test_loss_starts_at_log2_and_decreases_at_a_small_step():
    run = xc.run_xor(SMALL.replace(eta=0.05), [0, 1, 2], [0, 1, 2, 5, 20, 50])
    assert run.train_loss[:, 0] == pytest.approx(np.log(2), abs=1e-3)
    assert np.all(np.diff(run.train_loss, axis=1) < 0)


def test_data_labels_follow_xor_and_flip_rate():
    cfg = xc.XORConfig(n=4000, p=10, signal=4.0, rho=0.2, n_test=8)
    data = xc.make_xor_data(cfg, seed=0)
    np.testing.assert_array_equal(data.y_clean, np.where(data.cluster < 2, 1.0, -1.0))
    assert data.flipped.mean() == pytest.approx(0.2, abs=0.03)
    means = [data.X[data.cluster == k, :2].mean(axis=0) for k in range(4)]
    mu = data.mu_norm
    np.testing.assert_allclose(means, [[mu, 0], [-mu, 0], [0, mu], [0, -mu]], atol=0.15)
    assert np.bincount(data.cluster_test).tolist() == [2, 2, 2, 2]
    noise_var = data.X[:, 2:].var()  # unit-variance noise off the signal plane
    assert abs(noise_var - 1) < 4 * np.sqrt(2 / data.X[:, 2:].size)


def test_decision_plane_is_the_network_output_on_the_signal_plane():
    # explicit p-dimensional neurons evaluated at u = s mu1 + r mu2; the default grid
    # passes through the origin and the four cluster means (s, r in {-1, 0, 1})
    rng = np.random.default_rng(2)
    W, mu_norm = rng.standard_normal((4, 7)), 1.7
    a = xc.output_weights(4)
    for kwargs in [{}, {"extent": 0.5, "resolution": 3}]:
        s, r, F = xc.decision_plane(W[:, :2], mu_norm, **kwargs)
        S, R = np.meshgrid(s, r)
        U = np.zeros((S.size, 7))
        U[:, 0], U[:, 1] = mu_norm * S.ravel(), mu_norm * R.ravel()
        expected = xc.network_output(W, a, U).reshape(S.shape)
        np.testing.assert_allclose(F, expected, rtol=1e-12, atol=1e-12)
        edge = kwargs.get("extent", 1.0)  # the grid's end, or the cluster means
        for value in (-edge, 0.0, edge):
            assert np.min(np.abs(s - value)) < 1e-12 and np.array_equal(s, r)
    # f is positively 1-homogeneous in the input, hence linear in ||mu|| on the plane
    half_norm = xc.decision_plane(W[:, :2], 0.5, extent=0.5, resolution=3)[2]
    np.testing.assert_allclose(half_norm, F * 0.5 / mu_norm, rtol=1e-12)


def test_decision_plane_is_odd_linear_for_a_single_neuron_pair():
    w_plane = np.array([[1.0, 0.0], [0.0, 1.0]])
    s, r, F = xc.decision_plane(w_plane, 2.0, extent=1.0, resolution=5)
    S, R = np.meshgrid(s, r)
    expected = (np.maximum(2 * S, 0) - np.maximum(2 * R, 0)) / np.sqrt(2)
    np.testing.assert_allclose(F, expected)


def test_same_seed_gives_identical_runs_and_other_seeds_differ():
    a, b = xc.run_xor(SMALL, [3], [0, 4]), xc.run_xor(SMALL, [3], [0, 4])
    c = xc.run_xor(SMALL, [4], [0, 4])
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    np.testing.assert_array_equal(a.w_plane, b.w_plane)
    assert not np.array_equal(a.w_plane, c.w_plane)


def test_exercise_checks_accept_references_and_reject_plausible_mistakes():
    assert check_gram_step(gram_step, verbose=False).passed
    assert check_torch_gd_step(torch_gd_step, verbose=False).passed

    def flipped_sign(C, Z0, G, y, a, eta):
        return 2 * C - gram_step(C, Z0, G, y, a, eta)

    def constant_weights(C, Z0, G, y, a, eta):  # g_i = 1/2 at every step
        pre = Z0 + G @ C.T
        step = (pre > 0) * (0.5 * y)[:, None]
        return C + (eta / pre.shape[0]) * a[:, None] * step.T

    def dropped_relu_derivative(C, Z0, G, y, a, eta):
        return gram_step(C, Z0 + 1e6, G, y, a, eta)

    def summed_loss(W, a, X, y, eta):
        return torch_gd_step(W, a, X, y, eta * X.shape[0])

    def stub(*args):
        raise NotImplementedError("use Z = Z0 + G C^T")

    for wrong in (flipped_sign, constant_weights, dropped_relu_derivative):
        result = check_gram_step(wrong, verbose=False)
        assert not result.passed and "off by up to" in result.message
    assert not check_torch_gd_step(summed_loss, verbose=False).passed
    result = check_gram_step(stub, verbose=False)
    assert not result.passed and "not implemented yet" in result.message


def test_figures_and_explorer_figure_render(small_run):
    import matplotlib.pyplot as plt
    xc.plot_training_curves(small_run)
    xc.plot_decision_planes(small_run, [0, 1, 2, 20])
    xc.plot_alignment(small_run)
    xc.plot_linearity(small_run)
    xc.plot_controls({"a": small_run})
    xc.plot_self_rest(small_run)
    xc.plot_seed_failures(small_run, 20)
    xc.plot_step1_fit(small_run, np.array([0.1, -0.2]))
    xc.plot_margin_theory([0.1, 0.2], [[1, 1.1], [2, 2.1]], [1, 2])
    xc.plot_phase_diagram([10, 20], [1, 2], np.eye(2), np.eye(2))
    xc.plot_phase_diagram([10, 20], [1, 2], np.eye(2), np.eye(2), fitted=np.eye(2),
                          trials=8)
    xc.explorer_figure(n=12, p=200, m=6, steps=5)
    plt.close("all")


def test_run_records_the_cluster_norm_its_decision_planes_need():
    # ||mu||^2 = signal sqrt(p) (the definition of the signal strength)
    cfg = xc.XORConfig(n=8, p=400, m=4, signal=3.0, n_test=4)
    run = xc.run_xor(cfg, [0], [0])
    assert run.mu_norm == pytest.approx(math.sqrt(3.0 * math.sqrt(400)))


def test_huge_p_is_refused_by_the_explicit_engine_and_run_by_the_gram_engine():
    cfg = xc.XORConfig(n=8, p=10**8, m=4, init_std=1e-9, n_test=4)
    for call in (lambda: xc.make_xor_data(cfg), lambda: xc.init_first_layer(cfg),
                 lambda: xc.run_xor(cfg, [0], [1], engine="direct")):
        with pytest.raises(ValueError, match=r"p = 100000000 needs about .* GiB"):
            call()
    run = xc.run_xor(cfg, [0], [0, 1])
    assert run.train_loss[0, 0] == pytest.approx(np.log(2), abs=1e-3)


_C = xc.XORConfig(n=8, p=20, m=4, signal=1.0, rho=0.1, init_std=0.1, n_test=8)
_D = xc.make_xor_data(_C, seed=0)
_W = xc.init_first_layer(_C, seed=0)
_G = xc.gram_from_data(_D, _W)
_NAN_X = _D.X.copy()
_NAN_X[0, 0] = np.nan
_STEPS = r"^steps must hold steps between 0 and 100000"
_ETA = r"^eta must be > 0 and <= 1e\+06"
_CONFIG = r"^config must be an XORConfig; got dict"
_W2 = np.ones((4, 3))

BAD = [
    (lambda: xc.XORConfig(rho=0.5), ValueError,
     r"^rho must be >= 0 and < 0\.5; got 0\.5"),
    (lambda: xc.XORConfig(rho=-0.1), ValueError, r"^rho must be >= 0 and < 0\.5"),
    (lambda: xc.XORConfig(p=2), ValueError, r"^p must be an integer >= 3"),
    (lambda: xc.XORConfig(p=1e8), TypeError,
     r"^p must be an integer; got 100000000\.0"),
    (lambda: xc.XORConfig(p=10**13), ValueError,
     r"^p must be an integer >= 3 and <= 1000000000000"),
    (lambda: xc.XORConfig(n=10**5), ValueError,
     r"^n must be an integer >= 4 and <= 5000"),
    (lambda: xc.XORConfig(m=7), ValueError, r"^m must be even"),
    (lambda: xc.XORConfig(m=0), ValueError, r"^m must be an integer >= 2"),
    (lambda: xc.XORConfig(eta=0.0), ValueError, r"^eta must be > 0"),
    (lambda: xc.XORConfig(eta=float("nan")), ValueError,
     r"^eta must be a finite number"),
    (lambda: xc.XORConfig(init_std=-1e-3), ValueError, r"^init_std must be > 0"),
    (lambda: xc.XORConfig(n=2.5), TypeError, r"^n must be an integer"),
    (lambda: xc.XORConfig(signal=-1.0), ValueError, r"^signal must be >= 0"),
    (lambda: xc.XORConfig(n_test=10**6), ValueError,
     r"^n_test must be an integer >= 4 and <= 100000"),
    (lambda: dataclasses.replace(_D, X=_NAN_X), ValueError,
     r"^X must contain only finite values"),
    (lambda: dataclasses.replace(_D, y=_D.y * 2), ValueError,
     r"^y must hold labels in \{-1, \+1\}"),
    # run_xor
    (lambda: xc.run_xor(_C, [0], [1], engine="fast"), ValueError,
     r"^engine must be one of 'gram', 'direct'; got 'fast'"),
    (lambda: xc.run_xor(_C, [-1], [1]), ValueError, r"^seeds must be an integer >= 0"),
    (lambda: xc.run_xor(_C, [], [1]), ValueError,
     r"^seeds must hold at least one seed; got an empty sequence"),
    (lambda: xc.run_xor(_C, [0], [-2]), ValueError, _STEPS),
    (lambda: xc.run_xor(_C, [0], [xc.MAX_STEPS + 1]), ValueError, _STEPS),
    (lambda: xc.run_xor({"n": 10}, [0], [1]), TypeError, _CONFIG),
    # train_direct and train_gram
    (lambda: xc.train_direct(_D, _W[:, :10], eta=0.1, steps=[1]), ValueError,
     r"^W0 must have shape \(any, 20\)"),
    (lambda: xc.train_direct(_D, _W[0], eta=0.1, steps=[1]), ValueError,
     r"^W0 must be a 2-dimensional array"),
    (lambda: xc.train_direct(_D, _W[:3], eta=0.1, steps=[1]), ValueError,
     r"^W0 must have an even number of rows \(neurons\); got 3"),
    (lambda: xc.train_direct(_D, _W, eta=-0.1, steps=[1]), ValueError, _ETA),
    (lambda: xc.train_direct(_D, _W, eta=0.0, steps=[1]), ValueError, _ETA),
    (lambda: xc.train_direct(_D, _W, eta=1e6 + 0.5, steps=[1]), ValueError, _ETA),
    (lambda: xc.train_direct(_D, _W, eta=0.1, steps=[-1]), ValueError, _STEPS),
    (lambda: xc.train_direct(_D, _W, eta=0.1, steps=[xc.MAX_STEPS + 1]), ValueError,
     _STEPS),
    (lambda: xc.train_direct("data", _W, eta=0.1, steps=[1]), TypeError,
     r"^data must be an XORData; got str"),
    (lambda: xc.train_gram(_G, eta=1e300, steps=[1]), ValueError,
     _ETA + r"; got 1e\+300"),
    (lambda: xc.train_gram(_G, eta=0.0, steps=[1]), ValueError, _ETA),
    (lambda: xc.train_gram(_G, eta=1e6 + 0.5, steps=[1]), ValueError, _ETA),
    (lambda: xc.train_gram(_G, eta=0.1, steps=[-1]), ValueError, _STEPS),
    (lambda: xc.train_gram(_G, eta=0.1, steps=[xc.MAX_STEPS + 1]), ValueError, _STEPS),
    (lambda: xc.train_gram(_D, eta=0.1, steps=[1]), TypeError,
     r"^gram must be an XORGram; got XORData"),
    (lambda: xc.make_xor_data({"n": 8}), TypeError, _CONFIG),
    (lambda: xc.sample_gram({"n": 8}, 0), TypeError, _CONFIG),
    (lambda: xc.init_first_layer({"n": 8}), TypeError, _CONFIG),
    # closed forms
    (lambda: xc.linear_classifier_accuracy([np.inf, 1.0], 1.0), ValueError,
     r"^v must contain only finite values"),
    (lambda: xc.linear_classifier_accuracy([0.0, 0.0], 1.0), ValueError,
     r"^v must not be the zero vector"),
    (lambda: xc.linear_classifier_accuracy(np.ones((2, 2)), 1.0), ValueError,
     r"^v must be a 1-dimensional array"),
    (lambda: xc.linear_classifier_accuracy([1.0], 1.0), ValueError,
     r"^v must have at least 2 entries \(p >= 2\); got 1"),
    (lambda: xc.linear_classifier_accuracy([1, 0], -0.5), ValueError,
     r"^mu_norm must be >= 0"),
    (lambda: xc.linear_classifier_accuracy([1, 0], 1.0, bias="a"), TypeError,
     r"^bias must be a real number"),
    (lambda: xc.linear_classifier_accuracy([1, 0], 1.0, bias=np.inf), ValueError,
     r"^bias must be a finite number"),
    (lambda: xc.network_output(np.ones(3), np.ones(4), np.ones((2, 3))), ValueError,
     r"^W must be a 2-dimensional array"),
    (lambda: xc.network_output(_W2, np.ones(3), np.ones((2, 3))), ValueError,
     r"^a must have shape \(4\)"),
    (lambda: xc.network_output(_W2, np.ones(4), np.ones((2, 4))), ValueError,
     r"^X must have shape \(any, 3\)"),
    (lambda: xc.network_output(_W2, np.ones(4), np.ones(3)), ValueError,
     r"^X must be a 2-dimensional array"),
    (lambda: xc.decision_plane(np.ones((4, 3)), 1.0), ValueError,
     r"^w_plane must have shape \(any, 2\)"),
    (lambda: xc.decision_plane(np.ones((2, 2, 2)), 1.0), ValueError,
     r"^w_plane must be a 2-dimensional array"),
    (lambda: xc.decision_plane(np.ones((3, 2)), 1.0), ValueError,
     r"^w_plane must have an even number of rows \(neurons\); got 3"),
    (lambda: xc.decision_plane(np.ones((2, 2)), 0.0), ValueError,
     r"^mu_norm must be > 0"),
    (lambda: xc.decision_plane(np.ones((2, 2)), 1.0, extent=0.0), ValueError,
     r"^extent must be > 0"),
    (lambda: xc.decision_plane(np.ones((2, 2)), 1.0, resolution=2), ValueError,
     r"^resolution must be an integer >= 3 and <= 1001; got 2"),
    (lambda: xc.decision_plane(np.ones((2, 2)), 1.0, resolution=1002), ValueError,
     r"^resolution must be an integer >= 3 and <= 1001; got 1002"),
    (lambda: xc.step1_margin_theory(0, 100, 1.0, 0.1), ValueError,
     r"^n must be an integer >= 1"),
    (lambda: xc.step1_margin_theory(10, 1, 1.0, 0.1), ValueError,
     r"^p must be an integer >= 2"),
    (lambda: xc.step1_margin_theory(10, 100, -1.0, 0.1), ValueError,
     r"^mu_norm_sq must be >= 0"),
    (lambda: xc.step1_margin_theory(10, 100, 1.0, 0.0), ValueError,
     r"^eta must be > 0"),
    (lambda: xc.step1_margins(np.eye(3), np.ones(4), 0.1), ValueError,
     r"^gram must have shape \(4, 4\)"),
    (lambda: xc.step1_margins(np.eye(2), np.ones((2, 1)), 0.1), ValueError,
     r"^y must be a 1-dimensional array"),
    (lambda: xc.step1_margins(np.eye(2), [1.0, 0.5], 0.1), ValueError,
     r"^y must hold labels in \{-1, \+1\}"),
    (lambda: xc.step1_margins(np.eye(2), np.ones(2), 0.0), ValueError,
     r"^eta must be > 0"),
    (lambda: xc.axis_imbalance(np.zeros((2, 2)), np.ones(4)), ValueError,
     r"^cluster must be a 1-dimensional array"),
    (lambda: xc.axis_imbalance([0, 5], [1.0, 1.0]), ValueError,
     r"^cluster must hold cluster indices in \{0, 1, 2, 3\}"),
    (lambda: xc.axis_imbalance([0, 1, 2], np.ones(4)), ValueError,
     r"^y must have shape \(3\)"),
    (lambda: xc.axis_imbalance([0, 1, 2], [1.0, 2.0, 1.0]), ValueError,
     r"^y must hold labels in \{-1, \+1\}"),
    (lambda: xc.step1_fit_threshold({"n": 3}), TypeError, _CONFIG),
    (lambda: xc.step1_fit_probability({"n": 3}), TypeError, _CONFIG),
    (lambda: xc.step1_noise_sd({"n": 3}), TypeError, _CONFIG),
    (lambda: xc.step1_loss_theory({"n": 3}), TypeError, _CONFIG),
    (lambda: xc.step1_loss_theory(xc.XORConfig(n_test=4), eta=0.0), ValueError,
     r"^eta must be > 0"),
    (lambda: xc.step1_signal_score([0, 5], [1.0, 1.0], 1.0, 10), ValueError,
     r"^cluster must hold cluster indices in \{0, 1, 2, 3\}"),
    (lambda: xc.step1_signal_score([0, 1], [1.0, 0.5], 1.0, 10), ValueError,
     r"^y must hold labels in \{-1, \+1\}"),
    (lambda: xc.step2_split({"n": 3}, eta=0.1), TypeError, r"^gram must be an XORGram"),
    (lambda: xc.self_term_budget({"n": 3}, eta=0.1, start=0, stop=2), TypeError,
     r"^gram must be an XORGram"),
    (lambda: xc.plot_phase_diagram([1], [1], np.eye(1), np.eye(1), trials=0),
     ValueError, r"^trials must be an integer >= 1"),
    (lambda: xc.output_weights(5), ValueError, r"^m must be even; got 5"),
    (lambda: xc.output_weights(0), ValueError, r"^m must be an integer >= 2; got 0"),
    (lambda: xc.output_weights(2.0), TypeError, r"^m must be an integer; got 2\.0"),
]


def _named(pattern: str) -> str:
    """The argument a match pattern starts with, for the test id."""
    return re.match(r"\^?(\w+)", pattern).group(1)


@pytest.mark.parametrize("call, exc, match", BAD,
                         ids=[f"bad{i}-{_named(b[2])}" for i, b in enumerate(BAD)])
def test_bad_inputs_raise_errors_naming_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_step1_loss_averaged_over_the_margins_matches_simulation_and_exceeds_jensen():
    # eq. (xor-step1-criterion) averaged over the imbalance and the noise: the mean
    # step-1 loss of 60 draws agrees within 4 of its standard errors (per-draw
    # means); the loss at the mean margin is below it (Jensen), as the exercise says
    cfg = xc.XORConfig(n_test=4)
    a = xc.output_weights(cfg.m)
    losses = []
    for seed in range(60):
        g = xc.sample_gram(cfg, 7_000 + seed)
        pre = xc.train_gram(g, eta=cfg.eta, steps=[1]).pre_train[0]
        losses.append(np.mean(np.logaddexp(0.0, -g.y * (np.maximum(pre, 0) @ a))))
    losses = np.array(losses)
    predicted = xc.step1_loss_theory(cfg)
    assert abs(losses.mean() - predicted) < ASSERT_Z * losses.std() / np.sqrt(60)
    at_mean = np.log1p(np.exp(-xc.step1_margin_theory(cfg.n, cfg.p, cfg.mu_norm_sq,
                                                       cfg.eta)))
    assert at_mean < predicted
