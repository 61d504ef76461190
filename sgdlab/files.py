"""Writing files so that an interrupted run never leaves half a file behind.

Everything sgdlab writes (histories, figures, videos, checkpoints, templates, downloads) goes to
a temporary file in the target's folder first and is renamed over the target only once it is
complete; a rename within one folder is atomic.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sgdlab.errors import SgdlabError


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    If the block raises, the temporary file is removed and ``path`` is left as it was. The
    folder is created when missing; an unwritable folder is a clear :class:`SgdlabError`.
    The finished file gets the usual permissions (``0o666`` minus the umask).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    except OSError as err:
        raise SgdlabError(f"cannot write {os.fspath(path)!r}: {err.strerror or err}; choose a "
                          f"folder you can write to") from err
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save a matplotlib figure atomically; the format comes from the extension (PNG if none)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi)
    return path
