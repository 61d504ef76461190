"""One function per problem: each reads an epoch table and returns a verdict or ``None``.

:func:`sgdlab.diagnose.diagnose` tries them in the order of ``RULES``; the statistics they
share are in :mod:`sgdlab.diagnose.noise`. Losses are only ever compared with losses (so
multiplying all of them by a constant changes no verdict), except in the one check that needs
``n_classes``: a cross-entropy of ``ln K`` is what guessing among ``K`` classes scores.
"""

from __future__ import annotations

import math

from sgdlab.diagnose.noise import Noise, chance_test, end_rise, error_trend
from sgdlab.diagnose.table import EpochTable
from sgdlab.diagnose.verdict import REMEDIES, Diagnosis, number, percent, times, verdict

#: A train loss this many times its lowest earlier value (and above epoch 1's) has exploded.
TRAIN_LOSS_JUMP_FACTOR = 100.0
#: A validation loss this many times its lowest earlier value (and above epoch 1's) has
#: exploded.
VALID_LOSS_JUMP_FACTOR = 100.0
#: In epoch 1, a validation loss this many times that epoch's train loss has exploded (the
#: lecture's lr 0.5 run: 1.1e9 against 12.2).
FIRST_VALID_OVER_TRAIN_FACTOR = 100.0
#: A train loss falling by less than this fraction per epoch (on average) is barely moving.
SLOW_LOSS_RATE = 0.02
#: A last-epoch fall in validation loss of at least this fraction means it is still improving;
#: a loss this fraction above its lowest value has risen.
VALID_LOSS_STEP = 0.10
#: Losses that never get below this fraction of ``ln K`` are no better than a uniform guess.
CHANCE_LOSS_FRACTION = 0.95


def noise_of(table: EpochTable) -> Noise:
    return Noise(table.n_valid)


def train_loss_rate(table: EpochTable) -> float:
    """Average fractional fall of the train loss per epoch, ``1 − (t_n/t_1)^(1/(n−1))``."""
    first, last = table.train_losses[0], table.train_losses[-1]
    if first <= 0 or len(table) < 2:
        return 0.0
    return 1.0 - (last / first) ** (1.0 / (len(table) - 1))


def valid_loss_step(table: EpochTable) -> float:
    """Fraction by which the last epoch cut the validation loss (negative: it rose)."""
    before, after = table.valid_losses[-2], table.valid_losses[-1]
    return (before - after) / before if before > 0 else 0.0


# --------------------------------------------------------------------------------------------
# The rules, in the order diagnose tries them


def lr_too_high(table: EpochTable) -> Diagnosis | None:
    """A NaN/inf loss, or a loss that jumped by a ``*_JUMP_FACTOR`` past where it started.

    The train (validation) loss explodes when it exceeds ``TRAIN_LOSS_JUMP_FACTOR``
    (``VALID_LOSS_JUMP_FACTOR``) times its lowest earlier value *and* its epoch-1 value; in
    epoch 1 the validation loss is compared with that epoch's train loss
    (``FIRST_VALID_OVER_TRAIN_FACTOR``). Being above epoch 1 keeps a memorising run, whose train
    loss goes from 0.003 back to 0.3, from counting: an explosion leaves the model worse than
    where it started.
    """
    lowest_train = lowest_valid = math.inf
    first_train, first_valid = table.train_losses[0], table.valid_losses[0]
    for epoch, (train, valid, err) in enumerate(table.rows, start=1):
        err_text = f" (error rate {number(err)})" if math.isfinite(err) else ""
        for name, loss in (("train", train), ("validation", valid)):
            if not math.isfinite(loss):
                return verdict("lr_too_high", f"At epoch {epoch} the {name} loss became "
                               f"{loss}{err_text}: the weights blew up.")
        if (0 < lowest_train < math.inf and train > TRAIN_LOSS_JUMP_FACTOR * lowest_train
                and train > first_train):
            return verdict("lr_too_high", (
                f"At epoch {epoch} the train loss jumped to {number(train)}, "
                f"{times(train, lowest_train)} its lowest earlier value "
                f"{number(lowest_train)} and above the {number(first_train)} of epoch 1"
                f"{err_text}."))
        if epoch == 1:
            exploded = train > 0 and valid > FIRST_VALID_OVER_TRAIN_FACTOR * train
            reference, what = train, "the train loss of that epoch"
        else:
            exploded = (lowest_valid > 0 and valid > VALID_LOSS_JUMP_FACTOR * lowest_valid
                        and valid > first_valid)
            reference, what = lowest_valid, "its lowest earlier value"
        if exploded:
            return verdict("lr_too_high", (
                f"At epoch {epoch} the validation loss exploded to {number(valid)}, "
                f"{times(valid, reference)} {what} ({number(reference)}){err_text}."))
        lowest_train, lowest_valid = min(lowest_train, train), min(lowest_valid, valid)
    return None


def too_many_epochs(table: EpochTable) -> Diagnosis | None:
    """The last epochs are worse than the run's best stretch by more than noise.

    :func:`~sgdlab.diagnose.noise.end_rise`: every one of the last ``TAIL_EPOCHS`` epochs is
    above the best stretch, and their mean is above it by more than the Bonferroni margin (at
    the stricter ``ALPHA_FROM_START`` when the run did not improve before its best). A
    worse stretch in the middle that the run recovers from is a bump (one-cycle's high
    learning rates make them), not overfitting: only the end of the run counts, since the end
    is the model you keep.
    """
    noise = noise_of(table)
    rise = end_rise(table.error_rates, noise)
    if rise is None or not rise.significant:
        return None
    first = table.error_rates[0]
    if rise.improved:
        story = (f"The error rate fell from {number(first)} at epoch 1 to "
                 f"{rise.describe_best()}, then rose:")
        extra = ""
    else:
        start = "was lowest at the start" if rise.best_first == 0 else (
            f"did not fall by more than noise from the {number(first)} of epoch 1")
        story = f"The error rate {start} ({rise.describe_best()}) and then rose:"
        extra = (" (or keep the epochs and lower the learning rate: here the epochs after "
                 "the first made the model worse)")
    evidence = (f"{story} {rise.describe_tail()} {number(rise.tail_mean)}, "
                f"{number(rise.rise)}{noise.images_text(rise.rise)} above that"
                f"{', and every one of them is worse' if rise.tail_last > rise.tail_first else ''}"
                f". That is more than noise: {rise.describe_margin(noise)}."
                f"{noise.unknown_note()}")
    remedy = (f"{REMEDIES['too_many_epochs']} Here that is about {rise.best_epoch + 1} "
              f"epoch{'s' if rise.best_epoch else ''}{extra}. Augmentation, dropout and "
              f"weight decay also delay overfitting.")
    return verdict("too_many_epochs", evidence, remedy)


def lr_too_low(table: EpochTable) -> Diagnosis | None:
    """The train loss barely moves, stays above the validation loss, and the model learns
    slowly or not at all.

    At least two epochs; the train loss falls by less than ``SLOW_LOSS_RATE`` per epoch on
    average and ends above the validation loss; and the error rate is falling (a significant
    downward trend, :func:`~sgdlab.diagnose.noise.error_trend`) or still at chance
    (:func:`not_learning`'s test). A trained model fine-tuned further, whose train loss is
    held up by augmentation or label smoothing, shows the same slow train loss with a flat
    error rate far below chance: a larger learning rate is not its cure.
    """
    if len(table) < 2:
        return None
    (t0, _, e0), (t1, v1, e1) = table.rows[0], table.rows[-1]
    rate = train_loss_rate(table)
    if rate >= SLOW_LOSS_RATE or t1 <= v1:
        return None
    noise = noise_of(table)
    trend = error_trend(table.error_rates, noise)
    chance = _chance_evidence(table, noise)
    if trend.falling:
        how = f"the error rate went from {number(e0)} to {number(e1)}, {trend.describe(noise)}"
    elif chance is not None:
        how = f"the model is no better than chance: {chance}"
    else:
        return None
    return verdict("lr_too_low", (
        f"Over {len(table)} epochs the train loss barely moved ({number(t0)} to {number(t1)}, "
        f"{percent(rate)} per epoch on average) and stays above the validation loss "
        f"({number(t1)} vs {number(v1)}); {how}.{noise.unknown_note()}"))


def too_few_epochs(table: EpochTable) -> Diagnosis | None:
    """The train loss ends above the validation loss, after one epoch or while the last epoch
    still cut the validation loss by ``VALID_LOSS_STEP`` or more."""
    train, valid, err = table.rows[-1]
    if train <= valid:
        return None
    ratio = times(train, valid)
    chance = _chance_evidence(table, noise_of(table))
    chance_text = f" It has learned nothing yet: {chance}." if chance else ""
    if len(table) == 1:
        return verdict("too_few_epochs", (
            f"Only one epoch, and its train loss {number(train)} is {ratio} the validation "
            f"loss {number(valid)} (error rate {number(err)}): the model has barely started."
            f"{chance_text}"))
    step = valid_loss_step(table)
    if step < VALID_LOSS_STEP:
        return None
    return verdict("too_few_epochs", (
        f"After {len(table)} epochs the train loss {number(train)} is {ratio} the validation "
        f"loss {number(valid)}, and the last epoch still cut the validation loss by "
        f"{percent(step)} (from {number(table.valid_losses[-2])}): it is still improving. The "
        f"train loss falls {percent(train_loss_rate(table))} per epoch, so the learning rate "
        f"is not what holds it back.{chance_text}"))


def not_learning(table: EpochTable) -> Diagnosis | None:
    """The last error rate is at chance (or worse), or the losses never beat a uniform guess.

    With ``K = n_classes``: the last error rate is not below ``1 − 1/K`` by more than noise
    (:func:`~sgdlab.diagnose.noise.chance_test`), or neither the train nor the validation
    loss ever got below ``CHANCE_LOSS_FRACTION · ln K`` (the cross-entropy of predicting
    ``1/K`` for every class is ``ln K``). Without ``n_classes`` chance is unknown, so only an
    error rate of 1 (every validation image wrong, worse than guessing among any number of
    classes) counts.
    """
    noise = noise_of(table)
    chance = _chance_evidence(table, noise)
    if chance is None:
        return None
    return verdict("not_learning", (
        f"After {len(table)} epoch{'s' if len(table) > 1 else ''} {chance}."
        f"{noise.unknown_note()}"))


def _chance_evidence(table: EpochTable, noise: Noise) -> str | None:
    """Why the model is at chance, or ``None`` when it has learned something (or we can't
    tell)."""
    last = table.error_rates[-1]
    if table.n_classes is None:
        if last >= 1.0 - 1e-9:
            return ("every validation image is wrong (error rate 1): worse than guessing, "
                    "whatever the number of classes")
        return None
    chance = chance_test(last, table.n_classes, noise)
    if chance.at_chance:
        return chance.describe(noise)
    uniform = math.log(table.n_classes)
    floor = CHANCE_LOSS_FRACTION * uniform
    if min(table.train_losses) >= floor and min(table.valid_losses) >= floor:
        return (f"the train and validation losses never got below {number(floor)} "
                f"({CHANCE_LOSS_FRACTION:g} × ln {table.n_classes}; a uniform guess among "
                f"{table.n_classes} classes scores ln {table.n_classes} = {number(uniform)})")
    return None


def below_chance_note(table: EpochTable) -> str:
    """For a run judged fine: a hint to pass ``n_classes`` when its error rate is high."""
    if table.n_classes is None and table.error_rates[-1] >= 0.5:
        return (f" An error rate of {number(table.error_rates[-1])} may be no better than "
                f"guessing: pass n_classes= to compare it with chance.")
    return ""


RULES = (lr_too_high, too_many_epochs, lr_too_low, too_few_epochs, not_learning)
