"""Forgets to shuffle: the batches come in the order of the data."""

import torch

EXERCISE = 7
CAUGHT_BY = ("test_different_seeds_shuffle_differently",)


def minibatches(n, batch_size, generator):
    return list(torch.arange(n).split(batch_size))
