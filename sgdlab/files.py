"""Writing files so that an interrupted run never leaves half a file behind.

Everything sgdlab writes (histories, figures, videos, checkpoints, templates, downloaded and
converted pictures, manifests) goes through this module:

* a new file is first written to a temporary file in the target's folder,
  ``.NAME.<host>-<pid>.<random>.tmp``, and renamed over ``NAME`` only once it is complete and
  flushed to the disk; a rename within one folder is atomic, so readers see the old file or the
  new one, never half of one;
* the finished file gets the mode a plain ``open(path, "w")`` would give it, ``0o666 & ~umask``
  (``0644`` under the usual umask ``022``), so classmates sharing a folder can read it;
* a write that fails (disk full, permission denied) raises a :class:`WriteError`, an
  :class:`~sgdlab.errors.SgdlabError` naming the path and what was kept: the old file,
  untouched, or nothing;
* a temporary file left by a save that was killed (``kill -9``, a power cut) is removed by the
  next save of the same name: its owner process no longer runs, or it has not changed for
  :data:`STALE_AFTER` seconds.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sgdlab.errors import SgdlabError

#: A temporary file untouched for this many seconds belongs to no running save.
STALE_AFTER = 15 * 60

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# errors raised inside an ``atomic_path`` block that mean "the file could not be written"
_WRITE_FAILURES = _DISK_FULL | {errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO,
                                errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG}
_KEEP_NAME = 150  # characters of the target's name kept in a temporary name (NAME_MAX is 255)


class WriteError(SgdlabError):
    """A file could not be written; ``path`` is the target, ``kept`` says what is left there."""

    def __init__(self, path: Path, err: OSError, kept: str) -> None:
        self.path, self.kept, self.errno = path, kept, err.errno
        reason = err.strerror or str(err) or type(err).__name__
        advice = ("free some disk space (or write somewhere else) and try again"
                  if err.errno in _DISK_FULL else "choose a folder you can write to")
        super().__init__(f"cannot write {os.fspath(path)!r}: {reason}; {kept}; {advice}")


def _kept(path: Path) -> str:
    return (f"the old {path.name} is kept untouched" if path.exists()
            else "nothing was written there")


def _host_tag() -> str:
    """This machine's name, reduced to letters, digits and dashes (part of temporary names)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def _temporary_prefix(path: Path) -> str:
    return f".{path.name[:_KEEP_NAME]}."


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs, as another user
        return True
    return True


def _is_stale(middle: str, path: Path) -> bool:
    """Whether the temporary file ``path`` (``middle``: the part between name and suffix) is
    left over from a save that no longer runs."""
    owner = re.fullmatch(r"([A-Za-z0-9-]+)-(\d+)\.[0-9a-f]{8}", middle)
    if owner is None and not re.fullmatch(r"[a-z0-9_]{8}", middle):  # not ours (old: mkstemp)
        return False
    try:
        age = time.time() - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if age > STALE_AFTER:
        return True
    if owner is None:
        return False
    host, pid = owner.group(1), int(owner.group(2))
    return host == _host_tag() and pid != os.getpid() and not _process_runs(pid)


def remove_stale_temporaries(path: str | os.PathLike, suffix: str = ".tmp") -> list[Path]:
    """Remove the temporary files of earlier, interrupted saves of ``path``; return them.

    Only files named like this module's temporaries for exactly this name are considered,
    and only those whose save no longer runs (see the module docstring).
    """
    path = Path(path)
    prefix, removed = _temporary_prefix(path), []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        candidate = Path(entry.path)
        if _is_stale(name[len(prefix):len(name) - len(suffix)], candidate):
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:
                pass
    return removed


def _create_temporary(path: Path, suffix: str) -> tuple[Path, int]:
    """A new empty file beside ``path`` and the mode the umask gave it (``0o666 & ~umask``)."""
    for _ in range(100):
        name = (f"{_temporary_prefix(path)}{_host_tag()}-{os.getpid()}."
                f"{secrets.token_hex(4)}{suffix}")
        tmp = path.with_name(name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            mode = os.fstat(fd).st_mode & 0o777
        finally:
            os.close(fd)
        return tmp, mode
    raise FileExistsError(errno.EEXIST, "no free temporary name", os.fspath(path))


def _flush_to_disk(tmp: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends, rename it to ``path``.

    If the block raises, the temporary file is removed and ``path`` is left as it was. The
    folder is created when missing. An ``OSError`` on the way (no space left, no permission,
    also one of those raised inside the block) becomes a :class:`WriteError`; other exceptions,
    Ctrl-C included, pass through unchanged. The finished file gets the mode ``0o666 & ~umask``.
    Temporary files of earlier interrupted saves of ``path`` are removed first.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path, suffix)
        tmp, mode = _create_temporary(path, suffix)
    except OSError as err:
        raise WriteError(path, err, _kept(path)) from err
    try:
        try:
            yield tmp
        except OSError as err:
            if err.errno in _WRITE_FAILURES:
                raise WriteError(path, err, _kept(path)) from err
            raise  # not about the file (say, a program that is not installed)
        try:
            _flush_to_disk(tmp)
            os.chmod(tmp, mode)  # a writer may have made the file anew, with its own mode
            os.replace(tmp, path)
        except OSError as err:
            raise WriteError(path, err, _kept(path)) from err
    finally:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, content: bytes) -> Path:
    """Write ``content`` to ``path`` atomically (see :func:`atomic_path`); return the path."""
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        f.write(content)
    return path


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`); return the path."""
    return write_bytes(path, text.encode(encoding))


def append_text(path: str | os.PathLike, text: str, header: str = "",
                encoding: str = "utf-8") -> Path:
    """Add ``text`` at the end of ``path`` in one write, flushed to the disk.

    A new file starts with ``header``. Appends from several processes do not interleave (the
    file is locked while writing, where the system has ``fcntl``). A failed write is cut off
    again, so the file keeps only whole appends, and raises a :class:`WriteError`.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    except OSError as err:
        raise WriteError(path, err, _kept(path)) from err
    try:
        with _locked(fd):
            start = os.fstat(fd).st_size
            data = ((header if start == 0 else "") + text).encode(encoding)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError as err:
                with suppress(OSError):
                    os.ftruncate(fd, start)
                kept = ("the file is as it was before" if start else "the file is empty")
                raise WriteError(path, err, kept) from err
    finally:
        os.close(fd)
    return path


@contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while the block runs (no lock file is made).

    Two processes (or threads) that lock the same folder take turns; used so that two
    ``verify`` runs never move the same picture at once.
    """
    fd = os.open(folder, os.O_RDONLY)
    try:
        with _locked(fd):
            yield
    finally:
        os.close(fd)


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no advisory locks here (Windows): appends are still single writes
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def save_figure(fig: Any, path: str | os.PathLike, dpi: float = 100) -> Path:
    """Save a matplotlib figure atomically; the format comes from the extension (PNG if none)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi)
    return path
