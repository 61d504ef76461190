"""Adds up over the wrong axis: one number per column instead of one per row."""

EXERCISE = 1
CAUGHT_BY = ("test_linear_gives_one_prediction_per_row",
             "test_linear_of_a_unit_vector_picks_a_column",
             "test_linear_treats_rows_independently")


def linear(x, a):
    return (x * a).sum(dim=0)
