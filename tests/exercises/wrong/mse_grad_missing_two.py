"""Forgets the 2 that the derivative of the square brings down."""

EXERCISE = 3
CAUGHT_BY = ("test_mse_grad_matches_finite_differences",)


def mse_grad(x, y, a):
    return x.T @ (x @ a - y) / len(y)
