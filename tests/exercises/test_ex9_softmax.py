"""Exercise 9: ``softmax(logits)`` turns each row (the last dimension) into probabilities.

Oracles: ``torch.softmax`` in float64, the definition (rows sum to 1, every entry in [0, 1]),
invariance to adding a constant per row, and logits of ±1000 where a naive exp overflows.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given

from exercises.helpers import assert_close, exercise_settings, show
from exercises.strategies import matrices, small_floats, tensors

pytestmark = pytest.mark.ex9


@exercise_settings
@given(logits=matrices())
def test_softmax_matches_torch(impl, logits):
    before = logits.clone()
    assert_close(impl.softmax(logits), torch.softmax(before, dim=-1),
                 "softmax must be exp(zⱼ) / Σₖ exp(zₖ) along the LAST dimension (each row "
                 "becomes probabilities)", tol=1e-9)
    assert torch.equal(logits, before), "softmax must not change its input (no in-place ops)"


@exercise_settings
@given(logits=matrices())
def test_softmax_rows_sum_to_one(impl, logits):
    p = impl.softmax(logits)
    assert isinstance(p, torch.Tensor) and p.shape == logits.shape, (
        f"softmax must return a tensor shaped like the logits, {tuple(logits.shape)}")
    assert_close(p.sum(dim=-1), torch.ones(len(logits), dtype=torch.float64),
                 "every ROW of softmax must add up to 1: normalise over the last dimension "
                 "(dim=-1), not over the rows (dim=0)", tol=1e-9)


@exercise_settings
@given(logits=matrices(), shift=small_floats)
def test_softmax_ignores_a_constant_added_to_a_row(impl, logits, shift):
    shifts = torch.arange(len(logits), dtype=torch.float64)[:, None] * shift
    assert_close(impl.softmax(logits + shifts), impl.softmax(logits),
                 "adding the same number to every logit of a row cancels in exp(zⱼ)/Σexp(zₖ), "
                 "so it must not change that row's probabilities", tol=1e-9)


@exercise_settings
@given(signs=tensors((3, 2), small_floats))
def test_softmax_is_finite_for_huge_logits(impl, signs):
    logits = torch.where(signs >= 0, 1000.0, -1000.0).to(torch.float64)
    p = impl.softmax(logits)
    assert isinstance(p, torch.Tensor) and bool(torch.isfinite(p).all()), (
        f"softmax of logits ±1000 must be finite, got {show(p)}: exp(1000) overflows to inf, "
        f"so subtract each row's own maximum first")
    assert_close(p, torch.softmax(logits, dim=-1),
                 "softmax of logits ±1000 must still be exact: subtract each row's own maximum")
