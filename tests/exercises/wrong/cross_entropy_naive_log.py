"""Takes log(exp(z) / Σ exp(z)) directly, which overflows for large logits."""

import torch

EXERCISE = 10
CAUGHT_BY = ("test_cross_entropy_is_stable_for_huge_logits",)


def cross_entropy(logits, targets):
    e = logits.exp()
    p = e / e.sum(dim=1, keepdim=True)
    return -torch.log(p[torch.arange(len(targets)), targets]).mean()
