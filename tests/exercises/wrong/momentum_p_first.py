"""Moves the parameter with the old velocity, then updates the velocity."""

import torch

EXERCISE = 6
CAUGHT_BY = ("test_momentum_step_matches_torch_optim_sgd",
             "test_momentum_step_updates_the_velocity_first",
             "test_momentum_with_beta_zero_is_plain_sgd")


def momentum_step(params, velocities, lr, beta):
    with torch.no_grad():
        for p, v in zip(params, velocities, strict=True):
            p -= lr * v
            v.mul_(beta).add_(p.grad)
            p.grad.zero_()
