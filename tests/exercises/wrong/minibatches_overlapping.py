"""An off-by-one slice: each batch takes one index of the next, duplicating it."""

import torch

EXERCISE = 7
CAUGHT_BY = ("test_every_index_appears_exactly_once",)


def minibatches(n, batch_size, generator):
    order = torch.randperm(n, generator=generator)
    return [order[i:i + batch_size + 1] for i in range(0, n, batch_size)]
