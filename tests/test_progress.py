"""Progress bars that suit where they go (:mod:`sgdlab.progress`), and the projector preset of
``sgdlab animate`` (:mod:`sgdlab.style`).

Oracles: the characters written to the stream (a log must hold no ``\\r`` frame), the class of
bar made when a kernel is faked, and the pixel size of the rendered frames.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sgdlab import progress
from sgdlab.cli import main
from sgdlab.progress import LineProgress, bar_kind, bars_off, progress_bar

REPO = Path(__file__).resolve().parents[1]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _kernel(monkeypatch, widgets: bool) -> None:
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(progress, "_has_ipywidgets", lambda: widgets)


def test_in_a_kernel_with_ipywidgets_the_bar_is_the_notebook_widget(monkeypatch):
    import tqdm.notebook

    made = []

    class Widget:
        def __init__(self, iterable=None, **options):
            made.append(options)
            self.iterable = iterable

        def __iter__(self):
            return iter(self.iterable)

    _kernel(monkeypatch, widgets=True)
    monkeypatch.setattr(tqdm.notebook, "tqdm", Widget)
    assert bar_kind() == "notebook"
    assert list(progress_bar(range(3), desc="epoch 1")) == [0, 1, 2]
    assert made and made[0]["desc"] == "epoch 1"


def test_in_a_kernel_without_ipywidgets_the_bar_is_plain_text(monkeypatch):
    _kernel(monkeypatch, widgets=False)
    assert bar_kind(io.StringIO()) == "terminal"
    stream = io.StringIO()
    for _ in progress_bar(range(3), desc="plain", stream=stream):
        pass
    assert "plain" in stream.getvalue() and "3/3" in stream.getvalue()  # no widget, no warning


def test_a_terminal_gets_a_redrawn_bar():
    stream = FakeTerminal()
    assert bar_kind(stream) == "terminal"
    for _ in progress_bar(range(5), desc="frames", stream=stream):
        pass
    assert "\r" in stream.getvalue()  # tqdm's frames: the test below can see them


def test_a_log_gets_a_line_per_tenth_and_no_carriage_return():
    stream = io.StringIO()
    assert bar_kind(stream) == "lines"
    bar = progress_bar(range(250), desc="frames", unit="frame", stream=stream)
    assert isinstance(bar, LineProgress)
    assert sum(1 for _ in bar) == 250
    text = stream.getvalue()
    lines = text.splitlines()
    assert "\r" not in text
    assert len(lines) == 11  # 0 %, 10 %, ..., 100 %
    assert lines[0] == lines[0].rstrip() and lines[-1].startswith("frames: 100% (250/250 frame")


def test_a_log_gets_nothing_from_a_transient_bar_nor_with_no_progress():
    stream = io.StringIO()
    bar = progress_bar(range(20), desc="epoch 3", leave=False, stream=stream)
    bar.set_postfix(loss="0.5", refresh=False)
    assert list(bar) == list(range(20))
    with bars_off():
        assert bar_kind(FakeTerminal()) == "off"
        assert list(progress_bar(range(4), stream=stream)) == list(range(4))
    assert bar_kind(FakeTerminal()) == "terminal"  # switched back on after the block
    assert stream.getvalue() == ""


def test_a_bar_updated_by_hand_without_a_total_says_how_many_at_the_end():
    stream = io.StringIO()
    with progress_bar(desc="downloading", unit="url", stream=stream) as bar:
        bar.update(3)
        bar.set_postfix(failed=1)
    assert stream.getvalue().startswith("downloading: 3 url in ")
    assert stream.getvalue().endswith(" failed=1\n")


def _sgdlab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run sgdlab with stdout and stderr into pipes; the output is decoded by hand, since
    ``text=True`` would turn every ``\r`` into a newline and hide it."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-m", "sgdlab.cli", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=300)
    done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()
    return done


def test_animate_into_a_pipe_writes_no_carriage_return_and_no_progress_hides_it(tmp_path):
    scene = ["animate", "line-fit", "--steps", "29", "--size", "160x120"]
    shown = _sgdlab(*scene, "--out", "a.gif", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "\r" not in shown.stdout + shown.stderr
    assert "a.gif: 100% (30/30 frame" in shown.stderr
    hidden = _sgdlab(*scene, "--out", "b.gif", "--no-progress", cwd=tmp_path)
    assert hidden.returncode == 0, hidden.stderr
    assert "frame" not in hidden.stderr and (tmp_path / "b.gif").exists()


# -- the projector preset -------------------------------------------------------------------------
@pytest.mark.parametrize("scene", ["line-fit", "learning-rates"])
def test_projector_frames_are_1280x720(tmp_path, scene, capsys):
    out = tmp_path / f"{scene}.gif"
    assert main(["animate", scene, "--steps", "2", "--projector", "--out", str(out),
                 "--no-progress"]) == 0
    with Image.open(out) as gif:
        assert gif.size == (1280, 720) and gif.n_frames == 3


def test_projector_keeps_a_size_given_with_it(tmp_path, capsys):
    out = tmp_path / "small.gif"
    assert main(["animate", "line-fit", "--steps", "1", "--projector", "--size", "320x180",
                 "--out", str(out), "--no-progress"]) == 0
    with Image.open(out) as gif:
        assert gif.size == (320, 180)


def test_the_no_progress_option_switches_every_bar_off_while_the_command_runs():
    import argparse

    seen = []
    parser = argparse.ArgumentParser()
    progress.add_progress_option(parser, lambda args: seen.append(bar_kind(FakeTerminal())) or 0)
    for argv in (["--no-progress"], []):
        args = parser.parse_args(argv)
        assert args.func(args) == 0
    assert seen == ["off", "terminal"]
    assert bar_kind(FakeTerminal()) == "terminal"
