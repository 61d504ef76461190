"""Scores the largest logit instead of the target's."""

import torch

EXERCISE = 10
CAUGHT_BY = ("test_cross_entropy_matches_torch",)


def cross_entropy(logits, targets):
    log_p = torch.log_softmax(logits, dim=1)
    return -log_p.max(dim=1).values.mean()
