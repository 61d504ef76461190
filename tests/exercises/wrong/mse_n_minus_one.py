"""Divides by n − 1, like a sample variance, instead of n."""

EXERCISE = 2
CAUGHT_BY = ("test_mse_is_a_mean_not_a_sum",)


def mse(y_hat, y):
    return ((y_hat - y) ** 2).sum() / max(len(y) - 1, 1)
