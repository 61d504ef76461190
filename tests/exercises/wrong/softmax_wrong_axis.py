"""Normalises over the rows (dim=0) instead of the classes."""


EXERCISE = 9
CAUGHT_BY = ("test_softmax_matches_torch", "test_softmax_rows_sum_to_one")


def softmax(logits):
    e = (logits - logits.max(dim=0, keepdim=True).values).exp()
    return e / e.sum(dim=0, keepdim=True)
