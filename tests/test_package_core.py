"""Shared helpers: validation messages, seeding, device, figures, progress, verification, self-checks."""
from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

import learning_dynamics as ld
from learning_dynamics import validation as v
from learning_dynamics.exercises import run_check
from learning_dynamics.verification import Claim, verification_table


@pytest.mark.parametrize("call, exc, match", [
    (lambda: v.check_int("steps", 2.5), TypeError, "steps must be an integer"),
    (lambda: v.check_int("steps", True), TypeError, "steps must be an integer"),
    (lambda: v.check_int("steps", 0, minimum=1), ValueError, r"steps must be an integer >= 1; got 0"),
    (lambda: v.check_int("N", 11, maximum=10), ValueError, r"N must be an integer <= 10; got 11"),
    (lambda: v.check_float("alpha", "big"), TypeError, "alpha must be a real number"),
    (lambda: v.check_float("alpha", math.nan), ValueError, "alpha must be a finite number"),
    (lambda: v.check_float("alpha", math.inf), ValueError, "alpha must be a finite number"),
    (lambda: v.check_float("alpha", 0.0, minimum=0, min_inclusive=False), ValueError, r"alpha must be > 0; got 0"),
    (lambda: v.check_probability("rho", 0.5, maximum=0.5, max_inclusive=False), ValueError, r"rho must be >= 0 and < 0.5"),
    (lambda: v.check_choice("model", "mlp", ("network", "linearised")), ValueError, "model must be one of 'network', 'linearised'; got 'mlp'"),
    (lambda: v.check_bool("prefer_gpu", 1), TypeError, "prefer_gpu must be True or False"),
    (lambda: v.check_array("x", [[1.0, np.nan]]), ValueError, "x must contain only finite values"),
    (lambda: v.check_array("x", [1.0, 2.0], ndim=2), ValueError, "x must be a 2-dimensional array"),
    (lambda: v.check_array("x", np.zeros((2, 3)), shape=(2, 4)), ValueError, r"x must have shape \(2, 4\)"),
    (lambda: v.check_array("x", ["a", "b"]), TypeError, "x must be a numeric array"),
    (lambda: v.check_array("x", np.zeros((0, 3))), ValueError, "x must not be empty"),
    (lambda: v.check_seed("seed", -1), ValueError, "seed must be an integer >= 0"),
    (lambda: v.check_times("checkpoints", [0, -3]), ValueError, "checkpoints must hold steps >= 0"),
    (lambda: v.check_times("checkpoints", [0.5]), TypeError, "checkpoints must hold integer steps"),
    (lambda: v.check_times("checkpoints", [5, 20], maximum=10), ValueError, "between 0 and 10"),
])
def test_validation_errors_name_the_argument_and_the_accepted_range(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_divergence_error_names_step_and_knob():
    with pytest.raises(ld.DivergenceError, match=r"loss became inf at step 37.*reduce eta = 5"):
        v.check_finite_loss(float("inf"), 37, knob="eta = 5", hint="limit 1.3")
    v.check_finite_loss(1.0, 3, knob="eta")  # finite: no error


def test_seed_everything_makes_numpy_torch_and_python_repeatable():
    a = (ld.seed_everything(3).standard_normal(4), torch.randn(3), np.random.rand())
    b = (ld.seed_everything(3).standard_normal(4), torch.randn(3), np.random.rand())
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1]) and a[2] == b[2]


def test_make_rng_passes_generators_through():
    g = np.random.default_rng(1)
    assert ld.make_rng(g) is g


def test_device_falls_back_to_cpu_and_can_be_forced(monkeypatch):
    assert ld.get_device(prefer_gpu=False).type == "cpu"
    monkeypatch.setenv("LEARNING_DYNAMICS_DEVICE", "cpu")
    assert ld.get_device().type == "cpu"


def test_threads_never_exceed_available_cores():
    assert 1 <= ld.configure_threads() <= ld.available_cores()
    assert ld.configure_threads(max_threads=1) == 1


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

    html = figure_html(_labelled_figure(), alt='a rising line "quoted"', caption="see it rise")
    assert 'alt="a rising line &quot;quoted&quot;"' in html and "<figcaption>see it rise</figcaption>" in html
    ld.show_figure(_labelled_figure(), alt="a straight line rising from 0 to 1")


@pytest.mark.parametrize("kwargs, match", [
    ({"xlabel": ""}, "needs both an x and a y label"),
    ({"title": ""}, "needs a title"),
])
def test_show_figure_refuses_unlabelled_figures(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ld.show_figure(_labelled_figure(**kwargs), alt="a straight line rising from 0 to 1")


def test_show_figure_refuses_missing_alt_text():
    with pytest.raises(ValueError, match="alt must describe the figure"):
        ld.show_figure(_labelled_figure(), alt="")


def test_progress_is_silent_when_disabled(monkeypatch):
    monkeypatch.setenv("LEARNING_DYNAMICS_PROGRESS", "0")
    it = range(3)
    assert ld.progress(it) is it


def test_verification_table_is_stable_text_and_flags_failures():
    table = verification_table([Claim("a", 0.1234567891, "< 1", True), Claim("b", 2.0, "< 1", False)])
    assert repr(table) == "a | 0.123457 | < 1 | ok\nb | 2 | < 1 | FAILED"
    assert "FAILED" in table._repr_html_()
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
