"""A trained classifier for predictions only: the model and what it needs to see a photo.

Predicting needs no training data, but it needs everything training decided: the class names
in training order, the image size, the normalization and the weights. A :class:`Predictor`
holds exactly that; :func:`~sgdlab.vision.checkpoint.load_learner` builds one from a checkpoint,
on the CPU by default, as in production. :func:`prediction_title` and
:func:`save_prediction_figure` draw what it predicted (``sgdlab bears predict --show``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgdlab.errors import SgdlabError
from sgdlab.style import SCREEN, FigureStyle, new_figure, save_styled
from sgdlab.vision.device import default_device, memory_format
from sgdlab.vision.evaluate import predict_image


class Predictor:
    """``predict(image) -> (class name, index, probabilities)`` for a trained ``model``.

    Attributes:
        model: the network, in evaluation mode, on ``device``.
        classes, size, mean, std: as in training (the checkpoint's).
        arch, head: how the model was built (``None`` for a custom model).
        run: what the checkpoint recorded about training (see
            :meth:`~sgdlab.vision.learner.Learner.save`), or ``{}``.
    """

    def __init__(self, model: nn.Module, *, classes: Sequence[str], size: int,
                 mean: Sequence[float], std: Sequence[float], arch: str | None = None,
                 head: str | None = None, device: str | torch.device = "cpu",
                 run: dict | None = None) -> None:
        self.device = default_device(device)
        self.model = model.to(self.device, memory_format=memory_format(self.device)).eval()
        self.classes = list(classes)
        self.size, self.mean, self.std = int(size), tuple(mean), tuple(std)
        self.arch, self.head = arch, head
        self.run = dict(run or {})

    def predict(self, image: Any) -> tuple[str, int, torch.Tensor]:
        """Classify one image (a path or a PIL image) the way validation images are seen.

        Returns ``(class name, class index, probabilities)``, the probabilities a CPU tensor in
        the order of ``classes``.
        """
        return predict_image(self.model, image, classes=self.classes, size=self.size,
                             mean=self.mean, std=self.std, device=self.device)

    def __repr__(self) -> str:
        return (f"Predictor({self.arch or 'custom model'}, classes={self.classes}, "
                f"size={self.size}, device={self.device})")


def prediction_title(classes: Sequence[str], probs: torch.Tensor) -> str:
    """The title of a predicted photo: the prediction (the most probable class) with its
    probability, then every class's probability, most likely first::

        prediction: grizzly (0.93)
        grizzly 0.93 · black 0.05 · teddy 0.02
    """
    if len(classes) != len(probs):
        raise SgdlabError(f"{len(probs)} probabilities for {len(classes)} classes; give one "
                          f"probability per class, in the order of the classes")
    order = probs.argsort(descending=True).tolist()
    best = order[0]
    listing = " · ".join(f"{classes[i]} {probs[i].item():.2f}" for i in order)
    return f"prediction: {classes[best]} ({probs[best].item():.2f})\n{listing}"


def save_prediction_figure(photos: Sequence[tuple[str | os.PathLike, str]],
                           path: str | os.PathLike, style: FigureStyle = SCREEN) -> Path:
    """Save the ``photos`` (each ``(image file, title)``, the title from
    :func:`prediction_title`) side by side as a PNG, each under its file name and title, in
    rows of at most three (four on a projector)."""
    from sgdlab.vision.images import load_image

    if not photos:
        raise SgdlabError("no photos to show; give at least one image that can be read")
    ncols = min(len(photos), 4 if style.size else 3)
    nrows = math.ceil(len(photos) / ncols)
    fig = new_figure(style, (3.6 * ncols, 4.0 * nrows))
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax in axes:
        ax.axis("off")
    for ax, (image, title) in zip(axes, photos, strict=False):
        picture = load_image(image)
        picture.thumbnail((512, 512))
        ax.imshow(picture)
        ax.set_title(f"{Path(image).name}\n{title}", fontsize=9)
    return save_styled(fig, path, style)
