"""Counts the correct rows without dividing by n."""

EXERCISE = 8
CAUGHT_BY = ("test_accuracy_is_the_fraction_of_rows_predicted_right",
             "test_accuracy_is_a_fraction_not_a_count")


def accuracy(logits, targets):
    return float((logits.argmax(dim=1) == targets).sum())


def error_rate(logits, targets):
    return 1.0 - accuracy(logits, targets)
