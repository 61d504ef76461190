"""diagnose against pure noise: simulated runs, the issue's cases, and evidence that holds.

A model whose true error rate is constant gives, on ``n`` validation images, error rates
``Binomial(n, p)/n`` that wander by a few images from epoch to epoch. None of that is a reason
to stop training: "too many epochs" may fire on such runs at most 5% of the time.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sgdlab.diagnose import diagnose
from sgdlab.diagnose.noise import (
    ALPHA,
    Noise,
    chance_test,
    critical_z,
    end_rise,
    error_trend,
)
from sgdlab.diagnose.rules import too_many_epochs
from sgdlab.diagnose.table import EpochTable
from sgdlab.diagnose.verdict import number

N_VALID = 96  # the default CPU recipe's validation set
LENGTHS = range(4, 41)
RUNS_PER_LENGTH = 500


def noisy_errors(rng: np.random.Generator, p, runs: int, epochs: int,
                 n: int = N_VALID) -> list[tuple[float, ...]]:
    """``runs`` runs of per-epoch error rates ``Binomial(n, p)/n`` (``p`` may vary by epoch)."""
    p = np.broadcast_to(np.asarray(p, dtype=float), (epochs,))
    return [tuple(row) for row in (rng.binomial(n, p, size=(runs, epochs)) / n).tolist()]


def fires(errors: tuple[float, ...], n: int = N_VALID) -> bool:
    """Does the too-many-epochs rule fire on this run (flat losses: nothing else to see)?"""
    table = EpochTable((0.45,) * len(errors), (0.50,) * len(errors), errors, n)
    return too_many_epochs(table) is not None


# ---------------------------------------------------------------------------------------------
# The simulation of issue 8


@pytest.mark.parametrize("p", [0.05, 0.18, 0.4])
def test_constant_true_error_rarely_looks_like_too_many_epochs(p):
    rng = np.random.default_rng(8)
    rates = {}
    for epochs in LENGTHS:
        runs = noisy_errors(rng, p, RUNS_PER_LENGTH, epochs)
        rates[epochs] = sum(map(fires, runs)) / RUNS_PER_LENGTH
    worst = max(rates, key=rates.get)
    assert rates[worst] <= 0.05, f"p={p}: fired in {rates[worst]:.1%} of {worst}-epoch runs"


def test_a_run_that_learns_then_plateaus_rarely_looks_like_too_many_epochs():
    # the learning phase makes "it improved" certain; only the plateau's noise is left
    rng = np.random.default_rng(9)
    fired = total = 0
    for epochs in range(6, 41, 2):
        fall = max(2, epochs // 3)
        path = np.concatenate([np.linspace(0.55, 0.18, fall), np.full(epochs - fall, 0.18)])
        runs = noisy_errors(rng, path, 100, epochs)
        fired += sum(map(fires, runs))
        total += len(runs)
    assert fired / total <= 0.05


def test_diagnose_gives_the_rules_verdict_on_noisy_runs():
    rng = np.random.default_rng(10)
    for epochs in (5, 12, 40):
        for errors in noisy_errors(rng, 0.18, 40, epochs):
            rows = [(0.45, 0.50, e) for e in errors]
            found = diagnose(rows, n_valid=N_VALID).problem == "too_many_epochs"
            assert found == fires(errors)


# The real rise: 0.30 -> 0.10, then back up to 0.25 over the last 4 epochs, at n = 96
# (error rates are whole images of 96; the train loss keeps falling, the valid loss turns up).
REAL_RISE_ERRORS = [29, 22, 16, 12, 10, 14, 18, 21, 24]
REAL_RISE = [(t, v, k / 96) for t, v, k in zip(
    [1.0, 0.7, 0.5, 0.38, 0.3, 0.24, 0.19, 0.15, 0.12],
    [0.8, 0.6, 0.45, 0.38, 0.35, 0.4, 0.47, 0.53, 0.6], REAL_RISE_ERRORS, strict=True)]


def test_a_real_rise_is_caught():
    result = diagnose(REAL_RISE, n_valid=96)
    assert result.problem == "too_many_epochs", str(result)
    assert "0.3021 at epoch 1" in result.evidence and "(7-9)" in result.evidence
    assert "at 96 validation images a rise must exceed" in result.evidence
    assert "standard errors" in result.evidence and "about 5 epochs" in result.remedy


def test_a_real_rise_seen_through_noise_is_usually_caught():
    path = [k / 96 for k in REAL_RISE_ERRORS]
    runs = noisy_errors(np.random.default_rng(11), path, 400, len(path))
    assert sum(map(fires, runs)) / len(runs) >= 0.5


def test_a_real_rise_on_a_longer_plateau_is_caught():
    errors = [29, 24, 19, 15, 12, 10, 10, 10, 13, 17, 21, 24]
    assert fires(tuple(k / 96 for k in errors))


@pytest.mark.parametrize("n_valid", [96, None])
@pytest.mark.parametrize("counts", [[20, 16, 18, 18, 18], [20, 16, 17, 17, 17], [5, 3, 4, 4, 4],
                                    [18, 16, 17, 17, 17, 17, 17, 17], [9, 4, 3, 4, 4, 4]])
def test_a_few_images_are_not_too_many_epochs(counts, n_valid):
    result = diagnose([(0.45, 0.50, k / 96) for k in counts], n_valid=n_valid)
    assert result.problem != "too_many_epochs", str(result)


def test_the_cpu_recipes_wobble_between_15_and_20_images_is_noise():
    # `sgdlab bears train` on the CPU: 0.156 to 0.208 over 10 epochs, once told "stop around
    # 2 epochs"
    counts = [18, 15, 17, 19, 20, 18, 19, 20, 19, 18]
    rows = [(0.7 - 0.01 * i, 0.48, k / 96) for i, k in enumerate(counts)]
    result = diagnose(rows, n_valid=96, n_classes=3)
    assert result.problem == "none", str(result)
    assert "within noise" in result.evidence


def test_without_n_valid_the_verdict_says_it_cannot_judge_small_changes():
    rows = [(0.45, 0.50, k / 96) for k in [20, 16, 18, 18, 18]]
    evidence = diagnose(rows).evidence
    assert "Without n_valid" in evidence and "cannot be told from noise" in evidence
    assert "Without n_valid" not in diagnose(rows, n_valid=96).evidence
    # the same real rise: caught at 96 images, too small to claim if there might be only 50
    assert diagnose(REAL_RISE).problem == "none"
    assert "cannot be told from noise" in diagnose(REAL_RISE).evidence


# Lesson 11's "too many epochs" run in quick mode (8 training photos per class, 96 validation
# photos, 30 epochs at a constant lr, no dropout or weight decay): the validation loss rose
# from 0.62 to 0.87 while the error rate went from 0.28 up to 0.40 and back to 0.34.
LESSON11_QUICK_OVERFIT = [
    (1.097848, 1.087144, 56 / 96),
    (0.875247, 0.987193, 39 / 96),
    (0.650011, 0.869781, 42 / 96),
    (0.576272, 0.793207, 42 / 96),
    (0.310898, 0.743998, 32 / 96),
    (0.137108, 0.692772, 30 / 96),
    (0.087908, 0.660175, 33 / 96),
    (0.124682, 0.633696, 31 / 96),
    (0.021758, 0.624158, 28 / 96),
    (0.015679, 0.627936, 28 / 96),
    (0.019146, 0.633868, 28 / 96),
    (0.032794, 0.639415, 30 / 96),
    (0.024248, 0.64975, 29 / 96),
    (0.054461, 0.648378, 28 / 96),
    (0.0116, 0.647402, 27 / 96),
    (0.020783, 0.652433, 29 / 96),
    (0.007825, 0.657377, 30 / 96),
    (0.198532, 0.643085, 27 / 96),
    (0.035995, 0.651495, 27 / 96),
    (0.053209, 0.694546, 30 / 96),
    (0.005441, 0.750547, 31 / 96),
    (0.00605, 0.801081, 34 / 96),
    (0.031872, 0.870912, 35 / 96),
    (0.025312, 0.867875, 37 / 96),
    (0.009968, 0.846603, 38 / 96),
    (0.0377, 0.803561, 35 / 96),
    (0.035193, 0.791689, 34 / 96),
    (0.008679, 0.806076, 33 / 96),
    (0.018981, 0.812614, 34 / 96),
    (0.022085, 0.828148, 33 / 96),
]


def test_lesson_11s_quick_overfit_run_is_within_noise_at_96_images():
    rows = [(t, v, e) for t, v, e in LESSON11_QUICK_OVERFIT]
    result = diagnose(rows, n_valid=96, n_classes=3)
    assert result.problem == "none", str(result)
    assert "within noise" in result.evidence
    assert "kept improving" not in result.evidence  # it rose after the valid loss's best
    # the same numbers measured on four times as many images would be overfitting
    assert diagnose(rows, n_valid=400, n_classes=3).problem == "too_many_epochs"


# ---------------------------------------------------------------------------------------------
# Not learning


def chance_run(errors, loss=1.10):
    return [(loss - 0.01 * i, loss, e) for i, e in enumerate(errors)]


def test_an_error_rate_at_chance_is_not_learning():
    result = diagnose(chance_run([0.67, 0.66, 0.65, 0.67]), n_valid=96, n_classes=3)
    assert result.problem == "not_learning", str(result)
    assert "0.6667" in result.evidence and "3 classes" in result.evidence
    assert "learned nothing yet" in result.remedy and "learning rate too low" in result.remedy
    assert "too few epochs" in result.remedy


@pytest.mark.parametrize("n_classes", [None, 3, 10])
def test_an_error_rate_of_one_is_never_nothing_wrong(n_classes):
    result = diagnose([(0.7, 0.9, 1.0)] * 4, n_classes=n_classes)
    assert result.problem == "not_learning", str(result)


def test_losses_that_never_beat_a_uniform_guess_are_not_learning():
    # a model that always says "the commonest class", unsure: error 0.5 (better than 2/3,
    # by the luck of the class balance) but losses stuck at ln 3
    rows = [(1.10, 1.099, 0.5), (1.09, 1.098, 0.5), (1.09, 1.098, 0.5)]
    result = diagnose(rows, n_valid=96, n_classes=3)
    assert result.problem == "not_learning", str(result)
    assert "ln 3" in result.evidence


def test_clearly_better_than_chance_is_not_not_learning():
    rows = chance_run([0.45, 0.40, 0.36, 0.35], loss=0.9)
    assert diagnose(rows, n_valid=96, n_classes=3).problem != "not_learning"


def test_without_n_classes_chance_is_unknown_and_the_verdict_says_so():
    result = diagnose(chance_run([0.67, 0.66, 0.65, 0.67]), n_valid=96)
    assert result.problem == "none"
    assert "pass n_classes=" in result.evidence


def test_a_chance_level_run_with_a_barely_moving_train_loss_is_lr_too_low():
    # the decision: lr_too_low names the likely cause, so it goes before not_learning
    rows = [(1.40 - 0.001 * i, 1.10, e) for i, e in enumerate([0.66, 0.68, 0.65, 0.67, 0.66])]
    result = diagnose(rows, n_valid=96, n_classes=3)
    assert result.problem == "lr_too_low", str(result)
    assert "no better than chance" in result.evidence


def test_the_lectures_lr_1e5_run_stays_lr_too_low_with_its_chance_level_known():
    rows = [(1.349151, 1.062807, 0.609929), (1.373262, 1.045115, 0.546099),
            (1.346169, 1.006288, 0.468085), (1.334486, 0.978713, 0.453901),
            (1.320978, 0.978108, 0.446809)]
    assert diagnose(rows, n_valid=141, n_classes=3).problem == "lr_too_low"


def test_one_epoch_at_chance_is_too_few_epochs_and_says_it_learned_nothing():
    result = diagnose([(1.2, 1.0, 0.66)], n_valid=96, n_classes=3)
    assert result.problem == "too_few_epochs"
    assert "learned nothing yet" in result.evidence


# ---------------------------------------------------------------------------------------------
# The noise model itself, against independent numbers


def test_standard_error_of_an_error_rate():
    assert Noise(96).standard_error(0.18) == pytest.approx(math.sqrt(0.18 * 0.82 / 96))
    assert Noise(None).images == 50 and not Noise(None).known


def test_the_bar_for_the_best_of_m_candidates():
    assert critical_z(1) == pytest.approx(1.6449, abs=1e-4)
    assert critical_z(20) == pytest.approx(2.8070, abs=1e-4)  # the 0.9975 quantile
    assert ALPHA == 0.05


def test_error_trend_is_the_least_squares_slope():
    errors = [0.6, 0.55, 0.52, 0.47, 0.45]
    slope = np.polyfit(np.arange(5), errors, 1)[0]
    assert error_trend(errors, Noise(141)).slope == pytest.approx(slope)
    assert error_trend(errors, Noise(141)).falling
    assert not error_trend([0.5] * 5, Noise(141)).falling


def test_chance_test_against_a_binomial_count():
    # 3 classes, 96 images: guessing gets 32 right on average, with a standard deviation of
    # sqrt(96 * 1/3 * 2/3) = 4.6; 42 right (error 0.5625) is > 2 of them above: learned
    assert not chance_test(54 / 96, 3, Noise(96)).at_chance
    assert chance_test(60 / 96, 3, Noise(96)).at_chance  # 36 right: within noise


def test_end_rise_reads_the_tail_and_the_best_stretch():
    rise = end_rise([0.3, 0.2, 0.1, 0.12, 0.2, 0.25, 0.3], Noise(96))
    assert (rise.best_first, rise.best_last, rise.best_epoch) == (2, 3, 2)
    assert (rise.tail_first, rise.tail_last) == (4, 6)
    assert rise.tail_mean == pytest.approx(0.25) and rise.best_mean == pytest.approx(0.11)
    assert rise.sustained and rise.improved and rise.candidates == 3
    assert end_rise([0.3, 0.2], Noise(96)) is None


# ---------------------------------------------------------------------------------------------
# The evidence never contradicts itself

NUM = r"(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)"


def check_claims(rows, evidence: str) -> None:
    """Check every claim of a comparison in ``evidence`` against the numbers it quotes."""
    assert "did not get worse" not in evidence
    errors = [e for _, _, e in rows]
    for a, b in re.findall(rf"kept improving \({NUM} at epoch \d+ to {NUM}", evidence):
        assert float(b) < float(a), evidence
    for a, b in re.findall(rf"fell from {NUM} at epoch 1 to {NUM}", evidence):
        assert float(b) <= float(a), evidence
    for a, b in re.findall(rf"(?:average|was) {NUM}, above the {NUM}", evidence):
        assert float(a) >= float(b), evidence
    for a, b in re.findall(rf"up to {NUM}, after {NUM}", evidence):
        assert float(a) > float(b), evidence
    for rise, bar in re.findall(rf"by {NUM}(?: \([^)]*\))?: within noise, not yet a sustained "
                                rf"rise; [^;]*? a rise must exceed {NUM}", evidence):
        assert float(rise) <= float(bar), evidence
    for rise, bar in re.findall(rf"a rise of {NUM}(?: \([^)]*\))?, within noise; [^;]*? a rise "
                                rf"must exceed {NUM}", evidence):
        assert float(rise) <= float(bar), evidence
    for rise, bar in re.findall(rf"{NUM}(?: \([^)]*\))? above that[^.]*\. That is more than "
                                rf"noise: [^:]*? a rise must exceed {NUM}", evidence):
        assert float(rise) > float(bar), evidence
    for count, first, last in re.findall(r"worse for (\d+) epochs \((\d+)-(\d+)", evidence):
        assert int(count) == int(last) - int(first) + 1
    for value, epoch in re.findall(rf"down to {NUM} at epoch (\d+)", evidence):
        assert value == number(errors[int(epoch) - 1]), evidence
    for value, epoch in re.findall(rf"{NUM} at epoch (\d+)", evidence):
        quoted = {number(v) for v in rows[int(epoch) - 1]}
        assert value in quoted, f"{value} is none of epoch {epoch}'s numbers: {evidence}"
    for first, last in re.findall(r"\((\d+)-(\d+)[,)]", evidence):
        assert 1 <= int(first) < int(last) <= len(rows)
    for epoch in re.findall(r"epochs? (\d+)(?![.\d])", evidence):
        assert 1 <= int(epoch) <= len(rows), evidence


def test_the_old_contradiction_is_gone():
    # the old module said "the error rate did not get worse (0.3 to 0.65)"
    rows = [(0.5, 0.4, 0.3), (0.4, 0.3, 0.31), (0.3, 0.5, 0.65)]
    for n_valid in (None, 20, 100):
        result = diagnose(rows, n_valid=n_valid)
        check_claims(rows, result.evidence)
        if result.problem == "none":
            assert "rose" in result.evidence or "higher" in result.evidence
    assert diagnose(rows, n_valid=100).problem == "too_many_epochs"


error_rates = st.integers(0, 96).map(lambda k: k / 96)
losses = st.floats(min_value=0.01, max_value=3.0)
tables = st.lists(st.tuples(losses, losses, error_rates), min_size=1, max_size=25)


@given(tables, st.sampled_from([None, 96]), st.sampled_from([None, 3]))
def test_evidence_claims_agree_with_the_numbers(rows, n_valid, n_classes):
    result = diagnose(rows, n_valid=n_valid, n_classes=n_classes)
    check_claims(rows, result.evidence)
    assert "epoch 0" not in result.evidence and "epochs 0" not in result.evidence


@given(st.lists(st.integers(5, 40), min_size=6, max_size=30))
def test_evidence_claims_agree_on_runs_that_learn_and_wobble(counts):
    # shaped like real runs: a falling train loss, an error rate that falls, wobbles, rises
    rows = [(1.0 / (1 + i), 0.4 + 0.01 * (i % 3), k / 96) for i, k in enumerate(counts)]
    for n_valid in (None, 96):
        check_claims(rows, diagnose(rows, n_valid=n_valid).evidence)


# The error rates of lesson 11's overfitting run on the real photos (24 training photos, 456
# held out, resnet18 at 64 px, seed 42): 0.259 at epoch 15, then a slow, lasting rise.
LESSON_11_OVERFIT = [0.653509, 0.497807, 0.425439, 0.414474, 0.412281, 0.385965, 0.381579,
                     0.357456, 0.313596, 0.304825, 0.282895, 0.278509, 0.276316, 0.269737,
                     0.258772, 0.274123, 0.276316, 0.274123, 0.267544, 0.271930, 0.263158,
                     0.267544, 0.287281, 0.289474, 0.285088, 0.298246, 0.300439, 0.307018,
                     0.313596, 0.315789]


def test_a_long_lasting_rise_is_seen_at_the_longer_scale():
    # 30 epochs: the last 6 average 0.303 against 0.270 at best, 15 images of 456 -- not yet
    table = EpochTable((0.45,) * 30, (0.50,) * 30, tuple(LESSON_11_OVERFIT), 456)
    assert too_many_epochs(table) is None
    # the same rise held for 10 more epochs is more than noise at the scale of 8 epochs,
    # though the last 3 epochs alone against the best 2 never clear their bar
    longer = tuple(LESSON_11_OVERFIT + [0.31, 0.318, 0.32, 0.314, 0.322, 0.318, 0.316, 0.32,
                                        0.324, 0.318])
    found = too_many_epochs(EpochTable((0.45,) * 40, (0.50,) * 40, longer, 456))
    assert found is not None and "at each of 2 window sizes" in found.evidence
    assert "(33-40)" in found.evidence


def test_a_plateau_above_the_best_is_usually_caught_on_many_images():
    rng = np.random.default_rng(11)
    path = np.concatenate([np.linspace(0.6, 0.26, 12), np.full(8, 0.26), np.full(25, 0.31)])
    runs = noisy_errors(rng, path, 200, len(path), n=456)
    caught = sum(fires(errors, n=456) for errors in runs) / len(runs)
    assert caught >= 0.8, f"caught in only {caught:.0%} of runs"
