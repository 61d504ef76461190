"""A trained classifier for predictions only: the model and what it needs to see a photo.

Predicting needs no training data, but it needs everything training decided: the class names
in training order, the image size, the normalization and the weights. A :class:`Predictor`
holds exactly that; :func:`~sgdlab.vision.checkpoint.load_learner` builds one from a checkpoint,
on the CPU by default, as in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

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
