"""Adds a bias of 1 on top of ``x @ a``, as if the intercept were not already a column of x."""

EXERCISE = 1
CAUGHT_BY = ("test_linear_is_linear_in_a", "test_linear_of_a_unit_vector_picks_a_column")


def linear(x, a):
    return x @ a + 1.0
