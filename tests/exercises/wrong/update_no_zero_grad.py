"""Forgets ``a.grad.zero_()``: the second step uses the sum of both gradients."""

import torch

EXERCISE = 4
CAUGHT_BY = ("test_update_resets_the_gradient", "test_two_updates_take_two_steps")


def update(x, y, a, lr):
    loss = ((x @ a - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        a -= lr * a.grad
    return loss.item()
