"""Adds up the per-row losses instead of averaging them."""

import torch

EXERCISE = 10
CAUGHT_BY = ("test_cross_entropy_is_a_mean_not_a_sum",
             "test_cross_entropy_gradient_is_softmax_minus_onehot")


def cross_entropy(logits, targets):
    log_p = torch.log_softmax(logits, dim=1)
    return -log_p[torch.arange(len(targets)), targets].sum()
