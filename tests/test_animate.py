"""Animations, in memory: frames replay the History, both drawing paths agree, limits hold."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.animation import AbstractMovieWriter

import sgdlab
from sgdlab.animate import (
    LineFit,
    LossCurve,
    LossSurface,
    Movie,
    ParameterSpace,
    build_scene,
    compare,
    describe_lr,
    full_vs_minibatch,
    learning_rates,
    line_fit,
    mse_grid,
    truncate,
)
from sgdlab.animate.scenes import SceneOptions
from sgdlab.errors import SgdlabError

SMALL = (320, 240)


@pytest.fixture(scope="module")
def data():
    return sgdlab.make_linear_data(n=40, seed=3)


@pytest.fixture(scope="module")
def run(data):
    x, y = data
    return sgdlab.gradient_descent(x, y, lr=0.1, steps=12)


@pytest.fixture(scope="module")
def diverged(data):
    x, y = data
    lr = 1.3 * sgdlab.max_stable_lr(x)
    with pytest.warns(sgdlab.UnstableLearningRateWarning):  # diverging is what it is for
        return sgdlab.gradient_descent(x, y, lr=lr, steps=200, on_divergence="stop")


@pytest.fixture(scope="module")
def minibatch(data):
    x, y = data
    return sgdlab.minibatch_sgd(x, y, lr=0.1, epochs=2, batch_size=8, seed=5)


class FrameGrabber(AbstractMovieWriter):
    """A movie writer that keeps what FuncAnimation.save would write, as RGBA arrays."""

    def __init__(self, fps: float = 20):
        super().__init__(fps=fps)
        self.frames: list[np.ndarray] = []

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi)

    def grab_frame(self, **savefig_kwargs):
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="rgba", dpi=self.dpi)
        width, height = self.frame_size
        self.frames.append(np.frombuffer(buffer.getvalue(), np.uint8).reshape(height, width, 4))

    def finish(self):
        pass


def funcanimation_frames(movie: Movie) -> list[np.ndarray]:
    grabber = FrameGrabber()
    movie.animation().save("frames.grab", writer=grabber)
    return grabber.frames


def fast_frames(movie: Movie) -> list[np.ndarray]:
    return [np.asarray(frame).copy() for frame in movie.frames_rgba()]


# -- frames replay the History ------------------------------------------------------------------
def test_frame_count_is_steps_plus_one(run):
    assert line_fit(run, size=SMALL).frames == run.steps + 1
    assert len(fast_frames(line_fit(run, size=SMALL))) == run.steps + 1


def test_line_in_frame_k_is_the_history_at_step_k(run):
    movie = line_fit(run, size=SMALL)
    panel = movie.panels[0]
    xs = np.asarray(panel.lines[0].get_xdata())
    for k in (0, 1, 5, run.steps):
        movie.draw_frame(k)
        a1, a2 = run.params_at(k).tolist()
        np.testing.assert_allclose(panel.lines[0].get_ydata(), a1 * xs + a2, rtol=1e-6)
        assert panel.title.get_text().startswith(f"step {k}")
    # the title's loss is the loss of the line drawn, on all the data (the lecture's 8.89 idea)
    movie.draw_frame(3)
    expected = sgdlab.mse(run.x @ run.params_at(3), run.y).item()
    assert f"loss {expected:.3g}" in panel.title.get_text()
    assert "lr 0.1" in panel.title.get_text()


@settings(max_examples=15)
@given(lr=st.floats(0.01, 0.9), steps=st.integers(0, 15), k=st.integers(0, 15))
def test_any_frame_replays_its_step(data, lr, steps, k):
    x, y = data
    history = sgdlab.gradient_descent(x, y, lr=lr, steps=steps)
    movie = Movie([LineFit(history), ParameterSpace(history)], size=SMALL)
    assert movie.frames == steps + 1
    k = min(k, steps)
    movie.draw_frame(k)
    fit, space = movie.panels
    a = history.params_at(k).double().numpy()
    xs = np.asarray(fit.lines[0].get_xdata())
    np.testing.assert_allclose(fit.lines[0].get_ydata(), a[0] * xs + a[1], rtol=1e-6)
    path = np.column_stack(space.paths[0].get_data())
    np.testing.assert_allclose(path, history.params[: k + 1].double().numpy())
    np.testing.assert_allclose(np.column_stack(space.heads[0].get_data())[0], a)


def test_loss_curve_grows_one_point_per_frame(run):
    movie = Movie(LossCurve(run), size=SMALL)
    curve = movie.panels[0].curves[0]
    for k in (0, 4, run.steps):
        movie.draw_frame(k)
        steps, losses = curve.get_data()
        np.testing.assert_array_equal(steps, np.arange(k + 1))
        np.testing.assert_allclose(losses, run.full_losses()[: k + 1].numpy())


def test_minibatch_points_of_step_k_are_highlighted(minibatch):
    movie = line_fit(minibatch, size=SMALL)
    panel = movie.panels[0]
    movie.draw_frame(0)
    assert len(panel.batch_points.get_offsets()) == 0
    for k in (1, 4, minibatch.steps):
        movie.draw_frame(k)
        idx = minibatch.batch(k)
        expected = np.column_stack([minibatch.x[idx, 0].numpy(), minibatch.y[idx].numpy()])
        np.testing.assert_allclose(np.asarray(panel.batch_points.get_offsets()), expected,
                                   rtol=1e-6)
        assert f"epoch {int(minibatch.epochs[k - 1]) + 1}" in panel.title.get_text()


def test_surface_path_follows_the_loss(run):
    movie = Movie(LossSurface(run), size=SMALL)
    movie.draw_frame(6)
    xs, ys, zs = movie.panels[0].paths[0].get_data_3d()
    np.testing.assert_allclose(np.column_stack([xs, ys]), run.params[:7].double().numpy())
    np.testing.assert_allclose(zs, run.full_losses()[:7].numpy())


# -- the fast path draws what FuncAnimation draws ----------------------------------------------
@pytest.mark.parametrize("scene", ["line-fit", "minibatch", "surface"])
def test_fast_path_matches_funcanimation_pixel_for_pixel(scene):
    movie = build_scene(scene, SceneOptions(steps=4, n=30, size=(400, 300)))
    fast = fast_frames(movie)
    full = funcanimation_frames(movie)
    assert len(fast) == len(full) == 5
    for k, (a, b) in enumerate(zip(fast, full, strict=True)):
        assert a.shape == b.shape == (300, 400, 4)
        assert np.array_equal(a, b), f"frame {k} differs in {(a != b).any(axis=2).sum()} pixels"
    assert not np.array_equal(fast[0], fast[-1])  # frames really move


def test_render_after_fast_path_still_shows_moving_artists(run):
    movie = line_fit(run, size=SMALL)
    fast = fast_frames(movie)
    np.testing.assert_array_equal(movie.render(3), fast[3])


# -- divergence ---------------------------------------------------------------------------------
def test_diverged_run_gets_a_frame_that_says_so(diverged):
    assert diverged.diverged
    movie = line_fit(diverged, size=SMALL)
    assert movie.frames == diverged.steps + 2
    frames = fast_frames(movie)
    assert len(frames) == movie.frames
    title = movie.panels[0].title.get_text()
    assert f"diverged at step {diverged.diverged_at}" in title


def test_diverged_run_freezes_on_its_last_state(diverged):
    movie = line_fit(diverged, frames=diverged.steps + 10, size=SMALL)
    panel = movie.panels[0]
    movie.draw_frame(movie.frames - 1)
    a1, a2 = diverged.params[-1].tolist()
    xs = np.asarray(panel.lines[0].get_xdata())
    np.testing.assert_allclose(panel.lines[0].get_ydata(), a1 * xs + a2, rtol=1e-6)
    assert panel.title.get_text().startswith(f"step {movie.frames - 1}")


def test_diverging_run_does_not_rescale_the_others(data):
    x, y = data
    movie = learning_rates(x, y, lrs=[0.1, 2.5 * sgdlab.max_stable_lr(x)], steps=15,
                           size=(480, 360))
    good_fit, bad_fit, good_space, bad_space = movie.panels
    assert movie.figure is good_fit.ax.figure
    assert good_fit.ax.get_ylim() == bad_fit.ax.get_ylim()
    assert good_space.ax.get_xlim() == bad_space.ax.get_xlim()
    assert max(abs(v) for v in good_fit.ax.get_ylim()) < 20  # the data's scale, not the blow-up
    movie.draw_frame(15)
    assert "diverged at step" in bad_fit.title.get_text()
    assert "diverged" not in good_fit.title.get_text()
    # the diverging line has left the axes: it is nowhere inside the visible y-range
    lo, hi = bad_fit.ax.get_ylim()
    assert not (lo < bad_fit.lines[0].get_ydata()).any() or not (
        bad_fit.lines[0].get_ydata() < hi).any()
    assert len(fast_frames(movie)) == 16


def test_compare_freezes_shorter_runs(data, run, diverged):
    movie = compare({"good": run, "too high": diverged})
    assert movie.frames == max(run.steps + 1, diverged.steps + 2)
    assert movie.panels[0].title.get_text().startswith("good\n")


# -- the maths behind the pictures --------------------------------------------------------------
def test_mse_grid_matches_mse_at_every_point(data):
    x, y = data
    a1, a2 = np.linspace(-2, 5, 7), np.linspace(-1, 4, 6)
    grid = mse_grid(x.double().numpy(), y.double().numpy(), a1, a2)
    for i, v in enumerate(a2):
        for j, u in enumerate(a1):
            a = torch.tensor([u, v], dtype=torch.float64)
            assert grid[i, j] == pytest.approx(sgdlab.mse(x.double() @ a, y.double()).item(),
                                               rel=1e-10)


def test_contour_box_holds_optimum_and_start(run):
    panel = ParameterSpace(run)
    best = sgdlab.least_squares(run.x, run.y).tolist()
    for value, (lo, hi) in zip(best, panel.limits, strict=True):
        assert lo < value < hi
    for value, (lo, hi) in zip(run.params[0].tolist(), panel.limits, strict=True):
        assert lo < value < hi


def test_describe_lr_agrees_with_what_gradient_descent_does(data):
    x, y = data
    edge = sgdlab.max_stable_lr(x)
    assert describe_lr(x, 1.05 * edge, 100) == "too high: diverges"
    with pytest.raises(sgdlab.DivergenceError), pytest.warns(sgdlab.UnstableLearningRateWarning):
        sgdlab.gradient_descent(x, y, lr=1.05 * edge, steps=2000)
    assert describe_lr(x, 0.95 * edge, 100) == "high: oscillates"
    h = sgdlab.gradient_descent(x, y, lr=0.95 * edge, steps=50)
    best = sgdlab.least_squares(x, y)
    # along the steep direction the error changes sign from one step to the next
    _, vectors = torch.linalg.eigh(sgdlab.hessian(x))
    steep = (h.params.double() - best.double()) @ vectors[:, -1]
    assert (steep[1:] * steep[:-1] < 0).all()
    # below 1/λmax = edge/2 it no longer flips sign: it slides in from one side
    assert describe_lr(x, 0.45 * edge, 100) == "good"
    h = sgdlab.gradient_descent(x, y, lr=0.45 * edge, steps=5)
    steep = (h.params.double() - best.double()) @ vectors[:, -1]
    assert (steep[1:] * steep[:-1] > 0).all()
    assert describe_lr(x, 0.1, 100) == "good"
    assert describe_lr(x, 0.001, 100) == "too low: crawls"


def test_full_vs_minibatch_has_both_runs_update_for_update(data):
    x, y = data
    movie = full_vs_minibatch(x, y, steps=7, batch_size=8, seed=1, size=(640, 240))
    assert movie.frames == 8
    fit = movie.panels[0]
    full, mini = (r.history for r in fit.replays)
    assert full.batches is None and mini.steps == 7
    assert all(len(mini.batch(k)) == 8 for k in range(1, 6))  # 40 rows: 5 full batches an epoch


def test_truncate_keeps_the_first_steps(minibatch):
    short = truncate(minibatch, 3)
    assert short.steps == 3
    assert torch.equal(short.params, minibatch.params[:4])
    assert truncate(minibatch, 100) is minibatch


def test_learning_rates_scene_shows_an_unstable_rate_without_warning_about_it(data):
    x, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        movie = learning_rates(x, y, steps=3, size=(480, 320))
    headings = [panel.heading for panel in movie.rows[0]]
    assert any("too high: diverges" in h for h in headings)
    with pytest.warns(sgdlab.UnstableLearningRateWarning):  # one run of a chosen rate still warns
        build_scene("line-fit", SceneOptions(lrs=[1.5], steps=2, n=20))


# -- bad arguments ------------------------------------------------------------------------------
def test_frame_out_of_range_is_a_clear_error(run):
    movie = line_fit(run, size=SMALL)
    with pytest.raises(SgdlabError, match="frame must be a whole number from 0 to 12"):
        movie.draw_frame(13)
    with pytest.raises(SgdlabError, match="frame"):
        movie.draw_frame(-1)


@pytest.mark.parametrize("kwargs, message", [
    ({"frames": 0}, "frames must be a whole number >= 1"),
    ({"size": (10, 240)}, "width must be a whole number >= 64"),
    ({"size": (320,)}, "size must be"),
    ({"dpi": 0}, "dpi must be a positive number"),
    ({"dpi": True}, "dpi must be a positive number, got True"),
    ({"frames": 3.0}, "frames must be a whole number >= 1, got 3.0; write 3"),
    ({"size": (320, True)}, "height must be a whole number >= 64"),
])
def test_bad_movie_arguments(run, kwargs, message):
    with pytest.raises(SgdlabError, match=message):
        Movie(LineFit(run), **kwargs)


def test_bad_scene_arguments():
    with pytest.raises(SgdlabError, match="unknown scene 'spiral'"):
        build_scene("spiral")
    with pytest.raises(SgdlabError, match="steps must be a whole number >= 0"):
        build_scene("line-fit", SceneOptions(steps=-1))
    with pytest.raises(SgdlabError, match="steps must be a whole number >= 0, got 2.0; write 2"):
        build_scene("line-fit", SceneOptions(steps=2.0))
    with pytest.raises(SgdlabError, match="takes one learning rate"):
        build_scene("line-fit", SceneOptions(lrs=[0.1, 0.2], steps=2))
    with pytest.raises(SgdlabError, match="learning rate must be a positive number"):
        build_scene("line-fit", SceneOptions(lrs=[-0.1], steps=2))


def test_line_scenes_need_a_line_model():
    u = torch.linspace(-1, 1, 20)
    x = sgdlab.polynomial_features(u, 2)
    history = sgdlab.gradient_descent(x, u**2, a0=(0.0, 0.0, 0.0), steps=3)
    with pytest.raises(SgdlabError, match="two parameters"):
        LineFit(history)
    with pytest.raises(SgdlabError, match="expected an sgdlab.History"):
        LineFit("not a history")
    with pytest.raises(SgdlabError, match="a Movie needs panels"):
        Movie(history)
