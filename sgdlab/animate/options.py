"""What every movie output shares: frame rate, frame size, dpi and the file formats.

:class:`~sgdlab.animate.movie.Movie` (which draws frames), the writers (which turn frames into
files) and ``sgdlab animate`` (which checks its flags before any work) all take their defaults
and checks from here, and none of them from each other.

The format of a file comes from its extension (:data:`FORMATS`). MP4 is H.264 in yuv420p, which
stores colour for 2x2 blocks of pixels, so its width and height must be even.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sgdlab.checks import check_number, check_whole_number
from sgdlab.errors import SgdlabError

DEFAULT_FPS = 20
DEFAULT_SIZE = (640, 480)
DEFAULT_DPI = 100
#: the smallest width or height, in pixels, a movie can have (axes need room for their labels)
MIN_SIDE = 64

FORMATS = {".mp4": "MP4 video (H.264)", ".gif": "animated GIF", ".html": "HTML/JS player"}


def check_size(size: Sequence[int]) -> tuple[int, int]:
    """A frame size ``(width, height)`` in pixels, each at least :data:`MIN_SIDE`."""
    if len(size) != 2:
        raise SgdlabError(f"size must be (width, height) in pixels, got {size!r}")
    return (check_whole_number(size[0], "width", MIN_SIDE),
            check_whole_number(size[1], "height", MIN_SIDE))


def check_fps(fps: float) -> float:
    """Frames per second: a positive finite number."""
    return check_number(fps, "fps", positive=True,
                        hint=f"give frames per second; {DEFAULT_FPS} is a good choice")


def check_dpi(dpi: float) -> float:
    """Dots per inch: a positive finite number."""
    return check_number(dpi, "dpi", positive=True, hint=f"{DEFAULT_DPI} is the default")


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
