"""Climbs the loss: ``a += lr * a.grad``."""

import torch

EXERCISE = 4
CAUGHT_BY = ("test_update_moves_a_in_place_against_the_gradient",
             "test_update_fits_the_lecture_line")


def update(x, y, a, lr):
    loss = ((x @ a - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        a += lr * a.grad
        a.grad.zero_()
    return loss.item()
