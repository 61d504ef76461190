"""Progress bars that suit where they go (:mod:`sgdlab.progress`), and the projector preset of
``sgdlab animate`` (:mod:`sgdlab.style`).

Oracles: the characters written to the stream (a log must hold no ``\\r`` frame), the class of
bar made when a kernel is faked, and the pixel size of the rendered frames.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sgdlab import progress, teach
from sgdlab.cli import main
from sgdlab.errors import SgdlabError
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


# -- the projector preset for lessons: figures and animations -------------------------------------
def _ink_box(path: Path) -> tuple[float, float]:
    """How much of a PNG's width and height its non-white pixels span (0 to 1 each)."""
    import numpy as np

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"))
    rows, cols = np.nonzero(pixels < 250)
    return ((cols.max() - cols.min() + 1) / pixels.shape[1],
            (rows.max() - rows.min() + 1) / pixels.shape[0])


def test_a_lesson_for_the_projector_saves_1280x720_figures_that_fill_the_slide(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(teach.STYLE_ENV, raising=False)
    slide = tmp_path / "projector"
    assert main(["lesson", "1", "--no-pause", "--figures", str(slide), "--projector",
                 "--no-progress"]) == 0
    with Image.open(slide / "01_tensors-data.png") as png:
        assert png.size == (1280, 720)
    width, height = _ink_box(slide / "01_tensors-data.png")
    assert width > 0.9 and height > 0.9, (width, height)  # no half-empty slide
    assert teach.STYLE_ENV not in os.environ, "the runner must restore the environment"
    assert main(["lesson", "1", "--no-pause", "--figures", str(tmp_path / "screen")]) == 0
    with Image.open(tmp_path / "screen" / "01_tensors-data.png") as png:
        assert png.size != (1280, 720)  # the screen keeps the lesson's own size


def test_show_refits_a_wide_figure_with_a_colorbar_and_names_a_wrong_style(tmp_path,
                                                                          monkeypatch):
    import matplotlib.pyplot as plt
    import numpy as np

    monkeypatch.setenv(teach.FIGURES_ENV, str(tmp_path))
    monkeypatch.setenv(teach.STYLE_ENV, "projector")
    fig, axes = plt.subplots(1, 3, figsize=(15, 3))
    fig.colorbar(axes[0].imshow(np.eye(3)), ax=axes[0])
    fig.tight_layout()
    with Image.open(teach.show(fig, "wide")) as png:
        assert png.size == (1280, 720)
    monkeypatch.setenv(teach.STYLE_ENV, "big")
    with pytest.raises(SgdlabError, match="'big' is not a style; use one of screen, projector"):
        teach.figure_style()


def test_an_animation_a_lesson_saves_for_the_projector_is_1280x720(tmp_path, monkeypatch,
                                                                  capsys):
    import sgdlab
    from sgdlab import animate
    from sgdlab.animate.probe import probe_video

    x, y = sgdlab.make_linear_data(n=20, seed=7)
    history = sgdlab.gradient_descent(x, y, lr=0.1, steps=3)
    monkeypatch.setenv(teach.STYLE_ENV, "projector")
    path = animate.show(history, "fit", out_dir=tmp_path, window=False)
    video = probe_video(path)
    assert (video.width, video.height, video.frames) == (1280, 720, 4)
    monkeypatch.setenv(teach.STYLE_ENV, "screen")
    video = probe_video(animate.show(history, "fit-screen", out_dir=tmp_path, window=False))
    assert (video.width, video.height) != (1280, 720)


def test_every_command_that_can_show_a_bar_takes_no_progress():
    from sgdlab.cli import build_parser

    def commands(parser, prefix=()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from commands(sub, (*prefix, name))
        if prefix:
            yield " ".join(prefix), parser

    with_flag = {name for name, parser in commands(build_parser())
                 if any("--no-progress" in a.option_strings for a in parser._actions)}
    # the commands that train, evaluate, download or render (the others show no bar)
    assert {"demo", "lesson", "animate", "bears download",
            "bears clean", "bears train", "bears lr-find", "bears interpret"} <= with_flag
