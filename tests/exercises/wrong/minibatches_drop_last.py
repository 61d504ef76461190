"""Drops the short last batch, so some rows are never used."""

import torch

EXERCISE = 7
CAUGHT_BY = ("test_batches_are_full_except_the_last", "test_every_index_appears_exactly_once")


def minibatches(n, batch_size, generator):
    order = torch.randperm(n, generator=generator)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
