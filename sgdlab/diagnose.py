"""Name what went wrong in a training run: the lecture's four problems and their remedies.

Two readers share one verdict type, :class:`Diagnosis`:

* :func:`diagnose` reads a per-epoch table ``(train_loss, valid_loss, error_rate)`` — a
  learner's ``recorder.rows``, dicts or plain tuples — and applies these rules in order:

  1. **lr too high** — a loss is NaN/inf, or the train or validation loss jumps to more than
     ``EXPLODE_FACTOR`` times its lowest earlier value *and* above its first epoch's value (the
     validation loss of epoch 1 is compared with that epoch's train loss). The second condition
     keeps a memorising run, whose train loss goes from 0.003 back up to 0.3, from counting:
     an explosion leaves the model worse than where it started.
  2. **too many epochs** — the error rate improved by more than the noise margin
     ``m(e) = max(ERROR_NOISE_ABS, ERROR_NOISE_REL · e)`` and then stayed above its best ``e``
     by more than ``m(e)`` for at least ``MIN_WORSE_EPOCHS`` epochs in a row, and never got
     below ``e − m(e)`` afterwards. (A worse stretch followed by a clearly better error rate is
     a bump — one-cycle's high-learning-rate middle makes them — and the run is not
     overfitting.)
  3. **lr too low** — at least two epochs, the train loss fell by less than ``SLOW_LOSS_RATE``
     per epoch on average, ``1 − (t_last/t_first)^(1/(n−1))``, and ends above the valid loss,
     and the error rate did not end worse than it started. (A too-low lr leaves the error rate
     falling slowly. A trained model fine-tuned further, whose train loss is held up by
     augmentation or label smoothing, shows the same slow train loss with a flat error rate;
     a larger lr is not its cure.)
  4. **too few epochs** — the train loss ends above the valid loss and either there was only one
     epoch or the last epoch still cut the validation loss by ``VALID_LOSS_STEP`` or more.

  Otherwise the verdict is ``"none"``. Train loss *below* valid loss and a rising validation loss
  are not on the list: only a worsening error rate means overfitting. Every rule compares losses
  with losses, so multiplying all losses by a constant never changes the verdict.

* :func:`diagnose_history` reads a linear run (a :class:`~sgdlab.history.History`) and measures
  the full-batch loss ``L_k`` against the least-squares optimum ``L*``: the excess
  ``e_k = L_k − L*`` shrinks at every step of stable full-batch gradient descent, so a growing
  excess means the learning rate is past the edge ``2/λmax``.

``sgdlab diagnose PATH`` does the same from the command line, for a CSV table (fastai's
``CSVLogger`` layout) or a saved History (``.pt``).
"""

from __future__ import annotations

import argparse
import csv
import math
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from sgdlab.errors import SgdlabError
from sgdlab.history import History
from sgdlab.linalg import hessian, least_squares, max_stable_lr, optimal_lr

Problem = Literal["lr_too_high", "lr_too_low", "too_few_epochs", "too_many_epochs", "none"]

#: A validation loss this many times its lowest earlier value (or, in the first epoch, that
#: epoch's train loss) has exploded. The lecture's lr 0.5 run: 1.1e9 against 12.2.
EXPLODE_FACTOR = 100.0
#: Error-rate changes smaller than ``max(ERROR_NOISE_ABS, ERROR_NOISE_REL · best)`` are noise:
#: one image of the lecture's 141 moves the error rate by 0.007.
ERROR_NOISE_ABS = 0.005
ERROR_NOISE_REL = 0.10
#: A worsening of the error rate must last this many epochs in a row to count as overfitting.
MIN_WORSE_EPOCHS = 3
#: A train loss falling by less than this fraction per epoch (on average) is barely moving.
SLOW_LOSS_RATE = 0.02
#: A last-epoch fall in validation loss of at least this fraction means it is still improving;
#: less means it has levelled off. A rise by more than this fraction is worth a remark.
VALID_LOSS_STEP = 0.10
#: diagnose_history: a run has converged once less than this fraction of the starting excess
#: loss ``L_0 − L*`` is left.
CONVERGED_FRACTION = 0.01
#: diagnose_history: an excess loss this many times its lowest value means the loss is growing.
GROWTH_FACTOR = 1.1
#: diagnose_history, mini-batch runs: the loss is growing when the mean excess over the last
#: third of the steps is this many times that over the third before.
NOISY_TREND_FACTOR = 2.0
#: diagnose_history: a learning rate this many times below the fastest fixed step
#: ``2/(λmax + λmin)`` is too low (below it, a slow run just needs more steps).
LR_TOO_LOW_FACTOR = 10.0

TITLES: dict[str, str] = {
    "lr_too_high": "Learning rate too high",
    "lr_too_low": "Learning rate too low",
    "too_few_epochs": "Too few epochs",
    "too_many_epochs": "Too many epochs",
    "none": "Nothing wrong",
}

REMEDIES: dict[str, str] = {
    "lr_too_high": "Lower the learning rate (10x lower, or read one off the learning-rate "
                   "finder) and retrain from scratch: the weights are already ruined and more "
                   "training cannot undo it.",
    "lr_too_low": "Raise the learning rate 10x or 100x (the learning-rate finder shows how "
                  "far) and train again.",
    "too_few_epochs": "Train for more epochs; if each epoch is slow, a higher learning rate "
                      "gets more done per epoch.",
    "too_many_epochs": "Train for fewer epochs: stop around the epoch where the error rate "
                       "was lowest.",
    "none": "Nothing to fix: keep this model.",
}

_FIELDS = ("train_loss", "valid_loss", "error_rate")
_FORMAT_HINT = ("diagnose() needs one row per epoch: (train_loss, valid_loss, error_rate) "
                "tuples, dicts with those keys, objects with those attributes (a learner's "
                "recorder.rows), or the recorder or learner itself")


@dataclass(frozen=True)
class Diagnosis:
    """A verdict: which problem (or ``"none"``), the numbers behind it and what to do."""

    problem: Problem
    title: str
    evidence: str
    remedy: str

    def __str__(self) -> str:
        body = textwrap.fill(f"{self.title}. {self.evidence}", width=88)
        return f"{body}\n{textwrap.fill('What to do: ' + self.remedy, width=88)}"


def _verdict(problem: Problem, evidence: str, remedy: str | None = None) -> Diagnosis:
    return Diagnosis(problem, TITLES[problem], evidence, remedy or REMEDIES[problem])


def _g(value: float) -> str:
    return f"{value:.4g}"


def _times(value: float, reference: float) -> str:
    """``value`` as a multiple of ``reference`` ("3.2 times"; "far above" a zero reference)."""
    return f"{value / reference:.3g} times" if reference > 0 else "far above"


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


# --------------------------------------------------------------------------------------------
# Epoch tables


def diagnose(rows) -> Diagnosis:
    """Name which of the four problems a per-epoch table shows (see the module docstring).

    Args:
        rows: the epochs in order, each as an object with attributes ``train_loss``,
            ``valid_loss`` and ``error_rate`` (e.g. ``EpochRow``), a mapping with those keys, or
            a 3-sequence ``(train_loss, valid_loss, error_rate)``; or an object with a ``.rows``
            attribute holding them (a recorder), or with a ``.recorder`` (a learner).

    Returns:
        A :class:`Diagnosis`; its evidence quotes the numbers (epochs counted from 1).

    Raises:
        SgdlabError: empty input or a row in none of the accepted forms.
    """
    table = _epoch_table(rows)
    exploded = _check_lr_too_high(table)
    if exploded is not None:
        return exploded
    for epoch, (_, _, err) in enumerate(table, start=1):
        if not math.isfinite(err):
            raise SgdlabError(f"epoch {epoch} has error rate {err}, but its losses are finite; "
                              f"{_FORMAT_HINT}")
    for check in (_check_too_many_epochs, _check_lr_too_low, _check_too_few_epochs):
        found = check(table)
        if found is not None:
            return found
    return _verdict("none", _nothing_wrong(table))


def _epoch_table(rows) -> list[tuple[float, float, float]]:
    if rows is None:
        raise SgdlabError(f"got None instead of epochs; {_FORMAT_HINT}")
    if hasattr(rows, "recorder") and not isinstance(rows, Mapping):  # a learner
        rows = rows.recorder
    if hasattr(rows, "rows") and not isinstance(rows, Mapping):  # a recorder
        rows = rows.rows
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise SgdlabError(f"got a {type(rows).__name__}, not a sequence of epochs; "
                          f"{_FORMAT_HINT}")
    table = [_parse_row(row, epoch) for epoch, row in enumerate(rows, start=1)]
    if not table:
        raise SgdlabError(f"there are no epochs to diagnose; train for at least one epoch. "
                          f"{_FORMAT_HINT}")
    return table


def _parse_row(row, epoch: int) -> tuple[float, float, float]:
    if all(hasattr(row, name) for name in _FIELDS):
        values = [getattr(row, name) for name in _FIELDS]
    elif isinstance(row, Mapping):
        missing = [name for name in _FIELDS if name not in row]
        if missing:
            raise SgdlabError(f"epoch {epoch} lacks {', '.join(missing)} (it has "
                              f"{', '.join(map(str, row)) or 'no keys'}); {_FORMAT_HINT}")
        values = [row[name] for name in _FIELDS]
    elif isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
        raise SgdlabError(f"epoch {epoch} is {row!r}; {_FORMAT_HINT}")
    else:
        values = list(row)
        if len(values) != 3:
            raise SgdlabError(f"epoch {epoch} has {len(values)} values, expected 3; "
                              f"{_FORMAT_HINT}")
    train, valid, err = (_number(v, name, epoch) for v, name in zip(values, _FIELDS, strict=True))
    for name, loss in (("train_loss", train), ("valid_loss", valid)):
        if loss < 0:
            raise SgdlabError(f"epoch {epoch} has {name} = {loss:g}; a loss cannot be negative")
    if math.isfinite(err) and not 0.0 <= err <= 1.0:
        hint = " (a percentage? divide by 100)" if 1.0 < err <= 100.0 else ""
        raise SgdlabError(f"epoch {epoch} has error_rate = {err:g}{hint}; an error rate is a "
                          f"fraction between 0 and 1")
    return train, valid, err


def _number(value, name: str, epoch: int) -> float:
    if isinstance(value, (bool, str, bytes)):
        raise SgdlabError(f"epoch {epoch}: {name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        raise SgdlabError(f"epoch {epoch}: {name} must be a number, got {value!r}") from None


def _check_lr_too_high(table) -> Diagnosis | None:
    lowest_train = lowest_valid = math.inf
    first_train, first_valid = table[0][0], table[0][1]
    for epoch, (train, valid, err) in enumerate(table, start=1):
        err_text = f" (error rate {_g(err)})" if math.isfinite(err) else ""
        for name, loss in (("train", train), ("validation", valid)):
            if not math.isfinite(loss):
                return _verdict("lr_too_high", f"At epoch {epoch} the {name} loss became "
                                f"{loss}{err_text}: the weights blew up.")
        if (0 < lowest_train < math.inf and train > EXPLODE_FACTOR * lowest_train
                and train > first_train):
            return _verdict("lr_too_high", (
                f"At epoch {epoch} the train loss jumped to {_g(train)}, "
                f"{_times(train, lowest_train)} its lowest earlier value "
                f"{_g(lowest_train)} and above the {_g(first_train)} of epoch 1{err_text}."))
        reference, what = ((lowest_valid, "its lowest earlier value") if epoch > 1
                           else (train, "the train loss of that epoch"))
        if (0 < reference < math.inf and valid > EXPLODE_FACTOR * reference
                and (epoch == 1 or valid > first_valid)):
            return _verdict("lr_too_high", (
                f"At epoch {epoch} the validation loss exploded to {_g(valid)}, "
                f"{_times(valid, reference)} "
                f"{what} {_g(reference)}{err_text}."))
        lowest_train, lowest_valid = min(lowest_train, train), min(lowest_valid, valid)
    return None


def _noise_margin(best_error: float) -> float:
    return max(ERROR_NOISE_ABS, ERROR_NOISE_REL * best_error)


def _worse_streaks(errors: list[float]) -> list[tuple[int, int, int]]:
    """Runs of epochs worse than the best so far by more than noise, after an improvement.

    Returns ``(best, first, last)`` 0-based epoch indices for each run, in order.
    """
    streaks, best, i = [], 0, 1
    while i < len(errors):
        margin = _noise_margin(errors[best])
        improved = errors[0] - errors[best] > margin
        if improved and errors[i] > errors[best] + margin:
            last = i
            while last + 1 < len(errors) and errors[last + 1] > errors[best] + margin:
                last += 1
            streaks.append((best, i, last))
            i = last + 1
            continue
        if errors[i] < errors[best]:
            best = i
        i += 1
    return streaks


def _recovered(errors: list[float], best: int, last: int) -> int | None:
    """The epoch after a worse streak whose error beats the earlier best by more than noise.

    Such a streak was a bump, not overfitting: the model that came after it is better than any
    before it. It is typical of the high-learning-rate middle of one-cycle training.
    """
    margin = _noise_margin(errors[best])
    return next((i for i in range(last + 1, len(errors)) if errors[i] < errors[best] - margin),
                None)


def _sustained_streaks(errors: list[float]) -> list[tuple[int, int, int]]:
    """The worse streaks at least ``MIN_WORSE_EPOCHS`` long that the run never recovered from."""
    return [(best, first, last) for best, first, last in _worse_streaks(errors)
            if last - first + 1 >= MIN_WORSE_EPOCHS and _recovered(errors, best, last) is None]


def _check_too_many_epochs(table) -> Diagnosis | None:
    errors = [err for _, _, err in table]
    for best, first, last in _sustained_streaks(errors):
        length = last - first + 1
        worse = errors[first:last + 1]
        evidence = (f"The error rate improved from {_g(errors[0])} to {_g(errors[best])} at "
                    f"epoch {best + 1}, then got worse ({_g(min(worse))} to {_g(max(worse))}) "
                    f"and stayed worse for {length} epochs ({first + 1}-{last + 1}), more than "
                    f"the noise of {_g(_noise_margin(errors[best]))}.")
        later = min(range(last + 1, len(errors)), key=errors.__getitem__, default=None)
        if later is not None and errors[later] <= errors[best]:
            evidence += (f" It came back to {_g(errors[later])} by epoch {later + 1}, but no "
                         f"further than the noise below its earlier best, and a sustained "
                         f"worsening is the sign of training too long.")
        remedy = (REMEDIES["too_many_epochs"] + f" Here that is about {best + 1} epochs. "
                  f"Augmentation, dropout and weight decay also delay overfitting.")
        return _verdict("too_many_epochs", evidence, remedy)
    return None


def _train_loss_rate(table) -> float:
    """Average fractional fall of the train loss per epoch, ``1 − (t_n/t_1)^(1/(n−1))``."""
    first, last = table[0][0], table[-1][0]
    if first <= 0:
        return 0.0
    return 1.0 - (last / first) ** (1.0 / (len(table) - 1))


def _check_lr_too_low(table) -> Diagnosis | None:
    if len(table) < 2:
        return None
    (t0, _, e0), (t1, v1, e1) = table[0], table[-1]
    rate = _train_loss_rate(table)
    if rate >= SLOW_LOSS_RATE or t1 <= v1 or e1 > e0:
        return None
    return _verdict("lr_too_low", (
        f"Over {len(table)} epochs the train loss barely moved ({_g(t0)} to {_g(t1)}, "
        f"{_pct(rate)} per epoch on average) and stays above the validation loss "
        f"({_g(t1)} vs {_g(v1)}); the error rate went from {_g(e0)} to {_g(e1)}."))


def _valid_loss_step(table) -> float:
    """Fraction by which the last epoch cut the validation loss (negative: it rose)."""
    before, after = table[-2][1], table[-1][1]
    return (before - after) / before if before > 0 else 0.0


def _check_too_few_epochs(table) -> Diagnosis | None:
    train, valid, err = table[-1]
    if train <= valid:
        return None
    ratio = _times(train, valid)
    if len(table) == 1:
        return _verdict("too_few_epochs", (
            f"Only one epoch, and its train loss {_g(train)} is {ratio} the validation loss "
            f"{_g(valid)} (error rate {_g(err)}): the model has barely started."))
    step = _valid_loss_step(table)
    if step < VALID_LOSS_STEP:
        return None
    return _verdict("too_few_epochs", (
        f"After {len(table)} epochs the train loss {_g(train)} is {ratio} the validation loss "
        f"{_g(valid)}, and the last epoch still cut the validation loss by {_pct(step)} "
        f"(from {_g(table[-2][1])}): it is still improving. The train loss falls "
        f"{_pct(_train_loss_rate(table))} per epoch, so the learning rate is not what holds "
        f"it back."))


def _nothing_wrong(table) -> str:
    (_, v0, e0), (t1, v1, e1) = table[0], table[-1]
    n = len(table)
    if n == 1:
        return (f"One epoch: train loss {_g(t1)}, validation loss {_g(v1)}, error rate "
                f"{_g(e1)}. Train loss below validation loss is normal; one epoch says little "
                f"more.")
    notes = [f"Over {n} epochs the validation loss went from {_g(v0)} to {_g(v1)} and the "
             f"error rate from {_g(e0)} to {_g(e1)}."]
    if t1 > v1:
        step = _valid_loss_step(table)
        change = (f"cut it by only {_pct(step)}" if step >= 0
                  else f"raised it by {_pct(-step)}")
        notes.append(
            f"The train loss is still {_times(t1, v1)} the validation loss, but the "
            f"validation loss has levelled off (the last epoch {change}); augmentation and "
            f"dropout make the training loss look worse than it is, so this is not a sign of "
            f"too few epochs.")
    lowest = min(range(n), key=lambda i: table[i][1])
    if v1 > (1 + VALID_LOSS_STEP) * table[lowest][1]:
        best = min(range(n), key=lambda i: table[i][2])
        errors = (f"kept improving ({_g(e0)} to {_g(table[best][2])} at epoch {best + 1})"
                  if e0 - table[best][2] > _noise_margin(table[best][2]) else
                  f"did not get worse ({_g(e0)} to {_g(e1)})")
        notes.append(
            f"The validation loss rose from {_g(table[lowest][1])} at epoch {lowest + 1} to "
            f"{_g(v1)} while the train loss went to {_g(t1)}, but the error rate {errors}. "
            f"Train loss below validation loss and a rising validation loss alone are not "
            f"overfitting; only a lasting rise of the error rate is.")
    errors = [err for _, _, err in table]
    streaks = _worse_streaks(errors)
    for best, first, last in streaks:
        later = _recovered(errors, best, last)
        if last - first + 1 < MIN_WORSE_EPOCHS or later is None:
            continue
        notes.append(
            f"The error rate got worse for {last - first + 1} epochs ({first + 1}-{last + 1}, "
            f"up to {_g(max(errors[first:last + 1]))} after {_g(errors[best])} at epoch "
            f"{best + 1}) and then beat that to {_g(errors[later])} at epoch {later + 1}: a "
            f"bump, common while the learning rate is at its highest in one-cycle training, "
            f"not overfitting.")
    if streaks and streaks[-1][2] == n - 1:
        best, first, last = streaks[-1]
        count = last - first + 1
        notes.append(
            f"The error rate ended at {_g(e1)} after {_g(table[best][2])} at epoch {best + 1}: "
            f"{count} worse epoch{'s' if count > 1 else ''} so far, not yet a sustained "
            f"worsening ({MIN_WORSE_EPOCHS} in a row); a few images more or less can do that. "
            f"Watch whether it keeps rising.")
    if len(notes) == 1:
        notes.append("Nothing here looks like the four problems.")
    return " ".join(notes)


# --------------------------------------------------------------------------------------------
# Linear runs


def diagnose_history(history: History) -> Diagnosis:
    """Name the problem of a linear run from its full-batch loss ``L_k`` (see the module doc).

    With ``L*`` the least-squares loss and ``e_k = L_k − L*`` the excess:

    * diverged (``history.diverged_at``) or growing → lr too high. Stable full-batch gradient
      descent never increases ``e_k``, so there growing means ``e_end > GROWTH_FACTOR · min e_k``.
      Mini-batch steps jitter, so there it means the mean ``e`` over the last third of the steps
      is ``NOISY_TREND_FACTOR`` times that over the third before;
    * ``lr ≥ 2/λmax`` → lr too high even if the loss still falls: the error along the
      steepest direction is multiplied by ``|1 − lr·λmax| ≥ 1`` at every step;
    * ``e_end ≤ CONVERGED_FRACTION · e_0`` → none;
    * a mini-batch run whose *drift* has converged → none: it sits at its noise floor. A batch
      gradient is on average the full gradient, so the drift is full-batch descent with the same
      learning rates from the same start: with ``H = V diag(λ) Vᵀ`` and ``c = Vᵀ(a_0 − a*)``,
      ``e_drift = ½ Σ_j λ_j (c_j Π_k (1 − lr_k λ_j))²``;
    * otherwise the loss is still on its way down: lr too low when ``lr`` is more than
      ``LR_TOO_LOW_FACTOR`` times below the fastest fixed step ``2/(λmax + λmin)``, else too few
      steps (``"too_few_epochs"``: for full-batch descent one step is one epoch). Too low, not too
      few: with lr 10x higher the same steps would go 10x as far, still safely below ``2/λmax``.
    """
    if not isinstance(history, History):
        raise SgdlabError(f"diagnose_history needs a sgdlab.History (from gradient_descent or "
                          f"minibatch_sgd), got {type(history).__name__}; for a table of "
                          f"epochs use diagnose()")
    edge = max_stable_lr(history.x)
    too_high_remedy = REMEDIES["lr_too_high"] + f" Below {_g(edge)} it converges; half is safe."
    if history.diverged:
        lr = f"lr {history.lrs[-1].item():g}" if history.steps else "this learning rate"
        return _verdict("lr_too_high", (
            f"With {lr} the loss blew up at step {history.diverged_at}; the edge of stability "
            f"for this data is 2/λmax = {_g(edge)}."), too_high_remedy)
    if history.steps == 0:
        raise SgdlabError("the history has no steps to judge; train for at least one step")

    lr = history.lrs[-1].item()
    losses = history.full_losses()
    a_star = least_squares(history.x, history.y).double()
    optimum = ((history.x.double() @ a_star - history.y.double()) ** 2).mean().item()
    excess = (losses - optimum).clamp(min=0.0)
    start, end = excess[0].item(), excess[-1].item()
    left = end / start if start > 0 else 0.0
    lowest = int(excess.argmin())
    if history.batches is None:
        growing = end > GROWTH_FACTOR * excess[lowest].item() and end > 1e-12 * max(optimum, 1)
    else:
        window = max(1, history.steps // 3)
        before = excess[-2 * window:-window].mean().item() if history.steps >= 2 else start
        growing = (excess[-window:].mean().item() > NOISY_TREND_FACTOR * before
                   and left > CONVERGED_FRACTION)
    if growing:
        return _verdict("lr_too_high", (
            f"With lr {lr:g} the full-batch loss is growing: from {_g(losses[lowest].item())} "
            f"at step {lowest} to {_g(losses[-1].item())} at step {history.steps}. The steps "
            f"overshoot: " + (
                f"stable gradient descent never raises the loss (the edge is 2/λmax = "
                f"{_g(edge)})." if history.batches is None else
                f"with small batches that starts below the full-batch edge 2/λmax = "
                f"{_g(edge)}.")), too_high_remedy)
    if lr >= edge:
        return _verdict("lr_too_high", (
            f"lr {lr:g} is past the edge of stability 2/λmax = {_g(edge)}: along the steepest "
            f"direction every step overshoots further than the last (by |1 − lr·λmax| = "
            f"{abs(1 - lr * 2 / edge):.4g} times), so the loss will blow up, even if it still "
            f"falls for now."), too_high_remedy)

    path = (f"After {history.steps} steps at lr {lr:g} the full-batch loss went from "
            f"{_g(losses[0].item())} to {_g(losses[-1].item())} (least-squares optimum "
            f"{_g(optimum)})")
    if left <= CONVERGED_FRACTION:
        return _verdict("none", f"{path}: converged, less than {_pct(CONVERGED_FRACTION)} of "
                                f"the starting excess is left.")
    drift_left = left if history.batches is None else _drift_left(history, a_star, start)
    if drift_left <= CONVERGED_FRACTION:
        return _verdict("none", (
            f"{path}: {_pct(left)} of the starting excess is left, but without the mini-batch "
            f"noise less than {_pct(CONVERGED_FRACTION)} would be. Each step sees only one "
            f"batch, so the parameters jitter around the optimum."),
            "Nothing to fix. To get closer to the optimum, lower the lr for the last epochs or "
            "use bigger batches.")
    fastest = optimal_lr(history.x)
    if lr * LR_TOO_LOW_FACTOR < fastest:
        return _verdict("lr_too_low", (
            f"{path}: {_pct(left)} of the starting excess is still there. The fastest fixed "
            f"step for this data is 2/(λmax + λmin) = {_g(fastest)}, {fastest / lr:.3g} times "
            f"this lr, and the edge of stability 2/λmax = {_g(edge)}."),
            REMEDIES["lr_too_low"] + f" Stay below {_g(edge)}, where it diverges.")
    return _verdict("too_few_epochs", (
        f"{path}: still falling, {_pct(left)} of the starting excess is left. The lr is already "
        f"within {LR_TOO_LOW_FACTOR:g}x of the fastest fixed step 2/(λmax + λmin) = "
        f"{_g(fastest)}, so the run needs more steps."),
        f"Take more steps (each full-batch step is one epoch). A higher lr helps only up to "
        f"{_g(fastest)}; past {_g(edge)} it diverges.")


def _drift_left(history: History, a_star: torch.Tensor, start: float) -> float:
    """Fraction of the starting excess that full-batch steps with the run's lrs would leave."""
    curvature, basis = torch.linalg.eigh(hessian(history.x))
    c = basis.T @ (history.params[0].double() - a_star)
    shrink = (1.0 - history.lrs.double()[:, None] * curvature[None, :]).prod(dim=0)
    drift = 0.5 * (curvature * (c * shrink) ** 2).sum().item()
    return drift / start if start > 0 else 0.0


# --------------------------------------------------------------------------------------------
# Command line


def read_epoch_table(path: str | Path) -> list[dict[str, float]]:
    """Read a CSV with columns ``train_loss, valid_loss, error_rate`` (others are ignored).

    That is the layout of fastai's ``CSVLogger`` (``epoch,train_loss,valid_loss,error_rate,
    time``).
    """
    path = Path(path)
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = [name for name in _FIELDS if name not in (reader.fieldnames or [])]
            if missing:
                raise SgdlabError(f"{path} has no column {', '.join(missing)}; the CSV needs a "
                                  f"header with {', '.join(_FIELDS)}")
            return [{name: _csv_number(row[name], name, i) for name in _FIELDS}
                    for i, row in enumerate(reader, start=2)]
    except OSError as err:
        raise SgdlabError(f"cannot read {path}: {err.strerror or err}") from None


def _csv_number(text: str | None, name: str, line: int) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise SgdlabError(f"line {line}: {name} must be a number, got {text!r}") from None


def _handle(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.suffix == ".pt":
        try:
            history = History.load(path)
        except (OSError, RuntimeError, TypeError, KeyError) as err:
            raise SgdlabError(f"{path} is not a History saved by History.save: {err}") from None
        print(diagnose_history(history))
    else:
        print(diagnose(read_epoch_table(path)))
    return 0


def add_commands(subparsers) -> None:
    """Register ``sgdlab diagnose PATH``."""
    parser = subparsers.add_parser(
        "diagnose", help="name what went wrong in a run (lr too high/low, too few/many epochs)",
        description="Read a per-epoch CSV (train_loss, valid_loss, error_rate columns, as "
                    "fastai's CSVLogger writes) or a History saved as .pt, and name which of "
                    "the four problems it shows, with the remedy.")
    parser.add_argument("path", help="the CSV table or the .pt History file")
    parser.set_defaults(func=_handle)
