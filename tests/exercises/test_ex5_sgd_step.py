"""Exercise 5: ``sgd_step(params, lr)`` moves every parameter with a gradient by ``−lr·grad``.

Oracle: ``torch.optim.SGD(params, lr)`` on copies of the same parameters and gradients.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given

from exercises.helpers import assert_close, exercise_settings, gradient_is_zeroed, leaf
from exercises.strategies import learning_rates, parameters, seeds, tensors

pytestmark = pytest.mark.ex5


def make_params(pairs):
    """Leaf parameters holding the values, with the gradients already in ``.grad``."""
    params = []
    for value, grad in pairs:
        p = leaf(value)
        p.grad = grad.clone()
        params.append(p)
    return params


def torch_sgd(pairs, lr: float) -> list[torch.Tensor]:
    """The parameters after one step of ``torch.optim.SGD``."""
    params = make_params(pairs)
    torch.optim.SGD(params, lr=lr).step()
    return [p.detach() for p in params]


@exercise_settings
@given(pairs=parameters(), lr=learning_rates)
def test_sgd_step_matches_torch_optim_sgd(impl, pairs, lr):
    params = make_params(pairs)
    impl.sgd_step(params, lr)
    for i, (p, expected) in enumerate(zip(params, torch_sgd(pairs, lr), strict=True)):
        assert_close(p, expected,
                     f"parameter {i} after sgd_step must be p − lr·p.grad (lr = {lr}), as "
                     f"torch.optim.SGD computes it")


@exercise_settings
@given(pairs=parameters(), lr=learning_rates)
def test_sgd_step_changes_the_parameters_in_place(impl, pairs, lr):
    params = make_params(pairs)
    impl.sgd_step(params, lr)
    after = zip(pairs, params, torch_sgd(pairs, lr), strict=True)
    for i, ((value, _), p, expected) in enumerate(after):
        if not torch.equal(expected, value):
            assert not torch.equal(p.detach(), value), (
                f"parameter {i} has a nonzero gradient but sgd_step left it unchanged: change "
                f"the tensor IN PLACE (p -= lr * p.grad under torch.no_grad()); p = p - lr * "
                f"p.grad only renames p inside the loop")


@exercise_settings
@given(pairs=parameters(), lr=learning_rates)
def test_sgd_step_resets_the_gradients(impl, pairs, lr):
    params = make_params(pairs)
    impl.sgd_step(params, lr)
    for i, p in enumerate(params):
        assert gradient_is_zeroed(p), (
            f"after sgd_step the gradient of parameter {i} must be zero (or None), otherwise "
            f"the next backward() adds to it")


@exercise_settings
@given(pairs=parameters(), frozen=tensors((2,)), lr=learning_rates)
def test_sgd_step_skips_parameters_without_a_gradient(impl, pairs, frozen, lr):
    params = make_params(pairs)
    untouched = leaf(frozen)
    impl.sgd_step([untouched, *params], lr)
    assert untouched.grad is None and torch.equal(untouched.detach(), frozen), (
        "a parameter whose .grad is None took no part in the loss: sgd_step must leave it "
        "alone (skip it with `if p.grad is None: continue`)")
    for p, expected in zip(params, torch_sgd(pairs, lr), strict=True):
        assert_close(p, expected, "the parameters that have gradients must still be updated")


def small_model(seed: int) -> torch.nn.Module:
    """A float64 ``nn.Linear(3, 2)`` whose weights come from a private generator."""
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.utils.skip_init(torch.nn.Linear, 3, 2, dtype=torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


@exercise_settings
@given(lr=learning_rates, seed=seeds)
def test_sgd_step_accepts_model_parameters(impl, lr, seed):
    model = small_model(seed)
    twin = copy.deepcopy(model)
    inputs = torch.randn(5, 3, generator=torch.Generator().manual_seed(seed + 1),
                         dtype=torch.float64)
    for m in (model, twin):
        (m(inputs) ** 2).mean().backward()
    impl.sgd_step(model.parameters(), lr)
    torch.optim.SGD(twin.parameters(), lr=lr).step()
    for (name, p), expected in zip(model.named_parameters(), twin.parameters(), strict=True):
        assert_close(p, expected,
                     f"sgd_step(model.parameters(), lr) must update the model's {name}; "
                     f"model.parameters() is a generator, so it can be looped over only once")
        assert gradient_is_zeroed(p), (
            f"sgd_step(model.parameters(), lr) must reset the gradient of the model's {name}; "
            f"model.parameters() is a generator and is empty the second time you loop over it: "
            f"update and zero each parameter in the same loop")
