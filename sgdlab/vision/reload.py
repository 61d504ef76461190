"""A saved model back on photos of a folder: the learner that ``interpret`` and ``clean`` use."""

from __future__ import annotations

import os
from pathlib import Path

from sgdlab.vision import model as vision_model
from sgdlab.vision.checkpoint import read_checkpoint
from sgdlab.vision.data import ImageDataLoaders
from sgdlab.vision.device import default_device
from sgdlab.vision.learner import Learner


def checkpoint_learner(path: str | os.PathLike, folder: Path, classes: list[str],
                       train: list[Path], valid: list[Path], *, seed: int,
                       batch_size: int | None = None, device: str | None = None,
                       progress: bool = True) -> Learner:
    """The model of the checkpoint ``path`` in a :class:`Learner` on these photos, decoded at
    the checkpoint's size and normalization, without augmentation."""
    checkpoint = read_checkpoint(path)
    dls = ImageDataLoaders(folder, classes, train, valid, size=checkpoint["size"],
                           batch_size=batch_size or 64, device=default_device(device),
                           augment=False, seed=seed, mean=checkpoint["mean"],
                           std=checkpoint["std"])
    model = vision_model.create_model(len(checkpoint["classes"]), checkpoint["arch"],
                                      head=checkpoint["head"])
    learn = Learner(dls, model, arch=checkpoint["arch"], head=checkpoint["head"],
                    progress=progress)
    return learn.load(Path(path).absolute())
