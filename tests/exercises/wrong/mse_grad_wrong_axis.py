"""Averages over the coefficients instead of the points: one number per row, not per column."""

EXERCISE = 3
CAUGHT_BY = ("test_mse_grad_has_one_entry_per_coefficient",
             "test_mse_grad_vanishes_at_the_best_fit")


def mse_grad(x, y, a):
    return 2 * (x @ a - y) * x.mean(dim=1)
