"""Reports the start of the steepest window, lrs[i], instead of its middle lrs[i + w//2]."""

import math

EXERCISE = 13
CAUGHT_BY = ("test_suggest_lrs_follows_the_rule",)


def suggest_lrs(lrs, losses, window=1):
    w = max(1, min(window, len(lrs) - 1))
    slopes = [(losses[i + w] - losses[i]) / (math.log(lrs[i + w]) - math.log(lrs[i]))
              for i in range(len(lrs) - w)]
    best = min(range(len(slopes)), key=slopes.__getitem__)
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return lrs[best], lrs[lowest] / 10
