"""Exponentiates the logits directly: exp(1000) overflows to inf."""

EXERCISE = 9
CAUGHT_BY = ("test_softmax_is_finite_for_huge_logits",)


def softmax(logits):
    e = logits.exp()
    return e / e.sum(dim=-1, keepdim=True)
