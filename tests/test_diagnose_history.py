"""Tests for diagnose_history: the lecture's problems in a linear run, against the optimum."""

from __future__ import annotations

import pytest
import torch

import sgdlab
from sgdlab.diagnose import TITLES, Diagnosis, diagnose_history
from sgdlab.errors import SgdlabError

DEFAULT_LR = [
    (1.030236, 0.179226, 0.028369), (0.561508, 0.055464, 0.014184),
    (0.396103, 0.053801, 0.014184), (0.316883, 0.050197, 0.021277),
]


# ---------------------------------------------------------------------------------------------
# Linear runs


@pytest.fixture(scope="module")
def data():
    return sgdlab.make_linear_data()


def judge(history: sgdlab.History) -> Diagnosis:
    """diagnose_history, checking that the verdict is well formed and prints."""
    result = diagnose_history(history)
    assert result.problem in TITLES and result.title == TITLES[result.problem]
    assert isinstance(result.evidence, str) and isinstance(result.remedy, str)
    assert str(result).startswith(result.title)
    return result


def run(data, lr: float, steps: int = 100) -> sgdlab.History:
    if lr < sgdlab.max_stable_lr(data.x):
        return sgdlab.gradient_descent(*data, lr=lr, steps=steps, on_divergence="stop")
    with pytest.warns(sgdlab.UnstableLearningRateWarning):  # past the edge on purpose
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
