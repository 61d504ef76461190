"""Picks the smallest logit as the prediction."""

EXERCISE = 8
CAUGHT_BY = ("test_accuracy_is_the_fraction_of_rows_predicted_right",)


def accuracy(logits, targets):
    return (logits.argmin(dim=1) == targets).float().mean().item()


def error_rate(logits, targets):
    return 1.0 - accuracy(logits, targets)
