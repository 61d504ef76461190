"""Exercise 8: ``accuracy`` is the fraction of rows whose largest logit is the target class;
``error_rate`` is ``1 − accuracy``.

Oracle: logits built so that exactly the chosen rows are right (the accuracy is known before
the function runs), plus invariances: repeating rows, and any per-row increasing transform of
the logits (softmax, scaling, shifting), leave the accuracy unchanged.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given

from exercises.helpers import assert_float_close, exercise_settings
from exercises.strategies import classifications

pytestmark = pytest.mark.ex8


def known_accuracy(correct: list[bool]) -> float:
    return sum(correct) / len(correct)


@exercise_settings
@given(case=classifications())
def test_accuracy_is_the_fraction_of_rows_predicted_right(impl, case):
    logits, targets, correct = case
    assert_float_close(impl.accuracy(logits, targets), known_accuracy(correct),
                       f"in these logits the largest entry of each row is the target in "
                       f"{sum(correct)} of {len(correct)} rows, so accuracy must be "
                       f"{sum(correct)}/{len(correct)}: take argmax over the classes (dim=1) "
                       f"and average the matches", tol=1e-6)


@exercise_settings
@given(case=classifications())
def test_accuracy_is_a_fraction_not_a_count(impl, case):
    logits, targets, _ = case
    once = impl.accuracy(logits, targets)
    twice = impl.accuracy(torch.cat([logits, logits]), torch.cat([targets, targets]))
    assert_float_close(twice, once,
                       "accuracy is a fraction between 0 and 1: repeating every row twice must "
                       "not change it (divide the number of correct rows by n)", tol=1e-6)


@exercise_settings
@given(case=classifications())
def test_accuracy_only_cares_which_logit_is_largest(impl, case):
    logits, targets, _ = case
    expected = impl.accuracy(logits, targets)
    for name, changed in [("softmax", logits.softmax(dim=1)),
                          ("multiplying by 3", 3 * logits),
                          ("adding a different number to each row",
                           logits + torch.arange(len(logits), dtype=logits.dtype)[:, None])]:
        assert_float_close(impl.accuracy(changed, targets), expected,
                           f"{name} keeps the largest logit of every row where it is, so it "
                           f"must not change the accuracy", tol=1e-6)


@exercise_settings
@given(case=classifications())
def test_error_rate_is_one_minus_accuracy(impl, case):
    logits, targets, correct = case
    assert_float_close(impl.error_rate(logits, targets), 1.0 - known_accuracy(correct),
                       f"the model gets {len(correct) - sum(correct)} of {len(correct)} rows "
                       f"wrong here, so error_rate must be "
                       f"{len(correct) - sum(correct)}/{len(correct)} = 1 − accuracy",
                       tol=1e-6)
