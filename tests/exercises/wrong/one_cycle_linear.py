"""Straight lines instead of cosines in both halves."""

EXERCISE = 11
CAUGHT_BY = ("test_one_cycle_is_cosine_in_both_halves",)


def one_cycle_lr(pct, max_lr, div=25.0, div_final=1e5, pct_start=0.25):
    if pct < pct_start:
        start, end, t = max_lr / div, max_lr, pct / pct_start
    else:
        start, end, t = max_lr, max_lr / div_final, (pct - pct_start) / (1 - pct_start)
    return start + (end - start) * t
