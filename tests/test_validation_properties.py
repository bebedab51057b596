"""Laws of the shared validators that hold for every input (property-based).

Every rejection names the argument; values inside the accepted range come back
unchanged (as the documented type); values outside it are rejected with the value
in the message; wrong types are ``TypeError``, wrong values ``ValueError``.
"""
from __future__ import annotations

import math
import string

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from learning_dynamics import validation as v

names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=12)
not_numbers = st.one_of(st.text(max_size=5), st.none(),
                        st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))


def _rejects(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value).startswith(name + " ") or f" {name}" in str(info.value), (
        f"message does not name {name!r}: {info.value}")
    return str(info.value)


@given(names, st.integers(-10**6, 10**6), st.integers(-10**6, 10**6),
       st.integers(-10**6, 10**6))
def test_check_int_accepts_exactly_the_closed_range(name, value, low, high):
    assume(low <= high)
    if low <= value <= high:
        out = v.check_int(name, value, minimum=low, maximum=high)
        assert out == value and type(out) is int
    else:
        message = _rejects(lambda: v.check_int(name, value, minimum=low, maximum=high),
                           ValueError, name)
        assert str(value) in message and (str(low) in message or str(high) in message)


@given(names, st.one_of(st.floats(allow_nan=True), st.booleans(), not_numbers))
def test_check_int_rejects_every_non_integer_by_type(name, value):
    _rejects(lambda: v.check_int(name, value), TypeError, name)


@given(names, st.integers(0, 2**64 - 1))
def test_every_64_bit_seed_is_accepted(name, seed):
    assert v.check_seed(name, seed) == seed


@given(names, st.one_of(st.integers(max_value=-1), st.integers(min_value=2**64)))
def test_seeds_outside_64_bits_are_rejected_with_the_limit(name, seed):
    message = _rejects(lambda: v.check_seed(name, seed), ValueError, name)
    assert "18446744073709551615" in message and str(seed) in message


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(names, finite, finite, finite, st.booleans(), st.booleans())
def test_check_float_accepts_exactly_the_stated_interval(name, value, low, high,
                                                         low_in, high_in):
    assume(low <= high)
    above = value > low or (low_in and value == low)
    below = value < high or (high_in and value == high)
    call = lambda: v.check_float(name, value, minimum=low, maximum=high,  # noqa: E731
                                 min_inclusive=low_in, max_inclusive=high_in)
    if above and below:
        out = call()
        assert out == value and type(out) is float
    else:
        message = _rejects(call, ValueError, name)
        assert (">" in message) and ("<" in message)  # both ends are stated


@given(names, st.sampled_from([math.nan, math.inf, -math.inf]))
def test_check_float_rejects_non_finite_values(name, value):
    assert "finite" in _rejects(lambda: v.check_float(name, value), ValueError, name)


@given(names, st.one_of(st.booleans(), not_numbers))
def test_check_float_rejects_non_numbers_by_type(name, value):
    _rejects(lambda: v.check_float(name, value), TypeError, name)


@given(names, st.lists(st.text(max_size=4), min_size=1, max_size=5, unique=True),
       st.text(max_size=4))
def test_check_choice_returns_members_and_lists_the_choices_otherwise(name, choices,
                                                                      value):
    if value in choices:
        assert v.check_choice(name, value, choices) == value
    else:
        message = _rejects(lambda: v.check_choice(name, value, choices), ValueError,
                           name)
        assert all(repr(c) in message for c in choices) and repr(value) in message


@given(names, st.one_of(st.integers(), st.floats(), st.text(max_size=3), st.none()))
def test_check_bool_accepts_only_booleans(name, value):
    _rejects(lambda: v.check_bool(name, value), TypeError, name)


@given(names, st.booleans())
def test_check_bool_returns_booleans(name, value):
    assert v.check_bool(name, np.bool_(value)) is value


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@given(names, hnp.arrays(np.float64, shapes, elements=finite))
def test_check_array_returns_finite_arrays_unchanged(name, array):
    out = v.check_array(name, array, ndim=array.ndim, shape=array.shape)
    np.testing.assert_array_equal(out, array)
    assert out.dtype == np.float64


@given(names, hnp.arrays(np.float64, shapes, elements=finite), st.data())
def test_check_array_names_the_argument_for_any_non_finite_entry(name, array, data):
    index = data.draw(st.tuples(*[st.integers(0, side - 1) for side in array.shape]))
    array[index] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    message = _rejects(lambda: v.check_array(name, array), ValueError, name)
    assert "1 NaN/inf entries" in message


@given(names, hnp.arrays(np.float64, shapes, elements=finite), shapes)
def test_check_array_names_the_argument_for_any_wrong_shape(name, array, wanted):
    assume(tuple(wanted) != array.shape)
    message = _rejects(lambda: v.check_array(name, array, shape=wanted), ValueError,
                       name)
    assert str(array.shape) in message


@given(names, st.lists(st.integers(0, 10**12), min_size=1, max_size=20))
def test_check_times_sorts_and_deduplicates_valid_steps(name, steps):
    out = v.check_times(name, steps)
    assert out.tolist() == sorted(set(steps)) and out.dtype == np.int64


@given(names, st.lists(st.integers(0, 10**6), min_size=1, max_size=20),
       st.integers(0, 10**6))
def test_check_times_rejects_any_step_above_the_maximum(name, steps, maximum):
    if max(steps) <= maximum:
        assert v.check_times(name, steps, maximum=maximum).max() == max(steps)
    else:
        message = _rejects(lambda: v.check_times(name, steps, maximum=maximum),
                           ValueError, name)
        assert f"between 0 and {maximum}" in message


@given(names, st.lists(st.integers(0, 100), min_size=1, max_size=10),
       st.one_of(st.integers(max_value=-1), st.floats(1e19, 1e300)))
def test_check_times_rejects_negative_and_overflowing_steps(name, steps, bad):
    message = _rejects(lambda: v.check_times(name, [*steps, bad]), ValueError, name)
    assert ">= 0" in message


@given(names, st.lists(st.floats(0.01, 0.99), min_size=1, max_size=5))
def test_check_times_rejects_fractional_steps(name, steps):
    _rejects(lambda: v.check_times(name, steps), TypeError, name)


@given(st.sampled_from([math.nan, math.inf, -math.inf]), st.integers(0, 10**9),
       names)
def test_any_non_finite_loss_raises_a_divergence_naming_step_and_knob(loss, step, knob):
    with pytest.raises(v.DivergenceError) as info:
        v.check_finite_loss(loss, step, knob=knob)
    assert f"at step {step}" in str(info.value) and f"reduce {knob}" in str(info.value)


@given(finite, st.integers(0, 10**9))
def test_finite_losses_pass(loss, step):
    v.check_finite_loss(loss, step, knob="eta")


@given(names, st.floats(1, 1e15), st.floats(1, 1e15))
def test_check_memory_refuses_exactly_the_estimates_above_the_limit(name, estimate,
                                                                    limit):
    if estimate <= limit:
        v.check_memory(name, 3, estimate, limit_bytes=limit)
    else:
        message = _rejects(lambda: v.check_memory(name, 3, estimate, limit_bytes=limit),
                           ValueError, name)
        assert "GiB" in message and f"reduce {name}" in message


# No per-example deadline: the machine is shared, and these laws are about messages.
for _name, _test in list(globals().items()):
    if _name.startswith("test_"):
        globals()[_name] = settings(deadline=None)(_test)
