"""Where the bear classifier runs: CUDA when present, otherwise the CPU.

On a GPU the learner trains in bfloat16 autocast (matrix products in bf16, the loss and the
optimizer's arithmetic in float32; bf16 keeps float32's exponent range, so no loss scaling is
needed) with ``channels_last`` memory layout, which the tensor cores prefer. On the CPU everything
stays float32 and contiguous, which keeps runs bit-for-bit repeatable given a seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

import torch

from sgdlab.errors import SgdlabError

T = TypeVar("T")


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


class HostScalar:
    """A one-number tensor on its way to the host, read later without stalling the GPU.

    ``loss.item()`` waits until the GPU has finished *everything* queued so far. A training loop
    that calls it after every step therefore leaves the GPU idle while Python queues the next
    step. ``HostScalar(loss)`` starts the copy into pinned host memory without waiting, and it
    marks the spot in the GPU's queue with an event. :meth:`get`, called one step later, waits
    only for that event: by then the next step is already queued, so the GPU stays busy. On the
    CPU there is nothing to wait for and :meth:`get` is ``tensor.item()``.
    """

    def __init__(self, tensor: torch.Tensor) -> None:
        value = tensor.detach()
        self._event: torch.cuda.Event | None = None
        self._host: torch.Tensor | None = None
        self._number = math.nan
        if value.device.type == "cuda":
            self._host = torch.empty(value.shape, dtype=value.dtype, pin_memory=True)
            self._host.copy_(value, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record()
        else:
            self._number = value.item()

    def get(self) -> float:
        """The number, as a Python float (waits for the copy on a GPU)."""
        if self._host is not None:
            self._event.synchronize()
            self._number, self._host = self._host.item(), None
        return self._number


def read_one_step_late(steps: Iterable[tuple[torch.Tensor, T]]) -> Iterator[tuple[float, T]]:
    """``(loss, info)`` for each training step of ``steps``, the loss as a Python float.

    ``steps`` yields ``(loss tensor, info)`` and runs one training step each time it is asked
    for the next item. On the CPU each loss is read at once. On a GPU each loss is read only
    after the *next* step has been queued (see :class:`HostScalar`), so the GPU never waits
    for Python; the numbers are the same, and a consumer that stops after a loss has had one
    more step taken, which it never sees.
    """
    pending: tuple[HostScalar, T] | None = None
    for loss, info in steps:
        if loss.device.type != "cuda":
            yield loss.item(), info
            continue
        reading = (HostScalar(loss), info)
        if pending is not None:
            yield pending[0].get(), pending[1]
        pending = reading
    if pending is not None:
        yield pending[0].get(), pending[1]
