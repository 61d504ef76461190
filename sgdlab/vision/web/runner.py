"""Work off the event loop, with a bounded number of jobs in flight.

The course's starter app called ``predict`` inside its ``async`` route, so while one photo
was being classified (0.2 s on a CPU) the server could not even answer ``/healthz``. Here a
route hands the work to a :class:`BoundedRunner` and awaits it; the event loop keeps serving.

The runner owns ``workers`` threads. At most ``max_pending`` jobs are waiting or running at
once; one more is refused at once with :class:`~sgdlab.vision.web.errors.ServerBusy` (HTTP 503
with ``Retry-After``) instead of joining a queue that grows without limit, so a burst of
requests cannot pile up memory or make every answer late. One inference worker is right on a
CPU: PyTorch already spreads one forward pass over every core.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sgdlab.checks import check_whole_number
from sgdlab.vision.web.errors import ServerBusy

T = TypeVar("T")


class BoundedRunner:
    """Run blocking functions in ``workers`` threads, at most ``max_pending`` at a time.

    ``what`` names the jobs in the 503 message (``"predictions"``).
    """

    def __init__(self, workers: int = 1, max_pending: int = 16, what: str = "predictions",
                 retry_after: int = 1) -> None:
        self.workers = check_whole_number(workers, "workers", minimum=1)
        self.max_pending = check_whole_number(max_pending, "max_pending (--max-queue)",
                                              minimum=1)
        self.what, self.retry_after = what, retry_after
        self._lock = threading.Lock()
        self._pending = 0
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix=f"sgdlab-{what}")

    @property
    def pending(self) -> int:
        """Jobs waiting or running now."""
        return self._pending

    def _claim(self) -> None:
        with self._lock:
            if self._pending >= self.max_pending:
                raise ServerBusy(self.what, self.max_pending, self.retry_after)
            self._pending += 1

    def _release(self) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker thread; raises :class:`ServerBusy` when full.

        The slot is given back when the function returns, even if the request that asked
        for it has gone away meanwhile (its result is then dropped).
        """
        self._claim()
        try:
            future = self._executor.submit(function, *args)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop the workers after the jobs already running (at server shutdown)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
