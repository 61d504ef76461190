"""Exercise 12: ``smooth_losses`` is the learning-rate finder's debiased moving average.

Oracles: the recurrence written out here, a constant sequence (the debiased average of a
constant is that constant from the first step on), and the first value (the loss itself).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.helpers import exercise_settings
from exercises.strategies import small_floats

pytestmark = pytest.mark.ex12

loss_lists = st.lists(small_floats, min_size=1, max_size=12)
betas = st.floats(min_value=0.0, max_value=0.99)


def assert_list_close(got: object, expected: list[float], message: str) -> None:
    if not isinstance(got, list) or not all(isinstance(v, float) for v in got):
        raise AssertionError(f"{message}\n  expected a list of floats, got {got!r}")
    if len(got) != len(expected):
        raise AssertionError(f"{message}\n  expected {len(expected)} values (one per loss), "
                             f"got {len(got)}")
    worst = max(abs(a - b) for a, b in zip(got, expected, strict=True))
    if worst > 1e-9 * max(1.0, *(abs(v) for v in expected)):
        raise AssertionError(f"{message}\n  got:      {got}\n  expected: {expected}\n"
                             f"  largest difference: {worst:.3g}")


@exercise_settings
@given(losses=loss_lists, beta=betas)
def test_smooth_losses_follows_the_debiased_average(impl, losses, beta):
    avg, expected = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        expected.append(avg / (1 - beta ** (i + 1)))
    assert_list_close(impl.smooth_losses(list(losses), beta), expected,
                      f"smooth_losses must be avg = β·avg + (1 − β)·loss from avg = 0, divided "
                      f"by 1 − β^(i+1) at step i (β = {beta})")


@exercise_settings
@given(value=small_floats, count=st.integers(1, 12), beta=betas)
def test_smooth_losses_of_a_constant_is_that_constant(impl, value, count, beta):
    assert_list_close(impl.smooth_losses([value] * count, beta), [value] * count,
                      f"the bias-corrected average of a constant loss {value} is {value} at "
                      f"every step; without the correction 1/(1 − β^(i+1)) the first values "
                      f"are pulled towards 0")


@exercise_settings
@given(losses=loss_lists)
def test_smooth_losses_uses_the_default_beta(impl, losses):
    beta, avg, expected = 0.98, 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        expected.append(avg / (1 - beta ** (i + 1)))
    assert_list_close(impl.smooth_losses(list(losses)), expected,
                      "smooth_losses(losses) must smooth with the default beta = 0.98")
