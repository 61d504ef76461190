"""sgdlab.files: atomic writes that keep the old file on failure, leave no temporary behind,
respect the umask and clean up after a save that was killed."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import sgdlab.files as files
from sgdlab.errors import SgdlabError
from sgdlab.files import (
    STALE_AFTER,
    WriteError,
    append_text,
    atomic_path,
    folder_lock,
    save_figure,
    write_bytes,
    write_text,
)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the umask for one test and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda value: os.umask(value)
    os.umask(old)


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "model.pth"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pth"]


def test_ctrl_c_during_a_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "model.pth"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_bytes(b"x" * 1000)
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_finished_write_replaces_the_file_with_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        assert tmp.name.startswith(".out.txt.") and tmp.name.endswith(".tmp")
        tmp.write_text("new")
    assert target.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert mode_of(target) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_every_writer_gives_the_mode_the_umask_allows(tmp_path, umask, mask):
    umask(mask)
    expected = 0o666 & ~mask
    written = [write_bytes(tmp_path / "a.bin", b"\0" * 10),
               write_text(tmp_path / "b.txt", "bears"),
               append_text(tmp_path / "c.csv", "1\n", header="n\n")]
    with atomic_path(tmp_path / "d.pt") as tmp:
        tmp.write_bytes(b"model")
    written.append(tmp_path / "d.pt")
    with atomic_path(tmp_path / "e.pt") as tmp:  # a writer that makes the file anew (0600)
        tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    written.append(tmp_path / "e.pt")
    from matplotlib.figure import Figure

    written.append(save_figure(Figure(figsize=(1, 1)), tmp_path / "f.png"))
    assert {p.name: mode_of(p) for p in written} == {p.name: expected for p in written}


def test_an_unwritable_folder_is_explained(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SgdlabError, match="choose a folder you can write to"), \
            atomic_path(blocker / "x.png"):
        pass


def test_disk_full_inside_the_write_is_explained_and_the_old_file_kept(tmp_path):
    target = tmp_path / "bears.pth"
    target.write_bytes(b"the old model")
    with pytest.raises(WriteError) as caught, atomic_path(target) as tmp:
        tmp.write_bytes(b"half of a new model")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    message = str(caught.value)
    assert str(target) in message and "No space left on device" in message
    assert "the old bears.pth is kept untouched" in message and "free some disk space" in message
    assert caught.value.path == target and caught.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"the old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bears.pth"]


def test_disk_full_for_a_new_file_says_nothing_was_written(tmp_path):
    with pytest.raises(WriteError, match="nothing was written there"), \
            atomic_path(tmp_path / "new.png") as tmp:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
    assert list(tmp_path.iterdir()) == []


def test_an_error_that_is_not_about_the_file_passes_through(tmp_path):
    # a writer whose program is missing: not "cannot write", and nothing is left behind
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "movie.mp4"):
        subprocess.run(["/no/such/ffmpeg"])
    assert list(tmp_path.iterdir()) == []


def test_permission_denied_on_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "figure.png"
    target.write_bytes(b"old picture")

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(WriteError, match=r"(?s)Permission denied.*kept untouched.*choose a "
                                         r"folder you can write to"):
        write_bytes(target, b"new picture")
    monkeypatch.undo()
    assert target.read_bytes() == b"old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root may write into a read-only folder")
def test_a_read_only_folder_is_explained(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "model.pth").write_bytes(b"old")
    folder.chmod(0o555)
    try:
        with pytest.raises(WriteError, match=r"Permission denied.*kept untouched"):
            write_bytes(folder / "model.pth", b"new")
    finally:
        folder.chmod(0o755)
    assert (folder / "model.pth").read_bytes() == b"old"


def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    target = tmp_path / "bears.pth"
    killed = (f"import os\nfrom sgdlab.files import atomic_path\n"
              f"with atomic_path({str(target)!r}) as tmp:\n"
              f"    tmp.write_bytes(b'x' * 3_000_000)\n"
              f"    os._exit(9)\n")
    done = subprocess.run([sys.executable, "-c", killed], capture_output=True, timeout=60)
    assert done.returncode == 9, done.stderr
    (leftover,) = tmp_path.iterdir()
    assert leftover.name.startswith(".bears.pth.") and leftover.stat().st_size == 3_000_000

    # what must survive: a save of this name still running here, other names, other files
    running = tmp_path / f".bears.pth.{files._host_tag()}-{os.getpid()}.0123abcd.tmp"
    other_name = tmp_path / f".cubs.pth.{files._host_tag()}-999999999.0123abcd.tmp"
    other_machine = tmp_path / ".bears.pth.elsewhere-1.0123abcd.tmp"
    unrelated = tmp_path / ".bears.pth.notes.tmp"
    old_style = tmp_path / ".bears.pth.k3j_x9qa.tmp"  # tempfile.mkstemp's names, long ago
    for p in (running, other_name, other_machine, unrelated, old_style):
        p.write_bytes(b"y")
    long_ago = time.time() - STALE_AFTER - 60
    os.utime(old_style, (long_ago, long_ago))

    write_bytes(target, b"new model")
    assert target.read_bytes() == b"new model"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (target, running, other_name, other_machine, unrelated))


def test_append_text_writes_the_header_once_and_whole_lines(tmp_path):
    path = tmp_path / "q" / "manifest.csv"

    def add(k: int) -> None:
        for i in range(40):
            append_text(path, f"{k},{i},{'z' * 200}\n", header="thread,row,pad\n")

    workers = [threading.Thread(target=add, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    lines = path.read_text().splitlines()
    assert lines[0] == "thread,row,pad" and len(lines) == 1 + 4 * 40
    assert sorted(lines[1:]) == sorted(f"{k},{i},{'z' * 200}" for k in range(4) for i in range(40))


def test_a_failed_append_is_cut_off_again(tmp_path, monkeypatch):
    path = tmp_path / "manifest.csv"
    append_text(path, "a\n", header="h\n")
    real_write = os.write

    def half_then_full(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}") != str(path):
            return real_write(fd, data)
        real_write(fd, bytes(data[:3]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to find the file behind a descriptor")
    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(WriteError, match="as it was before"):
        append_text(path, "bbbbbb\n")
    monkeypatch.undo()
    assert path.read_text() == "h\na\n"


def test_folder_lock_lets_one_holder_in_at_a_time(tmp_path):
    inside, overlaps = [], []

    def hold() -> None:
        for _ in range(5):
            with folder_lock(tmp_path):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(1)
                time.sleep(0.005)
                inside.pop()

    workers = [threading.Thread(target=hold) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert overlaps == []
