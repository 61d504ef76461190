"""What every movie output shares: frame rate, frame size, dpi and the file formats.

:class:`~sgdlab.animate.movie.Movie` (which draws frames), the writers (which turn frames into
files) and ``sgdlab animate`` (which checks its flags before any work) all take their defaults
and checks from here, and none of them from each other.

The format of a file comes from its extension (:data:`FORMATS`). MP4 is H.264 in yuv420p, which
stores colour for 2x2 blocks of pixels, so its width and height must be even.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sgdlab.errors import SgdlabError

DEFAULT_FPS = 20
DEFAULT_SIZE = (640, 480)
DEFAULT_DPI = 100
#: the smallest width or height, in pixels, a movie can have (axes need room for their labels)
MIN_SIDE = 64

FORMATS = {".mp4": "MP4 video (H.264)", ".gif": "animated GIF", ".html": "HTML/JS player"}


def check_whole(name: str, value, minimum: int) -> int:
    """``value`` as an int, if it is a whole number (not a bool) of at least ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise SgdlabError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def check_size(size: Sequence[int]) -> tuple[int, int]:
    """A frame size ``(width, height)`` in pixels, each at least :data:`MIN_SIDE`."""
    if len(size) != 2:
        raise SgdlabError(f"size must be (width, height) in pixels, got {size!r}")
    return check_whole("width", size[0], MIN_SIDE), check_whole("height", size[1], MIN_SIDE)


def check_fps(fps: float) -> float:
    """Frames per second: a positive finite number."""
    if (not isinstance(fps, (int, float, np.number)) or isinstance(fps, bool)
            or not math.isfinite(fps) or fps <= 0):
        raise SgdlabError(f"fps must be a positive number of frames per second, got {fps!r}; "
                          f"{DEFAULT_FPS} is a good choice")
    return float(fps)


def check_dpi(dpi: float) -> float:
    """Dots per inch: a positive finite number."""
    if not isinstance(dpi, (int, float)) or not math.isfinite(dpi) or dpi <= 0:
        raise SgdlabError(f"dpi must be a positive number, got {dpi!r}")
    return float(dpi)


def video_format(path: str | os.PathLike) -> str:
    """The output format for ``path``, from its extension: ``"mp4"``, ``"gif"`` or ``"html"``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(f"{ext} ({what})" for ext, what in FORMATS.items())
        shown = f"'{suffix}'" if suffix else "no extension"
        raise SgdlabError(f"cannot tell the video format of {os.fspath(path)!r} ({shown}); "
                          f"end the file name with one of: {known}")
    return suffix[1:]


def check_target(path: str | os.PathLike, size: tuple[int, int] | None = None) -> str:
    """The format of ``path``, if it names a file that can hold a movie of ``size``.

    Looks at the name only (nothing is created): the extension must be known, ``path`` must
    not be a folder, and MP4 needs an even width and height.
    """
    path = Path(path)
    kind = video_format(path)
    if path.is_dir():
        raise SgdlabError(f"{os.fspath(path)!r} is a folder; give a file name such as "
                          f"{os.fspath(path / ('movie.' + kind))!r}")
    if kind == "mp4" and size is not None and any(side % 2 for side in size):
        w, h = size
        raise SgdlabError(f"MP4 (H.264, yuv420p) needs an even width and height, got {w}x{h}; "
                          f"try {w + w % 2}x{h + h % 2}")
    return kind


def check_writable(folder: str | os.PathLike) -> None:
    """A clear error now, rather than after rendering, if ``folder`` cannot take a file.

    The folder is created if it is missing.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as err:
        raise SgdlabError(f"cannot write into {os.fspath(folder)!r}: {err.strerror or err}; "
                          f"choose a folder you can write to") from err


def check_output(path: str | os.PathLike, size: tuple[int, int] | None = None) -> str:
    """Check before rendering that ``path`` can take a movie of ``size``; returns the format.

    :func:`check_target`, then :func:`check_writable` on its folder (created if missing).
    """
    kind = check_target(path, size)
    check_writable(Path(path).parent)
    return kind
