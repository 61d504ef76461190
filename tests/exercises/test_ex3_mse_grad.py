"""Exercise 3: ``mse_grad(x, y, a)`` is the gradient of ``mse(x @ a, y)`` with respect to ``a``.

Oracles: central finite differences of the loss in float64 (exact for a quadratic, whatever the
step), the least-squares fit (where the gradient must vanish) and the mean's scaling law. "By
hand" is checked too: autograd must build no graph while ``mse_grad`` runs (a saved-tensors hook
sees every tensor a graph keeps for ``backward``).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given

from exercises.helpers import assert_close, exercise_settings
from exercises.strategies import problems, tensors

pytestmark = pytest.mark.ex3


def loss(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return ((x @ a - y) ** 2).mean()


def finite_differences(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``(L(a + h·eⱼ) − L(a − h·eⱼ)) / 2h`` for each ``j``; exact for a quadratic ``L``."""
    h = 1.0
    steps = torch.eye(len(a), dtype=a.dtype) * h
    return torch.stack([(loss(x, y, a + e) - loss(x, y, a - e)) / (2 * h) for e in steps])


@exercise_settings
@given(problem=problems())
def test_mse_grad_has_one_entry_per_coefficient(impl, problem):
    x, y, a = problem
    grad = impl.mse_grad(x, y, a)
    assert isinstance(grad, torch.Tensor), (
        f"mse_grad must return a tensor, got {type(grad).__name__}")
    assert grad.shape == a.shape, (
        f"the gradient has one entry per coefficient: a has shape {tuple(a.shape)}, so "
        f"mse_grad must too, got {tuple(grad.shape)} (x has shape {tuple(x.shape)}; "
        f"check which side of the product needs xᵀ)")
    assert grad.dtype == a.dtype, (
        f"mse_grad must keep the dtype of its inputs: {a.dtype} in, {a.dtype} out, got "
        f"{grad.dtype}")


@exercise_settings
@given(problem=problems())
def test_mse_grad_matches_finite_differences(impl, problem):
    x, y, a = problem
    before = (x.clone(), y.clone(), a.clone())
    grad = impl.mse_grad(x, y, a)
    assert_close(grad, finite_differences(*before),
                 "mse_grad must be the slope of the loss: nudging aⱼ up and down by h changes "
                 "the loss by 2h·∂L/∂aⱼ. Expected (2/n)·xᵀ(x a − y): check the 2, the 1/n and "
                 "the sign", tol=1e-6)
    assert all(torch.equal(t, t0) for t, t0 in zip((x, y, a), before, strict=True)), (
        "mse_grad must not change x, y or a (no in-place operations)")


@exercise_settings
@given(problem=problems())
def test_mse_grad_vanishes_at_the_best_fit(impl, problem):
    _, _, a = problem
    k = len(a)
    x = torch.cat([torch.eye(k, dtype=torch.float64), problem.x])
    y = torch.cat([a, problem.y])
    best = torch.linalg.lstsq(x, y.unsqueeze(1)).solution.squeeze(1)
    scale = 1.0 + (x.abs().max() ** 2 * best.abs().max() + x.abs().max() * y.abs().max()).item()
    grad = impl.mse_grad(x, y, best)
    assert isinstance(grad, torch.Tensor) and grad.shape == best.shape, (
        "mse_grad must return a tensor shaped like a")
    assert grad.abs().max().item() <= 1e-8 * scale, (
        f"at the least-squares fit a* (the lowest point of the loss) the gradient must be 0, "
        f"got {grad.tolist()} at a* = {best.tolist()}")


@exercise_settings
@given(problem=problems())
def test_mse_grad_is_a_mean_not_a_sum(impl, problem):
    x, y, a = problem
    once = impl.mse_grad(x, y, a)
    twice = impl.mse_grad(torch.cat([x, x]), torch.cat([y, y]), a)
    assert_close(twice, once,
                 "the mse is a MEAN, so its gradient is too: repeating every point twice must "
                 "not change mse_grad (did you forget the 1/n?)", tol=1e-6)


@exercise_settings
@given(x=tensors((4, 2)), shift=tensors((2,)))
def test_mse_grad_points_uphill(impl, x, shift):
    a = torch.tensor([3.0, 2.0], dtype=torch.float64)
    y = x @ a
    grad = impl.mse_grad(x, y, a + shift)
    assert isinstance(grad, torch.Tensor) and grad.shape == shift.shape, (
        "mse_grad must return a tensor shaped like a")
    assert (grad * shift).sum().item() >= 0.0, (
        f"the gradient points uphill, away from the best fit: when a overshoots the true "
        f"coefficients by {shift.tolist()}, the gradient must point the same way (a positive "
        f"dot product), got {grad.tolist()}; check the sign of (x a − y)")


@exercise_settings
@given(problem=problems())
def test_mse_grad_is_worked_out_by_hand(impl, problem):
    x, y, a = problem  # none of them tracks gradients
    saved_for_backward = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved_for_backward.append(tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        grad = impl.mse_grad(x, y, a)
    assert not saved_for_backward and not a.requires_grad, (
        "mse_grad must work the gradient out by hand, with the formula (2/n)·xᵀ(x a − y), but "
        "autograd built a graph while it ran (requires_grad_(), backward() or "
        "torch.autograd.grad): exercise 4 is the one that uses autograd")
    assert isinstance(grad, torch.Tensor) and grad.grad_fn is None and not grad.requires_grad, (
        "mse_grad must return plain numbers computed from x, y and a, not a tensor that "
        "tracks gradients")
