"""What the web app's tests share: a tiny checkpoint and pictures made in memory.

The checkpoint is a resnet18 with random weights (seeded) at 32 px: a real sgdlab checkpoint
that :func:`~sgdlab.vision.checkpoint.load_learner` reads like a trained one, in a fraction of
a second, and whose forward pass takes a few milliseconds on a CPU.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from sgdlab.vision.checkpoint import make_checkpoint, write_checkpoint
from sgdlab.vision.images import IMAGENET_MEAN, IMAGENET_STD
from sgdlab.vision.model import create_model

CLASSES = ["black", "grizzly", "teddys"]
SIZE = 32


def write_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """A resnet18 checkpoint at 32 px with random (seeded) weights, written to ``path``."""
    model = create_model(len(CLASSES), "resnet18", head="fastai", seed=seed)
    checkpoint = make_checkpoint(model, arch="resnet18", head="fastai", classes=CLASSES,
                                 size=SIZE, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return write_checkpoint(checkpoint, path)


def picture(mode: str = "RGB", size: tuple[int, int] = (48, 40), seed: int = 0) -> Image.Image:
    """A noisy picture in ``mode`` (RGB, RGBA, CMYK, P, L, I;16, ...)."""
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))
    if mode == "I;16":
        wide = rng.integers(0, 65536, size=(size[1], size[0]), dtype=np.uint16)
        return Image.fromarray(wide)  # uint16: mode I;16
    if mode == "P":
        return rgb.quantize(16)
    if mode == "PA":  # a palette picture with a transparent colour
        palette = rgb.quantize(16)
        palette.info["transparency"] = 0
        return palette
    return rgb.convert(mode)


def encode(img: Image.Image, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=image_format)
    return buffer.getvalue()
