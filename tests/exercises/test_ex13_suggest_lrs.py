"""Exercise 13: ``suggest_lrs`` picks the steepest descent and the minimum divided by 10.

Oracles: a curve built so that the answer is known (one steep step planted in a gentle slope, one
lowest point), the same rule written out here for random curves, and the window's centring.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.helpers import assert_float_close, exercise_settings
from exercises.strategies import small_floats

pytestmark = pytest.mark.ex13


def sweep(count: int) -> list[float]:
    return [1e-4 * 10 ** (i / 4) for i in range(count)]


def rule(lrs: list[float], losses: list[float], window: int) -> tuple[float, float]:
    w = max(1, min(window, len(lrs) - 1))
    slopes = [(losses[i + w] - losses[i]) / (math.log(lrs[i + w]) - math.log(lrs[i]))
              for i in range(len(lrs) - w)]
    best = min(range(len(slopes)), key=slopes.__getitem__)
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return lrs[best + w // 2], lrs[lowest] / 10


@exercise_settings
@given(count=st.integers(4, 12), data=st.data())
def test_suggest_lrs_finds_a_planted_steep_drop_and_the_minimum(impl, count, data):
    drop = data.draw(st.integers(0, count - 2), label="drop")
    lowest = data.draw(st.integers(0, count - 1), label="lowest")
    lrs = sweep(count)
    losses = [5.0 - 0.01 * i for i in range(count)]
    for i in range(drop + 1, count):
        losses[i] -= 1.0
    losses[lowest] = -10.0 if lowest != drop + 1 else losses[lowest] - 20.0
    steepest, minimum = rule(lrs, losses, 1)
    got = impl.suggest_lrs(lrs, losses)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"suggest_lrs must return a pair (steepest, minimum_div_10), got {got!r}")
    assert_float_close(got[0], steepest, "steepest must be the learning rate where the loss "
                       "FALLS fastest per unit of log lr (the most negative slope)", tol=1e-12)
    assert_float_close(got[1], lrs[lowest] / 10, f"minimum_div_10 must be the learning rate of "
                       f"the lowest loss (lrs[{lowest}]) divided by 10", tol=1e-12)
    assert minimum == lrs[lowest] / 10


@exercise_settings
@given(losses=st.lists(small_floats, min_size=2, max_size=12), window=st.integers(1, 6))
def test_suggest_lrs_follows_the_rule(impl, losses, window):
    lrs = sweep(len(losses))
    got = impl.suggest_lrs(lrs, list(losses), window)
    steepest, minimum = rule(lrs, losses, window)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"suggest_lrs must return a pair (steepest, minimum_div_10), got {got!r}")
    assert_float_close(got[0], steepest,
                       f"with window = {window}: w = max(1, min(window, len − 1)), the slope "
                       f"(losses[i+w] − losses[i]) / (log lrs[i+w] − log lrs[i]) and steepest "
                       f"= lrs[i + w//2] of the most negative slope (the first on ties)",
                       tol=1e-12)
    assert_float_close(got[1], minimum, "minimum_div_10 must be the learning rate of the lowest "
                       "loss (the first on ties) divided by 10", tol=1e-12)


@exercise_settings
@given(scale=st.floats(min_value=1e-3, max_value=1e3))
def test_suggest_lrs_measures_slopes_in_log_lr(impl, scale):
    lrs = [1e-3, 1e-2, 2e-2, 1.0]
    losses = [3.0, 2.0, 1.5, 1.0]
    losses = [scale * v for v in losses]
    got = impl.suggest_lrs(lrs, losses)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"suggest_lrs must return a pair (steepest, minimum_div_10), got {got!r}")
    assert_float_close(got[0], rule(lrs, losses, 1)[0],
                       "the sweep is exponential, so slopes are per unit of LOG lr: from 1e-2 "
                       "to 2e-2 the loss drops 0.5 over log 2 (the steepest), even though per "
                       "unit of lr the first step looks steeper", tol=1e-12)
