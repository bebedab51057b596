"""Chapter 4's median asserts: their chance of failing at a random seed offset.

``quantile_interval(x, 0.5)`` bounds the chance that an assert on one of its ends
*passes when the claim is false*.  The chance that it *fails when the claim is true*
is a binomial tail: the assert fails as soon as enough of its ``n`` draws lie on the
wrong side of its threshold.  This module measures, on fresh seeds computed the way
the chapter computes them, the per-draw chance of a wrong-side draw for every median
assert of ``chapters/04_xor_benign_overfitting.ipynb``, bounds it from above by the
Wilson interval at ``ASSERT_Z`` and requires the binomial tail at that bound to be
``<= 1e-4`` (summed where one assert can fail in several ways).  The draws cost
minutes of CPU, so they are stored (``tests/stored_spread.py``) and spot-checked.
"""
from __future__ import annotations

import numpy as np
import pytest
from stored_spread import stored_spread

from learning_dynamics import xor_clusters as xc
from learning_dynamics.statistics import ASSERT_Z, quantile_interval, wilson_interval
from learning_dynamics.statistics import binomial_tail as _binomial_tail

#: The chapter's main configuration (its first code cell).
MAIN = xc.XORConfig(n=100, p=20000, m=200, signal=10.0, rho=0.15, eta=0.08,
                    init_std=1e-6, n_test=1000)
#: The interval level of the chapter's symmetry row (delta at t = 1 holds 0): wider
#: than ASSERT_Z, so that its ends are the 7th smallest and the 6th largest of 40
#: draws (see test_chapter4_median_asserts_fail_at_a_random_offset_below_1e4).
SYMMETRY_Z = 4.2
#: Split for the comparison of two intervals ``weak[1] < main[0]`` (final clean test
#: accuracy, weak signal against main): the assert can fail only if
#: ``weak[1] >= c`` or ``main[0] <= c``, whatever c.  c sets how tight the bound is,
#: not the assert: 0.70 is a round value between the two distributions (every c in
#: [0.70, 0.72] gives a bound below 1e-4 on the stored draws; 0.75 does not).
SPLIT_WEAK = 0.70
#: The chapter's paired comparisons (same data and initialisation on both sides).
STEP_PAIRS = 64        # draws of main minus 4 eta at t = 100

MAIN_BLOCK = 20        # draws per stored block of the full-length quantities
STEP1_BLOCK = 100      # draws per stored block of the t = 1 quantities


def _main_tail_quantities(start: int) -> dict:
    """Per-draw values of every t > 1 median quantity of chapter 4, for the seeds
    ``start .. start + MAIN_BLOCK - 1`` (one seed = one draw, as in the chapter)."""
    seeds = np.arange(start, start + MAIN_BLOCK)
    run = xc.run_xor(MAIN, seeds, [20, 50, 100, 200])
    i200 = run.index(200)
    control = MAIN.replace(n_test=400)
    weak = xc.run_xor(control.replace(signal=1.0), seeds, [200])
    big_step = xc.run_xor(control.replace(eta=4 * MAIN.eta), seeds, [100])
    main_ctrl = xc.run_xor(control, seeds, [100])
    slow = xc.run_xor(MAIN.replace(eta=MAIN.eta / 10, n_test=100), seeds, [200])
    grams = [xc.sample_gram(MAIN.replace(n_test=4), s) for s in seeds]
    splits = [xc.step2_split(g, eta=MAIN.eta) for g in grams]
    parts = {name: np.array([getattr(s, name).min() for s in splits])
             for name in ("delta_step1", "delta_seen", "delta_silent", "delta_step2")}
    seen_share = parts["delta_seen"] - parts["delta_step1"]
    silent_share = parts["delta_silent"] - parts["delta_step1"]
    noisy = [xc.step2_split(xc.sample_gram(MAIN.replace(rho=0.4, n_test=4), s),
                            eta=MAIN.eta) for s in seeds]
    budgets = [xc.self_term_budget(g, eta=MAIN.eta, start=10, stop=200) for g in grams]

    def flipped_over_clean(values, flipped):
        return values[flipped].mean() / values[~flipped].mean()

    shares = np.array([[flipped_over_clean(getattr(b, k), b.flipped)
                        for k in ("loss_weight", "active_fraction")] for b in budgets])
    return {
        "delta_late": run.delta[:, run.steps >= 20].min(axis=(1, 2)),
        "self_gap": run.self_margin[:, i200, 0] - run.self_margin[:, i200, 1],
        "rest_flipped": run.rest_margin[:, i200, 0],
        "main_200": run.test_clean[:, i200],
        "weak_200": weak.test_clean[:, 0],
        "main_100_control": main_ctrl.test_clean[:, 0],
        "step_100": big_step.test_clean[:, 0],
        "slow_200": slow.test_clean[:, 0],
        "silent_minus_seen": silent_share - seen_share,
        "share": silent_share / (parts["delta_step2"] - parts["delta_step1"]),
        "gain_low": np.array([(s.delta_silent - s.delta_step1).min() for s in splits]),
        "gain_high": np.array([(s.delta_silent - s.delta_step1).min() for s in noisy]),
        "nu_vs_g": np.log(shares[:, 1]) - np.log(shares[:, 0]),
        "budget_ratio": np.array([b.measured.sum() / b.predicted.sum()
                                  for b in budgets]),
    }


def _step1_tail_quantities(start: int) -> dict:
    """Per-draw t = 1 quantities of the chapter's main configuration (clean test
    accuracy, delta1, delta2, the correlation with the linear classifier and the
    largest opposite-cluster pair gap), for the seeds ``start .. start +
    STEP1_BLOCK - 1``."""
    run = xc.run_xor(MAIN, np.arange(start, start + STEP1_BLOCK), [1])
    pair_sums = run.cluster_acc[:, 0, [0, 2]] + run.cluster_acc[:, 0, [1, 3]]
    return {"test_t1": run.test_clean[:, 0], "delta1_t1": run.delta[:, 0, 0],
            "delta2_t1": run.delta[:, 0, 1], "corr_t1": run.corr_linear[:, 0],
            "pair_t1": np.abs(pair_sums - 1).max(axis=1)}


#: Every median assert of chapter 4, each as the ways it can fail:
#: (quantity, draws n, interval z, end, relation that must hold, threshold).
#: ``end`` is the order statistic the assert reads ("low" or "high" of
#: quantile_interval(x, 0.5, z=z)); the assert is ``end <relation> threshold``.
CHAPTER4_MEDIAN_ASSERTS = {
    "t1_test (holds 1/2)": [("test_t1", 40, ASSERT_Z, "low", "<=", 0.5),
                            ("test_t1", 40, ASSERT_Z, "high", ">=", 0.5)],
    "delta1_ci (both hold 0)": [
        (q, 40, SYMMETRY_Z, end, rel, 0.0) for q in ("delta1_t1", "delta2_t1")
        for end, rel in (("low", "<="), ("high", ">="))],
    "corr_ci": [("corr_t1", 40, ASSERT_Z, "low", ">=", 0.9)],
    "pair_ci": [("pair_t1", 40, ASSERT_Z, "low", "<=", 0.05)],
    "delta_late_ci": [("delta_late", 40, ASSERT_Z, "low", ">", 0.0)],
    "silent_minus_seen": [("silent_minus_seen", 40, ASSERT_Z, "low", ">", 0.0)],
    "share_ci": [("share", 40, ASSERT_Z, "low", ">=", 0.5)],
    "self_ci": [("self_gap", 40, ASSERT_Z, "low", ">", 0.0)],
    "rest_ci": [("rest_flipped", 40, ASSERT_Z, "high", "<", 0.0)],
    "nu_vs_g": [("nu_vs_g", 40, ASSERT_Z, "low", ">", 0.0)],
    "budget_ci": [("budget_ratio", 40, ASSERT_Z, "low", ">=", 0.9),
                  ("budget_ratio", 40, ASSERT_Z, "high", "<=", 1.1)],
    "weak_final[1] < main_final[0]": [
        ("weak_200", 40, ASSERT_Z, "high", "<", SPLIT_WEAK),
        ("main_200", 40, ASSERT_Z, "low", ">", SPLIT_WEAK)],
    "step_ci (main minus 4 eta, paired)": [
        ("step_gap", STEP_PAIRS, ASSERT_Z, "low", ">", 0.0)],
    "slow_ci": [("slow_200", 64, ASSERT_Z, "low", ">", 0.75)],
    "gain_drop (rho 0.15 minus 0.4, paired)": [
        ("gain_drop", 40, ASSERT_Z, "low", ">", 0.0)],
}


def _paired(values: dict) -> dict:
    """The chapter's paired differences, from the stored per-draw values (one seed,
    the same data and initialisation, on both sides)."""
    return {"step_gap": values["main_100_control"] - values["step_100"],
            "gain_drop": values["gain_low"] - values["gain_high"]}

_HOLDS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}




def wrong_draws_that_fail(n: int, z: float, end: str, relation: str) -> int:
    """How many of ``n`` draws on the wrong side of the threshold make the assert
    ``quantile_interval(x, 0.5, z=z)[end] <relation> threshold`` fail.

    The end is the order statistic ``x_(r)`` (``r`` from 0).  A lower bound
    (``>``, ``>=``) fails when ``x_(r)`` is on the wrong side: ``r + 1`` wrong draws;
    an upper bound (``<``, ``<=``) fails when ``n - r`` draws are."""
    low, high = (int(v) for v in quantile_interval(np.arange(n, dtype=float), 0.5,
                                                   z=z))
    r = low if end == "low" else high
    return r + 1 if relation in (">", ">=") else n - r


def failure_chance(values: np.ndarray, n: int, z: float, end: str, relation: str,
                   threshold: float) -> dict:
    """The measured wrong-side rate of ``values`` and the assert's failure chance at
    its Wilson upper bound (ASSERT_Z)."""
    wrong = int(np.sum(~_HOLDS[relation](values, threshold)))
    p_upper = wilson_interval(wrong, values.size, z=ASSERT_Z)[1]
    k = wrong_draws_that_fail(n, z, end, relation)
    return {"wrong": wrong, "draws": values.size, "p_upper": p_upper, "k": k,
            "chance": _binomial_tail(n, p_upper, k)}


def test_wrong_draw_counts_match_the_order_statistics_of_the_interval():
    # n = 40 at ASSERT_Z: ends x_(7), x_(33); "low > c" fails at 8 draws <= c,
    # "low <= c" at 33 draws > c, "high < c" at 7 draws >= c, "high >= c" at 34
    # draws < c.  Checked against brute force on random samples.
    assert [wrong_draws_that_fail(40, ASSERT_Z, e, r) for e, r in
            (("low", ">"), ("low", "<="), ("high", "<"), ("high", ">="))] == [8, 33,
                                                                           7, 34]
    assert [wrong_draws_that_fail(40, SYMMETRY_Z, e, r) for e, r in
            (("low", "<="), ("high", ">="))] == [34, 35]
    rng = xc.make_rng(0)
    for _ in range(300):
        n = int(rng.integers(20, 70))
        x = rng.normal(size=n)
        c = float(rng.normal())
        for end in ("low", "high"):
            value = quantile_interval(x, 0.5)[0 if end == "low" else 1]
            for relation, holds in _HOLDS.items():
                wrong = int(np.sum(~holds(x, c)))
                k = wrong_draws_that_fail(n, ASSERT_Z, end, relation)
                assert bool(holds(value, c)) == (wrong < k), (n, end, relation)


@pytest.mark.slow
def test_chapter4_median_asserts_fail_at_a_random_offset_below_1e4():
    """Each median assert of chapter 4 fails when at least k of its n draws fall on
    the wrong side of its threshold.  Over >= 1000 stored fresh draws per quantity
    (4000 for the cheap t = 1 quantities: two asserts test a median *at* the
    threshold, and 2 % of draws fall below corr_ci's 0.9)
    the per-draw wrong-side chance has a Wilson upper bound p_u at ASSERT_Z;
    P(Binomial(n, p_u) >= k), summed over the ways one assert can fail, must be
    <= 1e-4.  Stored: about 250 s of CPU to remeasure (both files); the spot checks
    recompute one block of each (about 7 s)."""
    values = {
        **stored_spread("xor_clusters_tails",
                        range(4_000_000, 4_000_000 + 1000, MAIN_BLOCK),
                        _main_tail_quantities, [4_000_000]),
        **stored_spread("xor_clusters_step1_tails",
                        range(4_100_000, 4_100_000 + 4000, STEP1_BLOCK),
                        _step1_tail_quantities, [4_100_000]),
    }
    values.update(_paired(values))
    chance = {}
    for name, ways in CHAPTER4_MEDIAN_ASSERTS.items():
        total = 0.0
        for quantity, n, z, end, relation, threshold in ways:
            v = values[quantity]
            assert v.size >= 1000 and np.all(np.isfinite(v)), quantity
            row = failure_chance(v, n, z, end, relation, threshold)
            total += row["chance"]
            print(f"{name}: {quantity} {end} {relation} {threshold}, n = {n}: wrong "
                  f"{row['wrong']}/{row['draws']}, p_u = {row['p_upper']:.4f}, "
                  f"fails at >= {row['k']} wrong, chance {row['chance']:.2e}")
        chance[name] = total
    bad = {k: v for k, v in chance.items() if v > 1e-4}
    assert not bad, bad
