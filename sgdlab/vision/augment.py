"""Batched image augmentation that runs where the images already are (CPU or GPU).

Every image of the batch gets its own random crop, flip and colour change, but the whole
batch is transformed by a handful of tensor operations, never one image at a time:

* random resized crop + horizontal flip: one affine map per image,
  ``(x, y) -> (±w·x + cx, h·y + cy)`` in the normalized coordinates of
  ``torch.nn.functional.affine_grid`` (the source image spans ``[-1, 1]²``), then a single
  bilinear ``grid_sample`` resamples the crop to ``size × size``. A crop that covers a fraction
  ``scale`` of the source area with aspect ratio ``r = width/height`` has half-extents
  ``w = √(scale·r)`` and ``h = √(scale/r)``, and its centre is drawn uniformly so that the crop
  stays inside the image: ``cx ∈ [-(1-w), 1-w]``.
* colour jitter: per-image brightness ``x·b``, contrast ``(x - m)·c + m`` around the image's
  mean grey ``m``, and saturation ``(x - g)·s + g`` around each pixel's grey ``g``; then clamp to
  ``[0, 1]``.
* normalization: ``(x - mean) / std`` per channel (ImageNet statistics by default).

The random numbers come from a private ``torch.Generator`` on the images' device (one
``torch.rand(B, 8)`` per batch), so the same seed gives the same augmentation on the same
device, and nothing is copied between host and GPU while training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sgdlab.errors import SgdlabError


@dataclass(frozen=True)
class Augmentation:
    """Settings of the training augmentation (fastai-like, gentle defaults for small datasets).

    Attributes:
        min_scale: smallest crop area as a fraction of the (cached, square) source image.
        ratio: range of crop aspect ratios ``width/height``; drawn log-uniformly.
        flip_p: probability of a horizontal flip.
        brightness, contrast, saturation: each factor is drawn from ``U(1 - v, 1 + v)``.
    """

    min_scale: float = 0.5
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.min_scale <= 1:
            raise SgdlabError(f"min_scale must be in (0, 1], got {self.min_scale!r}; "
                              f"0.5 keeps at least half of each picture")
        low, high = self.ratio
        if not 0 < low <= high:
            raise SgdlabError(f"ratio must be (low, high) with 0 < low <= high, got {self.ratio!r}")
        if not 0 <= self.flip_p <= 1:
            raise SgdlabError(f"flip_p is a probability in [0, 1], got {self.flip_p!r}")
        for name in ("brightness", "contrast", "saturation"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise SgdlabError(f"{name} must be in [0, 1), got {value!r}; 0.2 is a light jitter")

    def draw(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Draw the random parameters of ``n`` images: tensors of shape ``(n,)``.

        One ``torch.rand(n, 8)`` call on the generator's device, so the same generator state
        gives the same draws.
        """
        u = torch.rand(n, 8, generator=generator, device=generator.device)
        scale = self.min_scale + (1 - self.min_scale) * u[:, 0]
        log_low, log_high = math.log(self.ratio[0]), math.log(self.ratio[1])
        ratio = torch.exp(log_low + (log_high - log_low) * u[:, 1])
        half_w = torch.sqrt(scale * ratio).clamp(max=1.0)
        half_h = torch.sqrt(scale / ratio).clamp(max=1.0)
        return {
            "half_w": half_w,
            "half_h": half_h,
            "centre_x": (2 * u[:, 2] - 1) * (1 - half_w),
            "centre_y": (2 * u[:, 3] - 1) * (1 - half_h),
            "flip": u[:, 4] < self.flip_p,
            "brightness": 1 + self.brightness * (2 * u[:, 5] - 1),
            "contrast": 1 + self.contrast * (2 * u[:, 6] - 1),
            "saturation": 1 + self.saturation * (2 * u[:, 7] - 1),
        }


def crop_matrices(half_w: torch.Tensor, half_h: torch.Tensor, centre_x: torch.Tensor,
                  centre_y: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """The ``(B, 2, 3)`` affine matrices that map output coordinates into the source crop."""
    theta = torch.zeros(half_w.shape[0], 2, 3, dtype=torch.float32, device=half_w.device)
    theta[:, 0, 0] = torch.where(flip, -half_w, half_w)
    theta[:, 0, 2] = centre_x
    theta[:, 1, 1] = half_h
    theta[:, 1, 2] = centre_y
    return theta


def random_resized_crop(images: torch.Tensor, size: int, theta: torch.Tensor) -> torch.Tensor:
    """Crop, flip and resize every image of a batch in one ``grid_sample`` call.

    Args:
        images: ``(B, 3, H, W)`` uint8 or float images.
        size: output side in pixels.
        theta: ``(B, 2, 3)`` affine matrices from :func:`crop_matrices`.

    Returns:
        ``(B, 3, size, size)`` float32 in the value range of ``images`` (0–255 for uint8).
    """
    x = images.float()
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def colour_jitter(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor,
                  saturation: torch.Tensor) -> torch.Tensor:
    """Per-image brightness ``b``, contrast ``c`` and saturation ``s`` on ``x`` in ``[0, 1]``.

    The three steps, one after the other, are

        x₁ = b·x                       (brightness)
        x₂ = c·(x₁ - m₁) + m₁          (contrast, m₁ = mean grey of x₁ over the image)
        x₃ = s·(x₂ - g₂) + g₂          (saturation, g₂ = grey of each pixel of x₂)

    and since grey is linear (``g = 0.299 R + 0.587 G + 0.114 B``, weights summing to 1) they
    collapse into one per-image affine blend of the pixel and its grey ``g``, with ``m`` the
    image's mean grey:

        x₃ = s·b·c·x + (1 - s)·b·c·g + b·(1 - c)·m

    computed in place (``x`` is overwritten), then clamped to ``[0, 1]``. The factors are
    ``(B,)`` tensors; 1 leaves an image unchanged.
    """
    def per_image(factor: torch.Tensor) -> torch.Tensor:
        return factor.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)

    b, c, s = per_image(brightness), per_image(contrast), per_image(saturation)
    grey = grey_level(x)
    mean_grey = grey.mean(dim=(2, 3), keepdim=True)
    grey.mul_((1 - s) * b * c).add_(b * (1 - c) * mean_grey)
    return x.mul_(s * b * c).add_(grey).clamp_(0.0, 1.0)


def grey_level(x: torch.Tensor) -> torch.Tensor:
    """Grey level (ITU-R 601 luma) ``g = 0.299 R + 0.587 G + 0.114 B``, shape ``(B, 1, H, W)``."""
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def channel_stats(values: tuple[float, float, float] | torch.Tensor,
                  like: torch.Tensor) -> torch.Tensor:
    """Per-channel numbers as a ``(1, 3, 1, 1)`` tensor on ``like``'s device (no copy if there)."""
    return torch.as_tensor(values, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)


def normalize(x: torch.Tensor, mean: tuple[float, float, float] | torch.Tensor,
              std: tuple[float, float, float] | torch.Tensor) -> torch.Tensor:
    """``(x - mean) / std`` per channel of a ``(B, 3, H, W)`` batch in ``[0, 1]``.

    Pass ``mean`` and ``std`` as tensors already on the device to avoid a host→GPU copy per
    batch (see :func:`channel_stats`).
    """
    return (x - channel_stats(mean, x)).div_(channel_stats(std, x))


def augment_batch(images: torch.Tensor, size: int, augmentation: Augmentation,
                  generator: torch.Generator) -> torch.Tensor:
    """Random resized crop + flip + colour jitter of a uint8 batch → float32 in ``[0, 1]``.

    Args:
        images: ``(B, 3, H, W)`` uint8 images (square caches of side ≥ ``size`` work best:
            bilinear sampling does not smooth, so keep the source at most ~1.25× the output).
        size: output side in pixels.
        augmentation: the settings.
        generator: a private generator on the images' device; the same state gives the
            same batch.
    """
    params = augmentation.draw(images.shape[0], generator)
    theta = crop_matrices(params["half_w"], params["half_h"], params["centre_x"],
                          params["centre_y"], params["flip"])
    x = random_resized_crop(images, size, theta).div_(255.0)
    return colour_jitter(x, params["brightness"], params["contrast"], params["saturation"])
