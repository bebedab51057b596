"""Chapter 3 extension: modular addition with an output scale."""

from __future__ import annotations

import numpy as np
import pytest

import learning_dynamics as ld
from learning_dynamics import lazy_rich as lm


def test_split_is_disjoint_and_covers_all_pairs():
    data = lm.modular_addition_data(p=7, train_fraction=0.6, seed=1)
    both = np.concatenate([data.train, data.test])
    assert np.array_equal(np.sort(both), np.arange(49))
    assert data.train.size == round(0.6 * 49)
    assert np.array_equal(data.labels, (data.a + data.b) % 7)


def test_fast_trainer_matches_autograd_reference():
    kw = dict(
        p=7,
        alphas=[0.5, 2.0],
        width=16,
        train_fraction=0.8,
        steps=30,
        record_every=10,
        eta0=10.0,
        seed=2,
    )
    for centred in (True, False):
        fast = lm.train_modular_addition(centred=centred, **kw)
        ref = lm.train_modular_addition_autograd(centred=centred, **kw)
        assert np.array_equal(fast.steps, ref.steps)
        np.testing.assert_allclose(fast.train_loss, ref.train_loss, rtol=1e-3)
        np.testing.assert_allclose(fast.weight_norm, ref.weight_norm, rtol=1e-4)


def test_centred_output_starts_at_zero():
    res = lm.train_modular_addition(
        p=7, alphas=[1.0, 5.0], width=16, steps=1, record_every=1
    )
    # f(theta0) = 0, so the initial loss is the mean of the squared one-hot targets, 1/p
    np.testing.assert_allclose(res.train_loss[:, 0], 1.0 / 7, rtol=1e-6)


def test_training_pairs_are_fitted():
    res = lm.train_modular_addition(
        p=11,
        alphas=[0.5, 2.0],
        width=64,
        steps=800,
        eta0=10.0,
        record_every=100,
        seed=0,
    )
    assert np.all(res.train_acc[:, -1] == 1.0)
    assert np.all(res.train_loss[:, -1] < res.train_loss[:, 0])


def test_small_alpha_generalises_and_large_alpha_does_not():
    # the chapter's setting (p = 23, N = 100, 90% of the pairs, eta0 = 100),
    # shortened to 600 steps
    res = lm.train_modular_addition(
        alphas=[0.25, 2.0], steps=600, record_every=50, seed=1
    )
    t90 = lm.steps_to_accuracy(res, 0.9)
    assert np.isfinite(t90[0])
    assert np.isinf(t90[1]) and res.test_acc[1, -1] < 0.5
    assert np.all(res.train_acc[:, -1] >= 0.9)


def test_steps_to_accuracy_returns_first_crossing():
    res = lm.ModularResult(
        steps=np.array([0, 10, 20]),
        train_acc=np.array([[0.0, 1.0, 1.0]]),
        test_acc=np.array([[0.1, 0.5, 0.95]]),
        train_loss=np.ones((1, 3)),
        weight_norm=np.ones((1, 3)),
        alphas=np.array([1.0]),
        p=5,
        centred=True,
    )
    assert lm.steps_to_accuracy(res, 0.9)[0] == 20
    assert lm.steps_to_accuracy(res, 0.9, "train")[0] == 10
    assert np.isinf(lm.steps_to_accuracy(res, 0.99)[0])


def test_plot_has_labels_and_title():
    res = lm.train_modular_addition(
        p=5, alphas=[0.5, 1.0], width=8, steps=10, record_every=5, eta0=1.0
    )
    ax = lm.plot_modular([res, res])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_divergence_names_eta0():
    with pytest.raises(ld.DivergenceError, match="eta0"):
        lm.train_modular_addition(
            p=7, alphas=[1.0], width=16, steps=200, eta0=1e6, record_every=1
        )


BAD = [
    (lambda: lm.train_modular_addition(p=2), ValueError, "p must be"),
    (lambda: lm.train_modular_addition(p=7.5), TypeError, "p must be"),
    (lambda: lm.train_modular_addition(p=7, alphas=[]), ValueError, "alphas must"),
    (lambda: lm.train_modular_addition(p=7, alphas=[-1.0]), ValueError, "alphas must"),
    (
        lambda: lm.train_modular_addition(p=7, alphas=[0.0]),
        ValueError,
        "alphas must hold finite values > 0",
    ),
    (
        lambda: lm.train_modular_addition(p=7, alphas=[np.nan]),
        ValueError,
        "alphas must",
    ),
    (lambda: lm.train_modular_addition(p=7, alphas=["x"]), TypeError, "alphas must"),
    (lambda: lm.train_modular_addition(p=7, width=0), ValueError, "width must"),
    (
        lambda: lm.train_modular_addition(p=7, train_fraction=1.0),
        ValueError,
        "train_fraction must",
    ),
    (
        lambda: lm.train_modular_addition(p=7, train_fraction=0.001),
        ValueError,
        "train_fraction must",
    ),
    (lambda: lm.train_modular_addition(p=7, steps=0), ValueError, "steps must"),
    (lambda: lm.train_modular_addition(p=7, eta0=-1.0), ValueError, "eta0 must"),
    (
        lambda: lm.train_modular_addition(p=7, eta0=float("inf")),
        ValueError,
        "eta0 must",
    ),
    (
        lambda: lm.train_modular_addition(p=7, record_every=0),
        ValueError,
        "record_every must",
    ),
    (lambda: lm.train_modular_addition(p=7, centred="yes"), TypeError, "centred must"),
    (lambda: lm.train_modular_addition(p=7, seed=-1), ValueError, "seed must"),
    (
        lambda: lm.train_modular_addition_autograd(p=7, width=-3),
        ValueError,
        "width must",
    ),
    (lambda: lm.steps_to_accuracy("not a result"), TypeError, "result must"),
    (
        lambda: lm.steps_to_accuracy(
            lm.train_modular_addition(p=5, steps=1), which="val"
        ),
        ValueError,
        "which must",
    ),
    (
        lambda: lm.steps_to_accuracy(
            lm.train_modular_addition(p=5, steps=1), level=1.5
        ),
        ValueError,
        "level must",
    ),
    (lambda: lm.plot_modular([]), TypeError, "results must"),
]


@pytest.mark.parametrize("call,exc,match", BAD)
def test_bad_inputs_raise_and_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
