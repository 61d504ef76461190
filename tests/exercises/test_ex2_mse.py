"""Exercise 2: ``mse(y_hat, y)`` is the mean of the squared differences, as a 0-d tensor.

Oracles: the mean computed with Python floats (``math.fsum``), scaling laws (a constant miss by
``c`` costs ``c²``; repeating the data changes nothing) and autograd's derivative ``2(ŷ − y)/n``.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given

from exercises.helpers import assert_close, exercise_settings, leaf
from exercises.strategies import pairs, small_floats, tensors

pytestmark = pytest.mark.ex2


def python_mse(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The mean of squared differences, with plain Python floats."""
    return math.fsum((p - t) ** 2 for p, t in zip(y_hat.tolist(), y.tolist(), strict=True)) / len(y)


@exercise_settings
@given(pair=pairs())
def test_mse_returns_a_0d_tensor(impl, pair):
    y_hat, y = pair
    loss = impl.mse(y_hat, y)
    assert isinstance(loss, torch.Tensor), (
        f"mse must return a tensor (so that loss.backward() works), got "
        f"{type(loss).__name__}; don't call .item() inside mse")
    assert loss.dim() == 0, (
        f"mse must return a single number, a 0-d tensor, got shape {tuple(loss.shape)}; "
        f"average over all the points")
    assert loss.dtype == y.dtype, (
        f"mse must keep the dtype of its inputs: {y.dtype} in, {y.dtype} out, got {loss.dtype}")


@exercise_settings
@given(pair=pairs())
def test_mse_is_the_mean_of_squared_errors(impl, pair):
    y_hat, y = pair
    before = (y_hat.clone(), y.clone())
    loss = impl.mse(y_hat, y)
    assert_close(loss, torch.tensor(python_mse(*before), dtype=torch.float64),
                 "mse must be (1/n) Σ (ŷᵢ − yᵢ)²: square each difference, then average")
    assert torch.equal(y_hat, before[0]) and torch.equal(y, before[1]), (
        "mse must not change its inputs (no in-place operations such as y_hat -= y)")


@exercise_settings
@given(pair=pairs())
def test_mse_is_a_mean_not_a_sum(impl, pair):
    y_hat, y = pair
    once = impl.mse(y_hat, y)
    twice = impl.mse(torch.cat([y_hat, y_hat]), torch.cat([y, y]))
    assert_close(twice, once,
                 "mse must be the MEAN of squared errors: repeating every point twice must not "
                 "change it (a sum would double; dividing by n − 1 would change it too)")


@exercise_settings
@given(y=tensors((3,)), miss=small_floats)
def test_a_constant_miss_by_c_costs_c_squared(impl, y, miss):
    loss = impl.mse(y + miss, y)
    assert_close(loss, torch.tensor(miss**2, dtype=torch.float64),
                 f"when every prediction misses its target by c = {miss}, the mse must be c² = "
                 f"{miss**2} (square the differences; no absolute value, no square root)",
                 tol=1e-6)


@exercise_settings
@given(pair=pairs())
def test_mse_is_symmetric_and_zero_for_perfect_predictions(impl, pair):
    y_hat, y = pair
    assert_close(impl.mse(y, y), torch.tensor(0.0, dtype=torch.float64),
                 "predictions equal to the targets must have mse 0")
    assert_close(impl.mse(y_hat, y), impl.mse(y, y_hat),
                 "mse(y_hat, y) must equal mse(y, y_hat): a miss costs the same in either "
                 "direction, because the difference is squared")


@exercise_settings
@given(pair=pairs())
def test_mse_sends_gradients_to_the_predictions(impl, pair):
    y_hat, y = pair
    y_hat = leaf(y_hat)
    loss = impl.mse(y_hat, y)
    assert isinstance(loss, torch.Tensor) and loss.requires_grad, (
        "autograd must be able to follow mse back to y_hat: use torch operations on the "
        "tensors (no numpy, no .item(), no Python loop over floats)")
    loss.backward()
    assert_close(y_hat.grad, 2 * (y_hat.detach() - y) / len(y),
                 "the derivative of mse with respect to ŷᵢ must be 2(ŷᵢ − yᵢ)/n")
