"""Reads slice(hi) as hi for every group, forgetting the body's tenth."""

EXERCISE = 14
CAUGHT_BY = ("test_a_slice_with_one_number_gives_the_body_a_tenth",)


def lrs_for_groups(lr, n_groups):
    if isinstance(lr, slice):
        if lr.start is None:
            return [float(lr.stop)] * n_groups
        if n_groups == 1:
            return [float(lr.stop)]
        lo, hi = lr.start, lr.stop
        return [lo * (hi / lo) ** (i / (n_groups - 1)) for i in range(n_groups)]
    if isinstance(lr, (list, tuple)):
        return [float(v) for v in lr]
    return [float(lr)] * n_groups
