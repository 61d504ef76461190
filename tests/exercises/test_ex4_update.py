"""Exercise 4: ``update(x, y, a, lr)`` takes one gradient-descent step on the leaf tensor ``a``.

Oracles: the closed-form gradient ``(2/n)·xᵀ(x a − y)`` computed here in float64, the loss
computed with Python floats, and least squares for a full run on the lecture's line.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given

from exercises.helpers import (
    assert_close,
    assert_float_close,
    exercise_settings,
    gradient_is_zeroed,
    leaf,
)
from exercises.strategies import learning_rates, problems

pytestmark = pytest.mark.ex4


def gradient_step(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, lr: float) -> torch.Tensor:
    """``a − lr·(2/n)·xᵀ(x a − y)``: one exact step of gradient descent on the MSE."""
    return a - lr * (2.0 / len(y)) * (x.T @ (x @ a - y))


@exercise_settings
@given(problem=problems(), lr=learning_rates)
def test_update_returns_the_loss_before_the_step(impl, problem, lr):
    x, y, a0 = problem
    expected = math.fsum(r**2 for r in (x @ a0 - y).tolist()) / len(y)
    loss = impl.update(x, y, leaf(a0), lr)
    assert_float_close(loss, expected,
                       "update must return the loss BEFORE the step, mse(x @ a, y) for the a it "
                       "was given, as a Python float (loss.item())", tol=1e-9)


@exercise_settings
@given(problem=problems(), lr=learning_rates)
def test_update_moves_a_in_place_against_the_gradient(impl, problem, lr):
    x, y, a0 = problem
    a = leaf(a0)
    impl.update(x, y, a, lr)
    if torch.equal(a.detach(), a0) and not torch.equal(gradient_step(x, y, a0, lr), a0):
        raise AssertionError(
            "update must change the caller's tensor a IN PLACE, but a is unchanged; "
            "a = a - lr * a.grad only makes a new tensor inside the function, use "
            "a -= lr * a.grad (or a.sub_) under torch.no_grad()")
    assert_close(a, gradient_step(x, y, a0, lr),
                 f"after update, a must be a − lr·∇L (here lr = {lr}): a step DOWNHILL, of "
                 f"length lr times the gradient", tol=1e-7)


@exercise_settings
@given(problem=problems(), lr=learning_rates)
def test_update_resets_the_gradient(impl, problem, lr):
    x, y, a0 = problem
    a = leaf(a0)
    impl.update(x, y, a, lr)
    assert gradient_is_zeroed(a), (
        f"after update, a.grad must be zero (a.grad.zero_()), otherwise the next backward() "
        f"adds to it; got a.grad = {a.grad.tolist()}")
    assert a.is_leaf and a.requires_grad, (
        "after update, a must still be a leaf tensor that tracks gradients")


@exercise_settings
@given(problem=problems(), lr=learning_rates)
def test_two_updates_take_two_steps(impl, problem, lr):
    x, y, a0 = problem
    a = leaf(a0)
    impl.update(x, y, a, lr)
    second_loss = impl.update(x, y, a, lr)
    a1 = gradient_step(x, y, a0, lr)
    assert_close(a, gradient_step(x, y, a1, lr),
                 "two calls of update must take two gradient steps, the second from where the "
                 "first ended; if the gradient is not reset the second step uses the sum of "
                 "both gradients", tol=1e-6)
    assert_float_close(second_loss, ((x @ a1 - y) ** 2).mean().item(),
                       "the second update must return the loss at the point the first one "
                       "reached", tol=1e-6)


def test_update_fits_the_lecture_line(impl):
    u = torch.linspace(-1.0, 1.0, 20)
    x = torch.stack([u, torch.ones(20)], dim=1)
    y = 3.0 * u + 2.0
    a = torch.tensor([-1.0, 1.0], requires_grad=True)
    losses = [impl.update(x, y, a, 0.1) for _ in range(300)]
    steps = zip(losses, losses[1:], strict=False)
    assert all(later <= earlier + 1e-6 for earlier, later in steps), (
        "with lr = 0.1 on the lecture's line the loss must go down at every step; it went up")
    assert_close(a, torch.tensor([3.0, 2.0]),
                 "300 updates with lr = 0.1 from a = (-1, 1) must find the line y = 3x + 2 "
                 "(the data has no noise, so the fit is exact)", tol=1e-4)
