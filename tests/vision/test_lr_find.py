"""lr_find only looks: a fit after it sees the same batches, and ends with the same weights,
as a fit without it (on the real data pipeline: shuffling and augmentation on a private
generator)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sgdlab.vision.data import ImageDataLoaders
from sgdlab.vision.learner import vision_learner

from .fakes import write_fake_bears


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_fake_bears(tmp_path_factory.mktemp("lr_find") / "bears", per_class=6, seed=1,
                            shape=(24, 28))


def fitted(folder: Path, look_first: bool) -> tuple[list[float], dict[str, torch.Tensor]]:
    dls = ImageDataLoaders.from_folder(folder, size=16, batch_size=4, device="cpu")
    learn = vision_learner(dls, "resnet18", seed=0, progress=False, log=lambda line: None)
    if look_first:
        learn.lr_find(num_it=7, stop_div=False)
    learn.fit(1, lr=1e-3)
    return learn.recorder.losses, learn.model.state_dict()


def test_a_fit_after_lr_find_is_the_fit_without_it(folder):
    plain_losses, plain_weights = fitted(folder, look_first=False)
    losses, weights = fitted(folder, look_first=True)
    assert losses == plain_losses
    assert all(torch.equal(plain_weights[k], weights[k]) for k in plain_weights)
