"""Rebinds ``a`` to a new tensor inside the function; the caller's ``a`` never moves."""

import torch

EXERCISE = 4
CAUGHT_BY = ("test_update_moves_a_in_place_against_the_gradient",)


def update(x, y, a, lr):
    loss = ((x @ a - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        grad = a.grad.clone()
        a.grad.zero_()
        a = a - lr * grad
    return loss.item()
