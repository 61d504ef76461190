"""The mean absolute error: abs() instead of the square."""

EXERCISE = 2
CAUGHT_BY = ("test_mse_is_the_mean_of_squared_errors", "test_a_constant_miss_by_c_costs_c_squared")


def mse(y_hat, y):
    return (y_hat - y).abs().mean()
