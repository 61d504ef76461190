"""Forgets to zero the gradients, so the next backward() adds to them."""

import torch

EXERCISE = 5
CAUGHT_BY = ("test_sgd_step_resets_the_gradients",)


def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
