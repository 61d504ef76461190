"""Exercise 14: ``lrs_for_groups`` turns a number, a slice or a list into one learning rate per
layer group.

Oracles: fastai's rules written out here (equal ratios between neighbouring groups for
``slice(lo, hi)``, ``hi/10`` for the body with ``slice(hi)``), and the endpoints.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.helpers import exercise_settings

pytestmark = pytest.mark.ex14

rates = st.floats(min_value=1e-6, max_value=1.0)
group_counts = st.integers(min_value=1, max_value=5)


def assert_rates(got: object, expected: list[float], message: str) -> None:
    if not isinstance(got, list) or not all(isinstance(v, float) for v in got):
        raise AssertionError(f"{message}\n  expected a list of floats, got {got!r}")
    if len(got) != len(expected) or any(
            not math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got, expected, strict=True)):
        raise AssertionError(f"{message}\n  got:      {got}\n  expected: {expected}")


@exercise_settings
@given(lr=rates, n=group_counts)
def test_a_number_is_the_same_rate_for_every_group(impl, lr, n):
    assert_rates(impl.lrs_for_groups(lr, n), [lr] * n,
                 f"a single learning rate {lr} means that rate for all {n} groups")


@exercise_settings
@given(lo=rates, ratio=st.floats(min_value=1.0, max_value=1e4), n=group_counts)
def test_a_slice_spreads_geometrically(impl, lo, ratio, n):
    hi = lo * ratio
    expected = [hi] if n == 1 else [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]
    assert_rates(impl.lrs_for_groups(slice(lo, hi), n), expected,
                 f"slice({lo:g}, {hi:g}) over {n} groups runs from lo (the earliest layers) to "
                 f"hi (the head) with EQUAL RATIOS between neighbours, lo·(hi/lo)^(i/(n−1)), "
                 f"not equal differences")


@exercise_settings
@given(hi=rates, n=group_counts)
def test_a_slice_with_one_number_gives_the_body_a_tenth(impl, hi, n):
    assert_rates(impl.lrs_for_groups(slice(hi), n), [hi / 10] * (n - 1) + [hi],
                 f"slice({hi:g}) means {hi:g} for the head (the last group) and {hi:g}/10 for "
                 f"every other group")


@exercise_settings
@given(values=st.lists(rates, min_size=1, max_size=5))
def test_a_list_is_used_as_given(impl, values):
    assert_rates(impl.lrs_for_groups(tuple(values), len(values)), [float(v) for v in values],
                 "a list or tuple of learning rates gives one per group, as given")
