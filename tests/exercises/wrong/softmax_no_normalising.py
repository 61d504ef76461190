"""Returns exp(z − max) without dividing by the row's total."""

EXERCISE = 9
CAUGHT_BY = ("test_softmax_matches_torch", "test_softmax_rows_sum_to_one")


def softmax(logits):
    return (logits - logits.max(dim=-1, keepdim=True).values).exp()
