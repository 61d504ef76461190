"""Sums the squared errors instead of averaging them."""

EXERCISE = 2
CAUGHT_BY = ("test_mse_is_the_mean_of_squared_errors", "test_mse_is_a_mean_not_a_sum")


def mse(y_hat, y):
    return ((y_hat - y) ** 2).sum()
