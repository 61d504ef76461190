"""Tests for sgdlab.diagnose: the lecture's recorded tables, textbook cases and properties.

The lecture's tables are copied from the notes ("Things that can go wrong"). Two of them give
only error rates per epoch; their losses are built here, as described next to each. The
lecture's validation set has 141 images of 3 classes (its error rates are multiples of 1/141);
the 40-epoch run held out 90% of a larger set (its error rates fit no set smaller than 813
images) and the student's run is on unknown data, so those two get no counts.

The statistics against pure noise are in test_diagnose_noise.py, files and the command in
test_diagnose_cli.py, linear runs (diagnose_history) in test_diagnose_history.py.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from sgdlab.diagnose import REMEDIES, TITLES, Diagnosis, diagnose, rules
from sgdlab.diagnose import noise as diag_noise
from sgdlab.errors import SgdlabError

LECTURE_DATA = {"n_valid": 141, "n_classes": 3}  # the lecture's 141 validation images

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


# Clean textbook cases, one per verdict, with the counts they need: (table, counts).
SYNTHETIC = {
    "lr_too_high": ([(0.9, 0.7, 0.30), (0.6, 0.5, 0.20), (40.0, 2.0e4, 0.66)], {}),
    # a barely moving train loss at chance level (3 classes: chance is 0.667)
    "lr_too_low": ([(2.00, 1.60, 0.70), (1.99, 1.59, 0.69), (1.98, 1.59, 0.69),
                    (1.97, 1.58, 0.68), (1.96, 1.58, 0.68), (1.95, 1.57, 0.67)],
                   {"n_classes": 3}),
    "too_few_epochs": ([(1.0, 0.50, 0.20), (0.6, 0.30, 0.12)], {}),
    "too_many_epochs": ([(1.0, 0.8, 0.30), (0.7, 0.5, 0.20), (0.5, 0.4, 0.14),
                         (0.4, 0.35, 0.10), (0.3, 0.37, 0.13), (0.2, 0.40, 0.14),
                         (0.15, 0.45, 0.15), (0.1, 0.50, 0.16)], {"n_valid": 1000}),
    "not_learning": ([(1.09, 1.10, 0.67), (1.08, 1.10, 0.66), (1.07, 1.10, 0.65)],
                     {"n_valid": 96, "n_classes": 3}),
    "none": ([(0.80, 0.60, 0.25), (0.45, 0.40, 0.15), (0.30, 0.33, 0.11), (0.25, 0.31, 0.10),
              (0.22, 0.30, 0.10)], {}),
}

# name: (table, counts, the lecture's verdict)
LECTURE = {
    "lr 0.5": (LR_TOO_HIGH, LECTURE_DATA, "lr_too_high"),
    "lr 1e-5": (LR_TOO_LOW, LECTURE_DATA, "lr_too_low"),
    "default lr": (DEFAULT_LR, LECTURE_DATA, "none"),
    "one epoch from scratch": (ONE_EPOCH_FROM_SCRATCH, LECTURE_DATA, "too_few_epochs"),
    "student": (student_table(), {}, "none"),
}

ALL_TABLES = [(table, counts, problem) for table, counts, problem in LECTURE.values()] + [
    (table, counts, problem) for problem, (table, counts) in SYNTHETIC.items()]


# ---------------------------------------------------------------------------------------------
# The lecture's own numbers


@pytest.mark.parametrize("name", list(LECTURE))
@pytest.mark.parametrize("with_counts", [True, False])
def test_lecture_tables_get_the_lecture_verdict(name, with_counts):
    table, counts, expected = LECTURE[name]
    result = diagnose(table, **(counts if with_counts else {}))
    assert result.problem == expected, f"{name}: {result}"
    assert result.title == TITLES[expected]


def test_lr_too_high_quotes_the_explosion():
    evidence = diagnose(LR_TOO_HIGH, **LECTURE_DATA).evidence
    assert "epoch 1" in evidence and "1.144e+09" in evidence and "12.22" in evidence


def test_lr_too_low_quotes_the_barely_moving_train_loss_and_the_falling_error_rate():
    result = diagnose(LR_TOO_LOW, **LECTURE_DATA)
    assert "1.349" in result.evidence and "1.321" in result.evidence
    assert "above the validation loss" in result.evidence
    assert "0.6099 to 0.4468" in result.evidence and "below zero at 141" in result.evidence
    assert "10x or 100x" in result.remedy


def test_default_lr_is_fine_despite_the_gap_and_the_last_epoch_blip():
    evidence = diagnose(DEFAULT_LR, **LECTURE_DATA).evidence
    assert "levelled off" in evidence and "6.7%" in evidence  # the gap, explained
    assert "0.02128" in evidence and "epoch 2" in evidence  # the one-image blip, explained
    assert "not yet a sustained" in evidence and "at 141 validation images" in evidence


def test_one_epoch_from_scratch_is_too_few_epochs():
    result = diagnose(ONE_EPOCH_FROM_SCRATCH, **LECTURE_DATA)
    assert "0.6028" in result.evidence and "0.1196" in result.evidence
    assert "more epochs" in result.remedy


@pytest.mark.parametrize("n_valid", [None, 141, 813])
def test_forty_epochs_rise_is_within_noise_and_the_run_ends_at_its_best(n_valid):
    # The notes call this run overfitting, but its error rate rose from 0.068 (epoch 15) to
    # about 0.08 for a few epochs and then came back to 0.062, its best, by the end: ~1.4
    # images of 141, ~10 of 813 (the smallest set its 3-decimal error rates fit). Any rule
    # that called this overfitting would call pure noise overfitting as often.
    result = diagnose(too_many_epochs_table(), n_valid=n_valid)
    assert result.problem == "none", str(result)
    assert "16-23" in result.evidence and "0.068 at epoch 15" in result.evidence
    assert "within noise" in result.evidence


def test_forty_epochs_mid_run_bump_is_a_bump_even_where_it_is_real():
    # with a huge validation set the rise of epochs 16-23 is real, but the run beat it later
    result = diagnose(too_many_epochs_table(), n_valid=100_000)
    assert result.problem == "none", str(result)
    assert "a bump" in result.evidence and "down to 0.062" in result.evidence


@pytest.mark.parametrize("valid_start", [1.33, 1.5, 2.0, 3.0])
def test_student_run_is_not_overfitting(valid_start):
    result = diagnose(student_table(valid_start))
    assert result.problem == "none", str(result)
    assert "1.318 at epoch 8" in result.evidence
    assert "alone are not overfitting" in result.evidence
    assert "kept improving (0.658 at epoch 8 to 0.549 at epoch 27" in result.evidence
    assert "pass n_classes=" in result.evidence  # 0.549 may be chance for two classes


# ---------------------------------------------------------------------------------------------
# Textbook cases, thresholds and edge cases


@pytest.mark.parametrize("problem", list(SYNTHETIC))
def test_textbook_case_of_each_verdict(problem):
    table, counts = SYNTHETIC[problem]
    assert diagnose(table, **counts).problem == problem


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("column", [0, 1])
def test_non_finite_loss_means_lr_too_high(bad, column):
    rows = [list(row) for row in SYNTHETIC["none"][0]]
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
    good = SYNTHETIC["none"][0]
    best_valid = min(valid for _, valid, _ in good)
    below = good + [(0.2, 0.9 * rules.VALID_LOSS_JUMP_FACTOR * best_valid, 0.5)]
    above = good + [(0.2, 1.1 * rules.VALID_LOSS_JUMP_FACTOR * best_valid, 0.5)]
    assert diagnose(below).problem != "lr_too_high"
    assert diagnose(above).problem == "lr_too_high"


def test_first_epoch_explosion_threshold_compares_with_that_epochs_train_loss():
    factor = rules.FIRST_VALID_OVER_TRAIN_FACTOR
    assert diagnose([(2.0, 0.9 * factor * 2.0, 0.5)]).problem != "lr_too_high"
    assert diagnose([(2.0, 1.1 * factor * 2.0, 0.5)]).problem == "lr_too_high"


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
    assert diagnose(rows, n_valid=1000).problem == "lr_too_low"


def test_still_improving_threshold_separates_too_few_from_levelled_off():
    def two_epochs(cut: float):
        return [(1.0, 0.50, 0.20), (0.6, 0.50 * (1 - cut), 0.15)]
    assert diagnose(two_epochs(rules.VALID_LOSS_STEP + 0.01)).problem == "too_few_epochs"
    assert diagnose(two_epochs(rules.VALID_LOSS_STEP - 0.01)).problem == "none"


# The 128-px stage of `sgdlab bears train` on a CPU: a model already at ~19% error, trained on at
# 3e-3 with label smoothing 0.1 (which keeps the train loss above about 0.29); 96 images.
TRAINED_ON = [(0.712861, 0.499664, 0.166667), (0.680371, 0.509768, 0.197917),
              (0.602341, 0.478784, 0.208333), (0.607499, 0.472777, 0.208333),
              (0.582384, 0.481585, 0.187500), (0.563757, 0.502996, 0.197917),
              (0.552433, 0.466913, 0.208333), (0.519194, 0.456702, 0.187500),
              (0.515871, 0.464917, 0.187500), (0.617882, 0.463685, 0.177083)]


def test_a_slow_train_loss_with_an_error_rate_that_did_not_fall_is_not_lr_too_low():
    result = diagnose(TRAINED_ON, n_valid=96, n_classes=3)
    assert result.problem == "none", str(result)
    assert "levelled off" in result.evidence
    falling = [(t, v, 0.30 - 0.01 * i) for i, (t, v, _) in enumerate(TRAINED_ON)]
    assert diagnose(falling, n_valid=96, n_classes=3).problem == "lr_too_low"


def test_slow_rate_threshold_separates_too_low_from_fine():
    def epochs(rate: float):  # an error rate stuck at chance for two classes
        return [(2.0 * (1 - rate) ** k, 1.0, 0.5) for k in range(5)]
    assert diagnose(epochs(rules.SLOW_LOSS_RATE * 0.8), n_classes=2).problem == "lr_too_low"
    assert diagnose(epochs(rules.SLOW_LOSS_RATE * 1.2), n_classes=2).problem != "lr_too_low"


@pytest.mark.parametrize("extra", range(1, 6))
def test_worsening_must_last_the_whole_tail(extra):
    rows = SYNTHETIC["none"][0] + [(0.2, 0.31, 0.10 + 0.03 * k) for k in range(1, extra + 1)]
    expected = "too_many_epochs" if extra >= diag_noise.TAIL_EPOCHS else "none"
    assert diagnose(rows, n_valid=1000).problem == expected


@pytest.mark.parametrize("images, expected", [(1, "none"), (4, "none"), (12, "too_many_epochs")])
def test_a_rise_counts_by_the_number_of_images(images, expected):
    # 96 validation images, best stretch 10 wrong, then the last three epochs `images` worse
    errors = [30, 22, 16, 12, 10, 10] + [10 + images] * 3
    rows = [(1.0 - 0.1 * i, 0.8 - 0.05 * i, k / 96) for i, k in enumerate(errors)]
    assert diagnose(rows, n_valid=96).problem == expected


def test_early_wobble_before_any_improvement_is_not_overfitting():
    rows = [(1.0, 0.9, 0.50), (0.9, 0.85, 0.56), (0.8, 0.8, 0.57), (0.7, 0.75, 0.56),
            (0.6, 0.7, 0.40), (0.5, 0.65, 0.30)]
    assert diagnose(rows).problem != "too_many_epochs"


# A from-scratch one-cycle run of lesson 8 (ResNet34, 128 px, CPU): the error rate worsened for
# a few epochs while the learning rate was near its peak, then beat its earlier best.
ONE_CYCLE_BUMP = [(1.30, 1.10, 0.55), (1.05, 0.98, 0.41), (0.92, 0.80, 0.31), (0.85, 0.62, 0.208),
                  (0.80, 0.95, 0.29), (0.76, 0.90, 0.29), (0.71, 0.85, 0.29), (0.58, 0.60, 0.22),
                  (0.47, 0.52, 0.19), (0.40, 0.50, 0.167)]


@pytest.mark.parametrize("n_valid, words", [(None, "within noise"), (96, "within noise"),
                                            (1000, "a bump")])
def test_a_bump_the_run_recovers_from_is_not_too_many_epochs(n_valid, words):
    result = diagnose(ONE_CYCLE_BUMP, n_valid=n_valid)
    assert result.problem == "none", str(result)
    assert "worse for 4 epochs (5-8" in result.evidence
    assert "down to 0.167 at epoch 10" in result.evidence and words in result.evidence


def test_only_the_end_of_the_run_counts():
    # stopped inside the bump, the run is worse than its best; one more epoch back at its best
    # level and it is not
    assert diagnose(ONE_CYCLE_BUMP[:7], n_valid=1000).problem == "too_many_epochs"
    recovered = ONE_CYCLE_BUMP[:7] + [(0.5, 0.55, 0.208)]
    assert diagnose(recovered, n_valid=1000).problem == "none", str(diagnose(recovered))


def test_overfitting_after_a_recovered_bump_is_still_too_many_epochs():
    later = [(0.45, 0.50, 0.20), (0.40, 0.55, 0.21), (0.35, 0.60, 0.22), (0.30, 0.65, 0.23)]
    result = diagnose(ONE_CYCLE_BUMP + later, n_valid=1000)
    assert result.problem == "too_many_epochs", str(result)
    assert "best stretch (epochs 9-10)" in result.evidence and "(12-14)" in result.evidence
    assert "about 10 epochs" in result.remedy


def test_memorising_train_loss_rising_from_near_zero_is_not_an_explosion():
    # 0.0027 -> 0.35 is 130x the lowest train loss, but far below where training started
    rows = [(1.2, 0.9, 0.40), (0.2, 0.5, 0.20), (0.0027, 0.45, 0.15), (0.35, 0.6, 0.18)]
    result = diagnose(rows)
    assert result.problem != "lr_too_high", str(result)
    rows[-1] = (1.5 * rules.TRAIN_LOSS_JUMP_FACTOR * 0.0027 + 1.2, 0.6, 0.18)
    assert diagnose(rows).problem == "lr_too_high"


def test_single_epoch_with_train_below_valid_is_fine():
    assert diagnose([(0.3, 0.4, 0.1)]).problem == "none"


def test_the_named_thresholds_are_distinct_names():
    names = ("TRAIN_LOSS_JUMP_FACTOR", "VALID_LOSS_JUMP_FACTOR", "FIRST_VALID_OVER_TRAIN_FACTOR")
    assert all(hasattr(rules, name) for name in names)
    assert not hasattr(rules, "EXPLODE_FACTOR")


# ---------------------------------------------------------------------------------------------
# Input forms and errors


class EpochRow(NamedTuple):
    """The shape of a learner's recorder rows."""

    epoch: int
    train_loss: float
    valid_loss: float
    error_rate: float
    seconds: float


def recorder_of(table, **counts) -> SimpleNamespace:
    return SimpleNamespace(rows=[EpochRow(i, *row, 13.0) for i, row in enumerate(table, 1)],
                           **counts)


@pytest.mark.parametrize("form", ["tuples", "dicts", "epoch_rows", "namespaces", "recorder",
                                  "learner", "numpy", "tensor", "tensor_scalars", "run_record",
                                  "checkpoint"])
def test_every_input_form_gives_the_same_diagnosis(form):
    table = DEFAULT_LR
    expected = diagnose(table)
    names = ("train_loss", "valid_loss", "error_rate")
    rows = {
        "tuples": lambda: list(table),
        "dicts": lambda: [dict(zip(names, row, strict=True)) for row in table],
        "epoch_rows": lambda: [EpochRow(i, *row, 13.0) for i, row in enumerate(table, 1)],
        "namespaces": lambda: [SimpleNamespace(**dict(zip(names, row, strict=True)))
                               for row in table],
        "recorder": lambda: recorder_of(table),
        "learner": lambda: SimpleNamespace(recorder=recorder_of(table)),
        "numpy": lambda: np.array(table),
        "tensor": lambda: torch.tensor(table, dtype=torch.float64),
        "tensor_scalars": lambda: [tuple(torch.tensor(v, dtype=torch.float64) for v in row)
                                   for row in table],
        "run_record": lambda: {"rows": [dict(zip(names, row, strict=True)) for row in table]},
        "checkpoint": lambda: {"format": "sgdlab-learner-1", "run": {
            "rows": [dict(zip(names, row, strict=True)) for row in table]}},
    }[form]()
    assert diagnose(rows) == expected


@pytest.mark.parametrize("wrap", ["recorder", "learner", "run_record"])
def test_counts_are_read_from_the_recorder_or_record(wrap):
    expected = diagnose(DEFAULT_LR, **LECTURE_DATA)
    assert expected != diagnose(DEFAULT_LR)  # the counts change the evidence
    recorder = recorder_of(DEFAULT_LR, **LECTURE_DATA)
    source = {"recorder": recorder, "learner": SimpleNamespace(recorder=recorder),
              "run_record": {"rows": recorder.rows, **LECTURE_DATA}}[wrap]
    assert diagnose(source) == expected
    # a keyword wins over the recorder's attribute
    assert diagnose(source, n_valid=50) == diagnose(DEFAULT_LR, n_valid=50, n_classes=3)


def test_a_recorder_without_counts_is_fine():
    assert diagnose(recorder_of(DEFAULT_LR, n_valid=None, n_classes=None)) == diagnose(DEFAULT_LR)


def test_the_vision_learners_recorder_is_understood():
    recording = pytest.importorskip("sgdlab.vision.recorder")
    recorder = recording.Recorder(n_valid=141, n_classes=3)
    for epoch, (train, valid, err) in enumerate(DEFAULT_LR, start=1):
        recorder.rows.append(recording.EpochRow(epoch, train, valid, err, 13.0))
    assert diagnose(recorder) == diagnose(DEFAULT_LR, **LECTURE_DATA)
    assert diagnose(recorder.rows) == diagnose(DEFAULT_LR)
    assert diagnose(recorder.run_record()) == diagnose(DEFAULT_LR, **LECTURE_DATA)


@pytest.mark.parametrize("rows, words", [
    ([], "no epochs"),
    (None, "None"),
    (42, "int"),
    ("1.0, 0.5, 0.1", "str"),
    ({"train_loss": 1.0, "valid_loss": 0.5, "error_rate": 0.1}, "dict"),
    ({"format": "sgdlab-learner-1"}, "holds no epoch table"),
    ({"format": "sgdlab-learner-1", "run": None}, "holds no epoch table"),
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


@pytest.mark.parametrize("counts, words", [
    ({"n_valid": 0}, "n_valid must be at least 1"),
    ({"n_valid": -5}, "at least 1"),
    ({"n_valid": 2.5}, "n_valid must be a whole number"),
    ({"n_valid": "96"}, "whole number"),
    ({"n_valid": True}, "whole number"),
    ({"n_classes": 1}, "n_classes must be at least 2"),
    ({"n_classes": 3.5}, "whole number"),
])
def test_bad_counts_are_refused(counts, words):
    with pytest.raises(SgdlabError, match=words):
        diagnose(DEFAULT_LR, **counts)


def test_whole_number_counts_of_other_types_are_accepted():
    expected = diagnose(DEFAULT_LR, **LECTURE_DATA)
    assert diagnose(DEFAULT_LR, n_valid=np.int64(141), n_classes=3.0) == expected


def test_diagnosis_is_frozen_and_prints_a_paragraph():
    result = diagnose(LR_TOO_HIGH)
    assert isinstance(result, Diagnosis)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.problem = "none"
    text = str(result)
    assert text.startswith("Learning rate too high.")
    assert "1.144e+09" in text and "What to do:" in text and "from scratch" in text
    assert all(len(line) <= 88 for line in text.splitlines())


def test_every_problem_has_a_title_and_a_remedy():
    assert set(TITLES) == set(REMEDIES)
    assert {"lr_too_high", "lr_too_low", "too_few_epochs", "too_many_epochs", "not_learning",
            "none"} == set(TITLES)
    assert "learned nothing yet" in REMEDIES["not_learning"]


# ---------------------------------------------------------------------------------------------
# Properties

table_and_problem = st.sampled_from(
    [(table, counts, problem) for table, counts, problem in ALL_TABLES
     if "n_classes" not in counts])  # ln K compares a loss with a number: not scale-free


@given(table_and_problem, st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_all_losses_keeps_the_verdict(case, scale):
    table, counts, problem = case
    scaled = [(train * scale, valid * scale, err) for train, valid, err in table]
    assert diagnose(scaled, **counts).problem == problem


good_runs = st.sampled_from([DEFAULT_LR, SYNTHETIC["none"][0], SYNTHETIC["too_few_epochs"][0],
                             LR_TOO_LOW, student_table()])


@given(good_runs, st.integers(min_value=diag_noise.TAIL_EPOCHS, max_value=10),
       st.floats(min_value=0.05, max_value=0.1))
def test_appending_steadily_worse_epochs_means_too_many_epochs(run, extra, step):
    # at 1000 images the standard error of a difference is at most 0.015, and the last
    # epochs end at least 0.1 above the best
    best = min(err for _, _, err in run)
    train, valid, _ = run[-1]
    worse = [(train * 0.9**k, valid * 1.02**k, min(1.0, best + step * k))
             for k in range(1, extra + 1)]
    result = diagnose(list(run) + worse, n_valid=1000)
    assert result.problem == "too_many_epochs", str(result)


finite_loss = st.floats(min_value=0.0, max_value=1e6)
rows_strategy = st.lists(st.tuples(finite_loss, finite_loss, st.floats(0.0, 1.0)),
                         min_size=1, max_size=30)
counts_strategy = st.fixed_dictionaries({
    "n_valid": st.none() | st.integers(1, 5000), "n_classes": st.none() | st.integers(2, 1000)})


@given(rows_strategy, counts_strategy)
def test_any_valid_table_gets_a_verdict_with_evidence(rows, counts):
    result = diagnose(rows, **counts)
    assert isinstance(result.evidence, str) and isinstance(result.remedy, str)
    assert result.problem in TITLES
    assert result.title == TITLES[result.problem]
    assert result.evidence and result.remedy
