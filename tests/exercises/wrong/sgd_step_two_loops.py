"""Updates in one loop and zeroes in a second: a generator such as model.parameters() is
empty the second time, so the gradients are never reset."""

import torch

EXERCISE = 5
CAUGHT_BY = ("test_sgd_step_accepts_model_parameters",)


def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
        for p in params:
            if p.grad is not None:
                p.grad.zero_()
