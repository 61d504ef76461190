"""Corrects with 1 − β^i instead of 1 − β^(i+1) (and so divides by zero at the start)."""

EXERCISE = 12
CAUGHT_BY = ("test_smooth_losses_follows_the_debiased_average",
             "test_smooth_losses_of_a_constant_is_that_constant")


def smooth_losses(losses, beta=0.98):
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** max(i, 1)))
    return out
