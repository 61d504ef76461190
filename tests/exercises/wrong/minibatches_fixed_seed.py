"""Ignores the generator and shuffles with a private one of fixed seed: every epoch the same."""

import torch

EXERCISE = 7
CAUGHT_BY = ("test_different_seeds_shuffle_differently", "test_each_epoch_is_shuffled_anew")


def minibatches(n, batch_size, generator):
    own = torch.Generator().manual_seed(0)
    return list(torch.randperm(n, generator=own).split(batch_size))
