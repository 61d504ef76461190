"""Bear photos → mini-batches: a folder dataset, a seeded validation split, transforms, loaders.

The layout is the one a web download produces: one sub-folder per class,

    bears/black/00000000.jpg, bears/grizzly/..., bears/teddys/...

The class of an image is the name of its folder; classes are sorted, so class ``i`` is the
``i``-th folder name in alphabetical order.

The dataset is tiny (hundreds of pictures), so every image is decoded and resized ONCE and kept
as a uint8 tensor on the training device:

* training images as ``cache × cache`` squares, ``cache ≈ 1.25 × size`` (resize the short side,
  centre crop), from which each batch draws random resized crops, flips and colour jitter in a
  few batched tensor operations (:mod:`sgdlab.vision.augment`);
* validation images as ``size × size`` squares made by exactly the :func:`valid_transform` that
  inference uses: resize the short side to ``size``, centre crop.

Then every batch is normalized with the ImageNet statistics the pretrained ResNet expects:
``x_c = (pixel_c / 255 - mean_c) / std_c`` for each channel ``c``.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

import sgdlab
from sgdlab.errors import SgdlabError
from sgdlab.vision.augment import Augmentation, augment_batch, channel_stats, normalize

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})

# Training images are cached this much larger than the output so that a crop of the whole
# cache is only gently downsampled by bilinear sampling.
CACHE_SCALE = 1.25

DEFAULT_SEED = 42


class DataWarning(UserWarning):
    """A note about files or folders that the dataset ignored."""


class ImageReadError(SgdlabError):
    """An image file that is missing or cannot be decoded; ``path`` and ``reason`` say which."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"cannot read image {path}: {reason}. Move broken files out of the "
                         f"dataset with sgdlab.vision.clean.verify_images('{path.parent}')")


def default_bears_dir() -> Path:
    """Where the bear photos are: ``$SGDLAB_BEARS``, else ``../shared/bears``.

    ``$SGDLAB_BEARS`` is returned as given. The default ``../shared/bears`` is relative to the
    current folder when it exists there, otherwise to the repository root (the folder that holds
    the ``sgdlab`` package), so lessons find the photos from any working directory. The path is
    returned even when nothing is there; callers say where they looked.
    """
    env = os.environ.get("SGDLAB_BEARS")
    if env:
        return Path(env)
    default = Path("..") / "shared" / "bears"
    if default.is_dir():
        return default
    return Path(os.path.normpath(Path(sgdlab.__file__).resolve().parents[1] / default))


def is_hidden(path: Path) -> bool:
    """Hidden files and folders (``.quarantine``, ``.ipynb_checkpoints``) are never data."""
    return path.name.startswith(".")


def is_image_file(path: Path) -> bool:
    """An image by its name: a visible file with an image extension."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not is_hidden(path) and path.is_file()


def _walk_files(folder: Path) -> Iterator[Path]:
    """Every visible file under ``folder``, skipping hidden folders."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                yield Path(root) / name


def get_image_files(folder: str | os.PathLike, recurse: bool = True) -> list[Path]:
    """The image files in ``folder`` (and its sub-folders unless ``recurse=False``), sorted.

    Images are recognised by extension (``.jpg``, ``.png``, ...); hidden files and folders are
    skipped. A file with an image name but broken content is still listed: decoding or
    :func:`sgdlab.vision.clean.verify_images` finds it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SgdlabError(f"no folder at {folder}; check the path (the bear photos live in "
                          f"../shared/bears, or set SGDLAB_BEARS)")
    files = _walk_files(folder) if recurse else (p for p in folder.iterdir() if p.is_file())
    return sorted(p for p in files if is_image_file(p))


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL image as 8-bit RGB.

    Transparent images (RGBA, LA, palette with transparency) are put on a white background;
    16-bit and float greyscale are rescaled to 0–255; CMYK, greyscale and palette images are
    converted.
    """
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(img, dtype=np.float64)
        top = values.max() if values.size else 0.0
        scale = 255.0 / top if top > 255 else 1.0
        grey = np.clip(values * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def load_image(path_or_pil: str | os.PathLike | Image.Image,
               draft_size: int | None = None) -> Image.Image:
    """Open an image file (or take a PIL image) and return it as RGB, upright.

    The EXIF orientation of phone photos is applied. ``draft_size`` lets the JPEG decoder
    shrink by 2, 4 or 8 while keeping both sides ≥ ``draft_size`` (much faster for big photos).

    Raises:
        ImageReadError: (an :class:`SgdlabError`) the file is missing or is not a readable image.
    """
    if isinstance(path_or_pil, Image.Image):
        return to_rgb(path_or_pil)
    path = Path(path_or_pil)
    try:
        with Image.open(path) as img:
            if draft_size is not None:
                img.draft("RGB", (draft_size, draft_size))
            img.load()
            return to_rgb(ImageOps.exif_transpose(img))
    except FileNotFoundError:
        raise ImageReadError(path, "the file does not exist") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image (no known picture format)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageReadError(path, f"corrupt or truncated ({err or type(err).__name__})") from None


def resize_centre_crop(img: Image.Image, size: int) -> Image.Image:
    """Resize so that the short side is ``size`` (bilinear, antialiased), then centre crop."""
    width, height = img.size
    short = min(width, height)
    new_w = max(size, round(width * size / short))
    new_h = max(size, round(height * size / short))
    img = img.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return img.crop((left, top, left + size, top + size))


def image_to_uint8(img: Image.Image) -> torch.Tensor:
    """An RGB PIL image as a ``(3, H, W)`` uint8 tensor."""
    return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def _resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` if given, else CUDA when present, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise SgdlabError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise SgdlabError(f"device {str(resolved)!r} was asked for but PyTorch sees no GPU; "
                          f"use device='cpu' or leave it out")
    if resolved.type == "cuda" and resolved.index is None:
        resolved = torch.device("cuda", torch.cuda.current_device())
    return resolved


def _check_stats(mean: Sequence[float], std: Sequence[float]) -> None:
    if len(mean) != 3 or len(std) != 3:
        raise SgdlabError(f"mean and std need one value per RGB channel, got {mean!r}, {std!r}")
    if any(s <= 0 for s in std):
        raise SgdlabError(f"std values must be positive, got {std!r}")


def _check_size(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise SgdlabError(f"image size must be a positive integer number of pixels, got {size!r}; "
                          f"use 224 on a GPU, 64–128 for quick CPU checks")


class ValidTransform:
    """Image (or path) → normalized ``(3, size, size)`` tensor; see :func:`valid_transform`."""

    def __init__(self, size: int, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        _check_size(size)
        _check_stats(mean, std)
        self.size = size
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def __call__(self, img: Image.Image | str | os.PathLike) -> torch.Tensor:
        pixels = image_to_uint8(resize_centre_crop(load_image(img), self.size))
        x = pixels.unsqueeze(0).float().div_(255.0)
        return normalize(x, self.mean, self.std)[0]

    def __repr__(self) -> str:
        return f"ValidTransform(size={self.size}, mean={self.mean}, std={self.std})"


def valid_transform(size: int, mean: Sequence[float] = IMAGENET_MEAN,
                    std: Sequence[float] = IMAGENET_STD) -> Callable[[Image.Image], torch.Tensor]:
    """The validation / inference transform.

    Resize so that the short side is ``size``, centre crop ``size × size``, scale the pixels to
    ``[0, 1]``, then normalize each channel: ``(pixel/255 - mean_c) / std_c``. Returns a
    ``(3, size, size)`` float32 tensor. The validation loader applies exactly this.
    """
    return ValidTransform(size, mean, std)


def split_items(items: Sequence[str | os.PathLike], valid_pct: float = 0.2,
                seed: int = DEFAULT_SEED) -> tuple[list[Path], list[Path]]:
    """Set aside ``round(valid_pct · n)`` items at random for validation.

    The items are sorted first and the draw uses a private generator seeded with ``seed``, so
    the same seed gives the same split whatever order the files were listed in, on every
    machine. Returns ``(train, valid)``, each sorted.
    """
    if not isinstance(valid_pct, (int, float)) or not 0 < valid_pct < 1:
        raise SgdlabError(f"valid_pct must be a fraction between 0 and 1, got {valid_pct!r}; "
                          f"the lecture sets aside 0.2 (20%)")
    paths = sorted(Path(p) for p in items)
    n_valid = round(valid_pct * len(paths))
    if n_valid < 1 or n_valid >= len(paths):
        raise SgdlabError(
            f"cannot set aside {valid_pct:.0%} of {len(paths)} image(s) and keep some for both "
            f"training and validation; gather more images (a few dozen per class at least)"
        )
    generator = torch.Generator().manual_seed(int(seed))
    chosen = set(torch.randperm(len(paths), generator=generator)[:n_valid].tolist())
    train = [p for i, p in enumerate(paths) if i not in chosen]
    valid = [p for i, p in enumerate(paths) if i in chosen]
    return train, valid


def find_classes(path: Path) -> tuple[list[str], list[Path]]:
    """The class folders under ``path`` and all their images.

    Ignores, with a :class:`DataWarning`: files without an image extension inside class folders,
    folders holding no images (``models/``), and images lying directly in ``path``. Files at the
    top level (``urls_black.txt``) and hidden entries are ignored silently.

    Returns ``(classes, items)``: sorted folder names and the sorted image paths.
    """
    if not path.exists():
        raise SgdlabError(f"dataset folder {path} does not exist; download the photos first "
                          f"or point SGDLAB_BEARS at them")
    if not path.is_dir():
        raise SgdlabError(f"{path} is a file; give the folder that holds one sub-folder per class")
    classes: list[str] = []
    items: list[Path] = []
    no_images: list[str] = []
    not_images: list[str] = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir() and not is_hidden(p)):
        files = list(_walk_files(folder))
        images = sorted(p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS)
        if images:
            classes.append(folder.name)
            items += images
            not_images += [p.relative_to(path).as_posix() for p in files
                           if p.suffix.lower() not in IMAGE_EXTENSIONS]
        else:
            no_images.append(folder.name + "/")
    loose = [p.name for p in path.iterdir() if is_image_file(p)]
    notes = []
    if not_images:
        notes.append(f"{len(not_images)} file(s) that are not images "
                     f"({_sample(sorted(not_images))})")
    if no_images:
        notes.append(f"{len(no_images)} folder(s) without images ({_sample(no_images)})")
    if loose and classes:
        notes.append(f"{len(loose)} image(s) outside the class folders ({_sample(sorted(loose))})")
    if notes:
        warnings.warn(f"{path}: ignored " + "; ".join(notes), DataWarning, stacklevel=3)
    if not classes:
        where = (f"{len(loose)} image(s) lie directly in {path}; move them into one sub-folder "
                 f"per class" if loose else f"no images found under {path}")
        raise SgdlabError(f"{where}: the dataset needs one sub-folder per class, e.g. "
                          f"{path}/black/*.jpg and {path}/grizzly/*.jpg")
    if len(classes) == 1:
        raise SgdlabError(f"only one class folder with images in {path} ({classes[0]}/); a "
                          f"classifier needs at least two, e.g. black/ and grizzly/")
    return classes, items


def _sample(names: list[str], k: int = 3) -> str:
    shown = ", ".join(names[:k])
    return shown + (f", … {len(names) - k} more" if len(names) > k else "")


def decode_square(path: Path, side: int, draft: bool = False) -> torch.Tensor:
    """Decode an image once: RGB, short side resized to ``side``, centre crop → (3, side, side).

    ``draft`` lets the JPEG decoder shrink big photos on the way (see :func:`load_image`).
    """
    img = load_image(path, draft_size=side if draft else None)
    return image_to_uint8(resize_centre_crop(img, side))


def _decode_all(groups: Sequence[tuple[Sequence[Path], int, bool]],
                num_workers: int) -> list[torch.Tensor]:
    """Decode groups of ``(paths, side, draft)`` in threads → one uint8 stack per group.

    Every unreadable file is found before failing, and one error lists them all.
    """
    from tqdm.auto import tqdm

    jobs = [(path, side, draft) for paths, side, draft in groups for path in paths]

    def attempt(job: tuple[Path, int, bool]) -> torch.Tensor | str:
        try:
            return decode_square(*job)
        except ImageReadError as err:
            return f"{err.path}: {err.reason}"

    workers = num_workers if num_workers > 0 else min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(tqdm(pool.map(attempt, jobs), total=len(jobs), desc="decoding images",
                            leave=False, disable=None))
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
        _check_size(size)
        _check_stats(mean, std)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 2:
            raise SgdlabError(f"batch_size must be an integer ≥ 2 (BatchNorm needs two images), "
                              f"got {batch_size!r}; 64 is the usual choice, lower it if memory "
                              f"runs out")
        if len(train_items) < 2 or not valid_items:
            raise SgdlabError(f"need at least 2 training and 1 validation image, got "
                              f"{len(train_items)} and {len(valid_items)}")
        self.path = Path(path)
        self.classes = list(classes)
        self.train_items, self.valid_items = list(train_items), list(valid_items)
        self.size, self.seed = size, seed
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.device = _resolve_device(device)
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
        return torch.Generator(device=self.device).manual_seed(int(self.seed))

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
        return cls(path, classes, train_items, valid_items, size=size, batch_size=batch_size,
                   device=device, augment=augment, seed=seed, num_workers=num_workers)

    def show_batch(self, out: str | os.PathLike, n: int = 9) -> Path:
        """Save a grid of ``n`` training images, as augmented, with their labels, as a PNG.

        Uses its own generator (seeded with ``seed``), so it does not change the batches that
        training will see.
        """
        from matplotlib.figure import Figure

        if not isinstance(n, int) or n < 1:
            raise SgdlabError(f"n must be a positive number of images, got {n!r}")
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


def save_figure(fig, out: Path) -> Path:
    """Write a matplotlib figure to ``out`` as PNG through a temporary file and a rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=100)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
