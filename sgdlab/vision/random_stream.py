"""A learner's own random stream: repeatable dropout without touching the global one.

``torch`` draws dropout masks from its global generator. A learner made with ``seed=s`` keeps
the state of a private generator and swaps it in while it trains (:meth:`RandomStream.active`),
so the same seed gives the same run on a CPU, and code around the learner sees the global
stream exactly as it left it. On a GPU the CUDA generator is reseeded from the private stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


class RandomStream:
    """The private random state of a learner, or none (``seed=None``: use the global one)."""

    def __init__(self, seed: int | None, device: torch.device) -> None:
        self.device = device
        self.state: torch.Tensor | None = (
            torch.Generator().manual_seed(seed).get_state() if seed is not None else None)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Draw from the private stream inside the block; the caller's stream is restored."""
        if self.state is None:
            yield
            return
        cuda = self.device.type == "cuda"
        index = self.device.index if self.device.index is not None else (
            torch.cuda.current_device() if cuda else 0)
        with torch.random.fork_rng(devices=[index] if cuda else []):
            torch.set_rng_state(self.state)
            if cuda:
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(int(torch.randint(0, 2**62, (1,))))
            try:
                yield
            finally:
                self.state = torch.get_rng_state()
