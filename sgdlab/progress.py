"""Progress bars that suit where the output goes: a notebook, a terminal, a log file or a pipe.

Every bar in sgdlab comes from :func:`progress_bar`, which picks one of four kinds:

``notebook``  inside a Jupyter kernel with ipywidgets importable: tqdm's widget bar;
``terminal``  a terminal (the stream is a tty), or a kernel without ipywidgets: tqdm's text bar,
              redrawn in place with ``\\r``;
``lines``     anything else (a log file, a pipe, CI): no ``\\r`` frames at all, only a plain line
              each time another tenth of the work is done (at most 11 lines), and nothing for a
              transient bar (``leave=False``: a bar that a terminal erases afterwards, such as
              one epoch's batches, which the epoch table already reports line by line);
``off``       ``--no-progress`` (:func:`add_progress_option`), or ``enabled=False``: nothing.

Every kind has the same small interface as a tqdm bar: iterate over it, ``update(n)``,
``set_postfix(...)``, ``close()``, ``with``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from sgdlab.teach import in_notebook

KINDS = ("notebook", "terminal", "lines", "off")

_switched_off = 0  # how many `bars_off()` blocks are open (the --no-progress switch)


def _has_ipywidgets() -> bool:
    return importlib.util.find_spec("ipywidgets") is not None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def bar_kind(stream: TextIO | None = None, enabled: bool = True) -> str:
    """Which kind of bar (see :data:`KINDS`) :func:`progress_bar` shows on ``stream``
    (default ``sys.stderr``)."""
    if not enabled or _switched_off:
        return "off"
    if in_notebook():
        return "notebook" if _has_ipywidgets() else "terminal"
    return "terminal" if _is_terminal(stream if stream is not None else sys.stderr) else "lines"


@contextmanager
def bars_off() -> Iterator[None]:
    """``with bars_off():`` no progress bar anywhere in sgdlab (what ``--no-progress`` does)."""
    global _switched_off
    _switched_off += 1
    try:
        yield
    finally:
        _switched_off -= 1


class LineProgress:
    """A progress "bar" for logs: a plain line at 0 %, then each time another tenth is done.

    ``desc: 30% (3/10 frame, 1.2 s) loss=0.41``. With no known total it prints one line when
    it is closed. Nothing is ever overwritten, so no ``\\r`` reaches the file.
    """

    def __init__(self, iterable: Iterable | None, total: int | None, desc: str, unit: str,
                 stream: TextIO) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.stream, self.n, self.postfix = stream, 0, ""
        self._start = time.perf_counter()
        self._tenths_shown = -1
        self._closed = False
        if self.total:
            self._report()

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this progress bar was made without an iterable; call update()")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return self.total or 0

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more done; print a line when another tenth is reached."""
        self.n += n
        if self.total:
            self._report()

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True,
                    **values: Any) -> None:
        """Values shown after the count on the next line printed (as tqdm's postfix)."""
        items = {**(ordered_dict or {}), **values}
        self.postfix = ", ".join(f"{key}={value}" for key, value in items.items())

    def close(self) -> None:
        """Print the last line (if it is not printed yet); later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        if not self.total:
            self._write(f"{self.n} {self.unit} in {self._elapsed()}")

    def _elapsed(self) -> str:
        return f"{time.perf_counter() - self._start:.1f} s"

    def _report(self) -> None:
        tenths = min(10, 10 * self.n // self.total)
        if tenths > self._tenths_shown:
            self._tenths_shown = tenths
            self._write(f"{100 * self.n // self.total:3d}% ({self.n}/{self.total} {self.unit}, "
                        f"{self._elapsed()})")

    def _write(self, text: str) -> None:
        postfix = f" {self.postfix}" if self.postfix else ""
        self.stream.write(f"{self.desc}: {text}{postfix}\n")
        self.stream.flush()


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None,
                 desc: str = "", unit: str = "it", leave: bool = True, enabled: bool = True,
                 stream: TextIO | None = None, **tqdm_options: Any) -> Any:
    """A progress bar over ``iterable`` (or one to ``update()`` by hand) of the kind that suits
    ``stream`` (default ``sys.stderr``): see the module docstring.

    ``leave=False`` marks a transient bar (a terminal erases it when done; a log gets nothing);
    ``enabled=False`` (or ``--no-progress``) shows none. Other options go to tqdm.
    """
    stream = stream if stream is not None else sys.stderr
    kind = bar_kind(stream, enabled)
    if kind == "lines" and leave:
        return LineProgress(iterable, total, desc, unit, stream)
    if kind == "notebook":
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave,
                disable=kind in ("off", "lines"), file=stream, **tqdm_options)


def add_progress_option(parser: argparse.ArgumentParser,
                        handler: Callable[[argparse.Namespace], int]) -> None:
    """Give ``parser`` the ``--no-progress`` flag and ``handler`` as its ``func``: the handler
    runs inside :func:`bars_off` when the flag is given (``args.no_progress`` says so too)."""
    parser.add_argument("--no-progress", action="store_true",
                        help="show no progress bars (off a terminal, bars are already plain "
                             "lines: one per tenth of the work)")

    def run(args: argparse.Namespace) -> int:
        if not getattr(args, "no_progress", False):
            return handler(args)
        with bars_off():
            return handler(args)

    run.__doc__ = handler.__doc__
    run.__wrapped__ = handler  # type: ignore[attr-defined]
    parser.set_defaults(func=run)
