"""The learning-rate finder's arithmetic: smooth the noisy losses of a sweep and suggest a
learning rate. Plain floats, shared by :mod:`sgdlab.vision.lr_find` and the exercises.

Smoothing, an exponential moving average corrected for its start at zero::

    avg_i = β·avg_{i−1} + (1 − β)·loss_i,   avg_{−1} = 0
    smoothed_i = avg_i / (1 − β^(i+1))                        (β = 0.98)

Suggestions: ``steepest``, the learning rate where the loss falls fastest per unit of
``log lr`` (slope over ``window`` steps, the middle of the steepest window), and
``minimum_div_10``, the learning rate of the lowest loss divided by 10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sgdlab.checks import check_fraction
from sgdlab.errors import SgdlabError


def _check_beta(beta: float) -> float:
    return check_fraction(beta, "beta", hint="fastai uses 0.98")


def smooth_losses(losses: Sequence[float], beta: float = 0.98) -> list[float]:
    """Bias-corrected exponential moving average of ``losses`` (see the module docstring)."""
    beta = _check_beta(beta)
    avg, smoothed = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        smoothed.append(avg / (1 - beta ** (i + 1)))
    return smoothed


def suggest_lrs(lrs: Sequence[float], losses: Sequence[float],
                window: int = 1) -> tuple[float, float]:
    """``(steepest, minimum_div_10)`` for a finished (already trimmed) sweep.

    The slope at ``i`` spans ``window`` steps (fewer if the sweep is shorter); ``steepest`` is
    ``lrs[i + window // 2]`` for the most negative slope.
    """
    if len(lrs) != len(losses) or len(lrs) < 2:
        raise SgdlabError(f"need at least 2 (lr, loss) points to suggest a learning rate, got "
                          f"{len(lrs)}; the loss diverged almost at once: lower start_lr")
    w = max(1, min(window, len(lrs) - 1))
    slopes = [(losses[i + w] - losses[i]) / (math.log(lrs[i + w]) - math.log(lrs[i]))
              for i in range(len(lrs) - w)]
    steepest = lrs[min(range(len(slopes)), key=slopes.__getitem__) + w // 2]
    minimum = lrs[min(range(len(losses)), key=losses.__getitem__)]
    return steepest, minimum / 10
