"""The Learner: sgdlab's SGD drives a ResNet; schedules, lr_find, checkpoints, bad inputs.

Small and quick: resnet18 (resnet34 where the test is about the default), 32-px coloured-noise
images from ``fakes.py``, a few batches. One integration test runs on the real bear photos.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from PIL import Image

import sgdlab
from sgdlab.errors import DivergenceError, SgdlabError
from sgdlab.vision import model as vm
from sgdlab.vision.checkpoint import load_learner
from sgdlab.vision.device import autocast, default_device, memory_format
from sgdlab.vision.learner import Learner, vision_learner
from sgdlab.vision.lr_find import smooth_losses, suggest_lrs
from sgdlab.vision.predictor import Predictor
from sgdlab.vision.recorder import COLUMNS, EpochRow, format_header, format_row, format_time
from sgdlab.vision.schedule import one_cycle_lr, one_cycle_momentum

from .fakes import make_fake_dls

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_learner(dls, tmp_path=None, arch="resnet18", seed=0, **kwargs) -> Learner:
    kwargs.setdefault("log", lambda line: None)
    return vision_learner(dls, arch=arch, seed=seed, progress=False,
                          model_dir=(tmp_path / "models") if tmp_path else "models", **kwargs)


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def clone_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def image_dls(tmp_path_factory):
    """Fake data written as PNG files (for predict), 16 train / 6 valid, 2 batches per epoch."""
    return make_fake_dls(tmp_path_factory.mktemp("bears"), n_train=16, n_valid=6)


# ----------------------------------------------------------------------------- the optimizer

def test_optimizer_is_sgdlabs_own_with_one_group_per_layer_group() -> None:
    learn = make_learner(make_fake_dls())
    assert type(learn.opt) is sgdlab.SGD
    assert not any(isinstance(v, torch.optim.Optimizer) and v is not learn.opt
                   for v in vars(learn).values())
    assert learn.n_groups == 3
    groups = vm.group_parameters(learn.model)
    for group, params in zip(learn.opt.param_groups, groups, strict=True):
        assert [id(p) for p in group["params"]] == [id(p) for p in params]


def test_a_few_steps_overfit_eight_images() -> None:
    dls = make_fake_dls(n_train=8, n_valid=3, batch_size=8)
    learn = make_learner(dls, head="linear")
    recorder = learn.fit(8, lr=1e-2)
    assert len(recorder.losses) == 8                          # one batch of 8 per epoch
    assert recorder.losses[-1] < 0.25 * recorder.losses[0]


def test_fit_one_cycle_writes_the_schedule_into_the_optimizer() -> None:
    learn = make_learner(make_fake_dls(n_train=16, batch_size=8))
    learn.unfreeze()
    lo, hi = 1e-4, 1e-2
    recorder = learn.fit_one_cycle(2, max_lr=slice(lo, hi))
    total = 2 * 2
    maxes = [lo, math.sqrt(lo * hi), hi]
    assert len(recorder.group_lrs) == total
    for i, (lrs, mom) in enumerate(zip(recorder.group_lrs, recorder.momenta, strict=True)):
        assert lrs == pytest.approx([one_cycle_lr(i / total, m) for m in maxes], rel=1e-12)
        assert mom == pytest.approx(one_cycle_momentum(i / total), rel=1e-12)
    assert recorder.lrs == [lrs[-1] for lrs in recorder.group_lrs]
    assert [g["lr"] for g in learn.opt.param_groups] == recorder.group_lrs[-1]
    assert learn.opt.param_groups[0]["momentum"] == recorder.momenta[-1]
    assert recorder.epochs == [1, 1, 2, 2]   # epochs count from 1, as in the table


def test_fit_records_rows_and_prints_the_table() -> None:
    lines = []
    learn = make_learner(make_fake_dls(n_train=16, n_valid=5), log=lines.append)
    recorder = learn.fit(2, lr=slice(1e-3))
    assert recorder.group_lrs == [[1e-4, 1e-4, 1e-3]] * 4
    assert [r.epoch for r in recorder.rows] == [1, 2]      # counted from 1, as printed
    for row in recorder.rows:
        batch = [loss for loss, e in zip(recorder.losses, recorder.epochs, strict=True)
                 if e == row.epoch]
        assert row.train_loss == pytest.approx(sum(batch) / len(batch))
        assert min(abs(row.error_rate - k / 5) for k in range(6)) < 1e-6     # 5 images
        assert row.valid_loss > 0 and row.seconds >= 0
    valid_loss, error = learn.validate()
    assert (valid_loss, error) == pytest.approx((recorder.rows[-1].valid_loss,
                                                 recorder.rows[-1].error_rate))
    assert lines[0] == "epoch  train_loss  valid_loss  error_rate  time"
    assert lines[1:] == [format_row(r) for r in recorder.rows]
    assert recorder.table().splitlines() == lines


def test_row_format_matches_the_lecture_table() -> None:
    row = EpochRow(epoch=0, train_loss=1.030236, valid_loss=0.179226, error_rate=0.028369,
                   seconds=13.2)
    assert format_header().split() == list(COLUMNS)
    assert format_row(row) == "    0    1.030236    0.179226    0.028369  00:13"
    huge = format_row(EpochRow(0, 12.220007, 1144188288.0, 0.765957, 3725.0))
    assert huge == "    0   12.220007  1.1442e+09    0.765957  62:05"
    assert format_time(83.4) == "01:23"


def test_recorder_plots_are_pngs(tmp_path) -> None:
    learn = make_learner(make_fake_dls())
    learn.fit_one_cycle(1)
    for path in (learn.recorder.plot_loss(tmp_path / "loss.png"),
                 learn.recorder.plot_lr(tmp_path / "lr.png")):
        assert path.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "lr.png"]


def test_same_seed_same_run_and_global_rng_untouched() -> None:
    states = []
    for global_seed in (1, 2):                   # whatever the caller's random state is
        torch.manual_seed(global_seed)
        before = torch.get_rng_state()
        learn = make_learner(make_fake_dls(seed=3), seed=7)
        learn.fit(1, lr=1e-2)
        states.append(clone_state(learn.model))
        assert torch.equal(torch.get_rng_state(), before)
    assert state_equal(*states)


def test_divergence_raises_after_recording_the_row() -> None:
    learn = make_learner(make_fake_dls(n_train=32, batch_size=8), head="linear")
    with pytest.raises(DivergenceError) as info:
        learn.fit(3, lr=1e12)
    err = info.value
    assert not math.isfinite(err.loss)
    assert err.lr == 1e12 and err.suggested_lr == 1e11
    assert err.history is learn.recorder and len(learn.recorder.rows) == 1
    assert err.step == len(learn.recorder.losses)
    learn = make_learner(make_fake_dls(n_train=32, batch_size=8), head="linear")
    recorder = learn.fit(3, lr=1e12, on_divergence="stop")
    assert len(recorder.rows) == 1 and not math.isfinite(recorder.losses[-1])


# ----------------------------------------------------------------------------- lr_find

def test_smoothing_and_suggestions_by_hand() -> None:
    assert smooth_losses([3.0, 3.0, 3.0]) == pytest.approx([3.0, 3.0, 3.0])   # bias corrected
    # β = 0.5: avg 1.0 → 1.0/0.5 = 2; avg 0.5 → 0.5/0.75
    assert smooth_losses([2.0, 0.0], beta=0.5) == pytest.approx([2.0, 2 / 3])
    lrs = [1e-3, 1e-2, 1e-1, 1.0]
    steepest, minimum_div_10 = suggest_lrs(lrs, [1.0, 0.9, 0.3, 0.25])
    assert steepest == 1e-2                 # the drop 0.9 → 0.3 starts at 1e-2
    assert minimum_div_10 == pytest.approx(0.1)
    # a wobble of one step is outweighed when the slope spans 4 steps
    lrs = [10.0 ** k for k in range(-8, 1)]
    wobbly = [2.0, 1.5, 2.0, 2.0, 2.0, 1.9, 1.6, 1.3, 1.25]
    assert suggest_lrs(lrs, wobbly)[0] == 1e-8
    assert suggest_lrs(lrs, wobbly, window=4)[0] == 1e-2        # window 1e-4 … 1, its middle


def test_lr_find_restores_weights_and_optimizer_state() -> None:
    learn = make_learner(make_fake_dls(n_train=16, batch_size=8))
    learn.fit(1, lr=1e-3)                                     # momentum buffers exist now
    weights = clone_state(learn.model)
    opt_state = {k: v["momentum_buffer"].clone()
                 for k, v in learn.opt.state_dict()["state"].items()}
    hypers = [(g["lr"], g["momentum"]) for g in learn.opt.param_groups]
    rng = learn._random.state.clone()
    result = learn.lr_find(num_it=12, stop_div=False)
    assert len(result.lrs) == 12 and not result.stopped_early   # 2 batches/epoch: cycled 6 times
    assert state_equal(clone_state(learn.model), weights)       # BatchNorm statistics included
    restored = learn.opt.state_dict()["state"]
    assert restored.keys() == opt_state.keys()
    assert all(torch.equal(restored[k]["momentum_buffer"], opt_state[k]) for k in opt_state)
    assert [(g["lr"], g["momentum"]) for g in learn.opt.param_groups] == hypers
    assert torch.equal(learn._random.state, rng)
    assert result.lrs[0] == pytest.approx(1e-7) and result.lrs[-1] == pytest.approx(10.0)


def test_lr_find_stops_on_divergence_and_suggests_from_the_curve(tmp_path) -> None:
    learn = make_learner(make_fake_dls(n_train=16, batch_size=8))
    result = learn.lr_find(start_lr=1e-4, end_lr=1e6, num_it=40)
    assert result.stopped_early and len(result.lrs) < 40
    last = result.losses[-1]
    assert math.isnan(last) or last > 4 * min(result.losses[:-1])
    assert all(v <= 4 * min(result.losses[:i + 1]) for i, v in enumerate(result.losses[:-1]))
    assert result.steepest in result.lrs
    kept = range(4, len(result.lrs) - 1)                      # first tenth and the stop left out
    best = min(kept, key=lambda i: result.losses[i])
    assert result.minimum_div_10 == pytest.approx(result.lrs[best] / 10)
    assert result.plot(tmp_path / "lr_find.png").read_bytes()[:8] == PNG_MAGIC


# ----------------------------------------------------------------------------- checkpoints

def test_save_load_and_load_learner_predict_the_same(image_dls, tmp_path) -> None:
    learn = make_learner(image_dls, tmp_path)
    learn.fit(1, lr=1e-2)
    probs, targets, losses = learn.get_preds()
    item = image_dls.valid_items[0]
    name, index, p = learn.predict(item)
    assert p.sum().item() == pytest.approx(1.0) and name == learn.classes[index]
    assert learn.predict(Image.open(item))[2].tolist() == p.tolist()      # PIL image too
    assert p == pytest.approx(probs[0], abs=1e-5)             # same pixels as the valid loader

    path = learn.save("stage-1")
    assert path == tmp_path / "models" / "stage-1.pth"
    assert [p.name for p in path.parent.iterdir()] == ["stage-1.pth"]   # no temporary left
    fresh = make_learner(image_dls, tmp_path, seed=99).load("stage-1")
    assert state_equal(clone_state(fresh.model), clone_state(learn.model))
    again = fresh.get_preds()
    assert torch.equal(again[0], probs) and torch.equal(again[2], losses)

    served = load_learner(path)
    assert served.device == torch.device("cpu") and served.classes == learn.classes
    assert (served.size, served.mean, served.std) == (learn.size, learn.mean, learn.std)
    assert served.predict(item)[:2] == (name, index)
    assert torch.equal(served.predict(item)[2], p)
    assert isinstance(served, Predictor) and not hasattr(served, "fit")   # predictions only
    assert served.run["rows"] == [vars(row) for row in learn.recorder.rows]


def test_checkpoint_that_does_not_fit_is_a_clear_error(image_dls, tmp_path) -> None:
    two = make_fake_dls(n_train=8, n_valid=2, classes=("black", "grizzly"))
    path = make_learner(two, tmp_path).save(tmp_path / "two.pth")
    learn = make_learner(image_dls, tmp_path)
    with pytest.raises(SgdlabError, match="classes"):
        learn.load(path)
    other_arch = make_learner(image_dls, tmp_path, arch="resnet34").save(tmp_path / "r34.pth")
    with pytest.raises(SgdlabError, match="resnet34"):
        learn.load(other_arch)
    custom = Learner(image_dls, vm.create_model(3, arch="resnet18"), progress=False)
    with pytest.raises(SgdlabError, match="does not fit"):       # no arch to compare: weights
        custom.load(other_arch)
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(SgdlabError, match="could not read"):
        learn.load(tmp_path / "junk.pth")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pth")
    with pytest.raises(SgdlabError, match="not a sgdlab learner checkpoint"):
        load_learner(tmp_path / "plain.pth")
    with pytest.raises(SgdlabError, match="not found"):
        learn.load("missing")


# ----------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("call", [
    lambda learn: learn.fit(0),
    lambda learn: learn.fit(1.5),
    lambda learn: learn.fit(True),
    lambda learn: learn.fit(1, lr=0.0),
    lambda learn: learn.fit(1, lr=-1e-3),
    lambda learn: learn.fit(1, lr=math.nan),
    lambda learn: learn.fit_one_cycle(0),
    lambda learn: learn.fit_one_cycle(1, max_lr=slice(1e-3, 1e-5)),
    lambda learn: learn.fit_one_cycle(1, pct_start=2.0),
    lambda learn: learn.fit(1, wd=-1.0),
    lambda learn: learn.fit(1, on_divergence="ignore"),
    lambda learn: learn.lr_find(start_lr=1.0, end_lr=1e-3),
    lambda learn: learn.lr_find(num_it=1),
    lambda learn: learn.lr_find(beta=1.0),
])
def test_bad_training_arguments_raise_before_training(call) -> None:
    learn = make_learner(make_fake_dls())
    weights = clone_state(learn.model)
    with pytest.raises(SgdlabError):
        call(learn)
    assert state_equal(clone_state(learn.model), weights)


def test_wrong_number_of_classes_is_a_clear_error() -> None:
    dls = make_fake_dls()
    with pytest.raises(SgdlabError, match="5 outputs but the data has 3 classes"):
        Learner(dls, vm.create_model(5, arch="resnet18"), progress=False)
    one = make_fake_dls(classes=("black",))
    with pytest.raises(SgdlabError, match="at least 2 classes"):
        make_learner(one)
    bad = make_fake_dls()
    bad.valid_labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 0])
    with pytest.raises(SgdlabError, match="valid_labels run from 0 to 3"):
        make_learner(bad)


def test_freeze_and_unfreeze_on_the_learner() -> None:
    learn = make_learner(make_fake_dls())
    assert all(p.requires_grad for p in learn.model.parameters())   # random weights: not frozen
    learn.freeze()
    frozen = [n for n, p in learn.model.named_parameters() if not p.requires_grad]
    assert frozen and all(n.startswith("body.") and "bn" not in n and "downsample.1" not in n
                          for n in frozen)
    before = clone_state(learn.model)
    learn.fit(1, lr=1e-2)
    after = clone_state(learn.model)
    assert all(torch.equal(before[n], after[n]) for n in frozen)
    assert not torch.equal(before["head.8.weight"], after["head.8.weight"])
    assert not torch.equal(before["body.bn1.weight"], after["body.bn1.weight"])
    # trained in train mode: BatchNorm statistics move even in a frozen body (as in fastai)
    assert not torch.equal(before["body.bn1.running_mean"], after["body.bn1.running_mean"])
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())


def test_pretrained_weights_start_frozen(tmp_path) -> None:
    import torchvision

    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    learn = make_learner(make_fake_dls(), weights=path)
    assert not learn.model.body.conv1.weight.requires_grad
    assert learn.model.body.bn1.weight.requires_grad and learn.model.head[-1].weight.requires_grad


def test_cpu_device_path() -> None:
    assert default_device("cpu") == torch.device("cpu")
    assert memory_format(torch.device("cpu")) == torch.contiguous_format
    with autocast(torch.device("cpu")):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32
    if not torch.cuda.is_available():
        assert default_device() == torch.device("cpu")
        with pytest.raises(SgdlabError, match="no CUDA"):
            default_device("cuda")
    learn = make_learner(make_fake_dls(), device="cpu")
    assert all(p.device.type == "cpu" for p in learn.model.parameters())


# ----------------------------------------------------------------------------- the real bears

class FirstBatches:
    """The first ``n`` batches of a loader each epoch: a few steps of real training."""

    def __init__(self, loader, n: int) -> None:
        self.loader, self.n = loader, n

    def __len__(self) -> int:
        return min(self.n, len(self.loader))

    def __iter__(self):
        for i, batch in enumerate(self.loader):
            if i == self.n:
                return
            yield batch


@pytest.mark.bears
@pytest.mark.slow
def test_bears_end_to_end_on_a_few_batches(bears_dir, tmp_path) -> None:
    from sgdlab.vision.data import ImageDataLoaders
    from sgdlab.vision.interpret import ClassificationInterpretation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dls = ImageDataLoaders.from_folder(bears_dir, size=64, batch_size=32, device="cpu")
    dls.train = FirstBatches(dls.train, 3)
    learn = make_learner(dls, tmp_path, arch="resnet34")
    assert learn.classes == ["black", "grizzly", "teddys"]
    result = learn.lr_find(num_it=4, stop_div=False)
    assert len(result.lrs) == 4
    recorder = learn.fit_one_cycle(1, 3e-3)
    assert len(recorder.losses) == 3 and len(recorder.rows) == 1
    row = recorder.rows[0]
    assert math.isfinite(row.train_loss) and math.isfinite(row.valid_loss)
    assert 0.0 <= row.error_rate <= 1.0
    interp = ClassificationInterpretation.from_learner(learn)
    assert interp.targets.tolist() == dls.valid_labels.tolist()
    assert int(interp.confusion_matrix().sum()) == len(dls.valid_items)
    _, worst = interp.top_losses(1)
    i = int(worst[0])
    _, index, probs = learn.predict(dls.valid_items[i])           # JPEG → valid_transform
    assert probs == pytest.approx(interp.probs[i], abs=1e-4)
    assert index == int(interp.preds[i])
    assert interp.plot_top_losses(3, tmp_path / "top.png").read_bytes()[:8] == PNG_MAGIC


def test_losses_on_the_cpu_are_read_at_once_without_running_a_step_ahead() -> None:
    from sgdlab.vision.device import read_one_step_late

    ran = []

    def steps():
        for i in range(3):
            ran.append(i)
            yield torch.tensor(float(i)), f"step {i}"

    for value, info in read_one_step_late(steps()):
        assert ran[-1] == int(value) and info == f"step {int(value)}"   # nothing ran ahead
        if value == 1:
            break
    assert ran == [0, 1]
