"""Exercise 10: ``cross_entropy(logits, targets)`` is the batch mean of −log softmax at the
target.

Oracles: ``torch.nn.functional.cross_entropy`` in float64, autograd's gradient against the
closed form ``(softmax − onehot)/n``, repeating the batch (a mean does not change), and logits
of ±1000 where a naive log(exp) overflows.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from torch.nn import functional as F

from exercises.helpers import assert_close, exercise_settings, leaf
from exercises.strategies import classifications

pytestmark = pytest.mark.ex10


@exercise_settings
@given(case=classifications())
def test_cross_entropy_matches_torch(impl, case):
    logits, targets, _ = case
    loss = impl.cross_entropy(logits, targets)
    assert isinstance(loss, torch.Tensor) and loss.dim() == 0, (
        "cross_entropy must return a 0-d tensor (one number for the batch, not .item())")
    assert_close(loss, F.cross_entropy(logits, targets),
                 "cross_entropy must be the MEAN over rows of log Σⱼ exp(zⱼ) − z_target "
                 "(−log softmax at the target class)", tol=1e-9)


@exercise_settings
@given(case=classifications())
def test_cross_entropy_is_a_mean_not_a_sum(impl, case):
    logits, targets, _ = case
    once = impl.cross_entropy(logits, targets)
    twice = impl.cross_entropy(torch.cat([logits, logits]), torch.cat([targets, targets]))
    assert_close(twice, once, "the loss is a MEAN over the batch: repeating every row twice "
                 "must not change it (use .mean(), not .sum())", tol=1e-9)


@exercise_settings
@given(case=classifications())
def test_cross_entropy_gradient_is_softmax_minus_onehot(impl, case):
    logits, targets, _ = case
    z = leaf(logits)
    loss = impl.cross_entropy(z, targets)
    assert isinstance(loss, torch.Tensor) and loss.requires_grad, (
        "cross_entropy must stay a tensor built from the logits so that backward() works")
    loss.backward()
    by_hand = (torch.softmax(logits, dim=1) - F.one_hot(targets, logits.shape[1])) / len(logits)
    assert_close(z.grad, by_hand, "the gradient of the mean cross-entropy with respect to "
                 "the logits must be (softmax − onehot)/n", tol=1e-9)


@exercise_settings
@given(case=classifications())
def test_cross_entropy_is_stable_for_huge_logits(impl, case):
    logits, targets, _ = case
    huge = torch.where(logits >= 0, 1000.0, -1000.0).to(torch.float64) + logits
    loss = impl.cross_entropy(huge, targets)
    assert isinstance(loss, torch.Tensor) and bool(torch.isfinite(loss)), (
        f"cross_entropy of logits near ±1000 must be finite, got {loss!r}: compute "
        f"log Σ exp(z) as m + log Σ exp(z − m) with m the row's maximum")
    assert_close(loss, F.cross_entropy(huge, targets),
                 "cross_entropy of logits near ±1000 must still be exact", tol=1e-9)
