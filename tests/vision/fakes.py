"""A tiny stand-in for ``ImageDataLoaders``: coloured noise squares, one colour per class.

It has the attributes the learner consumes (see prompts/vision_interface.md) and nothing else,
so the learner's tests do not depend on the real data pipeline. With ``folder`` the images are
also written as PNG files (``folder/<class>/<split>_<i>.png``), so that ``predict`` and
``plot_top_losses`` can open them; the tensors equal what ``valid_transform`` makes of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLASSES = ("black", "grizzly", "teddys")
PALETTE = torch.tensor([[30, 30, 35], [150, 95, 40], [235, 205, 160]], dtype=torch.float32)


class FakeLoader:
    """Re-iterable batches of ``(x, y)``; shuffles with a private generator when asked."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                 shuffle: bool = False, seed: int = 0) -> None:
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        full, rest = divmod(len(self.y), self.batch_size)
        return full + (1 if rest > (1 if self.shuffle else 0) else 0)

    def __iter__(self):
        order = (torch.randperm(len(self.y), generator=self.generator) if self.shuffle
                 else torch.arange(len(self.y)))
        for indices in list(order.split(self.batch_size))[:len(self)]:
            yield self.x[indices], self.y[indices]


@dataclass
class FakeDataLoaders:
    train: FakeLoader
    valid: FakeLoader
    classes: list[str]
    train_items: list[Path]
    valid_items: list[Path]
    train_labels: torch.Tensor
    valid_labels: torch.Tensor
    size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    path: Path = Path("fake")


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) → float ``(pixel/255 − mean) / std``, as the data module does."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images.float().div(255.0) - mean).div(std)


def colour_images(labels: torch.Tensor, size: int, generator: torch.Generator,
                  noise: float = 40.0) -> torch.Tensor:
    """uint8 (N, 3, size, size): each image its class's colour plus pixel noise."""
    base = PALETTE[labels].view(-1, 3, 1, 1)
    jitter = torch.randn(len(labels), 3, size, size, generator=generator) * noise
    return (base + jitter).clamp(0, 255).round().to(torch.uint8)


def write_png(image: torch.Tensor, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image.permute(1, 2, 0).numpy().astype(np.uint8)).save(path)
    return path


def make_fake_dls(folder: Path | None = None, n_train: int = 16, n_valid: int = 8,
                  size: int = 32, batch_size: int = 8, seed: int = 0,
                  classes: tuple[str, ...] = CLASSES, shuffle: bool = True,
                  valid_labels: list[int] | None = None,
                  valid_images: torch.Tensor | None = None) -> FakeDataLoaders:
    """Balanced coloured-noise data; ``valid_labels``/``valid_images`` override the valid set."""
    g = torch.Generator().manual_seed(seed)
    k = len(classes)
    train_labels = torch.arange(n_train) % k
    valid_y = (torch.tensor(valid_labels) if valid_labels is not None
               else torch.arange(n_valid) % k)
    train_images = colour_images(train_labels % len(PALETTE), size, g)
    valid_x = (valid_images if valid_images is not None
               else colour_images(valid_y % len(PALETTE), size, g))
    if folder is not None:
        train_items = [write_png(im, folder / classes[int(c)] / f"train_{i:03d}.png")
                       for i, (im, c) in enumerate(zip(train_images, train_labels, strict=True))]
        valid_items = [write_png(im, folder / classes[int(c)] / f"valid_{i:03d}.png")
                       for i, (im, c) in enumerate(zip(valid_x, valid_y, strict=True))]
    else:
        train_items = [Path(f"train_{i:03d}.png") for i in range(len(train_labels))]
        valid_items = [Path(f"valid_{i:03d}.png") for i in range(len(valid_y))]
    return FakeDataLoaders(
        train=FakeLoader(normalize(train_images), train_labels, batch_size, shuffle, seed),
        valid=FakeLoader(normalize(valid_x), valid_y, batch_size),
        classes=list(classes), train_items=train_items, valid_items=valid_items,
        train_labels=train_labels, valid_labels=valid_y, size=size,
        path=folder if folder is not None else Path("fake"),
    )


BEAR_COLOURS = {"black": (25, 25, 30), "grizzly": (140, 90, 40), "teddys": (230, 200, 150)}


def write_fake_bears(folder: Path, per_class: int = 10, seed: int = 0,
                     shape: tuple[int, int] = (40, 48), suffix: str = ".jpg") -> Path:
    """A bears folder of noisy single-colour photos: ``folder/<class>/<i>.jpg``, ``per_class``
    each, ``shape`` (height, width) pixels. Returns ``folder``."""
    rng = np.random.default_rng(seed)
    for name, colour in BEAR_COLOURS.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            noise = rng.integers(-40, 40, size=(*shape, 3))
            pixels = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{i:08d}{suffix}")
    return folder
