"""Gives the largest rate to the first group instead of the head (the last group)."""

EXERCISE = 14
CAUGHT_BY = ("test_a_slice_spreads_geometrically",
             "test_a_slice_with_one_number_gives_the_body_a_tenth")


def lrs_for_groups(lr, n_groups):
    if isinstance(lr, slice):
        if lr.start is None:
            return [float(lr.stop)] + [lr.stop / 10] * (n_groups - 1)
        if n_groups == 1:
            return [float(lr.stop)]
        lo, hi = lr.start, lr.stop
        return [hi * (lo / hi) ** (i / (n_groups - 1)) for i in range(n_groups)]
    if isinstance(lr, (list, tuple)):
        return [float(v) for v in lr]
    return [float(lr)] * n_groups
