"""Measures slopes per unit of lr instead of per unit of log lr."""

EXERCISE = 13
CAUGHT_BY = ("test_suggest_lrs_measures_slopes_in_log_lr",)


def suggest_lrs(lrs, losses, window=1):
    w = max(1, min(window, len(lrs) - 1))
    slopes = [(losses[i + w] - losses[i]) / (lrs[i + w] - lrs[i]) for i in range(len(lrs) - w)]
    best = min(range(len(slopes)), key=slopes.__getitem__)
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return lrs[best + w // 2], lrs[lowest] / 10
