"""Subtracts the largest logit of the whole tensor, not of each row."""

EXERCISE = 9
CAUGHT_BY = ("test_softmax_is_finite_for_huge_logits",)


def softmax(logits):
    e = (logits - logits.max()).exp()
    return e / e.sum(dim=-1, keepdim=True)
