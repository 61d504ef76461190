"""Progressive resizing (``learn.dls = ...``), test-time augmentation (``learn.tta()``), label
smoothing, and the recipe that uses them: oracles are the model run by hand, torch's own
``cross_entropy(label_smoothing=...)`` and the fake data's sizes.

Small and quick: resnet18 on 16- to 32-px coloured-noise images from ``fakes.py``.
"""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional as F

from sgdlab.errors import SgdlabError
from sgdlab.losses import LabelSmoothingCrossEntropy, cross_entropy
from sgdlab.vision.checkpoint import read_checkpoint
from sgdlab.vision.learner import Learner, vision_learner
from sgdlab.vision.lesson_config import lesson_config
from sgdlab.vision.recipe import Recipe, scratch_recipe

from .fakes import make_fake_dls, write_fake_bears
from .test_cli import load_benchmark


def make_learner(dls, **kwargs):
    return vision_learner(dls, arch="resnet18", seed=0, progress=False, log=lambda line: None,
                          **kwargs)


def by_hand(learn, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(f(x)) and softmax(f(flip(x))) of every image, the model in eval mode."""
    learn.model.eval()
    with torch.no_grad():
        xs = torch.cat([xb for xb, _ in loader])
        return learn.model(xs).softmax(dim=1), learn.model(xs.flip(-1)).softmax(dim=1)


# ----------------------------------------------------------------------------- TTA

def test_tta_averages_each_image_and_its_mirror() -> None:
    dls = make_fake_dls(n_train=8, n_valid=6)
    learn = make_learner(dls)
    learn.fit(1, lr=1e-2)
    probs, targets = learn.tta()
    plain, mirrored = by_hand(learn, dls.valid)
    assert torch.equal(targets, dls.valid_labels)
    assert probs == pytest.approx((plain + mirrored) / 2, abs=1e-5)
    assert probs.sum(dim=1) == pytest.approx(torch.ones(6), abs=1e-5)
    assert not torch.allclose(plain, mirrored, atol=1e-4)  # noise images: the mirror differs


def test_tta_of_mirror_symmetric_images_is_the_plain_prediction() -> None:
    dls = make_fake_dls(n_train=8, n_valid=4)
    half = dls.valid.x[..., :16]
    dls.valid.x = torch.cat([half, half.flip(-1)], dim=-1)  # each image its own mirror
    learn = make_learner(dls)
    probs, _ = learn.tta()
    assert probs == pytest.approx(learn.get_preds()[0], abs=1e-5)


class NewOrderEachPass:
    """A loader that, like a shuffled one, gives other batches each time it is iterated."""

    def __init__(self, loader) -> None:
        self.batches, self.passes = list(loader), 0

    def __iter__(self):
        self.passes += 1
        return iter(self.batches[self.passes - 1:] + self.batches[:self.passes - 1])


def test_tta_reads_another_loader_once() -> None:
    dls = make_fake_dls(n_train=8, n_valid=12, batch_size=4)
    learn = make_learner(dls)
    loader = NewOrderEachPass(dls.valid)
    probs, targets = learn.tta(loader)
    assert loader.passes == 1
    plain, mirrored = by_hand(learn, dls.valid)
    assert probs == pytest.approx((plain + mirrored) / 2, abs=1e-5)
    assert torch.equal(targets, dls.valid_labels)


def test_a_learner_without_data_is_a_clear_error() -> None:
    learn = make_learner(make_fake_dls())
    with pytest.raises(SgdlabError, match="load_learner"):
        Learner(None, learn.model)
    with pytest.raises(SgdlabError, match="cannot be removed"):
        learn.dls = None


# ----------------------------------------------------------------------------- progressive resizing

def test_new_data_at_a_larger_size_trains_on_and_is_saved_with_its_size(tmp_path) -> None:
    small = make_fake_dls(n_train=16, size=16, batch_size=8)
    large = make_fake_dls(n_train=24, size=32, batch_size=8)
    learn = make_learner(small, model_dir=tmp_path)
    learn.fit_one_cycle(1, 1e-2)
    assert learn.size == 16
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    learn.dls = large
    assert learn.dls is large and learn.size == 32
    assert all(torch.equal(v, learn.model.state_dict()[k]) for k, v in weights.items())
    recorder = learn.fit_one_cycle(1, 1e-2)
    assert len(recorder.losses) == len(large.train) == 3  # the new data's batches
    assert read_checkpoint(learn.save("big"))["size"] == 32


def test_new_data_must_have_the_same_classes() -> None:
    learn = make_learner(make_fake_dls())
    with pytest.raises(SgdlabError, match="same classes"):
        learn.dls = make_fake_dls(classes=("black", "grizzly", "polar"))
    with pytest.raises(SgdlabError, match="cannot be removed"):
        learn.dls = None
    assert learn.dls.classes == ["black", "grizzly", "teddys"]


# ----------------------------------------------------------------------------- label smoothing

def test_label_smoothing_by_hand() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    log_p = logits.log_softmax(dim=1)[0]
    eps = 0.3
    q = torch.tensor([1 - eps + eps / 3, eps / 3, eps / 3])          # the softened target
    expected = -(q * log_p).sum()
    loss = LabelSmoothingCrossEntropy(eps)(logits, torch.tensor([0]))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


@given(eps=st.floats(0.0, 0.9), seed=st.integers(0, 2**16), k=st.integers(2, 6))
def test_label_smoothing_agrees_with_torch(eps: float, seed: int, k: int) -> None:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(5, k, generator=g, dtype=torch.float64) * 3
    targets = torch.randint(0, k, (5,), generator=g)
    ours = LabelSmoothingCrossEntropy(eps)(logits, targets)
    assert ours.item() == pytest.approx(
        F.cross_entropy(logits, targets, label_smoothing=eps).item(), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("eps", [-0.1, 1.0, True, "0.1"])
def test_label_smoothing_rejects_bad_eps(eps) -> None:
    with pytest.raises(SgdlabError, match="eps"):
        LabelSmoothingCrossEntropy(eps)


def test_learner_trains_with_its_loss_func_and_validates_with_cross_entropy() -> None:
    seen = []

    def spy(logits, targets):
        loss = LabelSmoothingCrossEntropy(0.2)(logits, targets)
        seen.append(loss.item())
        return loss

    dls = make_fake_dls(n_train=16, n_valid=6, batch_size=8)
    learn = make_learner(dls, loss_func=spy)
    recorder = learn.fit(1, lr=1e-2)
    assert recorder.losses == seen and len(seen) == 2
    probs, targets, _ = learn.get_preds()
    expected = F.nll_loss(probs.log(), targets).item()
    assert recorder.rows[0].valid_loss == pytest.approx(expected, rel=1e-4)
    assert make_learner(dls).loss_func is cross_entropy


# ----------------------------------------------------------------------------- the recipe

def test_recipe_says_when_it_resizes_and_uses_tta() -> None:
    plain = Recipe(arch="resnet34", size=128, batch_size=32, epochs=12, lr=1e-2, wd=5e-4)
    assert not plain.resizes and "small images" not in plain.describe()
    grown = Recipe(arch="resnet34", size=128, batch_size=32, epochs=12, lr=1e-2, wd=5e-4,
                   small_size=64, small_epochs=30, tta=True)
    assert grown.resizes
    text = grown.describe()
    assert ("small images: fit_one_cycle(30, 0.01) at 64 px; main: fit_one_cycle(12, 0.01) at "
            "128 px") in text
    assert "TTA" in text and "label smoothing" not in text
    assert "label smoothing 0.1" in Recipe(arch="resnet34", size=128, batch_size=32, epochs=1,
                                            lr=1e-2, wd=0.0, label_smoothing=0.1).describe()
    with pytest.raises(SgdlabError, match="main size must be larger"):  # refused, not ignored
        Recipe(arch="resnet18", size=32, batch_size=8, epochs=1, lr=1e-2, wd=0.0,
               small_size=64, small_epochs=3)


def test_cpu_scratch_recipe_is_a_resnet34_that_resizes_but_the_lessons_do_not() -> None:
    recipe = scratch_recipe(torch.device("cpu"))
    assert recipe.arch == "resnet34" and recipe.weights is None
    assert 112 <= recipe.size <= 128 and recipe.resizes and recipe.label_smoothing > 0
    lessons = lesson_config({"SGDLAB_DEVICE": "cpu"}).recipe   # one cycle, as before
    assert (lessons.arch, lessons.size, lessons.lr, lessons.wd) == ("resnet34", 128, 1e-2, 5e-4)
    assert not lessons.resizes and not lessons.tta and lessons.loss_func() is None
    assert isinstance(recipe.loss_func(), LabelSmoothingCrossEntropy)


@pytest.mark.slow
def test_bears_benchmark_resizes_then_reports_the_tta_error(tmp_path, capsys,
                                                             monkeypatch) -> None:
    bears = write_fake_bears(tmp_path / "bears", per_class=8)
    bench = load_benchmark("bears")
    real_tta = Learner.tta

    def always_wrong(self, loader=None):  # the final figure must be the TTA one
        probs, targets = real_tta(self, loader)
        return torch.nn.functional.one_hot((targets + 1) % probs.shape[1], probs.shape[1]), targets

    monkeypatch.setattr(Learner, "tta", always_wrong)
    assert bench.main(["--part", "accuracy", "--data", str(bears), "--device", "cpu",
                       "--arch", "resnet18", "--size", "32", "--small-size", "16",
                       "--small-epochs", "2", "--epochs", "1", "--batch-size", "8",
                       "--tta"]) == 0
    out = capsys.readouterr().out
    assert re.findall(r"photos \(seed 42 split\) at (\d+) px", out) == ["16", "32"]
    rows = re.findall(r"^ +(\d+)(?: +\S+){3} +\d\d:\d\d$", out, re.M)
    assert rows == ["1", "2", "1"]  # two epochs at 16 px, then one at 32 px
    assert "without TTA" in out
    final = re.search(r"final error rate (\d\.\d+) \(\S+\) with TTA", out)
    assert final is not None and float(final[1]) == 1.0
