"""Gets the sign wrong: (y − x a) instead of (x a − y)."""

EXERCISE = 3
CAUGHT_BY = ("test_mse_grad_matches_finite_differences", "test_mse_grad_points_uphill")


def mse_grad(x, y, a):
    return 2 / len(y) * x.T @ (y - x @ a)
