"""How much an error rate moves by chance alone, and the three tests the rules use.

An error rate measured on ``n`` validation images is ``k/n`` with ``k`` the images it got
wrong. A model that is wrong on each image with probability ``p`` gives ``k ~ Binomial(n, p)``,
so the error rate has the **standard error** ``SE = √(p(1 − p)/n)``: at ``n = 96`` and
``p = 0.18`` that is 0.039, nearly four images. Moving by one or two images means nothing.

Each test is one-sided at level ``ALPHA`` (a model whose true error rate does not change
triggers it in at most ``ALPHA`` of runs), uses the normal approximation to the binomial with
``p`` estimated as ``(k + 1)/(N + 2)`` over the ``N`` image-evaluations compared (never 0 or
1), and subtracts half an image from every difference (the continuity correction, which keeps
the approximation on the safe side for small counts):

* :func:`end_rise` — is the end of the run worse than its best? The mean error of the last
  ``TAIL_EPOCHS`` epochs against the lowest mean of ``BEST_STRETCH_EPOCHS`` consecutive epochs
  before them. The lowest of ``m`` stretches is lower than a typical one (a minimum picks the
  lucky draws), so the test splits ``ALPHA`` among the ``m`` candidates (Bonferroni): the
  rise must exceed ``z · SE_diff + ½/n`` with ``z = Φ⁻¹(1 − ALPHA/m)`` (1.64 for one
  candidate, 2.39 for six, 3.0 for 37) and ``SE_diff = √(p(1−p)/n · (1/w + 1/t))`` for a
  stretch of ``w`` and a tail of ``t`` epochs. Averaging over stretches rather than single
  epochs halves the variance the minimum feeds on. A run must also have *improved* first:
  epoch 1 above the best stretch by the same kind of margin. A run of ``LONG_RUN_EPOCHS`` or
  more is judged at a second scale too, a stretch and a tail of ``T // 5`` epochs each, with
  ``ALPHA`` split between the two scales: a model that stays a little worse for many epochs
  is seen there, where means over more epochs are less noisy. A run that did not (its best was
  at the start, or the fall was within noise) must clear the stricter level
  ``ALPHA_FROM_START``: a noise-only run passes the two tests together rarely, but this one
  alone nearly ``ALPHA`` of the time. Simulated on 96 images (true error 0.05, 0.18 or 0.4,
  4 to 40 epochs, 500 runs each), the rule fires in at most 2.2% of runs of any length; on
  0.30 → 0.10 → 0.25 seen through the same noise it fires in about 3 of 4 runs.
* :func:`error_trend` — is the error rate falling? The least-squares slope ``b`` of the error
  rate against the epoch, whose standard error under constant ``p`` is
  ``SE / √(Σ(t − t̄)²)``; falling when ``b < −z · SE_b`` with ``z = Φ⁻¹(1 − ALPHA)``.
* :func:`chance_test` — has it learned anything? Guessing among ``K`` classes is wrong with
  probability ``c = 1 − 1/K``; the last error rate is "at chance" unless it is below ``c`` by
  more than ``z · √(c(1−c)/n) + ½/n``.

Without ``n_valid`` the tests assume a validation set of only ``SMALL_VALIDATION_SET`` images:
fewer images mean more noise, so this judges only large changes, and every verdict says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from sgdlab.diagnose.verdict import epochs, number

#: Each test may fire on pure noise in at most this fraction of runs.
ALPHA = 0.05
#: The stricter level for a rise that followed no improvement (a run worse than its start):
#: a run that never learned has no other sign to show, so noise alone must rarely make one.
ALPHA_FROM_START = 0.01
#: Without n_valid, changes are judged as if the validation set had only this many images.
SMALL_VALIDATION_SET = 50
#: Epochs at the end of a run compared with its best stretch.
TAIL_EPOCHS = 3
#: Consecutive epochs averaged into the best stretch.
BEST_STRETCH_EPOCHS = 2
#: Runs this long are judged at a second, longer scale as well (see :func:`end_rise`).
LONG_RUN_EPOCHS = 20
#: Half an image: subtracted from every difference of counts (continuity correction).
CONTINUITY_IMAGES = 0.5

_NORMAL = NormalDist()


def critical_z(candidates: int = 1, alpha: float = ALPHA) -> float:
    """``Φ⁻¹(1 − alpha/candidates)``: the bar for the best of ``candidates`` comparisons."""
    return _NORMAL.inv_cdf(1.0 - alpha / max(1, candidates))


@dataclass(frozen=True)
class Noise:
    """The binomial noise of error rates measured on ``n_valid`` images (``None``: unknown)."""

    n_valid: int | None

    @property
    def images(self) -> int:
        """The number of images the tests assume."""
        return self.n_valid if self.n_valid is not None else SMALL_VALIDATION_SET

    @property
    def known(self) -> bool:
        return self.n_valid is not None

    @property
    def half_image(self) -> float:
        return CONTINUITY_IMAGES / self.images

    def rate(self, mean_error: float, epochs_compared: float) -> float:
        """``(k + 1)/(N + 2)`` for ``N`` = ``epochs_compared · images`` evaluations."""
        evaluations = epochs_compared * self.images
        return (mean_error * evaluations + 1.0) / (evaluations + 2.0)

    def standard_error(self, p: float) -> float:
        """``√(p(1 − p)/n)``: the standard error of one epoch's error rate."""
        return math.sqrt(max(p * (1.0 - p), 0.0) / self.images)

    def images_text(self, change: float) -> str:
        """``" (2 images)"`` for a change of the error rate, when ``n_valid`` is known."""
        return f" ({abs(change) * self.images:.2g} images)" if self.known else ""

    def where(self) -> str:
        """``"at 96 validation images"``, or the assumption made without ``n_valid``."""
        if self.known:
            return f"at {self.images} validation image{'s' if self.images != 1 else ''}"
        return f"if there were as few as {self.images} validation images"

    def unknown_note(self) -> str:
        """Why the verdict cannot judge small changes (empty when ``n_valid`` is known)."""
        if self.known:
            return ""
        return (f" Without n_valid (the number of validation images) a change of a few "
                f"images cannot be told from noise: the error rate was judged as if there "
                f"were only {self.images}, so only large changes count.")


@dataclass(frozen=True)
class Rise:
    """The end of a run against its best stretch (0-based epoch indices)."""

    best_first: int
    best_last: int
    best_mean: float
    best_epoch: int
    tail_first: int
    tail_last: int
    tail_mean: float
    candidates: int
    improved: bool
    z: float
    standard_error: float
    margin: float
    sustained: bool
    scales: int = 1

    @property
    def rise(self) -> float:
        return self.tail_mean - self.best_mean

    @property
    def significant(self) -> bool:
        """Every tail epoch above the best stretch, and their mean above it by the margin."""
        return self.sustained and self.rise > self.margin

    def describe_tail(self) -> str:
        count = self.tail_last - self.tail_first + 1
        if count == 1:
            return f"the last epoch ({self.tail_last + 1}) was"
        return f"the last {count} epochs ({self.tail_first + 1}-{self.tail_last + 1}) average"

    def describe_best(self) -> str:
        where = epochs(self.best_first, self.best_last)
        if self.best_first == self.best_last:
            return f"{number(self.best_mean)} at {where}"
        return f"{number(self.best_mean)} in its best stretch ({where})"

    def describe_margin(self, noise: Noise) -> str:
        """``"at 96 validation images a rise must exceed 0.087: 2.39 standard errors ..."``."""
        kind = "stretches" if self.best_last > self.best_first else "epochs"
        at = (f" at each of {self.scales} window sizes" if self.scales > 1 else "")
        why = (f"picking the best of {self.candidates} {kind}{at} raises the bar from "
               f"{critical_z():.3g}" if self.candidates * self.scales > 1
               else "a one-sided 5% test")
        if not self.improved:
            why += (f"; {ALPHA_FROM_START:.0%} instead of {ALPHA:.0%} false alarms, since the "
                    f"run did not improve before it by more than noise")
        return describe_margin(self.margin, self.z, self.standard_error, why, noise)


def describe_margin(margin: float, z: float, se: float, why: str, noise: Noise) -> str:
    """``"at 96 validation images a rise must exceed 0.087: 2.39 standard errors ..."``."""
    return (f"{noise.where()} a rise must exceed {number(margin)}: {z:.3g} standard errors of "
            f"{number(se)} ({why}), plus half an image")


def end_rise(errors: tuple[float, ...] | list[float], noise: Noise) -> Rise | None:
    """Compare the last epochs with the best stretch before them (module docstring).

    With ``T`` epochs the tail has ``t = min(TAIL_EPOCHS, T − 2)`` epochs and the stretch
    ``w = BEST_STRETCH_EPOCHS`` (1 when fewer than 3 epochs precede the tail); ``None`` for
    fewer than 3 epochs. A run of at least ``LONG_RUN_EPOCHS`` is also judged at a second
    scale, a stretch and a tail of ``T // 5`` epochs each: a model that stays worse for many
    epochs shows it there, since a mean over more epochs has less noise. Trying two scales
    splits ``ALPHA`` between them (Bonferroni again). Returns the significant comparison if
    either is (the short one first), else the one nearer its bar.
    """
    count = len(errors)
    if count < 3:
        return None
    scales = [(BEST_STRETCH_EPOCHS, min(TAIL_EPOCHS, count - 2))]
    if count >= LONG_RUN_EPOCHS:
        scales.append((count // 5, count // 5))
    rises = [_rise_at(errors, noise, width, tail, len(scales)) for width, tail in scales]
    significant = [rise for rise in rises if rise.significant]
    if significant:
        return significant[0]
    return max(rises, key=lambda rise: rise.rise - rise.margin)


def _rise_at(errors: tuple[float, ...] | list[float], noise: Noise, width: int, tail: int,
             scales: int) -> Rise:
    count = len(errors)
    before = count - tail
    width = width if before >= width + 1 else 1
    means = [sum(errors[i:i + width]) / width for i in range(before - width + 1)]
    first = min(range(len(means)), key=means.__getitem__)
    tail_errors = errors[before:]
    tail_mean = sum(tail_errors) / tail
    best_mean = means[first]
    candidates = len(means) * scales
    improved = first > 0 and errors[0] - best_mean > rise_margin(
        best_mean, width, errors[0], 1, candidates, noise)[2]
    alpha = ALPHA if improved else ALPHA_FROM_START
    z, se, margin = rise_margin(best_mean, width, tail_mean, tail, candidates, noise, alpha)
    stretch = range(first, first + width)
    return Rise(
        best_first=first, best_last=first + width - 1, best_mean=best_mean,
        best_epoch=min(stretch, key=errors.__getitem__),
        tail_first=before, tail_last=count - 1, tail_mean=tail_mean, candidates=len(means),
        improved=improved, z=z, standard_error=se, margin=margin,
        sustained=all(e > best_mean for e in tail_errors), scales=scales)


def rise_margin(low: float, low_epochs: int, high: float, high_epochs: int, candidates: int,
                noise: Noise, alpha: float = ALPHA) -> tuple[float, float, float]:
    """``(z, SE_diff, margin)`` for a mean over ``high_epochs`` epochs against the lowest of
    ``candidates`` means over ``low_epochs`` epochs: ``margin = z · SE_diff + ½/n`` with
    ``z = Φ⁻¹(1 − alpha/candidates)`` and ``SE_diff = SE(p) · √(1/low_epochs + 1/high_epochs)``.
    """
    pooled = (low * low_epochs + high * high_epochs) / (low_epochs + high_epochs)
    p = noise.rate(pooled, low_epochs + high_epochs)
    se = noise.standard_error(p) * math.sqrt(1.0 / low_epochs + 1.0 / high_epochs)
    z = critical_z(candidates, alpha)
    return z, se, z * se + noise.half_image


@dataclass(frozen=True)
class Trend:
    """The least-squares slope of the error rate per epoch and its standard error."""

    slope: float
    standard_error: float
    z: float

    @property
    def falling(self) -> bool:
        return self.slope < -self.z * self.standard_error

    def describe(self, noise: Noise) -> str:
        return (f"a trend of {number(self.slope)} per epoch, more than {self.z:.3g} standard "
                f"errors of {number(self.standard_error)} below zero {noise.where()}")


def error_trend(errors: tuple[float, ...] | list[float], noise: Noise) -> Trend | None:
    """The slope ``b = Σ(t − t̄)(e_t − ē) / Σ(t − t̄)²`` and ``SE_b``; ``None`` for one epoch."""
    count = len(errors)
    if count < 2:
        return None
    mean_t, mean_e = (count - 1) / 2, sum(errors) / count
    spread = sum((t - mean_t) ** 2 for t in range(count))
    slope = sum((t - mean_t) * (e - mean_e) for t, e in enumerate(errors)) / spread
    se = noise.standard_error(noise.rate(mean_e, count)) / math.sqrt(spread)
    return Trend(slope, se, critical_z())


@dataclass(frozen=True)
class Chance:
    """The last error rate against guessing among ``classes`` classes."""

    classes: int
    error: float
    margin: float

    @property
    def level(self) -> float:
        return 1.0 - 1.0 / self.classes

    @property
    def at_chance(self) -> bool:
        return self.error >= self.level - self.margin

    def describe(self, noise: Noise) -> str:
        """``"the error rate 0.66 is within noise of 0.6667, the error rate of guessing..."``."""
        relation = "above" if self.error > self.level else "within noise of"
        return (f"the error rate {number(self.error)} is {relation} {number(self.level)}, the "
                f"error rate of guessing among {self.classes} classes; {noise.where()} a model "
                f"must beat that by more than {number(self.margin)} ({critical_z():.3g} "
                f"standard errors plus half an image) to show it learned anything")


def chance_test(error: float, classes: int, noise: Noise) -> Chance:
    """Is ``error`` within noise of (or above) the chance level ``1 − 1/classes``?"""
    level = 1.0 - 1.0 / classes
    margin = critical_z() * noise.standard_error(level) + noise.half_image
    return Chance(classes, error, margin)
