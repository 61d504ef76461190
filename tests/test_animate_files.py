"""Animations on disk: valid MP4/GIF/HTML, decoded pixels, atomic writes, the CLI, the set."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

import sgdlab
import sgdlab.animate.lecture as lecture
from sgdlab.animate import (
    SCENES,
    LineFit,
    Movie,
    Panel,
    line_fit,
    probe_video,
    show,
    video_format,
)
from sgdlab.animate.cli import SCENE_NAMES
from sgdlab.animate.lecture import LECTURE_SET, LectureClip
from sgdlab.animate.notebook import offline_player
from sgdlab.animate.player import InlineAnimation
from sgdlab.animate.probe import decode_frames
from sgdlab.animate.scenes import SceneOptions
from sgdlab.animate.writers import write_gif, write_mp4
from sgdlab.cli import main
from sgdlab.errors import SgdlabError
from sgdlab.teach import can_open_window

REPO = Path(__file__).resolve().parents[1]
SIZE = (320, 240)
ORANGE = np.array(matplotlib.colors.to_rgb("tab:orange")) * 255


@pytest.fixture(scope="module")
def run():
    x, y = sgdlab.make_linear_data(n=50, seed=7)
    return sgdlab.gradient_descent(x, y, lr=0.1, steps=10)


@pytest.fixture(scope="module")
def mp4(run, tmp_path_factory):
    movie = line_fit(run, size=SIZE)
    path = movie.save(tmp_path_factory.mktemp("mp4") / "fit.mp4", fps=12)
    return movie, path


# -- MP4 ----------------------------------------------------------------------------------------
def test_mp4_is_h264_yuv420p_with_every_frame(mp4, run):
    _, path = mp4
    info = probe_video(path)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height) == SIZE
    assert info.fps == pytest.approx(12)
    assert info.frames == run.steps + 1


def test_decoded_frame_shows_the_line_of_its_step(mp4, run):
    movie, path = mp4
    frames = decode_frames(path, SIZE)
    assert frames.shape == (run.steps + 1, SIZE[1], SIZE[0], 3)
    ax = movie.panels[0].ax
    k = 4
    a1, a2 = run.params_at(k).tolist()
    # where step k's line must be on screen, from the axes' own data-to-pixel mapping
    us = np.linspace(-0.8, 0.8, 9)
    pixels = ax.transData.transform(np.column_stack([us, a1 * us + a2]))
    cols = np.round(pixels[:, 0]).astype(int)
    rows = np.round(SIZE[1] - pixels[:, 1]).astype(int)

    def orange_along_line(frame: np.ndarray) -> int:
        hits = 0
        for r, c in zip(rows, cols, strict=True):
            patch = frame[r - 1 : r + 2, c - 1 : c + 2].reshape(-1, 3).astype(float)
            hits += bool((np.linalg.norm(patch - ORANGE, axis=1) < 60).any())
        return hits

    assert orange_along_line(frames[k]) == len(us)
    assert orange_along_line(frames[0]) < len(us) // 2  # the first guess is elsewhere
    # and the whole decoded frame is frame k (lossy, so compare on average)
    rendered = movie.render(k)[..., :3].astype(float)
    assert np.abs(frames[k] - rendered).mean() < 2
    assert np.abs(frames[k] - rendered).mean() < np.abs(frames[0] - rendered).mean()


def test_odd_size_is_refused_for_mp4(run, tmp_path):
    with pytest.raises(SgdlabError, match="even width and height.*try 322x240"):
        line_fit(run, size=(321, 240)).save(tmp_path / "odd.mp4")


# -- GIF and HTML -------------------------------------------------------------------------------
def test_gif_has_every_frame(run, tmp_path):
    path = line_fit(run, size=SIZE).save(tmp_path / "fit.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == run.steps + 1
        assert gif.size == SIZE
        assert gif.info["duration"] == 100
        assert gif.info["loop"] == 0


def test_gif_keeps_frozen_frames_of_a_diverged_run(tmp_path):
    x, y = sgdlab.make_linear_data(n=30, seed=1)
    with pytest.warns(sgdlab.UnstableLearningRateWarning):
        bad = sgdlab.gradient_descent(x, y, lr=2.5 * sgdlab.max_stable_lr(x), steps=50,
                                      on_divergence="stop")
    assert bad.steps < 10
    path = line_fit(bad, frames=15, size=SIZE).save(tmp_path / "bad.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 15


def test_html_player_embeds_every_frame(run, tmp_path):
    path = line_fit(run, size=SIZE).save(tmp_path / "fit.html")
    html = path.read_text()
    assert "<script" in html
    assert len(re.findall(r"frames\[\d+\] = ", html)) == run.steps + 1


# -- writers turn frames into files, whoever drew them --------------------------------------------
def gradient_frames(count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """``count`` RGBA frames of ``size``, each a different shade of grey (no Movie involved)."""
    width, height = size
    return [np.full((height, width, 4), (40 * k, 40 * k, 40 * k, 255), dtype=np.uint8)
            for k in range(count)]


def test_writers_take_plain_arrays(tmp_path):
    frames = gradient_frames(5, (64, 48))
    write_mp4(frames, (64, 48), tmp_path / "grey.mp4", fps=5)
    info = probe_video(tmp_path / "grey.mp4")
    assert (info.width, info.height, info.frames, info.fps) == (64, 48, 5, 5)
    decoded = decode_frames(tmp_path / "grey.mp4", (64, 48)).astype(float)
    assert np.abs(decoded.mean(axis=(1, 2, 3)) - 40 * np.arange(5)).max() < 3
    write_gif(frames, (64, 48), tmp_path / "grey.gif", fps=5)
    with Image.open(tmp_path / "grey.gif") as gif:
        assert (gif.n_frames, gif.size, gif.info["duration"]) == (5, (64, 48), 200)


@pytest.mark.parametrize("writer", [write_mp4, write_gif])
def test_writers_refuse_a_frame_of_the_wrong_size(tmp_path, writer):
    frames = [*gradient_frames(2, (64, 48)), *gradient_frames(1, (64, 50))]
    with pytest.raises(SgdlabError, match=r"frame has 12800 bytes, expected 64x48 RGBA \(12288\)"):
        writer(frames, (64, 48), tmp_path / "grey", fps=5)


@pytest.mark.parametrize("writer", [write_mp4, write_gif])
def test_writers_check_the_frame_rate(tmp_path, writer):
    with pytest.raises(SgdlabError, match="fps must be a positive number"):
        writer(gradient_frames(1, (64, 48)), (64, 48), tmp_path / "grey", fps=0)
    assert list(tmp_path.iterdir()) == []


def test_every_lazy_name_of_animate_loads():
    import sgdlab.animate as animate

    for name in animate.__all__:
        assert getattr(animate, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        animate.nothing  # noqa: B018


# -- the format, the folder, atomic writes ------------------------------------------------------
@pytest.mark.parametrize("name, kind", [("a.mp4", "mp4"), ("b.GIF", "gif"), ("c.html", "html")])
def test_format_comes_from_the_extension(name, kind):
    assert video_format(name) == kind


@pytest.mark.parametrize("name", ["movie.avi", "movie", "movie.mp4.part"])
def test_unknown_extension_is_a_clear_error(name):
    with pytest.raises(SgdlabError, match=r"end the file name with one of: \.mp4"):
        video_format(name)


def test_unwritable_folder_is_a_clear_error(run, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(SgdlabError, match="cannot write .*choose a folder you can write to"):
        line_fit(run, size=SIZE).save(blocker / "fit.mp4")


class BreaksAtFrame(Panel):
    """A panel that fails while the movie is being written."""

    def __init__(self, history, bad_frame):
        super().__init__(history)
        self.bad_frame = bad_frame

    def draw(self, ax, frames, fontsize):
        return []

    def update(self, k):
        if k == self.bad_frame:
            raise RuntimeError("boom")


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_failed_render_leaves_no_half_video(run, tmp_path, suffix):
    target = tmp_path / f"fit{suffix}"
    target.write_bytes(b"the previous render")
    movie = Movie([LineFit(run), BreaksAtFrame(run, bad_frame=5)], size=SIZE)
    with pytest.raises(RuntimeError, match="boom"):
        movie.save(target)
    assert target.read_bytes() == b"the previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    # the figure is usable again afterwards: a full redraw still shows the moving line
    assert not movie.panels[0].lines[0].get_animated()


def test_bad_fps_is_a_clear_error(run, tmp_path):
    for fps in (0, -5, float("nan")):
        with pytest.raises(SgdlabError, match="fps must be a positive number"):
            line_fit(run, size=SIZE).save(tmp_path / "fit.mp4", fps=fps)
    assert list(tmp_path.iterdir()) == []


# -- show(): inline, window or file -------------------------------------------------------------
def test_show_saves_a_file_when_headless(run, tmp_path, capsys):
    assert not can_open_window()
    path = show(run, "lesson3", fps=10, out_dir=tmp_path)
    assert path == tmp_path / "lesson3.mp4"
    assert probe_video(path).frames == run.steps + 1
    assert str(path) in capsys.readouterr().out


def _shown_in_a_notebook(monkeypatch) -> list:
    """Pretend to be a notebook kernel and collect what show() hands to IPython's display."""
    import IPython.display

    shown = []
    monkeypatch.setattr("sgdlab.animate.player.in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    return shown


def test_show_plays_one_inline_video_in_a_notebook(run, tmp_path, monkeypatch):
    shown = _shown_in_a_notebook(monkeypatch)
    assert show(line_fit(run, size=SIZE), "inline", out_dir=tmp_path) is None  # shown once
    assert len(shown) == 1 and isinstance(shown[0], InlineAnimation)
    html = shown[0]._repr_html_()
    assert html.startswith("<video") and "https://" not in html
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", html).group(1))
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(data)
    assert probe_video(clip).frames == run.steps + 1
    clip.unlink()
    assert list(tmp_path.iterdir()) == []


def test_the_frame_player_keeps_every_frame_and_needs_no_network(run, tmp_path, monkeypatch):
    shown = _shown_in_a_notebook(monkeypatch)
    assert show(line_fit(run, size=SIZE), "inline", out_dir=tmp_path, player="frames") is None
    html = shown[0]._repr_html_()
    assert len(re.findall(r"frames\[\d+\] = ", html)) == run.steps + 1
    assert "<link" not in html and "https://" not in html
    assert 'fa-play::before { content: "\u25b6"; }' in html
    with pytest.raises(SgdlabError, match="player must be one of"):
        show(run, "inline", player="gif")
    assert list(tmp_path.iterdir()) == []


def test_offline_player_drops_only_links_to_the_web():
    page = ('<link rel="stylesheet" href="https://cdn.example/font-awesome.min.css">'
            '<div class="animation"><i class="fa fa-play"></i></div>')
    html = offline_player(page)
    assert "<link" not in html and html.count('<div class="animation">') == 1
    assert html.index("<style>") < html.index('<div class="animation">')


@pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")
def test_show_opens_a_window_when_there_is_a_display(run, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr("sgdlab.animate.player.can_open_window", lambda: True)
    monkeypatch.setattr("sgdlab.animate.player.pausing", lambda: True)
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf().canvas.figure))
    movie = line_fit(run, size=SIZE)
    assert show(movie, "window", out_dir=tmp_path) is None
    assert len(shown) == 1 and not plt.get_fignums()  # shown, then closed
    assert list(tmp_path.iterdir()) == []
    assert movie.save(tmp_path / "after.mp4").exists()  # back on an Agg canvas


def test_show_never_opens_a_window_in_a_run_that_does_not_pause(run, tmp_path, monkeypatch):
    monkeypatch.setattr("sgdlab.animate.player.can_open_window", lambda: True)
    monkeypatch.setenv("SGDLAB_NO_PAUSE", "1")
    monkeypatch.setenv("SGDLAB_FIGURES", str(tmp_path))
    path = show(line_fit(run, size=SIZE), "straight-through", fps=10)
    assert path == tmp_path / "straight-through.mp4" and path.exists()


# -- the command line ---------------------------------------------------------------------------
def test_cli_renders_a_scene(tmp_path, capsys):
    out = tmp_path / "lr.mp4"
    code = main(["animate", "learning-rates", "--lr", "0.1", "1.5", "--steps", "6",
                 "--size", "480x320", "--fps", "10", "--noise", "gaussian", "--seed", "3",
                 "--out", str(out), "--no-progress"])
    assert code == 0
    info = probe_video(out)
    assert (info.width, info.height, info.frames, info.fps) == (480, 320, 7, 10)
    assert str(out) in capsys.readouterr().out


def test_cli_shows_a_progress_bar(tmp_path, capsys):
    out = tmp_path / "mb.gif"
    assert main(["animate", "minibatch", "--steps", "3", "--batch-size", "20",
                 "--size", "480x240", "--out", str(out)]) == 0
    assert "4/4" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["line-fit", "--steps", "-2", "--out", "{tmp}/fit.mp4"], "steps must be a whole number >= 0"),
    (["line-fit", "--fps", "0", "--out", "{tmp}/fit.mp4"], "fps must be a positive number"),
    (["line-fit", "--size", "641x480", "--out", "{tmp}/fit.mp4"], "even width and height"),
    (["line-fit", "--out", "{tmp}/fit.avi"], "cannot tell the video format"),
    (["line-fit", "--out", "{tmp}/file/fit.mp4"], "cannot write"),
    (["line-fit", "--lr", "0", "--out", "{tmp}/fit.mp4"], "learning rate must be a positive"),
    (["line-fit"], "say where to write"),
])
def test_cli_bad_arguments_are_clear_errors(tmp_path, capsys, args, message):
    (tmp_path / "file").write_text("")
    args = [a.format(tmp=tmp_path) for a in args]
    assert main(["animate", *args, "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("args", [["spiral", "--out", "x.mp4"], ["line-fit", "--size", "64"],
                                  ["line-fit", "--steps", "ten"]])
def test_cli_rejects_malformed_arguments(capsys, args):
    with pytest.raises(SystemExit) as exit_info:
        main(["animate", *args])
    assert exit_info.value.code == 2
    assert "sgdlab animate: error" in capsys.readouterr().err


def test_cli_scene_names_are_the_scenes():
    assert tuple(SCENES) == SCENE_NAMES


# -- the lecture set ----------------------------------------------------------------------------
def test_lecture_command_renders_every_clip(tmp_path, monkeypatch, capsys):
    tiny = tuple(LectureClip(c.filename, c.scene,
                             SceneOptions(lrs=c.options.lrs, steps=3, n=20), c.point_at)
                 for c in LECTURE_SET)
    monkeypatch.setattr(lecture, "LECTURE_SET", tiny)
    assert main(["animate", "lecture", "--out-dir", str(tmp_path), "--no-progress"]) == 0
    expected = [tmp_path / c.filename for c in LECTURE_SET]
    assert capsys.readouterr().out.split() == [str(p) for p in expected]
    assert sorted(tmp_path.iterdir()) == sorted(expected)
    for path in expected:
        assert probe_video(path).frames == 4


def test_lecture_set_covers_the_lecture():
    scenes = [clip.scene for clip in LECTURE_SET]
    assert scenes == ["line-fit", "learning-rates", "surface", "minibatch"]
    assert all(clip.filename.endswith(".mp4") for clip in LECTURE_SET)


def test_animations_readme_lists_every_clip():
    readme = (REPO / "animations" / "README.md").read_text()
    for clip in LECTURE_SET:
        assert f"`{clip.filename}`" in readme
        assert (REPO / "animations" / clip.filename).is_file(), (
            f"animations/{clip.filename} is missing: run `make animations`")
