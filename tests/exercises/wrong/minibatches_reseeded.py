"""Restarts from the generator's initial seed each call, so every epoch has the same order."""

import torch

EXERCISE = 7
CAUGHT_BY = ("test_each_epoch_is_shuffled_anew",)


def minibatches(n, batch_size, generator):
    own = torch.Generator().manual_seed(generator.initial_seed())
    return list(torch.randperm(n, generator=own).split(batch_size))
