"""Returns the loss after the step instead of the one it differentiated."""

import torch

EXERCISE = 4
CAUGHT_BY = ("test_update_returns_the_loss_before_the_step",)


def update(x, y, a, lr):
    loss = ((x @ a - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        a -= lr * a.grad
        a.grad.zero_()
        return ((x @ a - y) ** 2).mean().item()
