"""Forgets the 1/n of the mean: the gradient of the sum of squares."""

EXERCISE = 3
CAUGHT_BY = ("test_mse_grad_matches_finite_differences", "test_mse_grad_is_a_mean_not_a_sum")


def mse_grad(x, y, a):
    return 2 * x.T @ (x @ a - y)
