"""Averages the raw differences, so misses in both directions cancel."""

EXERCISE = 2
CAUGHT_BY = ("test_mse_is_symmetric_and_zero_for_perfect_predictions",
             "test_a_constant_miss_by_c_costs_c_squared")


def mse(y_hat, y):
    return (y_hat - y).mean()
