"""Counts a row as right when the target's logit is positive, not when it is the largest."""

EXERCISE = 8
CAUGHT_BY = ("test_accuracy_is_the_fraction_of_rows_predicted_right",
             "test_accuracy_only_cares_which_logit_is_largest")


def accuracy(logits, targets):
    return (logits.gather(1, targets[:, None]) > 0).float().mean().item()


def error_rate(logits, targets):
    return 1.0 - accuracy(logits, targets)
