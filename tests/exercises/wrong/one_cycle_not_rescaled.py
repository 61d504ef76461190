"""Uses pct itself as the cosine's position in both halves instead of rescaling it to 0 … 1."""

import math

EXERCISE = 11
CAUGHT_BY = ("test_one_cycle_starts_peaks_and_ends_where_it_should",
             "test_one_cycle_is_cosine_in_both_halves")


def one_cycle_lr(pct, max_lr, div=25.0, div_final=1e5, pct_start=0.25):
    def cosine(start, end, t):
        return end + (start - end) * (1 + math.cos(math.pi * t)) / 2

    if pct < pct_start:
        return cosine(max_lr / div, max_lr, pct)
    return cosine(max_lr, max_lr / div_final, pct)
