"""Computes the product in numpy: right numbers, but autograd can no longer reach ``a``."""

import torch

EXERCISE = 1
CAUGHT_BY = ("test_gradients_flow_back_to_a",)


def linear(x, a):
    return torch.from_numpy(x.detach().numpy() @ a.detach().numpy())
