"""``p = p - lr * p.grad`` only renames the loop variable; no parameter changes."""

import torch

EXERCISE = 5
CAUGHT_BY = ("test_sgd_step_changes_the_parameters_in_place",
             "test_sgd_step_matches_torch_optim_sgd")


def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            grad = p.grad.clone()
            p.grad.zero_()
            p = p - lr * grad
