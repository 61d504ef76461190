"""Bear photos → mini-batches: the folder dataset's training and validation loaders.

The dataset is tiny (hundreds of pictures), so every image is decoded and resized ONCE and kept
as a uint8 tensor on the training device:

* training images as ``cache × cache`` squares, ``cache ≈ 1.25 × size`` (resize the short side,
  centre crop), from which each batch draws random resized crops, flips and colour jitter in a
  few batched tensor operations (:mod:`sgdlab.vision.augment`);
* validation images as ``size × size`` squares made by exactly the :func:`valid_transform` that
  inference uses: resize the short side to ``size``, centre crop.

Then every batch is normalized with the ImageNet statistics the pretrained ResNet expects:
``x_c = (pixel_c / 255 - mean_c) / std_c`` for each channel ``c``.

The pieces live beside this module and are re-exported here: :mod:`sgdlab.vision.images`
(finding and decoding pictures, :func:`valid_transform`) and :mod:`sgdlab.vision.split` (the
class folders, the seeded split, where the photos are).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from sgdlab.checks import check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.files import save_figure
from sgdlab.vision.augment import Augmentation, augment_batch, channel_stats, normalize
from sgdlab.vision.device import default_device
from sgdlab.vision.images import (
    IMAGE_EXTENSIONS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageReadError,
    ValidTransform,
    check_image_size,
    check_stats,
    decode_square,
    get_image_files,
    image_to_uint8,
    is_hidden,
    is_image_file,
    load_image,
    resize_centre_crop,
    to_rgb,
    valid_transform,
    walk_files,
)
from sgdlab.vision.split import (
    DEFAULT_SEED,
    DataWarning,
    default_bears_dir,
    find_classes,
    split_items,
)

__all__ = [
    "CACHE_SCALE", "DEFAULT_SEED", "IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_EXTENSIONS",
    "CachedImageLoader", "DataWarning", "ImageDataLoaders", "ImageReadError", "ValidTransform",
    "decode_square", "default_bears_dir", "find_classes", "get_image_files", "image_to_uint8",
    "is_hidden", "is_image_file", "load_image", "resize_centre_crop", "split_items", "to_rgb",
    "valid_transform", "walk_files",
]

# Training images are cached this much larger than the output so that a crop of the whole
# cache is only gently downsampled by bilinear sampling.
CACHE_SCALE = 1.25


def _decode_all(groups: Sequence[tuple[Sequence[Path], int, bool]],
                num_workers: int) -> list[torch.Tensor]:
    """Decode groups of ``(paths, side, draft)`` in threads → one uint8 stack per group.

    Every unreadable file is found before failing, and one error lists them all.
    """
    from sgdlab.progress import progress_bar

    jobs = [(path, side, draft) for paths, side, draft in groups for path in paths]

    def attempt(job: tuple[Path, int, bool]) -> torch.Tensor | str:
        try:
            return decode_square(*job)
        except ImageReadError as err:
            return f"{err.path}: {err.reason}"

    workers = num_workers if num_workers > 0 else min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(progress_bar(pool.map(attempt, jobs), total=len(jobs),
                                    desc="decoding images", unit="image", leave=False))
    bad = [r for r in results if isinstance(r, str)]
    if bad:
        folder = Path(os.path.commonpath([str(job[0].parent) for job in jobs]))
        listing = "\n  ".join(bad[:5]) + (f"\n  … and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise SgdlabError(
            f"{len(bad)} image(s) in the dataset cannot be read:\n  {listing}\nMove them out with "
            f"sgdlab.vision.clean.verify_images('{folder}') and load the folder again"
        )
    stacks, start = [], 0
    for paths, _, _ in groups:
        stacks.append(torch.stack(results[start:start + len(paths)]))  # type: ignore[arg-type]
        start += len(paths)
    return stacks


class CachedImageLoader:
    """Mini-batches ``(xb, yb)`` from images decoded once and kept on the device.

    Iterating gives one epoch; iterate again for the next. With ``shuffle`` each epoch draws a
    new order from the private ``generator`` and a last batch of size 1 is dropped (BatchNorm
    needs at least two images); with an ``augmentation`` every batch is randomly cropped,
    flipped and colour-jittered from the same generator. Without both, batches follow the item
    order, so the same position means the same image every epoch.

    The generator lives on the images' device and everything a batch needs is already there,
    so producing a batch never waits for the GPU (no host↔device copies, no synchronisation).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, items: list[Path],
                 batch_size: int, size: int, mean: tuple[float, float, float],
                 std: tuple[float, float, float], shuffle: bool = False,
                 augmentation: Augmentation | None = None,
                 generator: torch.Generator | None = None) -> None:
        if (shuffle or augmentation is not None) and generator is None:
            raise SgdlabError("a shuffled or augmented loader needs a torch.Generator")
        if generator is not None and generator.device != images.device:
            raise SgdlabError(f"the generator is on {generator.device} but the images are on "
                              f"{images.device}; make it with torch.Generator(device=...)")
        self.images, self.labels, self.items = images, labels, items
        self.batch_size, self.size = batch_size, size
        self.mean, self.std = mean, std
        self.shuffle, self.augmentation, self.generator = shuffle, augmentation, generator
        self.device = images.device
        like = torch.empty(0, device=self.device)
        self._mean, self._std = channel_stats(mean, like), channel_stats(std, like)

    @property
    def n(self) -> int:
        """Number of images."""
        return self.images.shape[0]

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        dropped = self.shuffle and rest == 1
        return full + (1 if rest and not dropped else 0)

    def batch_indices(self) -> list[torch.Tensor]:
        """One epoch of index batches (on the device); draws a permutation when shuffling."""
        order = (torch.randperm(self.n, generator=self.generator, device=self.device)
                 if self.shuffle else torch.arange(self.n, device=self.device))
        return list(order.split(self.batch_size))[:len(self)]

    def make_batch(self, indices: torch.Tensor,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of the given image indices; augmentation draws from ``generator``."""
        idx = indices.to(self.device)
        images = self.images[idx]
        if self.augmentation is not None:
            x = augment_batch(images, self.size, self.augmentation,
                              generator if generator is not None else self.generator)
        else:
            x = images.float().div_(255.0)
        return normalize(x, self._mean, self._std), self.labels[idx]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for indices in self.batch_indices():
            yield self.make_batch(indices)

    def __repr__(self) -> str:
        return (f"CachedImageLoader({self.n} images, batch_size={self.batch_size}, "
                f"{len(self)} batches, shuffle={self.shuffle}, "
                f"augment={self.augmentation is not None}, device={self.device})")


class ImageDataLoaders:
    """Training and validation loaders for a folder of class sub-folders.

    Build it with :meth:`from_folder`. Attributes: ``train`` and ``valid`` (re-iterable loaders
    yielding normalized ``(xb, yb)`` on ``device``), ``classes``, ``train_items``,
    ``valid_items``, ``train_labels``, ``valid_labels``, ``size``, ``mean``, ``std``,
    ``device``, ``path``, ``seed``, ``augmentation``.
    """

    def __init__(self, path: str | os.PathLike, classes: list[str], train_items: list[Path],
                 valid_items: list[Path], size: int = 224, batch_size: int = 64,
                 device: str | torch.device | None = None, augment: bool | Augmentation = True,
                 seed: int = DEFAULT_SEED, num_workers: int = 0,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        check_image_size(size)
        mean, std = check_stats(mean, std)
        check_whole_number(batch_size, "batch_size", minimum=2,
                           hint="BatchNorm needs two images; 64 is the usual choice, lower it "
                                "if memory runs out")
        check_whole_number(num_workers, "num_workers",
                           hint="0 picks one thread per CPU core, at most 8")
        seed = check_whole_number(seed, "seed", hint=f"the lecture uses {DEFAULT_SEED}")
        if not (isinstance(augment, (bool, Augmentation)) or augment is None):
            raise SgdlabError(f"augment must be True, False or an Augmentation(...), got "
                              f"{augment!r}")
        if len(train_items) < 2 or not valid_items:
            raise SgdlabError(f"need at least 2 training and 1 validation image, got "
                              f"{len(train_items)} and {len(valid_items)}")
        self.path = Path(path)
        self.classes = list(classes)
        self.train_items, self.valid_items = list(train_items), list(valid_items)
        self.size, self.seed = size, seed
        self.valid_pct: float | None = None  # known when from_folder drew the split
        self.mean, self.std = mean, std
        self.device = _with_index(default_device(device))
        if augment is True:
            self.augmentation: Augmentation | None = Augmentation()
        elif augment is False or augment is None:
            self.augmentation = None
        else:
            self.augmentation = augment
        self.train_labels = self._labels(self.train_items)
        self.valid_labels = self._labels(self.valid_items)

        cache = round(CACHE_SCALE * size) if self.augmentation is not None else size
        # the validation images go through exactly valid_transform's steps (no draft)
        train_images, valid_images = _decode_all(
            [(self.train_items, cache, True), (self.valid_items, size, False)], num_workers)
        self.train = CachedImageLoader(
            train_images.to(self.device), self.train_labels.to(self.device), self.train_items,
            batch_size, size, self.mean, self.std, shuffle=True,
            augmentation=self.augmentation, generator=self._generator())
        self.valid = CachedImageLoader(
            valid_images.to(self.device), self.valid_labels.to(self.device), self.valid_items,
            batch_size, size, self.mean, self.std)

    def _generator(self) -> torch.Generator:
        """A fresh private generator on the device, seeded with ``seed``."""
        return torch.Generator(device=self.device).manual_seed(self.seed)

    def _labels(self, items: list[Path]) -> torch.Tensor:
        index = {name: i for i, name in enumerate(self.classes)}
        try:
            labels = [index[p.relative_to(self.path).parts[0]] for p in items]
        except (KeyError, ValueError):
            raise SgdlabError(f"every image must sit in a class folder of {self.path} "
                              f"(one of {self.classes})") from None
        return torch.tensor(labels, dtype=torch.int64)

    @classmethod
    def from_folder(cls, path: str | os.PathLike, valid_pct: float = 0.2,
                    seed: int = DEFAULT_SEED, size: int = 224, batch_size: int = 64,
                    device: str | torch.device | None = None,
                    augment: bool | Augmentation = True,
                    num_workers: int = 0) -> ImageDataLoaders:
        """Load ``path/<class>/*.jpg``, split off ``valid_pct`` with ``seed``, decode once.

        Args:
            path: folder with one sub-folder per class.
            valid_pct: fraction of the images set aside for validation (drawn with ``seed``).
            seed: seeds the split, the shuffling and the augmentation.
            size: side of the square images the model sees (224 on a GPU, 64–128 on a CPU).
            batch_size: images per mini-batch.
            device: where images and batches live; default CUDA when available, else CPU.
            augment: ``True`` for the default :class:`Augmentation`, ``False`` for none, or
                your own :class:`Augmentation`.
            num_workers: threads that decode the images once; 0 picks min(8, CPU count).
        """
        path = Path(path)
        classes, items = find_classes(path)
        train_items, valid_items = split_items(items, valid_pct=valid_pct, seed=seed)
        dls = cls(path, classes, train_items, valid_items, size=size, batch_size=batch_size,
                  device=device, augment=augment, seed=seed, num_workers=num_workers)
        dls.valid_pct = valid_pct
        return dls

    def show_batch(self, out: str | os.PathLike, n: int = 9) -> Path:
        """Save a grid of ``n`` training images, as augmented, with their labels.

        The picture is a PNG unless the extension of ``out`` names another format matplotlib
        writes (``.jpg``, ``.svg``, ``.pdf``); it is written atomically. Uses its own
        generator (seeded with ``seed``), so it does not change the batches that training
        will see.
        """
        from matplotlib.figure import Figure

        check_whole_number(n, "n", minimum=1, hint="the number of images to show, e.g. 9")
        n = min(n, self.train.n)
        generator = self._generator()
        indices = torch.randperm(self.train.n, generator=generator, device=self.device)[:n]
        xb, yb = self.train.make_batch(indices, generator)
        std = torch.tensor(self.std, device=xb.device).view(1, 3, 1, 1)
        mean = torch.tensor(self.mean, device=xb.device).view(1, 3, 1, 1)
        pictures = (xb * std + mean).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        fig = Figure(figsize=(2.2 * cols, 2.4 * rows))
        for i, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
            ax.axis("off")
            if i < n:
                ax.imshow(pictures[i])
                ax.set_title(self.classes[int(yb[i])], fontsize=10)
        fig.tight_layout()
        return save_figure(fig, Path(out))

    def __repr__(self) -> str:
        return (f"ImageDataLoaders({self.path}: classes={self.classes}, "
                f"{len(self.train_items)} train / {len(self.valid_items)} valid, "
                f"size={self.size}, device={self.device})")


def train_in_order(dls: Any) -> Any:
    """The training photos in item order, without augmentation, as validation photos are seen
    (row ``i`` is ``dls.train_items[i]``); decodes them again when ``dls`` augments."""
    if getattr(dls, "augmentation", None) is None and isinstance(dls.train, CachedImageLoader):
        t = dls.train
        return CachedImageLoader(t.images, t.labels, t.items, t.batch_size, t.size, t.mean, t.std)
    if not isinstance(dls, ImageDataLoaders):
        raise SgdlabError("ranking the training photos needs ImageDataLoaders (or a train "
                          "loader without augmentation)")
    plain = ImageDataLoaders(dls.path, dls.classes, dls.train_items, dls.valid_items[:1],
                             size=dls.size, batch_size=dls.train.batch_size, device=dls.device,
                             augment=False, seed=dls.seed, mean=dls.mean, std=dls.std)
    return train_in_order(plain)


def _with_index(device: torch.device) -> torch.device:
    """``cuda`` as ``cuda:<current>``, so that it equals the device of the tensors put there."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device
