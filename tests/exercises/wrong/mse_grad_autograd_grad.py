"""Calls ``torch.autograd.grad`` on the caller's own ``a`` (switching its gradients on): right
numbers, but not by hand, and the caller's tensor is changed."""

import torch

EXERCISE = 3
CAUGHT_BY = ("test_mse_grad_is_worked_out_by_hand",)


def mse_grad(x, y, a):
    a.requires_grad_(True)
    (grad,) = torch.autograd.grad(((x @ a - y) ** 2).mean(), a)
    return grad
