"""Tests for sgdlab.diagnose: the lecture's recorded tables, textbook cases and properties.

The lecture's tables are copied from the notes ("Things that can go wrong"). Two of them give
only error rates per epoch; their losses are built here, as described next to each.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import sgdlab
from sgdlab.diagnose import Diagnosis, diagnose, diagnose_history
from sgdlab.errors import SgdlabError

# the module itself (the package may export a function of the same name)
diag = importlib.import_module("sgdlab.diagnose")

# ---------------------------------------------------------------------------------------------
# The lecture's tables: (train_loss, valid_loss, error_rate) per epoch.

LR_TOO_HIGH = [(12.220007, 1144188288.0, 0.765957)]
LR_TOO_LOW = [
    (1.349151, 1.062807, 0.609929), (1.373262, 1.045115, 0.546099),
    (1.346169, 1.006288, 0.468085), (1.334486, 0.978713, 0.453901),
    (1.320978, 0.978108, 0.446809),
]
DEFAULT_LR = [
    (1.030236, 0.179226, 0.028369), (0.561508, 0.055464, 0.014184),
    (0.396103, 0.053801, 0.014184), (0.316883, 0.050197, 0.021277),
]
ONE_EPOCH_FROM_SCRATCH = [(0.602823, 0.119616, 0.049645)]

TOO_MANY_ERRORS = [
    0.507, 0.443, 0.410, 0.322, 0.253, 0.192, 0.185, 0.178, 0.145, 0.125,
    0.101, 0.095, 0.084, 0.084, 0.068, 0.079, 0.080, 0.082, 0.081, 0.081,
    0.081, 0.071, 0.070, 0.064, 0.070, 0.064, 0.068, 0.073, 0.071, 0.075,
    0.070, 0.062, 0.066, 0.073, 0.073, 0.077, 0.075, 0.062, 0.066, 0.062,
]
STUDENT_ERRORS = [
    0.662, 0.665, 0.681, 0.665, 0.668, 0.652, 0.658, 0.658, 0.644, 0.640,
    0.632, 0.621, 0.613, 0.597, 0.591, 0.588, 0.586, 0.580, 0.572, 0.568,
    0.568, 0.562, 0.562, 0.562, 0.551, 0.551, 0.549, 0.553, 0.553, 0.549,
    0.553, 0.553, 0.553, 0.557, 0.553, 0.551, 0.551, 0.553, 0.553, 0.549,
]


def piecewise_linear(epochs: int, anchors: list[tuple[float, float]]) -> list[float]:
    """Values at epochs 1..epochs on the broken line through ``(epoch, value)`` anchors.

    Past the last anchor the last segment's slope continues.
    """
    xs, ys = zip(*anchors, strict=True)
    values = np.interp(np.arange(1, epochs + 1), xs, ys)
    slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    for i in range(int(xs[-1]), epochs):
        values[i] = ys[-1] + slope * (i + 1 - xs[-1])
    return [float(v) for v in values]


def too_many_epochs_table() -> list[tuple[float, float, float]]:
    """The 40-epoch run: the notes give every error rate but only the losses' endpoints
    (train 1.51 → 0.16, valid 1.04 → 0.21); the losses are interpolated linearly between them."""
    n = len(TOO_MANY_ERRORS)
    train = piecewise_linear(n, [(1, 1.51), (n, 0.16)])
    valid = piecewise_linear(n, [(1, 1.04), (n, 0.21)])
    return list(zip(train, valid, TOO_MANY_ERRORS, strict=True))


def student_table(valid_start: float = 1.5) -> list[tuple[float, float, float]]:
    """The student's run: every error rate; valid loss falls to 1.318 at epoch 8 and rises to
    1.68 by epoch 38 (then keeps rising at that slope); train loss falls 1.21 → 0.30. The notes
    omit the first valid loss, so ``valid_start`` is a parameter."""
    n = len(STUDENT_ERRORS)
    train = piecewise_linear(n, [(1, 1.21), (n, 0.30)])
    valid = piecewise_linear(n, [(1, valid_start), (8, 1.318), (38, 1.68)])
    return list(zip(train, valid, STUDENT_ERRORS, strict=True))


# Clean textbook cases, one per verdict.
SYNTHETIC = {
    "lr_too_high": [(0.9, 0.7, 0.30), (0.6, 0.5, 0.20), (40.0, 2.0e4, 0.66)],
    "lr_too_low": [(2.00, 1.60, 0.70), (1.99, 1.59, 0.69), (1.98, 1.59, 0.69),
                   (1.97, 1.58, 0.68), (1.96, 1.58, 0.68), (1.95, 1.57, 0.67)],
    "too_few_epochs": [(1.0, 0.50, 0.20), (0.6, 0.30, 0.12)],
    "too_many_epochs": [(1.0, 0.8, 0.30), (0.7, 0.5, 0.20), (0.5, 0.4, 0.14), (0.4, 0.35, 0.10),
                        (0.3, 0.37, 0.13), (0.2, 0.40, 0.14), (0.15, 0.45, 0.15),
                        (0.1, 0.50, 0.16)],
    "none": [(0.80, 0.60, 0.25), (0.45, 0.40, 0.15), (0.30, 0.33, 0.11), (0.25, 0.31, 0.10),
             (0.22, 0.30, 0.10)],
}

LECTURE = {
    "lr 0.5": (LR_TOO_HIGH, "lr_too_high"),
    "lr 1e-5": (LR_TOO_LOW, "lr_too_low"),
    "default lr": (DEFAULT_LR, "none"),
    "one epoch from scratch": (ONE_EPOCH_FROM_SCRATCH, "too_few_epochs"),
    "40 epochs": (too_many_epochs_table(), "too_many_epochs"),
    "student": (student_table(), "none"),
}

ALL_TABLES = [(table, problem) for table, problem in LECTURE.values()] + [
    (table, problem) for problem, table in SYNTHETIC.items()]


# ---------------------------------------------------------------------------------------------
# The lecture's own numbers


@pytest.mark.parametrize("name", list(LECTURE))
def test_lecture_tables_get_the_lecture_verdict(name):
    table, expected = LECTURE[name]
    result = diagnose(table)
    assert result.problem == expected, f"{name}: {result}"
    assert result.title == diag.TITLES[expected]


def test_lr_too_high_quotes_the_explosion():
    evidence = diagnose(LR_TOO_HIGH).evidence
    assert "epoch 1" in evidence and "1.144e+09" in evidence and "12.22" in evidence


def test_lr_too_low_quotes_the_barely_moving_train_loss():
    result = diagnose(LR_TOO_LOW)
    assert "1.349" in result.evidence and "1.321" in result.evidence
    assert "above the validation loss" in result.evidence
    assert "10x or 100x" in result.remedy


def test_default_lr_is_fine_despite_the_gap_and_the_last_epoch_blip():
    evidence = diagnose(DEFAULT_LR).evidence
    assert "levelled off" in evidence and "6.7%" in evidence  # the gap, explained
    assert "0.02128" in evidence and "epoch 2" in evidence  # the one-image blip, explained
    assert "not yet a sustained" in evidence


def test_one_epoch_from_scratch_is_too_few_epochs():
    result = diagnose(ONE_EPOCH_FROM_SCRATCH)
    assert "0.6028" in result.evidence and "0.1196" in result.evidence
    assert "more epochs" in result.remedy


def test_forty_epochs_names_the_best_epoch_and_the_sustained_rise():
    result = diagnose(too_many_epochs_table())
    assert "0.068 at epoch 15" in result.evidence
    assert "16-21" in result.evidence and "0.082" in result.evidence
    assert "fewer epochs" in result.remedy


@pytest.mark.parametrize("valid_start", [1.33, 1.5, 2.0, 3.0])
def test_student_run_is_not_overfitting(valid_start):
    result = diagnose(student_table(valid_start))
    assert result.problem == "none", str(result)
    assert "1.318 at epoch 8" in result.evidence
    assert "alone are not overfitting" in result.evidence
    assert "kept improving (0.662 to 0.549" in result.evidence


# ---------------------------------------------------------------------------------------------
# Textbook cases, thresholds and edge cases


@pytest.mark.parametrize("problem", list(SYNTHETIC))
def test_textbook_case_of_each_verdict(problem):
    assert diagnose(SYNTHETIC[problem]).problem == problem


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("column", [0, 1])
def test_non_finite_loss_means_lr_too_high(bad, column):
    rows = [list(row) for row in SYNTHETIC["none"]]
    rows[2][column] = bad
    rows[2][2] = math.nan  # a blown-up model may not even have an error rate
    result = diagnose(rows)
    assert result.problem == "lr_too_high"
    assert "epoch 3" in result.evidence and str(bad) in result.evidence


def test_exploding_train_loss_means_lr_too_high():
    rows = [(0.5, 0.4, 0.2), (0.3, 0.3, 0.1), (500.0, 0.35, 0.1)]
    result = diagnose(rows)
    assert result.problem == "lr_too_high" and "train loss jumped to 500" in result.evidence


def test_explosion_threshold_is_relative_to_the_best_validation_loss():
    good = SYNTHETIC["none"]
    best_valid = min(valid for _, valid, _ in good)
    below = good + [(0.2, 0.9 * diag.EXPLODE_FACTOR * best_valid, 0.5)]
    above = good + [(0.2, 1.1 * diag.EXPLODE_FACTOR * best_valid, 0.5)]
    assert diagnose(below).problem != "lr_too_high"
    assert diagnose(above).problem == "lr_too_high"


def test_heavy_overfit_train_loss_near_zero_is_not_an_explosion():
    # valid loss 500x the train loss of the same epoch, but only ~1.5x its own best
    rows = [(0.8, 0.6, 0.30), (0.1, 0.45, 0.20), (0.01, 0.5, 0.19), (0.001, 0.6, 0.19)]
    assert diagnose(rows).problem == "none"


def test_slow_train_loss_below_valid_loss_is_not_lr_too_low():
    # late in a good run the train loss barely moves too, but it sits below the valid loss
    rows = [(0.200, 0.30, 0.10), (0.199, 0.30, 0.10), (0.198, 0.30, 0.10), (0.197, 0.30, 0.10)]
    assert diagnose(rows).problem == "none"


def test_barely_moving_train_loss_is_lr_too_low_even_if_valid_loss_still_falls():
    # both rules fit; the train loss's pace is what says the lr holds it back
    rows = [(2.00, 1.6, 0.70), (1.99, 1.4, 0.66), (1.98, 1.2, 0.62)]
    assert diagnose(rows).problem == "lr_too_low"


def test_still_improving_threshold_separates_too_few_from_levelled_off():
    def two_epochs(cut: float):
        return [(1.0, 0.50, 0.20), (0.6, 0.50 * (1 - cut), 0.15)]
    assert diagnose(two_epochs(diag.VALID_LOSS_STEP + 0.01)).problem == "too_few_epochs"
    assert diagnose(two_epochs(diag.VALID_LOSS_STEP - 0.01)).problem == "none"


# The 128-px stage of `sgdlab bears train` on a CPU: a model already at ~19% error, trained on at
# 3e-3 with label smoothing 0.1 (which keeps the train loss above about 0.29).
TRAINED_ON = [(0.712861, 0.499664, 0.166667), (0.680371, 0.509768, 0.197917),
              (0.602341, 0.478784, 0.208333), (0.607499, 0.472777, 0.208333),
              (0.582384, 0.481585, 0.187500), (0.563757, 0.502996, 0.197917),
              (0.552433, 0.466913, 0.208333), (0.519194, 0.456702, 0.187500),
              (0.515871, 0.464917, 0.187500), (0.617882, 0.463685, 0.177083)]


def test_a_slow_train_loss_with_an_error_rate_that_did_not_fall_is_not_lr_too_low():
    result = diagnose(TRAINED_ON)
    assert result.problem == "none", str(result)
    assert "levelled off" in result.evidence
    falling = [(t, v, 0.30 - 0.01 * i) for i, (t, v, _) in enumerate(TRAINED_ON)]
    assert diagnose(falling).problem == "lr_too_low"


def test_slow_rate_threshold_separates_too_low_from_fine():
    def epochs(rate: float):
        return [(2.0 * (1 - rate) ** k, 1.0, 0.5) for k in range(5)]
    assert diagnose(epochs(diag.SLOW_LOSS_RATE * 0.8)).problem == "lr_too_low"
    assert diagnose(epochs(diag.SLOW_LOSS_RATE * 1.2)).problem != "lr_too_low"


@pytest.mark.parametrize("extra", range(1, 6))
def test_worsening_must_last_min_worse_epochs(extra):
    rows = SYNTHETIC["none"] + [(0.2, 0.31, 0.10 + 0.03 * k) for k in range(1, extra + 1)]
    expected = "too_many_epochs" if extra >= diag.MIN_WORSE_EPOCHS else "none"
    assert diagnose(rows).problem == expected


def test_worsening_within_noise_is_not_overfitting():
    best = 0.10
    margin = max(diag.ERROR_NOISE_ABS, diag.ERROR_NOISE_REL * best)
    rows = SYNTHETIC["none"] + [(0.2, 0.31, best + 0.9 * margin)] * 6
    assert diagnose(rows).problem == "none"
    rows = SYNTHETIC["none"] + [(0.2, 0.31, best + 1.1 * margin)] * 6
    assert diagnose(rows).problem == "too_many_epochs"


def test_early_wobble_before_any_improvement_is_not_overfitting():
    rows = [(1.0, 0.9, 0.50), (0.9, 0.85, 0.56), (0.8, 0.8, 0.57), (0.7, 0.75, 0.56),
            (0.6, 0.7, 0.40), (0.5, 0.65, 0.30)]
    assert diagnose(rows).problem != "too_many_epochs"


# A from-scratch one-cycle run of lesson 8 (ResNet34, 128 px, CPU): the error rate worsened for
# three epochs while the learning rate was near its peak, then beat its earlier best.
ONE_CYCLE_BUMP = [(1.30, 1.10, 0.55), (1.05, 0.98, 0.41), (0.92, 0.80, 0.31), (0.85, 0.62, 0.208),
                  (0.80, 0.95, 0.29), (0.76, 0.90, 0.29), (0.71, 0.85, 0.29), (0.58, 0.60, 0.22),
                  (0.47, 0.52, 0.19), (0.40, 0.50, 0.167)]


def test_a_bump_the_run_recovers_from_is_not_too_many_epochs():
    result = diagnose(ONE_CYCLE_BUMP)
    assert result.problem == "none", str(result)
    assert "worse for 3 epochs (5-7" in result.evidence
    assert "beat that to 0.167 at epoch 10" in result.evidence and "bump" in result.evidence


def test_recovery_must_beat_the_earlier_best_by_more_than_noise():
    best = 0.208
    margin = max(diag.ERROR_NOISE_ABS, diag.ERROR_NOISE_REL * best)
    rows = ONE_CYCLE_BUMP[:7] + [(0.5, 0.55, best - 0.9 * margin)]
    assert diagnose(rows).problem == "too_many_epochs"
    rows = ONE_CYCLE_BUMP[:7] + [(0.5, 0.55, best - 1.1 * margin)]
    assert diagnose(rows).problem == "none", str(diagnose(rows))


def test_overfitting_after_a_recovered_bump_is_still_too_many_epochs():
    later = [(0.45, 0.50, 0.20), (0.40, 0.55, 0.21), (0.35, 0.60, 0.22), (0.30, 0.65, 0.23)]
    result = diagnose(ONE_CYCLE_BUMP + later)
    assert result.problem == "too_many_epochs", str(result)
    assert "0.167 at epoch 10" in result.evidence and "11-14" in result.evidence


def test_memorising_train_loss_rising_from_near_zero_is_not_an_explosion():
    # 0.0027 -> 0.35 is 130x the lowest train loss, but far below where training started
    rows = [(1.2, 0.9, 0.40), (0.2, 0.5, 0.20), (0.0027, 0.45, 0.15), (0.35, 0.6, 0.18)]
    result = diagnose(rows)
    assert result.problem != "lr_too_high", str(result)
    rows[-1] = (1.5 * diag.EXPLODE_FACTOR * 0.0027 + 1.2, 0.6, 0.18)
    assert diagnose(rows).problem == "lr_too_high"


def test_single_epoch_with_train_below_valid_is_fine():
    assert diagnose([(0.3, 0.4, 0.1)]).problem == "none"


# ---------------------------------------------------------------------------------------------
# Input forms and errors


class EpochRow(NamedTuple):
    """The shape of a learner's recorder rows."""

    epoch: int
    train_loss: float
    valid_loss: float
    error_rate: float
    seconds: float


@pytest.mark.parametrize("form", ["tuples", "dicts", "epoch_rows", "namespaces", "recorder",
                                  "learner", "numpy", "tensor", "tensor_scalars"])
def test_every_input_form_gives_the_same_diagnosis(form):
    table = DEFAULT_LR
    expected = diagnose(table)
    names = ("train_loss", "valid_loss", "error_rate")
    rows = {
        "tuples": lambda: list(table),
        "dicts": lambda: [dict(zip(names, row, strict=True)) for row in table],
        "epoch_rows": lambda: [EpochRow(i, *row, 13.0) for i, row in enumerate(table)],
        "namespaces": lambda: [SimpleNamespace(**dict(zip(names, row, strict=True)))
                               for row in table],
        "recorder": lambda: SimpleNamespace(rows=[EpochRow(i, *row, 13.0)
                                                  for i, row in enumerate(table)]),
        "learner": lambda: SimpleNamespace(recorder=SimpleNamespace(rows=[
            EpochRow(i, *row, 13.0) for i, row in enumerate(table)])),
        "numpy": lambda: np.array(table),
        "tensor": lambda: torch.tensor(table, dtype=torch.float64),
        "tensor_scalars": lambda: [tuple(torch.tensor(v, dtype=torch.float64) for v in row)
                                   for row in table],
    }[form]()
    assert diagnose(rows) == expected


def test_the_vision_learners_recorder_is_understood():
    learner = pytest.importorskip("sgdlab.vision.learner")
    recorder = learner.Recorder()
    for epoch, (train, valid, err) in enumerate(DEFAULT_LR):
        recorder.rows.append(learner.EpochRow(epoch, train, valid, err, 13.0))
    assert diagnose(recorder) == diagnose(DEFAULT_LR)
    assert diagnose(recorder.rows) == diagnose(DEFAULT_LR)


@pytest.mark.parametrize("rows, words", [
    ([], "no epochs"),
    (None, "None"),
    (42, "int"),
    ("1.0, 0.5, 0.1", "str"),
    ({"train_loss": 1.0, "valid_loss": 0.5, "error_rate": 0.1}, "dict"),
    (SimpleNamespace(rows=[]), "no epochs"),
    ([(1.0, 0.5)], "2 values"),
    ([(1.0, 0.5, 0.1, 3.0)], "4 values"),
    ([(1.0, 0.5, 0.1), 7], "epoch 2 is 7"),
    ([(1.0, 0.5, 0.1), "1 0.5 0.1"], "epoch 2"),
    ([{"train_loss": 1.0, "valid_loss": 0.5}], "lacks error_rate"),
    ([(1.0, "0.5", 0.1)], "valid_loss must be a number"),
    ([(1.0, None, 0.1)], "valid_loss must be a number"),
    ([(True, 0.5, 0.1)], "train_loss must be a number"),
    ([(1.0, -0.5, 0.1)], "cannot be negative"),
    ([(1.0, 0.5, 2.1)], "percentage"),
    ([(1.0, 0.5, -0.1)], "between 0 and 1"),
    ([(1.0, 0.5, math.nan)], "error rate nan"),
])
def test_malformed_input_explains_the_expected_format(rows, words):
    with pytest.raises(SgdlabError) as info:
        diagnose(rows)
    message = str(info.value)
    assert words in message
    if isinstance(rows, list) and rows and not isinstance(rows[-1], dict) and not (
            isinstance(rows[-1], tuple) and len(rows[-1]) == 3):
        assert "train_loss, valid_loss, error_rate" in message  # a row of the wrong shape


def test_diagnosis_is_frozen_and_prints_a_paragraph():
    result = diagnose(LR_TOO_HIGH)
    assert isinstance(result, Diagnosis)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.problem = "none"
    text = str(result)
    assert text.startswith("Learning rate too high.")
    assert "1.144e+09" in text and "What to do:" in text and "from scratch" in text
    assert all(len(line) <= 88 for line in text.splitlines())


# ---------------------------------------------------------------------------------------------
# Properties

table_and_problem = st.sampled_from(ALL_TABLES)


@given(table_and_problem, st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_all_losses_keeps_the_verdict(case, scale):
    table, problem = case
    scaled = [(train * scale, valid * scale, err) for train, valid, err in table]
    assert diagnose(scaled).problem == problem


good_runs = st.sampled_from([DEFAULT_LR, SYNTHETIC["none"], SYNTHETIC["too_few_epochs"],
                             LR_TOO_LOW, student_table()])


@given(good_runs, st.integers(min_value=diag.MIN_WORSE_EPOCHS, max_value=10),
       st.floats(min_value=1.1, max_value=3.0))
def test_appending_steadily_worse_epochs_means_too_many_epochs(run, extra, step_in_margins):
    errors = [err for _, _, err in run]
    best = min(errors)
    step = step_in_margins * max(diag.ERROR_NOISE_ABS, diag.ERROR_NOISE_REL * best)
    train, valid, _ = run[-1]
    worse = [(train * 0.9**k, valid * 1.02**k, min(1.0, best + step * k))
             for k in range(1, extra + 1)]
    result = diagnose(list(run) + worse)
    assert result.problem == "too_many_epochs", str(result)


finite_loss = st.floats(min_value=0.0, max_value=1e6)
rows_strategy = st.lists(st.tuples(finite_loss, finite_loss, st.floats(0.0, 1.0)),
                         min_size=1, max_size=30)


@given(rows_strategy)
def test_any_valid_table_gets_a_verdict_with_evidence(rows):
    result = diagnose(rows)
    assert isinstance(result.evidence, str) and isinstance(result.remedy, str)
    assert result.problem in diag.TITLES
    assert result.title == diag.TITLES[result.problem]
    assert result.evidence and result.remedy


# ---------------------------------------------------------------------------------------------
# Linear runs


@pytest.fixture(scope="module")
def data():
    return sgdlab.make_linear_data()


def judge(history: sgdlab.History) -> Diagnosis:
    """diagnose_history, checking that the verdict is well formed and prints."""
    result = diagnose_history(history)
    assert result.problem in diag.TITLES and result.title == diag.TITLES[result.problem]
    assert isinstance(result.evidence, str) and isinstance(result.remedy, str)
    assert str(result).startswith(result.title)
    return result


def run(data, lr: float, steps: int = 100) -> sgdlab.History:
    return sgdlab.gradient_descent(*data, lr=lr, steps=steps, on_divergence="stop")


def test_history_lr_too_low(data):
    result = judge(run(data, 1e-3))
    assert result.problem == "lr_too_low", str(result)
    assert "0.001" in result.evidence and "10x or 100x" in result.remedy


def test_history_lecture_lr_converges(data):
    history = run(data, 0.1)
    a_star = sgdlab.least_squares(*data)  # independent check: it did reach the optimum
    assert torch.allclose(history.final_params, a_star, atol=1e-2)
    assert judge(history).problem == "none"


def test_history_diverged(data):
    history = run(data, 1.5)
    assert history.diverged_at is not None
    result = judge(history)
    assert result.problem == "lr_too_high"
    assert f"step {history.diverged_at}" in result.evidence


def test_history_growing_loss_without_divergence_is_lr_too_high(data):
    lr = 1.05 * sgdlab.max_stable_lr(data.x)
    history = run(data, lr, steps=30)
    assert history.diverged_at is None  # grew, but not yet past train.py's explosion test
    assert judge(history).problem == "lr_too_high"


@pytest.mark.parametrize("minibatch", [False, True])
def test_history_growing_loss_below_the_edge_is_lr_too_high(data, minibatch):
    # a hand-made record whose parameters drift away from the optimum at lr 0.5 (below the
    # edge): the rule reads the loss, not the lr
    steps = 30
    a_star = sgdlab.least_squares(*data)
    params = a_star + 0.1 * torch.arange(1, steps + 2, dtype=torch.float32)[:, None]
    history = sgdlab.History(
        x=data.x, y=data.y, params=params,
        losses=torch.zeros(steps, dtype=torch.float64),
        lrs=torch.full((steps,), 0.5, dtype=torch.float64),
        batches=[torch.arange(16)] * steps if minibatch else None)
    result = judge(history)
    assert result.problem == "lr_too_high" and "growing" in result.evidence


def test_history_good_lr_stopped_early_needs_more_steps(data):
    result = judge(run(data, 0.1, steps=10))
    assert result.problem == "too_few_epochs", str(result)
    assert "more steps" in result.remedy


def test_history_lr_past_the_edge_is_too_high_before_the_loss_grows(data):
    lr = 1.001 * sgdlab.max_stable_lr(data.x)
    history = run(data, lr, steps=5)
    losses = history.full_losses()
    assert losses[-1] < losses[0] and history.diverged_at is None  # still falling, for now
    result = judge(history)
    assert result.problem == "lr_too_high" and "past the edge" in result.evidence


def test_history_minibatch_sgd_converges(data):
    history = sgdlab.minibatch_sgd(*data, lr=0.1, epochs=10, batch_size=16, seed=0)
    assert judge(history).problem == "none"


def test_history_minibatch_noise_floor_is_not_a_problem():
    data = sgdlab.make_linear_data(noise="gaussian")
    history = sgdlab.minibatch_sgd(*data, lr=0.1, epochs=5, batch_size=1, seed=0)
    excess_left = ((history.full_losses()[-1] - history.full_losses().min())
                   / history.full_losses()[0])
    assert excess_left > 0.05  # far from the optimum: the noise floor of batches of one
    # the same learning rates in full-batch steps do converge
    assert judge(run(data, 0.1, steps=history.steps)).problem == "none"
    result = judge(history)
    assert result.problem == "none" and "mini-batch noise" in result.evidence


def test_history_minibatch_lr_too_low(data):
    history = sgdlab.minibatch_sgd(*data, lr=1e-3, epochs=10, batch_size=16, seed=0)
    assert judge(history).problem == "lr_too_low"


def test_history_minibatch_explosion(data):
    history = sgdlab.minibatch_sgd(*data, lr=1.5, epochs=10, batch_size=16, seed=0,
                                   on_divergence="stop")
    assert judge(history).problem == "lr_too_high"


def test_history_errors(data):
    with pytest.raises(SgdlabError, match="History"):
        diagnose_history(DEFAULT_LR)
    with pytest.raises(SgdlabError, match="no steps"):
        diagnose_history(run(data, 0.1, steps=0))


# ---------------------------------------------------------------------------------------------
# Command line


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    diag.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_reads_a_fastai_style_csv(tmp_path, capsys):
    path = tmp_path / "history.csv"
    lines = ["epoch,train_loss,valid_loss,error_rate,time"]
    lines += [f"{i},{t},{v},{e},00:13" for i, (t, v, e) in enumerate(too_many_epochs_table())]
    path.write_text("\n".join(lines) + "\n")
    assert run_cli(["diagnose", str(path)]) == 0
    assert capsys.readouterr().out.startswith("Too many epochs.")


def test_cli_reads_a_saved_history(tmp_path, capsys, data):
    path = run(data, 1e-3).save(tmp_path / "slow.pt")
    assert run_cli(["diagnose", str(path)]) == 0
    assert capsys.readouterr().out.startswith("Learning rate too low.")


@pytest.mark.parametrize("content, words", [
    ("epoch,train_loss,error_rate\n0,1.0,0.5\n", "no column valid_loss"),
    ("train_loss,valid_loss,error_rate\n1.0,abc,0.5\n", "line 2: valid_loss"),
    (None, "cannot read"),
])
def test_cli_bad_files(tmp_path, content, words):
    path = tmp_path / "table.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SgdlabError, match=words):
        run_cli(["diagnose", str(path)])
