"""Image files → pixels: finding the pictures of a folder, decoding them as upright RGB, and the
validation / inference transform.

Images are recognised by their extension (``.jpg``, ``.png``, ...); hidden files and folders
(``.quarantine``, ``.ipynb_checkpoints``) are never data. Every decoder here gives 8-bit RGB:
transparent parts go on white, 16-bit greyscale is rescaled, the EXIF rotation of phone photos
is applied. The transform the model sees at validation and inference time is

    resize the short side to ``size``, centre crop ``size × size``,
    ``x_c = (pixel_c / 255 - mean_c) / std_c`` for each channel ``c``

with the ImageNet statistics that pretrained ResNets expect.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from sgdlab.checks import check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.vision.augment import normalize

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})


class ImageReadError(SgdlabError):
    """An image file that is missing or cannot be decoded; ``path`` and ``reason`` say which."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"cannot read image {path}: {reason}. Move broken files out of the "
                         f"dataset with sgdlab.vision.clean.verify_images('{path.parent}')")


# ------------------------------------------------------------------------------ finding files

def is_hidden(path: Path) -> bool:
    """Hidden files and folders (``.quarantine``, ``.ipynb_checkpoints``) are never data."""
    return path.name.startswith(".")


def is_image_file(path: Path) -> bool:
    """An image by its name: a visible file with an image extension."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not is_hidden(path) and path.is_file()


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def walk_files(folder: str | os.PathLike, root: str | os.PathLike | None = None,
               skip: str | os.PathLike | None = None) -> Iterator[Path]:
    """Every visible file under ``folder``: its files (sorted), then each sub-folder's.

    Hidden files and folders are skipped, and so is the folder ``skip`` (a quarantine). A
    symbolic link to a folder is followed like a folder, unless it points back into ``root``
    (default ``folder``) or above it: those pictures are found anyway, or would be found twice.
    Each real folder is read once, so a loop of links ends. The paths go through the links
    (``bears/grizzly/1.jpg`` even when ``grizzly`` links elsewhere). A link to a missing file
    is listed like a file. :func:`find_classes` and :func:`~sgdlab.vision.clean.verify_images`
    both read folders with this walk, so they see the same pictures.
    """
    folder = Path(folder)
    inside_root = os.path.realpath(root if root is not None else folder)
    skipped = os.path.realpath(skip) if skip is not None else None
    seen: set[str] = set()

    def visit(current: Path) -> Iterator[Path]:
        real = os.path.realpath(current)
        if real in seen or real == skipped:
            return
        seen.add(real)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            return
        folders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if not entry.is_dir():
                yield current / entry.name
            elif not entry.is_symlink():
                folders.append(current / entry.name)
            else:
                target = os.path.realpath(entry.path)
                if not (_inside(target, inside_root) or _inside(inside_root, target)):
                    folders.append(current / entry.name)
        for sub in folders:
            yield from visit(sub)

    yield from visit(folder)


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
    files = walk_files(folder) if recurse else (p for p in folder.iterdir() if p.is_file())
    return sorted(p for p in files if is_image_file(p))


# ------------------------------------------------------------------------------ decoding

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


def decode_square(path: Path, side: int, draft: bool = False) -> torch.Tensor:
    """Decode an image once: RGB, short side resized to ``side``, centre crop → (3, side, side).

    ``draft`` lets the JPEG decoder shrink big photos on the way (see :func:`load_image`).
    """
    img = load_image(path, draft_size=side if draft else None)
    return image_to_uint8(resize_centre_crop(img, side))


# ------------------------------------------------------------------------------ the transform

def check_image_size(size: object) -> int:
    """``size`` if it is a whole number of pixels ≥ 1, else a clear :class:`SgdlabError`."""
    return check_whole_number(size, "image size", minimum=1,
                              hint="use 224 on a GPU, 64–128 for quick CPU checks")


def check_stats(mean: Sequence[float], std: Sequence[float]
                ) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Per-channel ``mean`` and ``std`` as float triples; each std must be positive."""
    if len(mean) != 3 or len(std) != 3:
        raise SgdlabError(f"mean and std need one value per RGB channel, got {mean!r}, {std!r}")
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
               for v in (*mean, *std)):
        raise SgdlabError(f"mean and std must be finite numbers, got {mean!r}, {std!r}")
    if any(s <= 0 for s in std):
        raise SgdlabError(f"std values must be positive, got {std!r}")
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)  # type: ignore[return-value]


class ValidTransform:
    """Image (or path) → normalized ``(3, size, size)`` tensor; see :func:`valid_transform`."""

    def __init__(self, size: int, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        self.size = check_image_size(size)
        self.mean, self.std = check_stats(mean, std)

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
