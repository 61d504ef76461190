"""Where the bear classifier runs: CUDA when present, otherwise the CPU.

On a GPU the learner trains in bfloat16 autocast (matrix products in bf16, the loss and the
optimizer's arithmetic in float32; bf16 keeps float32's exponent range, so no loss scaling is
needed) with ``channels_last`` memory layout, which the tensor cores prefer. On the CPU everything
stays float32 and contiguous, which keeps runs bit-for-bit repeatable given a seed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

from sgdlab.errors import SgdlabError


def default_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given (``"cpu"``, ``"cuda"``, ``"cuda:1"``...), else CUDA when present."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise SgdlabError(f"unknown device {device!r}: use 'cpu' or 'cuda'") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SgdlabError(f"device {str(device)!r} was asked for but PyTorch sees no CUDA GPU; "
                          f"use device='cpu' (or leave device out to pick automatically)")
    return device


def uses_mixed_precision(device: torch.device) -> bool:
    """True on a CUDA GPU that computes in bfloat16 natively (Ampere and later)."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def autocast(device: torch.device) -> AbstractContextManager:
    """bf16 autocast on a capable GPU; a do-nothing context elsewhere."""
    if uses_mixed_precision(device):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


def memory_format(device: torch.device) -> torch.memory_format:
    """``channels_last`` on CUDA, ordinary contiguous layout on the CPU."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format
