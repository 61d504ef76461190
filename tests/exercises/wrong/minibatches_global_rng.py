"""``torch.randperm(n)`` without the generator: draws from (and moves) the global random state."""

import torch

EXERCISE = 7
CAUGHT_BY = ("test_minibatches_leaves_the_global_random_state_alone",
             "test_the_same_generator_state_gives_the_same_batches")


def minibatches(n, batch_size, generator):
    return list(torch.randperm(n).split(batch_size))
