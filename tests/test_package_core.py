"""Shared core: validation messages, seeding, device, figures, progress, verification,
rates over seeds, self-checks."""
from __future__ import annotations

import math
import random

import matplotlib
import numpy as np
import pytest
import torch

import learning_dynamics as ld
from learning_dynamics import validation as v
from learning_dynamics.exercises import run_check
from learning_dynamics.statistics import binomial_tail_limit, rate, wilson_interval
from learning_dynamics.verification import Claim, verification_table

CASES = [
    (lambda: v.check_int("steps", 2.5), TypeError, "steps must be an integer"),
    (lambda: v.check_int("steps", True), TypeError, "steps must be an integer"),
    (lambda: v.check_int("steps", 0, minimum=1), ValueError,
     r"steps must be an integer >= 1; got 0"),
    (lambda: v.check_int("N", 11, maximum=10), ValueError,
     r"N must be an integer <= 10; got 11"),
    (lambda: v.check_float("alpha", "big"), TypeError, "alpha must be a real number"),
    (lambda: v.check_float("alpha", math.nan), ValueError,
     "alpha must be a finite number"),
    (lambda: v.check_float("alpha", math.inf), ValueError,
     "alpha must be a finite number"),
    (lambda: v.check_float("alpha", 0.0, minimum=0, min_inclusive=False), ValueError,
     r"alpha must be > 0; got 0"),
    (lambda: v.check_probability("rho", 0.5, maximum=0.5, max_inclusive=False),
     ValueError, r"rho must be >= 0 and < 0.5"),
    (lambda: v.check_choice("model", "mlp", ("network", "linearised")), ValueError,
     "model must be one of 'network', 'linearised'; got 'mlp'"),
    (lambda: v.check_bool("prefer_gpu", 1), TypeError,
     "prefer_gpu must be True or False"),
    (lambda: v.check_array("x", [[1.0, np.nan]]), ValueError,
     "x must contain only finite values"),
    (lambda: v.check_array("x", [1.0, 2.0], ndim=2), ValueError,
     "x must be a 2-dimensional array"),
    (lambda: v.check_array("x", np.zeros((2, 3)), shape=(2, 4)), ValueError,
     r"x must have shape \(2, 4\)"),
    (lambda: v.check_array("x", ["a", "b"]), TypeError, "x must be a numeric array"),
    (lambda: v.check_array("x", np.zeros((0, 3))), ValueError, "x must not be empty"),
    (lambda: v.check_seed("seed", -1), ValueError, "seed must be an integer >= 0"),
    (lambda: v.check_seed("seed", 2**64), ValueError,
     "seed must be an integer >= 0 and <= 18446744073709551615; "
     "got 18446744073709551616"),
    (lambda: v.check_times("checkpoints", [0, -3]), ValueError,
     "checkpoints must hold steps >= 0"),
    (lambda: v.check_times("checkpoints", [0.5]), TypeError,
     "checkpoints must hold integer steps"),
    (lambda: v.check_times("checkpoints", [True]), TypeError,
     "checkpoints must hold integer steps"),
    (lambda: v.check_times("checkpoints", [5, 20], maximum=10), ValueError,
     "between 0 and 10"),
    (lambda: v.check_memory("n_inputs", 60000, 27 * 2**30), ValueError,
     r"n_inputs=60000 would need about 27 GiB of memory; the limit is 4 GiB"),
    (lambda: v.check_times("checkpoints", [1e30]), ValueError,  # not wrapped to < 0
     r"checkpoints must hold steps >= 0 \(at most 9223372036854775807\); "
     r"got min 1e\+30"),
]


@pytest.mark.parametrize("call, exc, match", CASES)
def test_validation_errors_name_the_argument_and_the_accepted_range(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_divergence_error_names_step_and_knob():
    with pytest.raises(ld.DivergenceError,
                       match=r"loss became inf at step 37.*reduce eta = 5"):
        v.check_finite_loss(float("inf"), 37, knob="eta = 5", hint="limit 1.3")
    v.check_finite_loss(1.0, 3, knob="eta")  # finite: no error


def test_seed_everything_makes_numpy_torch_and_python_repeatable():
    a = (ld.seed_everything(3).standard_normal(4), torch.randn(3), np.random.rand(),
         random.random())
    b = (ld.seed_everything(3).standard_normal(4), torch.randn(3), np.random.rand(),
         random.random())
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1]) and a[2] == b[2] and a[3] == b[3]


def _global_states():
    return random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()


def test_rejected_seed_leaves_every_generator_untouched():
    ld.seed_everything(5)
    before = _global_states()
    limit = "seed must be an integer >= 0 and <= 18446744073709551615"
    with pytest.raises(ValueError, match=limit):
        ld.seed_everything(2**70)
    after = _global_states()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert torch.equal(before[2], after[2])


def test_largest_seed_seeds_every_generator():
    ld.seed_everything(2**64 - 1)
    first = (random.random(), np.random.rand(), torch.rand(1))
    ld.seed_everything(2**64 - 1)
    assert first[:2] == (random.random(), np.random.rand())
    assert torch.equal(first[2], torch.rand(1))


def test_make_rng_passes_generators_through():
    g = np.random.default_rng(1)
    assert ld.make_rng(g) is g


def test_device_falls_back_to_cpu_and_can_be_forced(monkeypatch):
    monkeypatch.delenv("LEARNING_DYNAMICS_DEVICE", raising=False)
    assert ld.get_device(prefer_gpu=False).type == "cpu"
    monkeypatch.setenv("LEARNING_DYNAMICS_DEVICE", "cpu")
    assert ld.get_device().type == "cpu"


@pytest.mark.parametrize("value, match", [
    ("gpu", "LEARNING_DYNAMICS_DEVICE must be 'cpu', 'cuda'.*got 'gpu'"),
    ("meta", "LEARNING_DYNAMICS_DEVICE must be.*got 'meta'"),
])
def test_unknown_forced_device_names_the_variable(monkeypatch, value, match):
    monkeypatch.setenv("LEARNING_DYNAMICS_DEVICE", value)
    with pytest.raises(ValueError, match=match):
        ld.get_device()


def test_forced_cuda_without_cuda_names_the_environment_variable(monkeypatch):
    monkeypatch.setenv("LEARNING_DYNAMICS_DEVICE", "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="LEARNING_DYNAMICS_DEVICE='cuda'.*no CUDA"):
        ld.get_device()


@pytest.fixture
def restore_torch_threads():
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


def test_threads_never_exceed_available_cores(restore_torch_threads):
    assert 1 <= ld.configure_threads() <= ld.available_cores()
    assert ld.configure_threads(max_threads=1) == 1 == torch.get_num_threads()


@pytest.mark.parametrize(
    "value, expected", [("1", 1), ("", None), ("0", None), ("two", None)])
def test_threads_honour_omp_num_threads_when_it_is_a_positive_integer(
        restore_torch_threads, monkeypatch, value, expected):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert ld.configure_threads() == (expected or ld.available_cores())


@pytest.mark.parametrize("files, cores", [
    ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 cores: a second thread still runs
    ({"cpu.max": "200000 100000\n"}, 2),
    ({"cpu.max": "50000 100000\n"}, 1),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu.max": "garbage\n"}, None),
    ({}, None),
])
def test_cgroup_quota_is_read_from_v2_and_v1_files(tmp_path, files, cores):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert ld.device.cgroup_cpu_limit(tmp_path) == cores


def test_available_cores_respects_the_cgroup_quota(monkeypatch, restore_torch_threads):
    affinity = ld.available_cores()
    monkeypatch.setattr(ld.device, "cgroup_cpu_limit", lambda: 1)
    assert ld.available_cores() == 1 and ld.configure_threads() == 1
    monkeypatch.setattr(ld.device, "cgroup_cpu_limit", lambda: affinity + 7)
    assert ld.available_cores() == affinity  # a quota never adds cores


def test_single_threaded_limits_and_restores_threads():
    before = torch.get_num_threads()
    with ld.device.single_threaded():
        assert torch.get_num_threads() == 1
        np.linalg.eigvalsh(np.eye(50))  # BLAS still works inside
    assert torch.get_num_threads() == before


def _labelled_figure(title="t", xlabel="x", ylabel="y"):
    fig, ax = ld.new_figure()
    ax.plot([0, 1], [0, 1], label="line")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def test_figures_have_opaque_white_background():
    fig = _labelled_figure()
    assert matplotlib.colors.to_rgba(fig.get_facecolor()) == (1.0, 1.0, 1.0, 1.0)


def test_show_figure_emits_alt_text_and_caption(capsys):
    from learning_dynamics.plotting import figure_html

    html = figure_html(_labelled_figure(), alt='a rising line "quoted"',
                       caption="see it rise")
    assert 'alt="a rising line &quot;quoted&quot;"' in html
    assert "<figcaption>see it rise</figcaption>" in html
    ld.show_figure(_labelled_figure(), alt="a straight line rising from 0 to 1")


@pytest.mark.parametrize("kwargs, match", [
    ({"xlabel": ""}, "needs both an x and a y label"),
    ({"title": ""}, "needs a title"),
])
def test_show_figure_refuses_unlabelled_figures(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ld.show_figure(_labelled_figure(**kwargs),
                       alt="a straight line rising from 0 to 1")


def test_show_figure_refuses_missing_alt_text():
    with pytest.raises(ValueError, match="alt must describe the figure"):
        ld.show_figure(_labelled_figure(), alt="")


def test_progress_is_silent_when_disabled(monkeypatch):
    monkeypatch.setenv("LEARNING_DYNAMICS_PROGRESS", "0")
    it = range(3)
    assert ld.progress(it) is it


def test_verification_table_is_stable_text_and_flags_failures():
    table = verification_table([Claim("a", 0.1234567891, "< 1", True),
                                Claim("b", 2.0, "< 1", False)])
    assert repr(table) == "a | 0.123457 | < 1 | ok\nb | 2 | < 1 | FAILED"
    html, _ = table._repr_html_()
    assert "FAILED" in html
    # The reader sees 3 significant digits; the plain text keeps 6.
    assert "<td>0.123</td>" in html
    with pytest.raises(ValueError, match="claims must hold at least one Claim"):
        verification_table([])


def test_self_check_reports_stubs_without_raising(capsys):
    def stub(x):
        raise NotImplementedError("use eq. (1)")

    result = run_check("square", stub, [((2,), {}, 4)])
    assert not result and "not implemented yet — use eq. (1)" in result.message
    assert run_check("square", lambda x: x * x, [((2,), {}, 4), ((3,), {}, 9)])
    assert not run_check("square", lambda x: x + 2, [((3,), {}, 9)])
    assert "case 1" in capsys.readouterr().out


def _wilson_by_bisection(successes, trials, z):
    """The Wilson interval as the set of p with |k/n - p| <= z sqrt(p (1 - p) / n)."""
    observed = successes / trials

    def inside(p):
        return abs(observed - p) <= z * math.sqrt(p * (1 - p) / trials)

    def edge(outside, inner):
        for _ in range(200):
            middle = (outside + inner) / 2
            outside, inner = (outside, middle) if inside(middle) else (middle, inner)
        return inner

    low = 0.0 if inside(0.0) else edge(0.0, observed)
    high = 1.0 if inside(1.0) else edge(1.0, observed)
    return low, high


@pytest.mark.parametrize("successes, trials", [(0, 40), (3, 40), (20, 40), (39, 40),
                                               (40, 40), (1, 1), (517, 1000)])
def test_wilson_interval_solves_the_score_inequality(successes, trials):
    z = 1.959963984540054
    expected = _wilson_by_bisection(successes, trials, z)
    np.testing.assert_allclose(wilson_interval(successes, trials), expected, atol=1e-9)


def test_wilson_interval_covers_the_true_rate_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    p, trials, repeats = 0.3, 60, 4000
    counts = rng.binomial(trials, p, size=repeats)
    covered = [low <= p <= high for low, high in
               (wilson_interval(int(k), trials) for k in counts)]
    # Monte-Carlo error of the coverage: sqrt(0.95 * 0.05 / 4000) = 0.0034; Wilson's
    # coverage at n = 60 oscillates within about 0.93-0.97.
    assert 0.925 < np.mean(covered) < 0.975


def test_rate_counts_true_outcomes_and_prints_its_interval():
    result = rate(np.array([True] * 30 + [False] * 10))
    assert (result.successes, result.trials, result.value) == (30, 40, 0.75)
    assert (result.low, result.high) == wilson_interval(30, 40)
    assert str(result).startswith("30/40 = 0.75 (95 % CI")
    with pytest.raises(ValueError, match="successes must be an integer >= 0 and <= 4"):
        wilson_interval(5, 4)
    with pytest.raises(ValueError, match="outcomes must be a 1-dimensional array"):
        rate(np.ones((2, 2), dtype=bool))


@pytest.mark.parametrize("call, flag", [
    (lambda: v.check_float("x", 1.0, minimum=0.0, min_inclusive=None), "min_inclusive"),
    (lambda: v.check_float("x", 1.0, maximum=2.0, max_inclusive=0), "max_inclusive"),
    (lambda: v.check_probability("p", 0.5, max_inclusive="no"), "max_inclusive"),
    (lambda: v.check_array("a", [1.0], finite=None), "finite"),
])
def test_range_flags_must_be_booleans_not_merely_falsy(call, flag):
    # a flag left as None would silently act as False and widen or narrow the range
    with pytest.raises(TypeError, match=rf"^{flag} must be True or False; got "):
        call()


def test_a_verified_claim_names_its_kind_and_the_source_of_its_tolerance():
    from learning_dynamics.verification import Claim, verification_table

    table = verification_table([
        Claim("rate inside interval", 0.78, "Wilson z = 3.89", True, kind="rate",
              source="binomial bound"),
        Claim("old row", 1.0, "< 2", False)])
    text = repr(table).splitlines()
    assert text[0] == ("rate inside interval | rate | 0.78 | Wilson z = 3.89 | "
                       "binomial bound | ok")
    assert text[1].endswith("FAILED")
    html, meta = table._repr_html_()
    assert "<th>kind</th>" in html
    assert meta["learning_dynamics_claims"][0]["kind"] == "rate"
    with pytest.raises(ValueError, match="kind must be one of"):
        Claim("x", 1.0, "<2", True, kind="guess")


def test_a_self_check_shows_its_verdict_once_in_a_notebook(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    from learning_dynamics.exercises._core import run_check

    shell = InteractiveShell.instance()
    shell.user_ns.update(run_check=run_check)
    shell.run_cell("run_check('square', lambda x: x * x, [((2.0,), {}, 4.0)])")
    out = capsys.readouterr().out
    assert out.count("square") == 1 and "CheckResult" not in out, out


@pytest.mark.parametrize("grid", [(1, 2), (2, 2), (1, 3)])
def test_multi_panel_figures_stack_panels_wide_enough_for_a_laptop(grid):
    from learning_dynamics.plotting import CSS_DPI, narrowest_panel

    fig, axes = ld.new_figure(*grid, width=6.8, height=3.6)
    assert np.shape(axes) == ((grid[1],) if grid[0] == 1 else grid)
    assert narrowest_panel(fig) * CSS_DPI >= 400  # 400 CSS px at a 1280-px window
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_legend_text_is_never_below_ten_css_pixels():
    from learning_dynamics.plotting import (
        CSS_DPI,
        MIN_LEGEND_PT,
        figure_png,
        smallest_legend_font,
    )

    fig, ax = ld.new_figure()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.legend(fontsize=5)
    figure_png(fig)
    assert smallest_legend_font(fig) == MIN_LEGEND_PT
    assert MIN_LEGEND_PT / 72 * CSS_DPI >= 10
    import matplotlib.pyplot as plt
    plt.close(fig)


def _exact_upper_tail(n, p, k):
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize("trials, p_upper, alpha", [
    (40, 0.0025, 1e-4), (40, 0.011955, 1e-4), (40, 0.0075, 1e-4), (40, 1e-15, 1e-4),
    (400, 0.3, 1e-4), (7, 0.5, 0.05), (40, 0.999, 1e-4)])
def test_binomial_tail_limit_is_the_smallest_count_with_exact_tail_below_alpha(
        trials, p_upper, alpha):
    k = binomial_tail_limit(trials, p_upper, alpha=alpha)
    if k <= trials:
        assert _exact_upper_tail(trials, p_upper, k) <= alpha
    assert _exact_upper_tail(trials, p_upper, k - 1) > alpha


def test_binomial_tail_limit_edges_and_the_referees_count():
    assert binomial_tail_limit(40, 0.0025) == 4  # referee's k* for 5/2000
    assert binomial_tail_limit(40, 0.0) == 1
    assert binomial_tail_limit(40, 1.0) == 41


@pytest.mark.parametrize("kwargs, match", [
    ({"trials": 0, "p_upper": 0.1}, "trials"),
    ({"trials": 10**6, "p_upper": 0.1}, "trials"),
    ({"trials": 40, "p_upper": 1.5}, "p_upper"),
    ({"trials": 40, "p_upper": 0.1, "alpha": 0.0}, "alpha")])
def test_binomial_tail_limit_refuses_bad_arguments_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        binomial_tail_limit(**kwargs)


@pytest.mark.parametrize("n, p", [(40, 0.031), (64, 0.5), (20, 0.0), (7, 1.0)])
def test_binomial_tail_is_the_exact_upper_tail(n, p):
    from learning_dynamics.statistics import binomial_tail

    for k in range(n + 2):
        assert binomial_tail(n, p, k) == pytest.approx(_exact_upper_tail(n, p, k),
                                                       rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=-1, p=0.5, k=0), "n must be"), (dict(n=5, p=1.5, k=0), "p must be"),
    (dict(n=5, p=0.5, k=-2), "k must be")])
def test_binomial_tail_refuses_bad_arguments_by_name(kwargs, match):
    from learning_dynamics.statistics import binomial_tail

    with pytest.raises(ValueError, match=match):
        binomial_tail(**kwargs)
