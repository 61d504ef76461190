"""``diagnose``: the rules in order, and the explanation when none of them fires."""

from __future__ import annotations

import math

from sgdlab.diagnose.noise import (
    Noise,
    critical_z,
    describe_margin,
    end_rise,
    error_trend,
    rise_margin,
)
from sgdlab.diagnose.rules import (
    RULES,
    VALID_LOSS_STEP,
    below_chance_note,
    noise_of,
    valid_loss_step,
)
from sgdlab.diagnose.table import FORMAT_HINT, EpochTable, epoch_table
from sgdlab.diagnose.verdict import Diagnosis, epochs, number, percent, times, verdict
from sgdlab.errors import SgdlabError

#: A worse stretch in the middle of a run is described as a bump when it lasts this long.
BUMP_EPOCHS = 3


def diagnose(rows, *, n_valid: int | None = None, n_classes: int | None = None) -> Diagnosis:
    """Name which of the lecture's problems a per-epoch table shows, with the evidence.

    The rules, tried in this order (each in :mod:`sgdlab.diagnose.rules`):

    1. **lr too high** — a NaN/inf loss, or a loss that jumped 100-fold past where it
       started.
    2. **too many epochs** — the last 3 epochs are all worse than the run's best stretch (the
       lowest mean of 2 consecutive epochs before them) and their mean is worse by more than
       binomial noise allows for ``n_valid`` images: a one-sided normal-approximation test
       at 5%, its bar raised because the best stretch was picked out of many (Bonferroni),
       plus half an image; at 1% for a run that had not improved by more than noise before
       its best (see :mod:`sgdlab.diagnose.noise`). A bump the run recovers from does not
       count: the end of the run is the model you keep.
    3. **lr too low** — the train loss falls by less than 2% per epoch and stays above the
       validation loss while the error rate falls (a downward trend beyond noise) or sits at
       chance. A chance-level run with a barely moving train loss gets this name rather than
       "not learning": the lecture's lr 1e-5 run looks exactly so, and it names the cause.
    4. **too few epochs** — the train loss ends above the validation loss after one epoch, or
       while the last epoch still cut the validation loss by 10% or more.
    5. **not learning** — the last error rate is not below chance ``1 − 1/K`` by more than
       noise, or the losses never got below ``ln K``, the loss of a uniform guess; without
       ``n_classes`` only an error rate of 1 counts.

    Otherwise ``"none"``. A train loss below the validation loss, or a rising validation
    loss, is not on the list: only a worsening error rate means overfitting.

    Without ``n_valid`` the noise of a validation set of only 50 images is assumed, so only
    large changes of the error rate count, and the evidence says so.

    Args:
        rows: the epochs in order, each as an object with attributes ``train_loss``,
            ``valid_loss`` and ``error_rate`` (e.g. ``EpochRow``), a mapping with those keys,
            or a 3-sequence; or a recorder (``.rows``), a learner (``.recorder``), a run record
            (``{"rows": ..., "n_valid": ..., "n_classes": ...}``) or a checkpoint holding one
            under ``"run"``.
        n_valid: validation images behind each error rate; read from the recorder or record
            when not given.
        n_classes: number of classes (for the chance level); read likewise.

    Returns:
        A :class:`Diagnosis`; its evidence quotes the numbers (epochs counted from 1).

    Raises:
        SgdlabError: empty input, a row in none of the accepted forms, or bad counts.
    """
    table = epoch_table(rows, n_valid=n_valid, n_classes=n_classes)
    exploded = RULES[0](table)
    if exploded is not None:
        return exploded
    for epoch, err in enumerate(table.error_rates, start=1):
        if not math.isfinite(err):
            raise SgdlabError(f"epoch {epoch} has error rate {err}, but its losses are finite; "
                              f"{FORMAT_HINT}")
    for rule in RULES[1:]:
        found = rule(table)
        if found is not None:
            return found
    return verdict("none", nothing_wrong(table))


def nothing_wrong(table: EpochTable) -> str:
    """The evidence for ``"none"``: what the numbers show and why none of it is a problem."""
    noise = noise_of(table)
    train, valid, err = table.rows[-1]
    n = len(table)
    if n == 1:
        return (f"One epoch: train loss {number(train)}, validation loss {number(valid)}, "
                f"error rate {number(err)}. Train loss below validation loss is normal; one "
                f"epoch says little more.{below_chance_note(table)}{noise.unknown_note()}")
    notes = [f"Over {n} epochs the validation loss went from {number(table.valid_losses[0])} "
             f"to {number(valid)} and the error rate from {number(table.error_rates[0])} to "
             f"{number(err)}."]
    notes += [_levelled_off(table), _valid_loss_rose(table, noise), _bump(table, noise),
              _end_within_noise(table, noise)]
    notes = [note for note in notes if note]
    if len(notes) == 1:
        notes.append("Nothing here looks like the lecture's problems.")
    return " ".join(notes) + below_chance_note(table) + noise.unknown_note()


def _levelled_off(table: EpochTable) -> str:
    train, valid = table.train_losses[-1], table.valid_losses[-1]
    if train <= valid:
        return ""
    step = valid_loss_step(table)
    change = f"cut it by only {percent(step)}" if step >= 0 else f"raised it by {percent(-step)}"
    return (f"The train loss is still {times(train, valid)} the validation loss, but the "
            f"validation loss has levelled off (the last epoch {change}); augmentation and "
            f"dropout make the training loss look worse than it is, so this is not a sign of "
            f"too few epochs.")


def _valid_loss_rose(table: EpochTable, noise: Noise) -> str:
    valid = table.valid_losses
    lowest = min(range(len(table)), key=valid.__getitem__)
    if valid[-1] <= (1 + VALID_LOSS_STEP) * valid[lowest]:
        return ""
    errors = table.error_rates
    since = errors[lowest:]  # the error rate while the validation loss rose
    best = lowest + min(range(len(since)), key=since.__getitem__)
    trend = error_trend(since, noise)
    rise = end_rise(errors, noise)
    if trend is not None and trend.falling and errors[best] < errors[lowest]:
        how = (f"kept improving ({number(errors[lowest])} at epoch {lowest + 1} to "
               f"{number(errors[best])} at epoch {best + 1}, {trend.describe(noise)})")
    elif rise is not None and rise.rise > rise.margin:
        how = "has not stayed worse than its best"
    else:
        how = "did not rise by more than noise"
    return (f"The validation loss rose from {number(valid[lowest])} at epoch {lowest + 1} to "
            f"{number(valid[-1])} while the train loss went to {number(table.train_losses[-1])}"
            f", but the error rate {how}. Train loss below validation loss and a rising "
            f"validation loss alone are not overfitting; only a lasting rise of the error rate "
            f"is.")


def _bump(table: EpochTable, noise: Noise) -> str:
    """The longest stretch of at least ``BUMP_EPOCHS`` epochs above the best so far that a
    later epoch beat, and whether its rise was more than noise.

    Its mean is compared with the best so far, the lowest of the epochs up to it, with the
    margin of :func:`~sgdlab.diagnose.noise.rise_margin`.
    """
    errors = table.error_rates
    found, best, i = None, 0, 1
    while i < len(errors):
        if errors[i] > errors[best]:
            last = i
            while last + 1 < len(errors) and errors[last + 1] > errors[best]:
                last += 1
            later = [j for j in range(last + 1, len(errors)) if errors[j] < errors[best]]
            if (later and last - i + 1 >= BUMP_EPOCHS
                    and (found is None or last - i > found[2] - found[1])):
                found = (best, i, last, min(later, key=errors.__getitem__))
            i = last + 1
            continue
        if errors[i] < errors[best]:
            best = i
        i += 1
    if found is None:
        return ""
    best, first, last, later = found
    length = last - first + 1
    mean = sum(errors[first:last + 1]) / length
    z, se, margin = rise_margin(errors[best], 1, mean, length, best + 1, noise)
    why = (f"picking the best of {best + 1} epochs raises the bar from {critical_z():.3g}"
           if best else "a one-sided 5% test")
    story = (f"The error rate was worse for {length} epochs ({first + 1}-{last + 1}, average "
             f"{number(mean)}, up to {number(max(errors[first:last + 1]))}, after "
             f"{number(errors[best])} at epoch {best + 1}) and then beat that, down to "
             f"{number(errors[later])} at epoch {later + 1}")
    if mean - errors[best] > margin:
        return (f"{story}: a bump, common while the learning rate is at its highest in "
                f"one-cycle training, not overfitting.")
    return (f"{story}: a rise of {number(mean - errors[best])}"
            f"{noise.images_text(mean - errors[best])}, within noise; "
            f"{describe_margin(margin, z, se, why, noise)}.")


def _end_within_noise(table: EpochTable, noise: Noise) -> str:
    rise = end_rise(table.error_rates, noise)
    if rise is None or rise.rise <= 0:
        return ""
    tail = epochs(rise.tail_first, rise.tail_last)
    start = (f"The error rate ended higher than its best: {rise.describe_tail()} "
             f"{number(rise.tail_mean)}, above the {rise.describe_best()}, by "
             f"{number(rise.rise)}{noise.images_text(rise.rise)}")
    if rise.rise <= rise.margin:
        return (f"{start}: within noise, not yet a sustained rise; "
                f"{rise.describe_margin(noise)}. Watch whether it keeps rising.")
    calm = next(i for i in range(rise.tail_first, rise.tail_last + 1)
                if table.error_rates[i] <= rise.best_mean)
    return (f"{start}, more than noise ({rise.describe_margin(noise)}); but epoch {calm + 1} "
            f"was no worse than that best, so the rise has not lasted through {tail}. Watch "
            f"whether it keeps rising.")
