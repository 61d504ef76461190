"""Returns the learning rate of the lowest loss without dividing it by 10."""

import math

EXERCISE = 13
CAUGHT_BY = ("test_suggest_lrs_follows_the_rule",
             "test_suggest_lrs_finds_a_planted_steep_drop_and_the_minimum")


def suggest_lrs(lrs, losses, window=1):
    w = max(1, min(window, len(lrs) - 1))
    slopes = [(losses[i + w] - losses[i]) / (math.log(lrs[i + w]) - math.log(lrs[i]))
              for i in range(len(lrs) - w)]
    best = min(range(len(slopes)), key=slopes.__getitem__)
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return lrs[best + w // 2], lrs[lowest]
