"""Weights the new loss by β and the old average by 1 − β."""

EXERCISE = 12
CAUGHT_BY = ("test_smooth_losses_follows_the_debiased_average",)


def smooth_losses(losses, beta=0.98):
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = (1 - beta) * avg + beta * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out
