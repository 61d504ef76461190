"""Exercise 6: ``momentum_step(params, velocities, lr, beta)`` is heavy-ball momentum.

Oracle: ``torch.optim.SGD(params, lr, momentum=beta)`` (dampening 0) over several steps, fed the
same gradients the way ``backward()`` would (added to ``.grad``).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from exercises.helpers import (
    add_gradient,
    assert_close,
    exercise_settings,
    gradient_is_zeroed,
    leaf,
)
from exercises.strategies import betas, learning_rates, shapes, tensors

pytestmark = pytest.mark.ex6


@st.composite
def histories(draw: st.DrawFn, max_steps: int = 4):
    """Initial values of 1–2 parameters and the gradients they receive at each step."""
    param_shapes = draw(st.lists(shapes, min_size=1, max_size=2))
    values = [draw(tensors(shape)) for shape in param_shapes]
    steps = draw(st.integers(min_value=1, max_value=max_steps))
    grads = [[draw(tensors(shape)) for shape in param_shapes] for _ in range(steps)]
    return values, grads


@exercise_settings
@given(history=histories(), lr=learning_rates, beta=betas)
def test_momentum_step_matches_torch_optim_sgd(impl, history, lr, beta):
    values, grads = history
    params = [leaf(v) for v in values]
    velocities = [torch.zeros_like(v) for v in values]
    twins = [leaf(v) for v in values]
    reference = torch.optim.SGD(twins, lr=lr, momentum=beta)
    for step, step_grads in enumerate(grads, start=1):
        for p, twin, g in zip(params, twins, step_grads, strict=True):
            add_gradient(p, g)
            twin.grad = g.clone()
        impl.momentum_step(params, velocities, lr, beta)
        reference.step()
        after = zip(params, velocities, twins, step_grads, strict=True)
        for i, (p, v, twin, g) in enumerate(after):
            # torch keeps no buffer when beta == 0; the velocity is then the gradient
            assert_close(v, reference.state[twin].get("momentum_buffer", g),
                         f"after step {step} the velocity of parameter {i} must be "
                         f"β·v + p.grad (β = {beta}), updated IN PLACE in the velocities list; "
                         f"no (1 − β) factor", tol=1e-6)
            assert_close(p, twin,
                         f"after step {step} parameter {i} must be p − lr·v with the NEW "
                         f"velocity (lr = {lr}, β = {beta}), as torch.optim.SGD(momentum=β) "
                         f"computes it", tol=1e-6)


@exercise_settings
@given(values=tensors((3,)), velocity=tensors((3,)), grad=tensors((3,)), lr=learning_rates,
       beta=betas)
def test_momentum_step_updates_the_velocity_first(impl, values, velocity, grad, lr, beta):
    p = leaf(values)
    p.grad = grad.clone()
    v = velocity.clone()
    impl.momentum_step([p], [v], lr, beta)
    new_velocity = beta * velocity + grad
    assert_close(v, new_velocity,
                 f"the velocity must become β·v + p.grad (β = {beta}), changed in place "
                 f"(v.mul_(beta).add_(p.grad)); v = beta*v + p.grad only renames v", tol=1e-6)
    assert_close(p, values - lr * new_velocity,
                 "the parameter must move by −lr times the NEW velocity: update v first, "
                 "then p", tol=1e-6)


@exercise_settings
@given(history=histories(max_steps=2), lr=learning_rates)
def test_momentum_with_beta_zero_is_plain_sgd(impl, history, lr):
    values, grads = history
    params = [leaf(v) for v in values]
    velocities = [torch.zeros_like(v) for v in values]
    expected = [v.clone() for v in values]
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            add_gradient(p, g)
        impl.momentum_step(params, velocities, lr, 0.0)
        expected = [e - lr * g for e, g in zip(expected, step_grads, strict=True)]
    for i, (p, e) in enumerate(zip(params, expected, strict=True)):
        assert_close(p, e, f"with β = 0 momentum is plain SGD: parameter {i} must be p − lr·grad "
                           f"after each step", tol=1e-6)


@exercise_settings
@given(history=histories(max_steps=1), lr=learning_rates, beta=betas)
def test_momentum_step_resets_the_gradients(impl, history, lr, beta):
    values, grads = history
    params = [leaf(v) for v in values]
    for p, g in zip(params, grads[0], strict=True):
        p.grad = g.clone()
    impl.momentum_step(params, [torch.zeros_like(v) for v in values], lr, beta)
    for i, p in enumerate(params):
        assert gradient_is_zeroed(p), (
            f"after momentum_step the gradient of parameter {i} must be zero (or None), "
            f"otherwise the next backward() adds to it")
