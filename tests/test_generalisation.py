"""Chapter 6: generalisation dynamics (exact engine, closed forms, validation)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from learning_dynamics import generalisation as gen
from learning_dynamics.statistics import ASSERT_Z, quantile_interval
from learning_dynamics.statistics import binomial_tail as _binomial_tail


def _z(samples, value):
    samples = np.asarray(samples, dtype=float)
    return abs(samples.mean() - value) / (samples.std(ddof=1) / math.sqrt(samples.size))


# ----------------------------------------------------------------- engines
@pytest.mark.parametrize("d, P, sigma0", [(40, 20, 0.7), (30, 60, 0.0), (25, 25, 0.3)])
def test_exact_engine_matches_the_explicit_loop_and_pytorch(d, P, sigma0):
    task = gen.make_task(d, P, 3.0, sigma0=sigma0, seeds=3, seed=11)
    steps = np.array([0, 1, 7, 60, 400])
    naive = gen.gd_naive(task, steps, eta=0.05)
    torch_run = gen.gd_torch(task, steps, eta=0.05)
    exact = gen.gd_exact(task, steps * 0.05, eta=0.05, return_weights=True)
    np.testing.assert_allclose(exact.weights, naive.weights, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(torch_run.weights, naive.weights, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(exact.train_error, naive.train_error, rtol=1e-8)


def test_flow_is_the_small_step_limit_of_gradient_descent():
    task = gen.make_task(30, 45, 2.0, seeds=2, seed=12)
    flow = gen.gd_exact(task, [2.0], eta=None).test_error
    gaps = [np.abs(gen.gd_exact(task, [2.0], eta=eta).test_error - flow).max()
            for eta in (0.02, 0.01)]
    assert 1.7 < gaps[0] / gaps[1] < 2.3  # first order in eta


def test_converged_weights_fit_the_data_and_keep_the_null_space():
    task = gen.make_task(40, 15, 2.0, sigma0=1.0, seeds=2, seed=13)
    run = gen.gd_exact(task, [np.inf], eta=None, return_weights=True)
    assert run.train_error.max() < 1e-20
    _, _, motion = gen.split_error(task, run.weights)
    assert motion.max() < 1e-12


# ----------------------------------------------------------- closed forms
@pytest.mark.parametrize("alpha", [0.3, 1.0, 2.5])
def test_marchenko_pastur_nodes_have_the_known_moments(alpha):
    lam, w = gen.mp_nodes(alpha, 2048)
    assert abs(w.sum() - min(1.0, alpha)) < 1e-10
    assert abs(w @ lam - alpha) < 1e-10  # (1/d) tr X X^T
    assert abs(w @ lam**2 - alpha * (1 + alpha)) < 1e-10  # (1/d) tr (X X^T)^2


@pytest.mark.parametrize("alpha", [0.3, 0.8, 1.4, 3.0])
def test_long_time_limits_equal_the_quadrature_at_infinite_time(alpha):
    kw = dict(noise2=0.3, sigma0_2=0.2)
    quad = gen.test_error_mp(alpha, [np.inf], n_nodes=8192, **kw)[0]
    assert abs(quad / gen.long_time_test_error(alpha, **kw) - 1) < 1e-6
    train = gen.training_error_mp(alpha, [np.inf], noise2=0.3)[0]
    assert abs(train - gen.long_time_training_error(alpha, noise2=0.3)) < 1e-10


@pytest.mark.parametrize("d, P", [(20, 8), (20, 45)])
def test_finite_size_converged_error_matches_400_seeds(d, P):
    kw = dict(sigma_w2=1.0, noise2=0.5, sigma0_2=0.25)
    task = gen.make_task(d, P, 2.0, sigma0=0.5, seeds=2000, seed=14)
    converged = gen.gd_exact(task, [np.inf]).test_error[:, 0]
    assert _z(converged, gen.converged_test_error_finite(d, P, **kw)) < ASSERT_Z


@pytest.mark.parametrize("alpha, snr", [(0.5, 4.0), (2.0, 0.5)])
def test_marchenko_pastur_curve_matches_gradient_descent_at_d_400(alpha, snr):
    t = np.array([0.5, 3.0, 30.0])
    task = gen.make_task(400, int(alpha * 400), snr, seeds=30, seed=15)
    run = gen.gd_exact(task, t, eta=0.1)
    theory = gen.test_error_mp(alpha, t, noise2=task.noise2, eta=0.1)
    assert max(_z(run.test_error[:, k], theory[k]) for k in range(3)) < 5.5


def test_alpha_one_growth_prefactor_matches_the_quadrature():
    t = np.array([1e4, 1e5])
    quad = gen.test_error_mp(1.0, t, noise2=1.0, n_nodes=2**17)
    # E_g = c sqrt(t) + O(1): the O(1) remainder stops changing
    remainder = quad - gen.alpha_one_growth(t)
    assert abs(remainder[1] - remainder[0]) < 0.02
    assert abs(quad[1] / gen.alpha_one_growth(t)[1] - 1) < 0.003


@pytest.mark.slow
def test_alpha_one_growth_exponent_against_400_seeds():
    t = np.array([10.0, 1000.0])
    quad = gen.test_error_mp(1.0, t, noise2=1.0, eta=0.1, n_nodes=2**15)
    predicted = math.log(quad[1] / quad[0]) / math.log(100)
    from learning_dynamics.device import single_threaded

    with single_threaded():  # threaded BLAS fights the other test worker (105 s wall)
        task = gen.make_task(300, 300, 1.0, seeds=400, seed=16)
        run = gen.gd_exact(task, t, eta=0.1)
    slopes = np.log(run.test_error[:, 1] / run.test_error[:, 0]) / math.log(100)
    low, high = quantile_interval(slopes, 0.5)
    assert low - 0.01 <= predicted <= high + 0.01, (low, high, predicted)
    assert abs(predicted - 0.5) < 0.06  # pre-asymptotic window: 0.45


def test_every_mode_stopped_at_its_time_is_ridge_with_gamma_one_over_snr():
    lam = np.linspace(0.05, 5.0, 50)
    sigma_w2, noise2 = 1.3, 0.4
    t_opt = gen.optimal_stopping_time(lam, sigma_w2=sigma_w2, noise2=noise2)
    shrink_stop = 1 - np.exp(-lam * t_opt)
    gamma = noise2 / sigma_w2
    np.testing.assert_allclose(shrink_stop, lam / (lam + gamma), rtol=1e-12)
    per_mode = gen.mode_stopping_error_mp(0.7, sigma_w2=sigma_w2, noise2=noise2)
    ridge = gen.ridge_test_error_mp(0.7, [gamma], sigma_w2=sigma_w2, noise2=noise2)
    assert abs(per_mode - ridge[0]) < 1e-12
    grid = gamma * np.logspace(-1, 1, 201)
    errors = gen.ridge_test_error_mp(0.7, grid, sigma_w2=sigma_w2, noise2=noise2)
    assert abs(grid[np.argmin(errors)] / gamma - 1) < 0.03


def test_per_mode_stopping_time_minimises_the_mode_error_numerically():
    lam, s, noise2 = 0.6, 1.4, 0.5
    t = np.linspace(0, 20, 200001)
    f = s * np.exp(-2 * lam * t) + noise2 / lam * (1 - np.exp(-lam * t)) ** 2
    t_opt = gen.optimal_stopping_time([lam], sigma_w2=1.0, noise2=noise2,
                                      sigma0_2=s - 1.0)[0]
    assert abs(t[np.argmin(f)] - t_opt) < 2e-4


def test_ridge_closed_form_matches_ridge_solutions_over_seeds():
    task = gen.make_task(200, 100, 2.0, seeds=60, seed=17)
    gamma = 0.5
    errors = gen.ridge_errors(task, gamma)
    theory = gen.ridge_test_error_mp(0.5, [gamma], noise2=task.noise2)[0]
    assert _z(errors, theory) < 5.5


@pytest.mark.parametrize("alpha", [0.5, 1.5, 3.0])
def test_one_stopping_time_is_never_better_than_the_best_ridge(alpha):
    stop = gen.global_stopping(alpha, noise2=0.5)
    ridge = gen.ridge_test_error_mp(alpha, [0.5], noise2=0.5)[0]
    assert stop.error >= ridge - 1e-12
    grid = np.logspace(-2, 3, 2000)
    curve = gen.test_error_mp(alpha, grid, noise2=0.5)
    assert stop.error <= curve.min() + 1e-12


def test_frozen_subspace_keeps_the_initial_variance_over_400_seeds():
    d, P, sigma0 = 30, 12, 0.8
    with_init = gen.make_task(d, P, 2.0, sigma0=sigma0, seeds=400, seed=18)
    # the same X, teacher and noise; w0 = 0 (the draws happen in the same order)
    without = gen.make_task(d, P, 2.0, sigma0=0.0, seeds=400, seed=18)
    np.testing.assert_array_equal(with_init.X, without.X)
    shift = (gen.gd_exact(with_init, [np.inf]).test_error
             - gen.gd_exact(without, [np.inf]).test_error)[:, 0]
    assert _z(shift, (1 - P / d) * sigma0**2) < ASSERT_Z


def test_readout_closed_form_matches_the_average_over_400_noise_draws():
    task = gen.make_random_features_task(40, 60, seeds=1, seed=19, n_test=500)
    widths, t = [20, 40, 60], np.array([1.0, np.inf])
    ref = gen.readout_errors(task, widths, t)
    draws = []
    from learning_dynamics.seeding import make_rng
    noise_rng = make_rng(20)
    clean = task.y - task.noise
    for _ in range(400):
        eps = math.sqrt(task.noise2[0]) * noise_rng.standard_normal(task.y.shape)
        redraw = gen.RandomFeaturesTask(task.features, clean + eps, eps,
                                        task.feature_cov, task.feature_target,
                                        task.target_power, task.noise2)
        draws.append(gen.readout_errors(redraw, widths, t).test_error[0])
    draws = np.array(draws)
    z = np.abs(draws.mean(0) - ref.predicted[0]) / (draws.std(0, ddof=1) / 20)
    assert z.max() < 5.0  # 6 comparisons at 1e-4 (Bonferroni)


# ---------------------------------------------------------------- validation
def test_arguments_are_validated_with_their_names():
    with pytest.raises(ValueError, match="d must be"):
        gen.make_task(0, 10, 1.0)
    with pytest.raises(ValueError, match="snr must be"):
        gen.make_task(10, 10, -1.0)
    with pytest.raises(TypeError, match="seeds must be an integer"):
        gen.make_task(10, 10, 1.0, seeds=2.5)
    with pytest.raises(ValueError, match="alpha must be"):
        gen.test_error_mp(0.0, [1.0])
    with pytest.raises(ValueError, match="t must"):
        gen.test_error_mp(0.5, [-1.0])
    with pytest.raises(TypeError, match="task must be a LinearTask"):
        gen.gd_exact("task", [1.0])
    with pytest.raises(ValueError, match="noise2 must be > 0"):
        gen.optimal_stopping_time([1.0], noise2=0.0)


def test_unstable_step_and_oversized_runs_are_refused_before_any_work():
    task = gen.make_task(20, 40, 1.0, seed=21)
    with pytest.raises(ValueError, match="eta=1 is unstable"):
        gen.gd_exact(task, [1.0], eta=1.0)
    with pytest.raises(ValueError, match="whole multiples of eta"):
        gen.gd_exact(task, [0.15], eta=0.1)
    big = gen.make_task(400, 400, 1.0, seeds=2, seed=22)
    with pytest.raises(ValueError, match="use gd_exact"):
        gen.gd_naive(big, [10**6], eta=0.01)
    with pytest.raises(ValueError, match="GiB"):
        gen.make_task(4000, 4000, 1.0, seeds=5000)
    with pytest.raises(ValueError, match="n_nodes"):
        gen.mp_nodes(0.5, 2**30)


def test_exact_engine_runs_a_million_steps_at_the_cost_of_one():
    task = gen.make_task(50, 25, 1.0, sigma0=0.5, seeds=1, seed=23)
    run = gen.gd_exact(task, [1e6 * 0.1], eta=0.1)
    assert np.isfinite(run.test_error).all()
    limit = gen.gd_exact(task, [np.inf], eta=0.1).test_error
    np.testing.assert_allclose(run.test_error, limit, rtol=1e-10)


def test_paired_tasks_share_inputs_and_rescale_only_what_they_should():
    task = gen.make_task(20, 30, 4.0, seeds=2, seed=24)
    noisier = gen.with_snr(task, 0.5)
    assert noisier.X is task.X and noisier.noise2 == 2.0
    np.testing.assert_allclose(noisier.noise, task.noise * np.sqrt(8.0))
    np.testing.assert_allclose(noisier.y - noisier.noise, task.y - task.noise)
    init = gen.redraw_init(task, 0.5, seed=25)
    assert init.X is task.X and init.sigma0_2 == 0.25 and np.any(init.w0 != 0)
    with pytest.raises(ValueError, match="noise-free"):
        gen.with_snr(gen.make_task(5, 5, np.inf, seed=26), 1.0)


def test_nested_tasks_hold_one_input_array_and_keep_the_law_of_each_load():
    small, large = gen.make_nested_tasks(20, [10, 30], 2.0, sigma0=0.5, seeds=400,
                                         seed=27)
    assert np.shares_memory(small.X, large.X) and small.P == 10 and large.P == 30
    np.testing.assert_array_equal(small.X, large.X[:, :, :10])
    np.testing.assert_array_equal(small.y, large.y[:, :10])
    np.testing.assert_allclose(
        small.y, np.einsum("sd,sdp->sp", small.w_teacher, small.X) + small.noise)
    assert small.noise2 == 0.5 and small.sigma0_2 == 0.25
    # the law of make_task: entry variance 1/d of X, 1/SNR of the noise (400 draws)
    x = small.X.ravel()
    se = np.sqrt(2 / x.size)  # relative standard error of a Gaussian variance
    assert abs(np.var(x) * 20 - 1) < ASSERT_Z * se
    assert abs(np.var(small.noise) / 0.5 - 1) < ASSERT_Z * np.sqrt(2 / small.noise.size)
    # the converged error of each load matches the finite-d formula (400 draws)
    for task in (small, large):
        converged = gen.gd_exact(task, [np.inf], eta=0.05).test_error[:, 0]
        expected = gen.converged_test_error_finite(
            20, task.P, noise2=0.5, sigma0_2=0.25)
        assert _z(converged, expected) < ASSERT_Z


def test_nested_tasks_validate_their_arguments():
    with pytest.raises(TypeError, match="Ps"):
        gen.make_nested_tasks(10, 5, 1.0)
    with pytest.raises(ValueError, match="Ps"):
        gen.make_nested_tasks(10, [], 1.0)
    with pytest.raises(ValueError, match="Ps"):
        gen.make_nested_tasks(10, [5, 0], 1.0)
    with pytest.raises(ValueError, match="seeds"):
        gen.make_nested_tasks(4000, [4000], 1.0, seeds=5000)


@pytest.mark.slow
def test_smallest_nonzero_eigenvalue_at_half_load_stays_far_above_the_chapters_bound():
    """The spread behind the chapter's 'next eigenvalue > 0.03' (d = 300, P = 150,
    minimum over 40 draws): over 400 draws the smallest non-zero eigenvalue of
    X X^T (that of X^T X) sits more than 4.56 standard deviations above 0.03 (the
    one-sided normal quantile of 1e-4 / 40; its left tail is lighter than normal)."""
    task = gen.make_task(300, 150, 4.0, seeds=400, seed=28)
    smallest = np.linalg.eigvalsh(np.swapaxes(task.X, 1, 2) @ task.X)[:, 0]
    assert (smallest.mean() - 0.03) / smallest.std(ddof=1) > 4.56, (
        smallest.mean(), smallest.std(ddof=1))
    # and it sits near the Marchenko-Pastur edge (1 - sqrt(1/2))^2 = 0.086
    assert abs(np.median(smallest) - (1 - math.sqrt(0.5)) ** 2) < 0.03


# ------------------------------------------- failure chances of the median asserts


def _wrong_draws_that_fail(n: int, end: str) -> int:
    """How many of n draws on the wrong side of a threshold fail an assert on one end
    of ``quantile_interval(samples, 0.5)``: the end is the k-th order statistic from
    that side."""
    low, high = quantile_interval(np.arange(n, dtype=float), 0.5)
    return int(low) + 1 if end == "low" else n - int(high)


def _sweep_tail_quantities(seed: int) -> dict:
    """Chapter 6's per-draw overtraining (alpha = 0.9, 1, 1.1) and smallest-mode share
    of sum 1/lambda (alpha = 1, 2): 20 draws of the chapter's extra block."""
    d, eta, loads = 300, 0.1, (0.9, 1.0, 1.1, 2.0)
    t = np.append(np.round(np.logspace(0, 5, 61)) * eta, np.inf)
    tasks = gen.make_nested_tasks(d, [round(a * d) for a in loads], 4.0, seeds=20,
                                  seed=seed)
    out = {}
    for a, task in zip(loads, tasks, strict=True):
        spec = gen.spectrum(task)
        if a != 2.0:
            err = gen.gd_exact(task, t, eta=eta, spec=spec).test_error
            out[f"ot{a}"] = err[:, -1] - err[:, :-1].min(axis=1)
        if a in (1.0, 2.0):
            lam = np.where(spec.eigenvalues > gen.ZERO_EIGENVALUE, spec.eigenvalues,
                           np.inf)
            out[f"share{a}"] = (1 / lam).max(axis=1) / (1 / lam).sum(axis=1)
    return out


def _rf_tail_quantities(seed: int) -> dict:
    """Chapter 6's per-draw random-features ratios (20 draws, P = 100, t = inf)."""
    widths = np.array([10, 20, 40, 60, 80, 90, 100, 110, 125, 150, 200, 300, 400])
    task = gen.make_random_features_task(100, 400, snr=1.0, seeds=20, seed=seed,
                                         n_test=4000)
    run = gen.readout_errors(task, widths, np.array([np.inf]))
    final = run.test_error[:, :, -1]
    at = {n: int(np.flatnonzero(widths == n)[0]) for n in (90, 100, 110)}
    clean = (run.predicted - run.noise_part)[:, :, -1]
    others = np.delete(final, at[100], axis=1).max(axis=1)
    return {
        "noise_share": run.noise_part[:, at[100], -1] / run.predicted[:, at[100], -1],
        "clean_ratio": clean[:, at[100]] / np.maximum(clean[:, at[90]],
                                                      clean[:, at[110]]),
        "peak_ratio": final[:, at[100]] / others,
    }


#: chapter 6's median asserts: (quantity, threshold, end of the interval, draws)
CHAPTER6_MEDIAN_ASSERTS = {
    "noise_share": (0.5, "low", 40),
    "clean_ratio": (1.0, "low", 40),
    "peak_ratio": (1.0, "low", 40),
    "share1.0": (0.2, "low", 40),
    "share2.0": (0.05, "high", 40),
    # peak_separated: the overtraining interval at alpha = 1 above those at 0.9 and
    # 1.1; it can fail only if one of these three fails (c = OVERTRAINING_SPLIT)
    "ot1.0": (None, "low", 40),
    "ot0.9": (None, "high", 40),
    "ot1.1": (None, "high", 40),
}
OVERTRAINING_SPLIT = 8.0


@pytest.mark.slow
def test_chapter6_median_asserts_fail_at_a_random_offset_with_chance_below_1e4():
    """Each median assert of chapter 6 fails when at least k of its n draws fall on
    the wrong side of its threshold.  Over 1000 stored fresh draws per quantity the
    per-draw chance p of a wrong-side draw has a Wilson upper bound p_u at ASSERT_Z;
    P(Binomial(n, p_u) >= k) must be <= 1e-4 (summed over the three intervals of the
    overtraining comparison).  Stored: about 120 s of CPU to remeasure."""
    from stored_spread import stored_spread

    from learning_dynamics.statistics import wilson_interval

    values = {
        **stored_spread("generalisation_sweep_tails", range(10000, 10050),
                        _sweep_tail_quantities, [10000, 10049]),
        **stored_spread("generalisation_rf_tails", range(20000, 20050),
                        _rf_tail_quantities, [20000]),
    }
    chance = {}
    for name, (threshold, end, n) in CHAPTER6_MEDIAN_ASSERTS.items():
        v = values[name]
        assert v.size >= 1000 and np.all(np.isfinite(v)), name
        threshold = OVERTRAINING_SPLIT if threshold is None else threshold
        wrong = int(np.sum(v <= threshold if end == "low" else v >= threshold))
        p_upper = wilson_interval(wrong, v.size, z=ASSERT_Z)[1]
        chance[name] = _binomial_tail(n, p_upper, _wrong_draws_that_fail(n, end))
    overtraining = chance.pop("ot1.0") + chance.pop("ot0.9") + chance.pop("ot1.1")
    assert overtraining <= 1e-4, overtraining
    assert max(chance.values()) <= 1e-4, chance


@pytest.mark.slow
def test_chapter6_growth_exponent_assert_fails_at_a_random_offset_below_1e4():
    """Chapter 6 asserts slope_ci[0] - 0.02 <= quadrature <= slope_ci[1] + 0.02 over
    40 draws (interval ends x_(8), x_(34)): it fails only if >= 33 draws lie above
    quadrature + 0.02 or >= 34 below quadrature - 0.02.  1000 fresh draws (about
    12 s of CPU) bound both per-draw chances at ASSERT_Z."""
    from learning_dynamics.device import single_threaded
    from learning_dynamics.statistics import wilson_interval

    eta = 0.1
    t = np.round(np.logspace(0, 5, 61)) * eta
    t = t[(t >= 1) & (t <= 1e4)]
    i10, i1000 = (int(np.flatnonzero(np.isclose(t, c))[0]) for c in (10, 1000))
    quad = gen.test_error_mp(1.0, t, noise2=2.0, eta=eta, n_nodes=2**15)
    predicted = math.log(quad[i1000] / quad[i10]) / math.log(100)
    slopes = []
    with single_threaded():  # threaded BLAS on a busy machine multiplies the CPU
        for seed in range(30000, 30025):  # 25 blocks of the chapter's 40 draws
            task = gen.with_snr(gen.make_nested_tasks(300, [300], 4.0, seeds=40,
                                                      seed=seed)[0], 0.5)
            err = gen.gd_exact(task, t, eta=eta).test_error
            slopes.extend(np.log(err[:, i1000] / err[:, i10]) / math.log(100))
    slopes = np.array(slopes)
    n = 40
    low, high = (int(i) for i in quantile_interval(np.arange(n, dtype=float), 0.5))
    above = wilson_interval(int(np.sum(slopes > predicted + 0.02)), slopes.size,
                            z=ASSERT_Z)[1]
    below = wilson_interval(int(np.sum(slopes < predicted - 0.02)), slopes.size,
                            z=ASSERT_Z)[1]
    fail = _binomial_tail(n, above, n - low) + _binomial_tail(n, below, high + 1)
    assert fail <= 1e-4, (above, below, fail)
