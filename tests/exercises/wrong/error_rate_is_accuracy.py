"""error_rate returns the accuracy itself, not 1 − accuracy (accuracy is right)."""

EXERCISE = 8
CAUGHT_BY = ("test_error_rate_is_one_minus_accuracy",)


def accuracy(logits, targets):
    return (logits.argmax(dim=1) == targets).float().mean().item()


def error_rate(logits, targets):
    return accuracy(logits, targets)
