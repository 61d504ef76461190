"""Spreads slice(lo, hi) with equal differences instead of equal ratios."""

EXERCISE = 14
CAUGHT_BY = ("test_a_slice_spreads_geometrically",)


def lrs_for_groups(lr, n_groups):
    if isinstance(lr, slice):
        if lr.start is None:
            return [lr.stop / 10] * (n_groups - 1) + [lr.stop]
        if n_groups == 1:
            return [float(lr.stop)]
        return [lr.start + (lr.stop - lr.start) * i / (n_groups - 1) for i in range(n_groups)]
    if isinstance(lr, (list, tuple)):
        return [float(v) for v in lr]
    return [float(lr)] * n_groups
