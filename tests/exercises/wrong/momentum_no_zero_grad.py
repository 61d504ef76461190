"""Forgets to zero the gradients; backward() then adds each new gradient to the old ones."""

import torch

EXERCISE = 6
CAUGHT_BY = ("test_momentum_step_resets_the_gradients",
             "test_momentum_step_matches_torch_optim_sgd")


def momentum_step(params, velocities, lr, beta):
    with torch.no_grad():
        for p, v in zip(params, velocities, strict=True):
            v.mul_(beta).add_(p.grad)
            p -= lr * v
