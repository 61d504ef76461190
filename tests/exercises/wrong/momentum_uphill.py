"""``p += lr * v``: steps up the loss instead of down (the bears' training test uses it too)."""

import torch

EXERCISE = 6
CAUGHT_BY = ("test_momentum_step_matches_torch_optim_sgd",)


def momentum_step(params, velocities, lr, beta):
    with torch.no_grad():
        for p, v in zip(params, velocities, strict=True):
            v.mul_(beta).add_(p.grad)
            p += lr * v
            p.grad.zero_()
