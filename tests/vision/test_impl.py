"""Your own code trains the ResNet (``Learner(..., impl=...)``, :mod:`sgdlab.vision.impl`).

Small and quick: resnet18 on 16-px coloured-noise images from ``fakes.py``. The reference
solutions give the very numbers of sgdlab's own learner, bit for bit (sgdlab trains with the
same hand-written cross-entropy, not ``F.cross_entropy``); a planted wrong momentum step fails
to train and ``diagnose`` says so; functions not written yet come from sgdlab, with a note.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import sgdlab
from sgdlab.diagnose import diagnose
from sgdlab.errors import SgdlabError
from sgdlab.exercises import reference
from sgdlab.exercises.solutions import template_text
from sgdlab.losses import LabelSmoothingCrossEntropy
from sgdlab.vision.impl import SGDLAB, TRIALS, MomentumStepSGD, SmoothedCrossEntropy
from sgdlab.vision.learner import vision_learner

from .fakes import make_fake_dls

WRONG = Path(__file__).resolve().parents[1] / "exercises" / "wrong"
BATCHES = 20


def learner(impl=None, n_batches=BATCHES, lines=None, **kwargs):
    dls = make_fake_dls(n_train=8 * n_batches, n_valid=6, size=16, batch_size=8)
    log = (lambda line: None) if lines is None else lines.append
    return vision_learner(dls, "resnet18", seed=0, progress=False, log=log, impl=impl, **kwargs)


def trained(impl=None, max_lr=slice(3e-4, 3e-3), lines=None):
    learn = learner(impl, lines=lines)
    learn.fit_one_cycle(1, max_lr)
    return learn


def reference_file(tmp_path: Path) -> Path:
    """A student's file holding the reference solutions (sgdlab's own functions)."""
    path = tmp_path / "my_sgd.py"
    path.write_text(Path(reference.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def default_run():
    return trained()


def test_the_reference_momentum_step_trains_bit_for_bit_like_sgdlabs_sgd(default_run):
    """Weight decay, one-cycle momentum and slice learning rates, 20 batches at 3e-3: the
    student's optimizer path (``MomentumStepSGD``) gives the very floats of ``sgdlab.SGD``."""
    code = dataclasses.replace(SGDLAB, origin="mine.py",
                               theirs=frozenset({"momentum_step", "one_cycle_lr",
                                                 "lrs_for_groups"}))
    learn = trained(code)
    assert type(learn.opt) is MomentumStepSGD and type(default_run.opt) is sgdlab.SGD
    assert learn.recorder.group_lrs == default_run.recorder.group_lrs
    assert learn.recorder.losses == default_run.recorder.losses
    for p, q in zip(learn.model.parameters(), default_run.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_the_reference_solutions_train_like_sgdlab_and_the_header_says_whose(tmp_path,
                                                                              default_run):
    """All six from a file, 20 batches at the same learning rates: the very same losses and
    parameters, bit for bit, after the parameters moved well beyond float rounding."""
    lines: list[str] = []
    mine = trained(reference_file(tmp_path), lines=lines)
    assert mine.code.theirs == set(TRIALS) and mine.loss_func is reference.cross_entropy
    assert default_run.loss_func is sgdlab.losses.cross_entropy
    assert lines[0] == ("optimizer: momentum_step from my_sgd.py (weight decay added to the "
                        "gradient first); loss: cross_entropy from my_sgd.py; schedule: "
                        "one_cycle_lr from my_sgd.py; layer groups: lrs_for_groups from my_sgd.py")
    assert lines[1].startswith("epoch  train_loss")
    start = learner().model.state_dict()
    moved = max((p - start[name]).abs().max().item()
                for name, p in default_run.model.named_parameters())
    assert moved > 1e-3, moved
    assert mine.recorder.losses == default_run.recorder.losses
    for p, q in zip(mine.model.parameters(), default_run.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_with_label_smoothing_the_reference_solutions_train_bit_for_bit_too(tmp_path):
    """The CPU recipe smooths labels (ε = 0.1): sgdlab builds the smoothing on the same
    cross-entropy for its own code as for the student's, so the numbers stay identical."""
    runs = []
    for impl in (None, reference_file(tmp_path)):
        learn = learner(impl, loss_func=LabelSmoothingCrossEntropy(0.1))
        learn.fit_one_cycle(1, slice(3e-4, 3e-3))
        runs.append(learn)
    ours, mine = runs
    assert isinstance(ours.loss_func, SmoothedCrossEntropy) and ours.loss_func.eps == 0.1
    assert mine.recorder.losses == ours.recorder.losses
    for p, q in zip(mine.model.parameters(), ours.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_a_wrong_momentum_step_fails_to_train_and_diagnose_says_so(tmp_path):
    lines: list[str] = []
    learn = learner(WRONG / "momentum_uphill.py", n_batches=2, lines=lines)
    recorder = learn.fit_one_cycle(4, 1e-2, on_divergence="stop")
    assert lines[5].startswith("optimizer: momentum_step from momentum_uphill.py")
    assert "loss: cross_entropy from sgdlab" in lines[5]
    losses = recorder.losses
    assert not math.isfinite(losses[-1]) or losses[-1] > 3 * losses[0], losses
    verdict = diagnose(recorder)
    assert verdict.problem in ("lr_too_high", "not_learning"), verdict  # measured: not learning
    right = learner(n_batches=2)
    right.fit_one_cycle(4, 1e-2)
    assert right.recorder.losses[-1] < right.recorder.losses[0]


def test_functions_not_written_yet_come_from_sgdlab_with_a_note(tmp_path):
    template = tmp_path / "my_sgd.py"
    template.write_text(template_text(), encoding="utf-8")
    lines: list[str] = []
    learn = learner(template, n_batches=1, lines=lines)
    assert lines == [f"note: {name}() in my_sgd.py still raises NotImplementedError (exercise "
                     f"{number} is not written yet): sgdlab's {name} is used instead"
                     for name, (number, _, _) in TRIALS.items()]
    assert type(learn.opt) is sgdlab.SGD and learn.loss_func is sgdlab.losses.cross_entropy
    assert learn.code.theirs == set()
    assert learn.code.header().startswith("optimizer: momentum_step from sgdlab")

    partial = tmp_path / "partial.py"
    partial.write_text("from sgdlab.losses import cross_entropy\n", encoding="utf-8")
    lines.clear()
    learn = learner(partial, n_batches=1, lines=lines,
                    loss_func=LabelSmoothingCrossEntropy(0.1))
    assert learn.code.theirs == {"cross_entropy"} and type(learn.opt) is sgdlab.SGD
    assert "note: partial.py does not define momentum_step() (exercise 6) yet: sgdlab's " \
           "momentum_step is used instead" in lines and len(lines) == 5
    assert isinstance(learn.loss_func, SmoothedCrossEntropy)
    assert "loss: cross_entropy from partial.py, label smoothing 0.1" in learn.code.header(
        learn.loss_func)
    logits, targets = torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 2, 1, 1, 0])
    assert learn.loss_func(logits, targets).item() == pytest.approx(
        LabelSmoothingCrossEntropy(0.1)(logits, targets).item(), rel=1e-12)


def test_a_function_that_fails_on_a_tiny_input_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def one_cycle_lr(pct, max_lr, div=25.0, div_final=1e5, pct_start=0.25):\n"
                      "    return max_lr / dvi\n", encoding="utf-8")
    with pytest.raises(SgdlabError, match=r"one_cycle_lr\(\) from broken.py raised NameError.*"
                                          r"pct 0.5, max_lr 0.01.*sgdlab check 11 --impl"):
        learner(broken, n_batches=1)
    wrong_count = SimpleNamespace(lrs_for_groups=lambda lr, n_groups: [1e-3], __name__="mine")
    learn = learner(wrong_count, n_batches=1)
    with pytest.raises(SgdlabError, match=r"lrs_for_groups\(\) from mine gave \[0.001\] for "
                                          r"lr=0.01 and 3 layer groups.*sgdlab check 14"):
        learn.fit_one_cycle(1, 1e-2)


def test_lr_find_uses_their_smoothing_and_suggestions():
    calls: list[str] = []

    def spy(name):
        def wrapped(*args):
            calls.append(name)
            return getattr(reference, name)(*args)
        return wrapped

    student = SimpleNamespace(smooth_losses=spy("smooth_losses"),
                              suggest_lrs=spy("suggest_lrs"), __name__="spy")
    lines: list[str] = []
    mine = learner(student, n_batches=2, lines=lines).lr_find(num_it=8, stop_div=False)
    ours = learner(n_batches=2).lr_find(num_it=8, stop_div=False)
    assert calls.count("smooth_losses") == 2 and calls.count("suggest_lrs") == 2
    assert lines[-1] == ("lr_find: the curve by smooth_losses from spy, the suggestions by "
                         "suggest_lrs from spy")
    assert (mine.losses, mine.steepest, mine.minimum_div_10) == (
        ours.losses, ours.steepest, ours.minimum_div_10)
