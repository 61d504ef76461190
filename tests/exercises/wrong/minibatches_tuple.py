"""Returns the tuple that ``Tensor.split`` gives instead of a list."""

import torch

EXERCISE = 7
CAUGHT_BY = ("test_minibatches_returns_a_list_of_index_tensors",)


def minibatches(n, batch_size, generator):
    return torch.randperm(n, generator=generator).split(batch_size)
