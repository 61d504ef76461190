"""Smooths with β = 0.9 by default instead of fastai's 0.98."""

EXERCISE = 12
CAUGHT_BY = ("test_smooth_losses_uses_the_default_beta",)


def smooth_losses(losses, beta=0.9):
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out
