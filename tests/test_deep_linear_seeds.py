"""Chapter 2: the exact per-step map, predictions from each network's own start, and
the seed spreads that the chapter's tolerances cite.

The fast tests check the new theory functions against gradient descent and against
each other; the slow tests (``-m slow``) measure, over hundreds of seeds, the spreads
written beside the tolerances of the chapter's "What we verified" table, and check
that each chapter assert fails at a random seed offset with probability <= 1e-4.
"""
from __future__ import annotations

import numpy as np
import pytest

import learning_dynamics as ld
from learning_dynamics import deep_linear as dl
from learning_dynamics.statistics import ASSERT_Z, quantile_interval, wilson_interval
from learning_dynamics.statistics import binomial_tail as _binomial_tail

TOY = dl.toy_data()
SVD = dl.data_svd(TOY)




def _median_fails_at_most(outcomes, n: int, chance: float = 1e-4) -> bool:
    """Whether a median over ``n`` draws lands on the wrong side with chance <= 1e-4.

    ``outcomes`` marks the measured draws on the wrong side of the tolerance; their
    rate's upper Wilson bound at the assert level is the worst-case probability.
    """
    outcomes = np.asarray(outcomes, dtype=bool)
    high = wilson_interval(int(outcomes.sum()), outcomes.size, z=ASSERT_Z)[1]
    return _binomial_tail(n, high, n // 2) <= chance


# ------------------------------------------------------------------ the exact map
def test_the_map_is_balanced_gradient_descent_step_by_step():
    eta, steps = 0.1, 120
    run = dl.train(TOY, hidden=4, eta=eta, steps=steps, init="balanced",
                   init_scale=1e-3)
    predicted = dl.map_mode_strength(run.step, SVD.s, 1e-3, eta)
    np.testing.assert_allclose(run.mode_strength, predicted, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dl.mode_half_times(run, in_steps=True),
                               dl.map_half_time(SVD.s, 1e-3, eta), rtol=1e-9)


def test_the_odds_approximation_overpredicts_half_times_by_about_half_a_step():
    exact = dl.map_half_time([SVD.s[0]], 1e-3, 0.35)[0]
    odds = dl.discrete_half_time([SVD.s[0]], 1e-3, 0.35)[0]
    assert exact == pytest.approx(5.56, abs=0.01)
    assert odds == pytest.approx(6.01, abs=0.01)
    for eta in (1e-3, 1e-2, 0.1):
        gap = (dl.discrete_half_time(SVD.s, 1e-4, eta)
               - dl.map_half_time(SVD.s, 1e-4, eta))
        assert np.all(gap > 0) and np.all(gap < 1.0)


def test_the_map_tends_to_the_sigmoid_for_small_steps():
    eta = 1e-4
    k = np.arange(0, 40_001, 4000)
    lag = dl.map_mode_strength(k, SVD.s, 1e-3, eta) - dl.mode_strength(k * eta, SVD.s,
                                                                      1e-3)
    assert np.max(np.abs(lag) / SVD.s) < 10 * eta * SVD.s[0]


@pytest.mark.parametrize("call, name", [
    (lambda: dl.map_mode_strength([0.5], 1.0, 1e-3, 0.1), "steps"),
    (lambda: dl.map_mode_strength([2_000_000], 1.0, 1e-3, 0.1), "steps"),
    (lambda: dl.map_mode_strength([1], 1.0, 2.0, 0.1), "a0"),
    (lambda: dl.map_mode_strength([1], 1.0, 1e-3, 0.0), "eta"),
    (lambda: dl.map_half_time(1.0, 0.6, 0.1), "a0"),
    (lambda: dl.map_half_time(2.0, 1e-3, 0.6), "eta"),
    (lambda: dl.map_half_time(1.0, 1e-300, 1e-9), "limit"),
    (lambda: dl.level_groups([1.0, 2.0]), "descending"),
    (lambda: dl.level_groups([2.0, 1.0], tol=1.0), "tol"),
])
def test_map_and_level_functions_refuse_bad_arguments(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


# ------------------------------------------------------------------ own-start theory
def test_blocks_match_the_strengths_and_rotate_inside_exact_degeneracy_only():
    start = dl.init_weights(TOY, hidden=16, scale=0.01, seed=3)
    u0, rotation = dl.effective_initial_blocks(start, SVD)
    np.testing.assert_allclose(u0, dl.effective_initial_strength(start, SVD,
                                                                 orthogonalise=True))
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(np.abs(rotation[:2, :2]), np.eye(2))
    assert np.all(rotation[:2, 2:] == 0) and np.all(rotation[2:, :2] == 0)


def test_mode_matrices_and_diagonal_strengths_predict_the_same():
    strengths = dl.map_mode_strength(np.arange(0, 50, 7), SVD.s, 1e-3, 0.05)
    matrices = dl.map_mode_matrix(np.arange(0, 50, 7), SVD.s, np.full(4, 1e-3),
                                  np.eye(4), 0.05)
    for function in (dl.predicted_rsm, dl.predicted_loss, dl.predicted_outputs):
        np.testing.assert_allclose(function(SVD, strengths), function(SVD, matrices),
                                   atol=1e-14)
    with pytest.raises(ValueError, match="orthogonal"):
        dl.map_mode_matrix([1], SVD.s, np.full(4, 1e-3), 2 * np.eye(4), 0.05)


def test_removing_competition_zeroes_the_overlap_and_keeps_mode_one():
    start = dl.init_weights(TOY, hidden=16, scale=0.01, seed=5)
    w1, w2 = dl.remove_competition(start, SVD)
    ens = dl.train_seeds(TOY, [0], hidden=16, steps=1, weights0=[(w1, w2)])
    assert dl.competition_overlap(ens)[0] < 1e-25
    np.testing.assert_allclose(w1 @ SVD.v[:, 0], start[0] @ SVD.v[:, 0])
    np.testing.assert_allclose(w2.T @ SVD.u[:, 0], start[1].T @ SVD.u[:, 0])


def test_check_stages_needs_every_step_and_a_two_layer_net():
    run = dl.train(TOY, hidden=8, eta=0.01, steps=20, record=[0, 10, 20])
    with pytest.raises(ValueError, match="every step"):
        dl.check_stages(run)
    deep = dl.train(TOY, hidden=8, n_layers=4, eta=0.01, steps=5)
    with pytest.raises(ValueError, match="two-layer"):
        dl.check_stages(deep)


def test_a_balanced_run_is_its_own_stage_prediction():
    run = dl.train(TOY, hidden=8, eta=0.05, steps=150, init="balanced",
                   init_scale=1e-3)
    check = dl.check_stages(run)
    assert np.max(np.abs(check.half_error)) < 1e-9 and check.loss_error < 1e-9


def test_non_whitened_inputs_warn():
    with pytest.warns(UserWarning, match="whiten"):
        dl.Dataset(2 * np.eye(4), TOY.y, TOY.item_names, TOY.feature_names)


def test_the_stability_message_says_necessary_not_sufficient():
    with pytest.raises(ValueError, match="necessary, not sufficient"):
        dl.train(TOY, eta=dl.stability_limit(TOY), steps=1)


# ------------------------------------------------------------------ seed spreads (slow)
@pytest.mark.slow
def test_random_start_spreads_behind_the_chapter_tolerances():
    kw = dict(hidden=16, eta=2e-3, steps=4000, record=np.arange(0, 4001, 2))
    ens = dl.train_seeds(TOY, np.arange(400) + 5000, **kw)
    bare = dl.seed_half_time_errors(ens, orthogonalise=False)
    comp = dl.seed_half_time_errors(ens, orthogonalise=True)
    # "399/400 seeds late": the bare prediction is early for mode 2
    assert np.mean(bare[:, 1] > 0) >= 0.99
    # "80th percentile <= 0.002" (the chapter's median bound < 0.01 is audited in
    # test_chapter2_interval_asserts_fail_at_a_random_offset_with_chance_below_1e4)
    assert np.all(np.quantile(np.abs(comp), 0.8, axis=0) <= 0.002)
    overlap = dl.competition_overlap(ens)
    r = np.corrcoef(overlap, comp[:, 0])[0, 1]
    assert r > 0.9  # "r = 0.96"; 0.6 at 40 seeds is > 7 Fisher-z errors below
    ablated = dl.train_seeds(TOY, np.arange(400) + 5000, **kw, weights0=[
        dl.remove_competition(w, SVD) for w in ens.weights0])
    residual = dl.seed_half_time_errors(ablated, orthogonalise=True)[:, 0]
    shares = [1 - np.abs(residual[b:b + 40]).mean() / np.abs(comp[b:b + 40, 0]).mean()
              for b in range(0, 400, 40)]
    assert min(shares) > 0.45 and np.mean(shares) > 0.6  # chapter asserts > 0.3


@pytest.mark.slow
def test_neuromatch_spreads_behind_the_chapter_tolerances():
    tree = dl.branching_diffusion(branching=2, depth=3, flip_prob=0.15,
                                  n_features=10_000, seed=0)
    nma = dl.add_property(tree, "has_bones", [-1, 1, 1, 1, -1, -1, -1, -1],
                          rename={"Goldfish": "Shark"})
    tau = dl.tau_from_hyperparameters(100.0, loss="torch_mse", n_samples=8,
                                      n_outputs=nma.y.shape[0])
    sample = dl.stage_sample(nma, np.arange(1000, 1100), eta=1 / tau, steps=250)
    assert sample.half_error.max() < 5e-4  # chapter: every one of 40 < 1e-3
    assert sample.loss_error.max() < 0.01  # chapter: every one of 40 < 0.02
    assert sample.rsm_error.max() < 3e-3  # chapter: this network < 1e-2
    # medians over 40 networks / 20 pairs on this tree; across trees (an offset
    # moves the data) see test_chapter2_plain_medians_fail_at_a_random_offset_...
    assert _median_fails_at_most(sample.output_error.ravel() > 0.1, 40)
    assert _median_fails_at_most(sample.rsm_error.ravel() > 3.5e-3, 40)
    assert _median_fails_at_most(sample.rsm_correlation < 0.99, 20)


@pytest.mark.slow
def test_tree_levels_are_grouped_and_sampled_within_four_percent():
    lam, mult = dl.tree_level_spectrum(2, 3, 0.15)
    expected = ((0,), (1,), (2, 3), (4, 5, 6, 7))
    deviations = []
    for seed in range(200):
        tree = dl.branching_diffusion(branching=2, depth=3, flip_prob=0.15,
                                      n_features=10_000, seed=seed)
        nma = dl.add_property(tree, "has_bones", [-1, 1, 1, 1, -1, -1, -1, -1])
        for data in (tree, nma):
            assert dl.level_groups(dl.data_svd(data).s) == expected
        s = dl.data_svd(tree).s
        deviations.append(np.max(np.abs(s / dl.tree_singular_values(2, 3, 0.15,
                                                                   10_000) - 1)))
    assert max(deviations) < 0.04  # chapter: < 0.05


def _noise_network_agreement(seeds):
    """(v_net . v_data)^2 of the chapter's network at K_i = 20, one per seed.

    The chapter's recipe: one data set per seed, a 16-wide network from a small
    random start, and its first learned item pattern (the top right singular vector
    of its mode matrix when the top strength first reaches half the data's).
    """
    sizes = dict(n_items=100, n_features=200, noise=1.0)
    agreement = np.empty(len(seeds))
    with ld.single_threaded():  # many small products: one thread is fastest
        for i, seed in enumerate(seeds):
            agreement[i] = _one_noise_network(seed, sizes)
    return agreement


def _one_noise_network(seed: int, sizes: dict) -> float:
    data = dl.noisy_category_data(20, 20, seed=60_000 + seed, **sizes)
    _, sv, vt = np.linalg.svd(data.y)
    run = dl.train(data, hidden=16, eta=0.1 * dl.stability_limit(data), steps=150,
                   init_scale=1e-3, seed=seed, record=np.arange(0, 151, 3),
                   prediction_rows=[0])
    top = np.linalg.norm(run.mode_matrix, ord=2, axis=(1, 2))
    learned = int(np.argmax(top >= sv[0] / 2))
    v_hat = run.svd.v @ np.linalg.svd(run.mode_matrix[learned])[2][0]
    return float((v_hat @ vt[0]) ** 2)


@pytest.mark.slow
def test_category_in_noise_data_spreads_behind_the_chapter_tolerances():
    """Each chapter assert on 100 data sets per strength fails with chance <= 1e-4.

    The chapter averages 100 data sets; here ``n`` fresh ones bound the mean (its
    finite-size bias) at ``ASSERT_Z``, and the chapter's own sampling error
    ``ASSERT_Z * sd / 10`` is added on top. About 8 s of CPU.
    """
    sizes = dict(n_items=100, n_features=200, noise=1.0)
    for k in (2, 4, 7, 10, 20, 40):
        n = 1000 if k == 20 else 400  # K_i = 20 has the widest overlap spread
        with ld.single_threaded():
            overlap, top = dl.category_noise_sample(
                k, 20, 80_000 + 1000 * k + np.arange(n), **sizes)
        pred = dl.category_outlier(np.sqrt(20 * k), 1.0, 100, 200)
        twin = dl.category_outlier(np.sqrt(20 * k), 1.0, 200, 100)["item_overlap"][0]
        sd, mean = overlap.std(ddof=1), overlap.mean()
        here, chapter = ASSERT_Z * sd / np.sqrt(n), ASSERT_Z * sd / 10
        if k <= 4:  # chapter: the mean over 100 < 0.1
            assert mean + here + chapter < 0.1, (k, mean, here, chapter)
        if k >= 20:  # chapter: |mean - (dl-bbp)| < ASSERT_Z sd / 10 + 0.02
            # the finite-size bias, bounded at ASSERT_Z, fits the chapter's 0.02
            assert abs(mean - pred["item_overlap"][0]) + here < 0.02, (k, mean)
            # and the feature-side twin stays outside the same tolerance
            assert abs(mean - twin) - here > chapter + 0.02, (k, mean, twin)
        # chapter: |mean top / (dl-bbp) - 1| < 0.03 at every strength
        value = pred["singular_value"][0]
        bias = abs(top.mean() / value - 1) + ASSERT_Z * top.std(ddof=1) / value * (
            1 / np.sqrt(n) + 1 / 10)
        assert bias < 0.03, (k, bias)


@pytest.mark.slow
def test_category_in_noise_networks_learn_the_top_item_vector_as_a_rate():
    """The chapter's median of 20 networks >= 0.8 fails with chance <= 1e-4.

    A network's first learned item pattern is the data's top item vector in most
    seeds, not in all: about 3 % of networks fall below 0.8 (these seeds: 16 of 400,
    down to 0.5; a referee's fresh block: 20 of 800, down to 0.25), so the chapter
    states a rate and asserts a median. 400 networks, about 20 s of CPU.
    """
    agreement = _noise_network_agreement(range(400))
    below = agreement < 0.8
    assert 0 < below.mean() < 0.1, below.mean()  # the chapter's "about 3 %"
    assert np.median(agreement) > 0.9
    assert _median_fails_at_most(below, 20), wilson_interval(
        int(below.sum()), below.size, z=ASSERT_Z)


@pytest.mark.slow
def test_near_degenerate_modes_are_predicted_as_a_block_not_one_by_one():
    import dataclasses

    s = np.array([3.0, 2.0, 1.98, 1.0])
    data = dl.Dataset(np.eye(4), np.diag(s), tuple("abcd"), tuple("ABCD"))
    ens = dl.train_seeds(data, np.arange(40), hidden=16, eta=2e-3, steps=4000,
                         record=np.arange(0, 4001, 2))
    per_mode = dl.seed_half_time_errors(ens, orthogonalise=True)
    levels = dl.level_groups(ens.svd.s)
    assert levels == ((0,), (1, 2), (3,))
    block = dl.seed_half_time_errors(
        dataclasses.replace(ens, svd=dataclasses.replace(ens.svd, groups=levels)),
        orthogonalise=True)
    # chapter: "per-mode errors reach 1.6 %, the pair as a block within 0.13 %"
    assert np.abs(per_mode[:, 1:3]).max() > 0.01
    assert np.abs(block[:, 1]).max() < 0.002


# ------------------------------------------------------------------ the explorer
def _explorer_module():
    import importlib

    return importlib.import_module("learning_dynamics.deep_linear.figures.explorer")


def test_explorer_draws_a_shallow_net_without_a_width_limit_or_hidden_layer():
    ex = _explorer_module()
    history, curves = ex._explorer_run(1e-3, 0.05, 2, 2, "balanced")
    assert np.max(np.abs(history.mode_strength - curves) / history.svd.s) < 1e-9
    fig = dl.explorer_figure(1e-3, 0.05, 2, 2, "balanced")
    assert "no hidden layer" in fig.axes[0].get_title()


@pytest.mark.slow
def test_explorer_never_draws_theory_the_simulation_contradicts():
    """Every widget's range (corners and middles): drawn theory within 5 % of s."""
    import itertools

    ex = _explorer_module()
    worst, drawn = 0.0, 0
    for scale, eta, hidden, n_layers, start in itertools.product(
            [1e-5, 1e-3, 10**-1.5, 0.1], [10**-2.5, 0.05, 0.2], [1, 3, 4, 16, 64],
            [2, 3, 4, 5], ["random", "balanced"]):
        if start == "balanced" and n_layers > 2 and hidden < 4:
            continue  # refused with a message
        try:
            history, curves = ex._explorer_run(scale, eta, hidden, n_layers, start)
        except ValueError:  # eta above the stability limit: refused with a message
            continue
        if curves is None:
            assert start == "random" and (
                n_layers > 3 or scale > ex.small_start_limit(hidden))
            continue
        drawn += 1
        worst = max(worst, np.max(np.abs(history.mode_strength - curves)
                                  / history.svd.s))
    assert drawn > 100 and worst < 0.05, (drawn, worst)


@pytest.mark.slow
def test_explorer_random_start_theory_holds_at_every_slider_width():
    """Random two-layer start, every width 1-64, largest drawn scale: < 5 % of s."""
    ex = _explorer_module()
    worst = (0.0, None)
    for hidden in range(1, 65):
        limit = ex.small_start_limit(hidden)
        # the largest slider position (10^(k/4)) at or below the cut-off
        scale = 10 ** (np.floor(4 * np.log10(limit) + 1e-9) / 4)
        for eta in (10**-2.5, 0.02, 10**-0.7):
            history, curves = ex._explorer_run(scale, eta, hidden, 3, "random")
            assert curves is not None
            err = np.max(np.abs(history.mode_strength - curves) / history.svd.s)
            worst = max(worst, (err, (hidden, scale, eta)), key=lambda w: w[0])
    assert worst[0] < 0.05, worst


# ----------------------------------------------- the false-fail audit of chapter 2
def _random_start_quantities(seed: int) -> dict:
    """The chapter's random-start ensemble (40 networks, hidden 16, eta 2e-3, 4000
    steps) from 40 fresh seeds: |corrected half-time error| of each level group and
    the bare mode-2 error, per network."""
    seeds = 40 * seed + np.arange(40)
    with ld.single_threaded():
        ens = dl.train_seeds(TOY, seeds, hidden=16, eta=2e-3, steps=4000,
                             record=np.arange(0, 4001, 2))
    comp = np.abs(dl.seed_half_time_errors(ens, orthogonalise=True))
    bare = dl.seed_half_time_errors(ens, orthogonalise=False)
    return {"comp0": comp[:, 0], "comp1": comp[:, 1], "comp2": comp[:, 2],
            "bare1": bare[:, 1]}


def _wrong_side_failure(values, n: int, threshold: float, end: str) -> tuple:
    """(wrong-side rate, its Wilson upper bound at ASSERT_Z, the chance that the
    chapter's assert on one end of ``quantile_interval(x, 0.5)`` over n draws fails)
    for an assert ``low > threshold`` (end "low": fails when at least i + 1 draws
    are <= threshold) or ``high < threshold`` (end "high": at least n - j draws
    >= threshold); the tail is the exact binomial one."""
    from learning_dynamics.statistics import interval_assert_failure

    values = np.asarray(values, dtype=float)
    wrong = values <= threshold if end == "low" else values >= threshold
    p_upper = wilson_interval(int(wrong.sum()), wrong.size, z=ASSERT_Z)[1]
    return wrong.mean(), p_upper, interval_assert_failure(n, 0.5, p_upper, side=end)


#: chapter 2's asserts on an end of a median interval: quantity, threshold, end, n
CHAPTER2_INTERVAL_ASSERTS = {
    "comp0": (0.01, "high", 40),  # median_comp: each group's upper end < 0.01
    "comp1": (0.01, "high", 40),
    "comp2": (0.01, "high", 40),
    "bare1": (0.0, "low", 40),  # median_bare_2: the lower end > 0 (mode 2 late)
}


def _random_start_values() -> dict:
    """25 stored blocks of the chapter's 40-network ensemble (seeds 4000-4999; about
    75 s of CPU to remeasure), 2 blocks recomputed each run."""
    from stored_spread import stored_spread

    return stored_spread("deep_linear_random_start_tails", range(100, 125),
                         _random_start_quantities, [100, 124])


@pytest.mark.slow
def test_chapter2_interval_asserts_fail_at_a_random_offset_with_chance_below_1e4():
    """Each chapter assert on an end of ``quantile_interval(x, 0.5)`` over 40 seeds
    fails when enough of them land on the wrong side of its threshold (7 for the
    upper end, 8 for the lower). Over 1000 stored fresh seeds the wrong-side rate's
    Wilson upper bound at ASSERT_Z gives the exact binomial chance; the three groups
    of ``median_comp`` share one assert, so their chances add. The assert keeps its
    power: the bare (uncorrected) mode-2 errors would fail ``< 0.01`` in most blocks
    of 40. Stored: about 75 s of CPU to remeasure; each run recomputes 2 blocks."""
    values = _random_start_values()
    chance = {}
    for name, (threshold, end, n) in CHAPTER2_INTERVAL_ASSERTS.items():
        assert values[name].size >= 1000 and np.all(np.isfinite(values[name])), name
        rate_, p_upper, chance[name] = _wrong_side_failure(values[name], n, threshold,
                                                           end)
        print(f"{name}: wrong side {rate_:.4f}, p_upper {p_upper:.4f}, "
              f"fails with chance {chance[name]:.1e}")
    corrected = chance["comp0"] + chance["comp1"] + chance["comp2"]
    assert corrected <= 1e-4 and chance["bare1"] <= 1e-4, chance
    below = float(np.mean(np.abs(values["bare1"]) < 0.01))  # the bare prediction
    _, j = (int(e) for e in quantile_interval(np.arange(40.0), 0.5))
    assert _binomial_tail(40, below, j + 1) < 0.05, below


def _median_block_quantities(block: int) -> dict:
    """One block of the per-draw values behind chapter 2's plain medians: a fresh
    Neuromatch tree (data seed ``block``, as an offset moves the chapter's) with
    100 network pairs (seeds 100 block ...), and 100 category-in-noise networks."""
    tree = dl.branching_diffusion(branching=2, depth=3, flip_prob=0.15,
                                  n_features=10_000, seed=block)
    nma = dl.add_property(tree, "has_bones", [-1, 1, 1, 1, -1, -1, -1, -1],
                          rename={"Goldfish": "Shark"})
    tau = dl.tau_from_hyperparameters(100.0, loss="torch_mse", n_samples=8,
                                      n_outputs=nma.y.shape[0])
    with ld.single_threaded():
        sample = dl.stage_sample(nma, 100 * block + np.arange(100), eta=1 / tau,
                                 steps=250, item=nma.item_names.index("Shark"))
    return {"output_error": sample.output_error.ravel(),
            "rsm_error": sample.rsm_error.ravel(),
            "rsm_correlation": sample.rsm_correlation,
            "net_top": _noise_network_agreement(100 * block + np.arange(100))}


#: chapter 2's plain medians (np.median): quantity, threshold, failing side, n.
#: "above": the assert median < threshold fails when n/2 draws lie at or above it;
#: "below": median >= (or >) threshold fails when n/2 draws lie below it
CHAPTER2_PLAIN_MEDIANS = {
    "output_error": (0.1, "above", 40),  # illusion_median < 0.1
    "rsm_error": (3.5e-3, "above", 40),  # rsm_median < 3.5e-3
    "rsm_correlation": (0.99, "below", 20),  # corr_median > 0.99
    "net_top": (0.8, "below", 20),  # np.median(net_top) >= 0.8
}


@pytest.mark.slow
def test_chapter2_plain_medians_fail_at_a_random_offset_with_chance_below_1e4():
    """The chapter's medians of 40 networks or 20 pairs (np.median, even n) cross
    their threshold only if n/2 draws lie beyond it. 10 stored blocks, each on its
    own Neuromatch tree (an offset moves the chapter's data too): 2000 networks,
    1000 pairs, 1000 category-in-noise networks; about 2 min of CPU to remeasure,
    one block recomputed each run (about 12 s).

    Pooled over blocks, the wrong-side rate's Wilson bound at ASSERT_Z gives the
    binomial chance (the chapter-6 rule). The two 40-network medians depend on the
    tree: their share beyond the old thresholds (0.07, 1.5e-3) ran from 1 % to 24 %
    and from 1.5 % to 72 % between data sets, so for them the chance is averaged
    over the data sets, each at its own Wilson bound (at 1.5e-3 that average was
    0.24 at the trees' Wilson bounds, about 0.14 at their point estimates: roughly
    one offset in seven); the rsm correlation and net_top rates stay below 6 % in
    every block."""
    from stored_spread import stored_spread

    values = stored_spread("deep_linear_median_tails", range(300, 310),
                           _median_block_quantities, [300])
    for name, (threshold, side, n) in CHAPTER2_PLAIN_MEDIANS.items():
        v = values[name]
        assert v.size >= 1000 and np.all(np.isfinite(v)), name
        wrong = v >= threshold if side == "above" else v < threshold
        p_upper = wilson_interval(int(wrong.sum()), wrong.size, z=ASSERT_Z)[1]
        chance = _binomial_tail(n, p_upper, n // 2)
        blocks = wrong.reshape(10, -1)
        if name in ("output_error", "rsm_error"):
            chance = max(chance, float(np.mean([_binomial_tail(n, wilson_interval(
                int(b.sum()), b.size, z=ASSERT_Z)[1], n // 2) for b in blocks])))
        print(f"{name}: {int(wrong.sum())}/{wrong.size} wrong side (blocks "
              f"{blocks.mean(1).round(3).tolist()}), fails with chance {chance:.1e}")
        assert blocks.mean(1).max() < 0.25 and chance <= 1e-4, (name, chance)
    # the chapter's single network: RSM error < 1e-2, a margin over these 2000
    assert values["rsm_error"].max() < 0.6e-2, values["rsm_error"].max()
