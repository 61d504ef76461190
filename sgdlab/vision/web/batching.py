"""Micro-batching, an option (``--batch-window-ms``): predictions that arrive within a few
milliseconds of each other share one forward pass.

On a CPU a forward pass of 4 images costs less than 4 passes of one (``benchmarks/serve.py``
prints the ratio of the bare forward at batch 4 and batch 1). A :class:`BatchingRunner` has
one thread: it takes the first waiting request, waits at most ``window_ms`` for more (up to
``max_batch``), decodes each picture (a bad one fails alone), then runs the model once on the
stack. The bound on requests in flight, and the 503 beyond it, are those of
:class:`~sgdlab.vision.web.runner.BoundedRunner`. The probabilities agree with
``Predictor.predict`` to float32 rounding (the batched convolution adds in another order), not
to the last bit, which is why batching is off by default.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any

import torch

from sgdlab.checks import check_number, check_whole_number
from sgdlab.vision.images import valid_transform
from sgdlab.vision.web.errors import ServerBusy
from sgdlab.vision.web.predicting import answer
from sgdlab.vision.web.uploads import read_image


class BatchingRunner:
    """Classify uploads in batches gathered over ``window_ms``; see the module docstring."""

    workers = 1

    def __init__(self, predictor: Any, max_pixels: int, window_ms: float = 5.0,
                 max_batch: int = 8, max_pending: int = 16) -> None:
        self.predictor, self.max_pixels = predictor, max_pixels
        self.window = check_number(window_ms, "--batch-window-ms", positive=True) / 1000
        self.max_batch = check_whole_number(max_batch, "--max-batch", minimum=1)
        self.max_pending = check_whole_number(max_pending, "max_pending (--max-queue)",
                                              minimum=1)
        self.batches: list[int] = []  # the size of every batch run (for tests, benchmarks)
        self._transform = valid_transform(predictor.size, predictor.mean, predictor.std)
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._pending = 0
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name="sgdlab-batches")
        self._thread.start()

    @property
    def pending(self) -> int:
        return self._pending

    async def classify(self, data: bytes, name: str) -> dict:
        """The answer for one upload, computed in the next batch; 503 when full."""
        with self._lock:
            if self._pending >= self.max_pending:
                raise ServerBusy("predictions", self.max_pending)
            self._pending += 1
        future: Future = Future()
        future.add_done_callback(lambda _: self._release())
        self._jobs.put((data, name, future))
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        with self._lock:
            self._pending -= 1

    def _loop(self) -> None:
        while (first := self._jobs.get()) is not None:
            jobs, deadline = [first], time.monotonic() + self.window
            while len(jobs) < self.max_batch:
                try:
                    job = self._jobs.get(timeout=max(deadline - time.monotonic(), 0))
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)
                    break
                jobs.append(job)
            self._run(jobs)

    def _run(self, jobs: list) -> None:
        start = time.perf_counter()
        ready, pictures = [], []
        for data, name, future in jobs:
            if not future.set_running_or_notify_cancel():
                continue
            try:
                pictures.append(self._transform(read_image(data, self.max_pixels, name)))
                ready.append(future)
            except BaseException as err:  # noqa: BLE001 - handed to that request alone
                future.set_exception(err)
        if not ready:
            return
        try:
            with torch.inference_mode():
                logits = self.predictor.model(torch.stack(pictures).to(self.predictor.device))
            probs = logits.float().softmax(dim=1).cpu()
        except BaseException as err:  # noqa: BLE001
            for future in ready:
                future.set_exception(err)
            return
        self.batches.append(len(ready))
        milliseconds = (time.perf_counter() - start) * 1000
        for future, p in zip(ready, probs, strict=True):
            future.set_result({**answer(self.predictor, p, milliseconds),
                               "batch": len(ready)})

    def close(self) -> None:
        """Finish the batches under way, then stop the thread."""
        self._jobs.put(None)
        self._thread.join(timeout=30)
