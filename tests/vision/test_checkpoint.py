"""Checkpoints hold exactly what they say: the file you name, sane weights, the run's record.

Each test here failed on the code before the checkpoint module existed: ``load_learner`` read
the metadata of one file and the weights of another, a crafted dict gave a ``KeyError``, NaN
weights loaded silently, and an unsafe pickle's error advised ``weights_only=False``.
"""

from __future__ import annotations

import math
import pickle

import pytest
import torch

from sgdlab.errors import SgdlabError
from sgdlab.vision.checkpoint import CHECKPOINT_FORMAT, load_learner, read_checkpoint
from sgdlab.vision.learner import vision_learner

from .fakes import make_fake_dls


def make_learner(dls, seed: int = 0, model_dir="models"):
    return vision_learner(dls, arch="resnet18", seed=seed, progress=False,
                          log=lambda line: None, model_dir=model_dir)


@pytest.fixture(scope="module")
def dls(tmp_path_factory):
    return make_fake_dls(tmp_path_factory.mktemp("bears"), n_train=8, n_valid=6, batch_size=8)


@pytest.fixture(scope="module")
def saved(dls, tmp_path_factory):
    """A trained learner's checkpoint: (learner, path)."""
    learn = make_learner(dls)
    learn.fit(1, lr=1e-3)
    return learn, learn.save(tmp_path_factory.mktemp("saved") / "bears.pth")


def first_weight(model: torch.nn.Module) -> torch.Tensor:
    return next(iter(model.state_dict().values())).detach().cpu()


def test_a_bare_file_name_is_loaded_from_the_current_folder(dls, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    here, in_models = make_learner(dls, seed=1), make_learner(dls, seed=2)
    here.save(tmp_path / "bears.pth")
    in_models.save("bears")                                  # a name: models/bears.pth
    assert (tmp_path / "models" / "bears.pth").is_file()
    loaded = load_learner("bears.pth")
    assert torch.equal(first_weight(loaded.model), first_weight(here.model))
    assert not torch.equal(first_weight(loaded.model), first_weight(in_models.model))
    assert torch.equal(first_weight(make_learner(dls).load("bears.pth").model),
                       first_weight(here.model))
    assert torch.equal(first_weight(make_learner(dls).load("bears").model),
                       first_weight(in_models.model))


def test_the_checkpoint_records_the_run(saved, dls):
    learn, path = saved
    run = read_checkpoint(path)["run"]
    assert run["rows"] == [vars(row) for row in learn.recorder.rows]
    assert run["rows"][0]["epoch"] == 1
    assert (run["n_valid"], run["n_classes"]) == (len(dls.valid_items), len(dls.classes))
    assert run["split_seed"] == getattr(dls, "seed", None) and run["data_folder"] == dls.path.name
    assert run["valid_files"] == [p.relative_to(dls.path).as_posix() for p in dls.valid_items]


def rewrite(path, tmp_path, change) -> object:
    checkpoint = torch.load(path, weights_only=True)
    change(checkpoint)
    out = tmp_path / "changed.pth"
    torch.save(checkpoint, out)
    return out


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("classes"), "'classes' should be a list of at least 2 class names, got "
                                 "missing"),
    (lambda c: c.pop("state_dict"), "'state_dict' should be a dict of named tensors"),
    (lambda c: c.update(size="big"), "'size' should be the image side in pixels"),
    (lambda c: c.update(mean=[0.5, 0.5]), "'mean' should be 3 finite numbers"),
    (lambda c: c.update(std=[0.2, 0.0, 0.2]), "'std' should be 3 finite numbers"),
    (lambda c: c.update(arch=3), "'arch' should be a name or None"),
    (lambda c: c.update(run=[1, 2]), "'run' should be a dict"),
    (lambda c: c.update(format="other"), "is not a sgdlab learner checkpoint"),
])
def test_a_crafted_checkpoint_is_one_clear_error(saved, tmp_path, change, message):
    _, path = saved
    with pytest.raises(SgdlabError) as raised:
        load_learner(rewrite(path, tmp_path, change))
    assert message in str(raised.value) and "learn.save" in str(raised.value)


def test_nan_or_infinite_weights_are_refused(saved, tmp_path):
    _, path = saved

    def poison(checkpoint):
        name = next(k for k, v in checkpoint["state_dict"].items() if v.is_floating_point())
        checkpoint["state_dict"][name].view(-1)[:3] = torch.tensor([math.nan, math.inf, 0.0])

    with pytest.raises(SgdlabError, match=r"NaN or infinite \(2 values in 1 tensors.*diverged"):
        load_learner(rewrite(path, tmp_path, poison))


class Sneaky:
    """Not plain data: ``weights_only=True`` refuses to unpickle it."""


def test_an_unsafe_pickle_is_refused_without_advice_to_allow_it(saved, tmp_path):
    _, path = saved
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["extra"] = Sneaky()
    bad = tmp_path / "sneaky.pth"
    torch.save(checkpoint, bad)
    with pytest.raises(SgdlabError) as raised:
        load_learner(bad)
    text = str(raised.value)
    assert "refuses to unpickle" in text and "weights_only" not in text
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff\xe0 a JPEG, not a checkpoint",
                                     pickle.dumps({"format": CHECKPOINT_FORMAT})])
def test_damaged_or_foreign_files_are_one_clear_error(tmp_path, content):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(content)
    with pytest.raises(SgdlabError, match="bad.pth"):
        read_checkpoint(bad)
