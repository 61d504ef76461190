"""The learning-rate finder: train briefly with a rising learning rate and watch the loss.

Step ``i`` uses ``lr(i) = start_lr · (end_lr/start_lr)^(i/(num_it−1))`` (every group the same
rate, momentum fixed) on the next training mini-batch, starting the loader over if it has fewer
than ``num_it`` batches. The raw losses are noisy, so they are smoothed with an exponential
moving average and corrected for its start at zero::

    avg_i = β·avg_{i−1} + (1 − β)·loss_i,   avg_{−1} = 0
    smoothed_i = avg_i / (1 − β^(i+1))                        (β = 0.98)

The sweep stops early once ``smoothed_i > 4 · min(smoothed_0..i)`` or it is NaN: past that
point the learning rate is far too high. Afterwards the model's weights (BatchNorm statistics
included), the optimizer's state, the learner's random stream and the training loader's random
stream (its shuffling and augmentation) are put back exactly as they were: the finder only
looks, and a ``fit`` after it sees the same batches as a ``fit`` without it.

Two suggestions, computed on the smoothed curve without its first tenth (tiny rates, noisy
start) and without the point that stopped the sweep:

* ``steepest``: where the loss falls fastest per unit of ``log lr``. The slope is measured
  across a window of ``w = max(1, num_it // 20)`` steps (a fifth of a decade for the default
  sweep), ``(smoothed_{i+w} − smoothed_i) / (log lr_{i+w} − log lr_i)``, and the suggestion is
  the learning rate in the middle of the steepest window, ``lr_{i + w//2}``. (Step-by-step
  differences pick up the smoothing's start-up wobble: on the bears at 64 px they pointed at
  ~1e-6, far left of the real descent around 3e-3.)
* ``minimum_div_10``: the learning rate of the lowest smoothed loss, divided by 10 (the minimum
  itself is already on the edge of too high).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sgdlab.errors import SgdlabError
from sgdlab.lr_suggest import (  # noqa: F401 (re-exported: one source)
    _check_beta,
    smooth_losses,
    suggest_lrs,
)
from sgdlab.style import SCREEN, FigureStyle, new_figure, save_styled
from sgdlab.vision.schedule import sweep_schedule

if TYPE_CHECKING:
    from sgdlab.vision.learner import Learner

#: The sweep stops once the smoothed loss exceeds this many times its best value.
STOP_FACTOR = 4.0


@dataclass
class LRFinderResult:
    """What the finder saw.

    Attributes:
        lrs: the learning rate of each step taken.
        losses: the smoothed, bias-corrected loss of each step.
        raw_losses: the mini-batch loss of each step, before its update.
        steepest, minimum_div_10: the two suggestions (see the module docstring).
        stopped_early: True when the loss diverged before ``num_it`` steps.
    """

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    steepest: float
    minimum_div_10: float
    stopped_early: bool

    def plot(self, path: str | os.PathLike, style: FigureStyle = SCREEN) -> Path:
        """Smoothed loss against learning rate (log axis), suggestions marked, as a PNG.

        The y-axis shows the interesting part (:func:`loss_limits`): a final divergence that
        runs far above the first loss goes off the top, and the plot says where it went.
        ``style``: e.g. :data:`~sgdlab.style.PROJECTOR` for a 1280x720 slide.
        """
        points = [(lr, loss) for lr, loss in zip(self.lrs, self.losses, strict=True)
                  if math.isfinite(loss)]
        fig = new_figure(style, (6, 4))
        ax = fig.subplots()
        ax.plot([p[0] for p in points], [p[1] for p in points], lw=1.5)
        log_lrs = [math.log(p[0]) for p in points]
        for lr, marker, name in ((self.steepest, "ro", "steepest"),
                                 (self.minimum_div_10, "gs", "minimum/10")):
            y = _interp(math.log(lr), log_lrs, [p[1] for p in points])
            ax.plot([lr], [y], marker, markersize=8, label=f"{name}: {lr:.2e}")
        ax.set_xscale("log")
        ax.set(xlabel="learning rate (log scale)", ylabel="smoothed training loss",
               title="Learning-rate finder")
        low, high, clipped = loss_limits(self.losses)
        ax.set_ylim(low, high)
        if clipped:
            ax.text(0.98, 0.97, off_the_top(self.lrs, self.losses), transform=ax.transAxes,
                    ha="right", va="top", fontsize="small", color="0.3",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        ax.legend(loc="lower left")
        return save_styled(fig, path, style)


#: the margins of :func:`loss_limits`, as fractions of the fall from the first loss to the best
MARGIN_BELOW, MARGIN_ABOVE = 0.1, 0.1


def loss_limits(losses: Sequence[float]) -> tuple[float, float, bool]:
    """``(low, high, clipped)``: the y-limits of a finder's smoothed curve.

    The interesting part is the fall from the first loss to the lowest: with ``fall = first −
    lowest`` the limits are ``lowest − 0.1·fall`` and ``first + 0.1·fall``, so a divergence at
    the end (often thousands of times the first loss) does not squash the fall into a flat
    line. ``clipped`` says that some of the curve is above ``high`` (or not finite). A curve
    that never fell below its first loss is shown whole.
    """
    finite = [float(x) for x in losses if math.isfinite(x)]
    if not finite:
        raise SgdlabError("the finder recorded no finite loss to plot; the model diverged at "
                          "the first step: try a lower --start-lr")
    first, lowest, highest = finite[0], min(finite), max(finite)
    fall = first - lowest
    if fall <= 0:
        pad = 0.05 * (highest - lowest) or 0.05 * abs(lowest) or 0.05
        return lowest - pad, highest + pad, len(finite) < len(losses)
    high = first + MARGIN_ABOVE * fall
    return lowest - MARGIN_BELOW * fall, high, highest > high or len(finite) < len(losses)


def off_the_top(lrs: Sequence[float], losses: Sequence[float]) -> str:
    """Where a clipped curve goes: ``"the curve continues off the top, to 1e+06 at lr 3.2"``."""
    finite = [(loss, lr) for lr, loss in zip(lrs, losses, strict=True) if math.isfinite(loss)]
    if len(finite) < len(losses):
        return "the curve continues off the top (the loss became inf or NaN)"
    loss, lr = max(finite)
    return f"the curve continues off the top, to {loss:.3g} at lr {lr:.2g}"


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    """Linear interpolation in increasing ``xs``, clamped at the ends."""
    if x <= xs[0]:
        return ys[0]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            t = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
            return ys[i - 1] + t * (ys[i] - ys[i - 1])
    return ys[-1]


class _DivergenceWatch:
    """The finder's stop condition: the smoothed loss has passed ``STOP_FACTOR`` times its best,
    or is NaN. It smooths every loss it is shown, as :func:`smooth_losses` does."""

    def __init__(self, beta: float) -> None:
        self.beta, self.avg, self.best = beta, 0.0, math.inf

    def __call__(self, step: int, loss: float) -> bool:
        self.avg = self.beta * self.avg + (1 - self.beta) * loss
        value = self.avg / (1 - self.beta ** step)
        self.best = min(self.best, value)
        return math.isnan(value) or value > STOP_FACTOR * self.best


def lr_find(learn: Learner, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
            stop_div: bool = True, beta: float = 0.98) -> LRFinderResult:
    """Run the finder on ``learn``'s training data; leaves ``learn`` exactly as it was.

    The sweep is an ordinary :meth:`~sgdlab.vision.learner.Learner.fit_schedule` with the
    exponential schedule, every group at the same rate and the learner's momentum, no
    validation, and (with ``stop_div``) the divergence watch as its stop condition, all inside
    ``with learn.restored():``. The smoothing and the suggestions are ``learn.code``'s:
    sgdlab's :func:`smooth_losses` and :func:`suggest_lrs`, or a student's
    (:mod:`sgdlab.vision.impl`); the divergence watch is always sgdlab's.
    """
    schedule = sweep_schedule(learn.n_groups, learn.momentum, num_it, start_lr, end_lr)
    beta = _check_beta(beta)
    if learn.code.lr_find_header():
        learn.log(learn.code.lr_find_header())
    with learn.restored():
        recorder = learn.fit_schedule(num_it, schedule, validate=False,
                                      stop=_DivergenceWatch(beta) if stop_div else None)
    lrs, raw = list(recorder.lrs), list(recorder.losses)
    smoothed = learn.code.smooth(raw, beta)
    diverged = recorder.stopped_at is not None
    end = len(lrs) - 1 if diverged or not math.isfinite(smoothed[-1]) else len(lrs)
    start = num_it // 10 if end - num_it // 10 >= 3 else 0
    steepest, minimum_div_10 = learn.code.suggest(lrs[start:end], smoothed[start:end],
                                                  num_it // 20)
    return LRFinderResult(lrs, smoothed, raw, steepest, minimum_div_10,
                          stopped_early=len(lrs) < num_it)
