"""Start a small group of ``torch.distributed`` processes (gloo, loopback) and collect results.

``torchrun`` is the real launcher; this one exists so that a lesson or a test can run k ranks
without it, and so that nothing hangs: every rank joins the group with a timeout, the whole run
has a deadline, and the first rank that fails ends the run (the others are stopped) with a
:class:`~sgdlab.errors.ParallelRunError` that names it and quotes its error.

Each rank is a fresh ``python`` process (not ``multiprocessing``'s spawn, which would re-run a
lesson script as its main module). It receives the worker function by reference, so the
worker must be importable: a function defined at the top of a module.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sgdlab.checks import check_number, check_whole_number
from sgdlab.errors import ParallelRunError, SgdlabError
from sgdlab.files import write_bytes

#: Only ever the loopback interface: the ranks of a lesson or test live on one machine.
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def run_on_processes(worker: Callable[..., Any], world_size: int = 2,
                     args: Sequence[Any] = (), timeout: float = 60.0) -> list[Any]:
    """Run ``worker(*args)`` on ``world_size`` gloo ranks and return each rank's result.

    Inside ``worker``, ``torch.distributed`` is initialized (``get_rank()``,
    ``get_world_size()``, ``all_reduce`` work as under ``torchrun``). Results and ``args``
    travel by pickle.

    Args:
        worker: a module-level function (it is imported by name in every rank).
        world_size: how many ranks, at least 1.
        args: the worker's arguments, the same for every rank.
        timeout: seconds for the whole run, also the timeout of joining the group and of every
            collective; a rank still running then is stopped.

    Raises:
        ParallelRunError: a rank failed (its error is quoted) or the run took too long.
    """
    world_size = check_whole_number(world_size, "world_size", minimum=1,
                                    hint="2 processes are enough to see data parallelism")
    timeout = check_number(timeout, "timeout", minimum=1.0, hint="60 seconds is plenty")
    if not callable(worker) or "<locals>" in getattr(worker, "__qualname__", "<locals>"):
        raise SgdlabError(f"worker must be a function defined at the top of a module (each "
                          f"rank imports it by name), got {worker!r}")
    try:
        payload = pickle.dumps((worker, tuple(args)))
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise SgdlabError(f"the worker and its arguments must be picklable to reach the other "
                          f"processes: {err}") from err
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sgdlab-ranks-") as tmp:
        folder = Path(tmp)
        job = write_bytes(folder / "job.pkl", pickle.dumps(
            {"sys_path": list(sys.path), "payload": payload, "world_size": world_size,
             "port": port, "timeout": timeout}))
        return _supervise(folder, job, world_size, timeout)


def _supervise(folder: Path, job: Path, world_size: int, timeout: float) -> list[Any]:
    processes, logs = [], []
    try:
        for rank in range(world_size):
            log = (folder / f"rank{rank}.err").open("wb")
            logs.append(log)
            processes.append(subprocess.Popen(
                [sys.executable, "-c", "from sgdlab.launch import _rank_main; _rank_main()",
                 str(job), str(rank), str(folder / f"rank{rank}.out")],
                stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL))
        deadline = time.monotonic() + timeout
        while True:
            codes = [p.poll() for p in processes]
            if any(code not in (None, 0) for code in codes):
                time.sleep(0.5)  # the ranks it leaves behind fail too: see them all
                codes = [p.poll() for p in processes]
                raise ParallelRunError(_failure(folder, codes, world_size))
            if all(code == 0 for code in codes):
                break
            if time.monotonic() > deadline:
                waiting = [rank for rank, code in enumerate(codes) if code is None]
                raise ParallelRunError(
                    f"ranks {waiting} of {world_size} were still running after {timeout:g} s "
                    f"and were stopped; a rank that waits for a collective the others never "
                    f"reach hangs like this. Last lines of rank {waiting[0]}:\n"
                    f"{_tail(folder / f'rank{waiting[0]}.err')}")
            time.sleep(0.05)
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):  # a kill that did not land
                p.wait(timeout=10)
        for log in logs:
            log.close()
    return [pickle.loads((folder / f"rank{rank}.out").read_bytes())
            for rank in range(world_size)]


#: What a rank says when it failed only because another rank left (gloo's lost connection).
LOST_PEER = ("Connection reset by peer", "Connection closed by peer", "Broken pipe")


def _failure(folder: Path, codes: list[int | None], world_size: int) -> str:
    """The message for failed ranks: the one that failed by itself first, with its error, then
    the ones that failed only because it left."""
    failed = [rank for rank, code in enumerate(codes) if code not in (None, 0)]
    tails = {rank: _tail(folder / f"rank{rank}.err") for rank in failed}
    causes = [rank for rank in failed if not any(s in tails[rank] for s in LOST_PEER)]
    rank = (causes or failed)[0]
    others = [r for r in failed if r != rank]
    also = (f" (rank{'s' if len(others) > 1 else ''} {', '.join(map(str, others))} then lost "
            f"their connection to it)" if others else "")
    return (f"rank {rank} of {world_size} failed (exit code {codes[rank]}){also}, so the run "
            f"was stopped instead of letting the other ranks wait for it; its error:\n"
            f"{tails[rank]}")


def _tail(path: Path, lines: int = 12) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").strip() if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(it wrote nothing to stderr)"


def _rank_main() -> None:
    """Entry point of one rank: join the group, run the worker, save its result."""
    job_path, rank, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    job = pickle.loads(Path(job_path).read_bytes())
    sys.path[:] = job["sys_path"]
    worker, args = pickle.loads(job["payload"])
    import torch.distributed as dist

    if sys.platform == "linux":  # gloo picks its interface from the host name otherwise
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"tcp://{LOOPBACK}:{job['port']}", rank=rank,
                            world_size=job["world_size"],
                            timeout=timedelta(seconds=job["timeout"]))
    try:
        result = worker(*args)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)  # leave at once: a clean shutdown would wait for the other ranks
    dist.destroy_process_group()
    write_bytes(out, pickle.dumps(result))
