"""``v = beta * v + p.grad`` makes a new tensor; the caller's velocities stay zero."""

import torch

EXERCISE = 6
CAUGHT_BY = ("test_momentum_step_matches_torch_optim_sgd",
             "test_momentum_step_updates_the_velocity_first")


def momentum_step(params, velocities, lr, beta):
    with torch.no_grad():
        for p, v in zip(params, velocities, strict=True):
            v = beta * v + p.grad
            p -= lr * v
            p.grad.zero_()
