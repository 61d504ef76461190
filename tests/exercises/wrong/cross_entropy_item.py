"""Returns the loss as a Python float: backward() is impossible."""

from torch.nn import functional as F

EXERCISE = 10
CAUGHT_BY = ("test_cross_entropy_matches_torch",
             "test_cross_entropy_gradient_is_softmax_minus_onehot")


def cross_entropy(logits, targets):
    return F.cross_entropy(logits, targets).item()
