"""Running a trained model without training it: logits, validation, test-time augmentation, and
one photo at a time.

Everything here runs in evaluation mode (BatchNorm uses its running statistics, dropout is off)
under ``torch.inference_mode()``, and hands back CPU tensors in the loader's order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from sgdlab.errors import SgdlabError
from sgdlab.losses import error_rate
from sgdlab.progress import progress_bar
from sgdlab.vision.data import load_image, valid_transform
from sgdlab.vision.device import autocast, memory_format


def batch_to_device(xb: torch.Tensor, yb: torch.Tensor,
                    device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Check that ``(xb, yb)`` is an image batch with its labels, and move it to ``device``."""
    if xb.dim() != 4 or xb.shape[1] != 3 or not xb.is_floating_point():
        raise SgdlabError(f"expected a float image batch of shape (B, 3, H, W), got "
                          f"{tuple(xb.shape)} {xb.dtype}")
    if yb.dim() != 1 or yb.shape[0] != xb.shape[0] or yb.is_floating_point():
        raise SgdlabError(f"expected integer labels of shape ({xb.shape[0]},), got "
                          f"{tuple(yb.shape)} {yb.dtype}")
    xb = xb.to(device, non_blocking=True, memory_format=memory_format(device))
    return xb, yb.to(device, non_blocking=True)


def predict_logits(model: nn.Module, loader: Iterable, device: torch.device, n_classes: int,
                   progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, classes) float32 logits and (N,) targets on the CPU, in the loader's order."""
    model.eval()
    logits, targets = [], []
    with torch.inference_mode():
        for xb, yb in progress_bar(loader, leave=False, enabled=progress, desc="validating"):
            xb, yb = batch_to_device(xb, yb, device)
            with autocast(device):
                out = model(xb)
            logits.append(out.float().cpu())
            targets.append(yb.cpu())
    if not logits:
        return torch.empty(0, n_classes), torch.empty(0, dtype=torch.long)
    return torch.cat(logits), torch.cat(targets)


def loss_and_error(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
    """``(mean cross-entropy, error rate)``; NaN for both when there are no images."""
    if len(targets) == 0:
        return math.nan, math.nan
    return F.cross_entropy(logits, targets).item(), error_rate(logits, targets)


def mirrored_pairs(loader: Iterable) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """Each batch of ``loader`` as ``x0, flip(x0), x1, flip(x1), ...`` with labels to match."""
    for xb, yb in loader:
        yield torch.stack([xb, xb.flip(-1)], dim=1).flatten(0, 1), yb.repeat_interleave(2)


def average_mirrored(logits: torch.Tensor, targets: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Undo :func:`mirrored_pairs`: each image's probabilities averaged with its mirror's.

    A picture of a bear flipped left-right is still the same bear, and training showed the
    model flipped pictures half of the time; so we ask it twice and average::

        p(x) = ( softmax(f(x)) + softmax(f(flip(x))) ) / 2

    where ``flip`` reverses the width axis. The error rate is
    ``(probs.argmax(1) != targets).float().mean()``.
    """
    probs = logits.softmax(dim=1).view(-1, 2, logits.shape[1]).mean(dim=1)
    return probs, targets[::2].clone()


def predict_image(model: nn.Module, image: Any, *, classes: Sequence[str], size: int,
                  mean: Sequence[float], std: Sequence[float], device: torch.device
                  ) -> tuple[str, int, torch.Tensor]:
    """Classify one image (a path or a PIL image) the way validation images are seen:
    ``(class name, class index, probabilities)``, the probabilities a CPU tensor in the order
    of ``classes``."""
    x = valid_transform(size, mean, std)(load_image(image)).unsqueeze(0)
    x = x.to(device, memory_format=memory_format(device))
    model.eval()
    with torch.inference_mode(), autocast(device):
        logits = model(x)
    probs = logits.float().softmax(dim=1)[0].cpu()
    index = int(probs.argmax())
    return classes[index], index, probs
