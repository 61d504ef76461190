"""Draws indices with replacement: some rows twice, others never."""

import torch

EXERCISE = 7
CAUGHT_BY = ("test_every_index_appears_exactly_once",)


def minibatches(n, batch_size, generator):
    return list(torch.randint(n, (n,), generator=generator).split(batch_size))
