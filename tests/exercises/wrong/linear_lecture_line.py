"""Hard-codes the lecture's line a₁·x₁ + a₂, assuming the second column is all ones."""

EXERCISE = 1
CAUGHT_BY = ("test_linear_of_a_unit_vector_picks_a_column",)


def linear(x, a):
    return x[:, 0] * a[0] + a[-1]
