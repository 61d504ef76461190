"""Real server processes for tests: started on 127.0.0.1 at a free port, stopped by PID.

``with server_process(cmd_with_{port}) as base_url:`` starts the command (``{port}`` is filled
in), waits until ``GET <base_url><ready_path>`` answers 200 (bounded by ``start_timeout``), yields
the base URL, and then terminates the process by its PID (SIGTERM, then SIGKILL after
``stop_timeout``). Output goes to a temporary log whose tail is shown if the start fails.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # 127.0.0.1 only
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def stop_process(process: subprocess.Popen, stop_timeout: float = 10.0) -> int:
    """Terminate ``process`` by its PID, killing it if it outlives ``stop_timeout``."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=stop_timeout)
    return process.returncode


@contextmanager
def server_process(command: Sequence[str], ready_path: str = "/healthz",
                   start_timeout: float = 60.0, stop_timeout: float = 10.0,
                   env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``command`` (each ``{port}`` replaced by a free port) and yield its base URL."""
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    base = f"http://{HOST}:{port}"
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(base + ready_path):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-3000:]
                    state = (f"exited with {process.returncode}" if process.poll() is not None
                             else f"did not answer {ready_path} within {start_timeout:g} s")
                    raise RuntimeError(f"server {argv} {state}; its output:\n{tail}")
                time.sleep(0.1)
            yield base
        finally:
            stop_process(process, stop_timeout)


PYTHON = sys.executable
