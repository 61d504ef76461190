"""Animations that replay a recorded :class:`~sgdlab.History` — record first, draw later.

>>> x, y = sgdlab.make_linear_data()
>>> history = sgdlab.gradient_descent(x, y, lr=0.1, steps=100)
>>> line_fit(history).save("line_fit.mp4")          # .gif and .html work too
>>> show(history)                                   # inline, in a window, or saved

Panels (:class:`LineFit`, :class:`LossCurve`, :class:`ParameterSpace`, :class:`LossSurface`)
draw one axes each and combine freely in a :class:`Movie`; the scene functions build the
lecture's pictures. Frame ``k`` shows the parameters after step ``k``; frame 0 is the first
guess.
"""

from sgdlab.animate.lecture import LECTURE_SET, render_lecture_set
from sgdlab.animate.movie import DEFAULT_FPS, Movie
from sgdlab.animate.panels import LineFit, LossCurve, Panel
from sgdlab.animate.player import show
from sgdlab.animate.replay import truncate
from sgdlab.animate.scenes import (
    SCENES,
    SceneOptions,
    build_scene,
    compare,
    describe_lr,
    full_vs_minibatch,
    learning_rates,
    line_fit,
    loss_curve,
    loss_surface,
    overview,
    parameter_space,
)
from sgdlab.animate.surface import LossSurface, ParameterSpace, mse_grid
from sgdlab.animate.writers import probe_video, save, video_format

__all__ = [
    "DEFAULT_FPS", "LECTURE_SET", "LineFit", "LossCurve", "LossSurface", "Movie", "Panel",
    "ParameterSpace", "SCENES", "SceneOptions", "build_scene", "compare", "describe_lr",
    "full_vs_minibatch", "learning_rates", "line_fit", "loss_curve", "loss_surface",
    "mse_grid", "overview", "parameter_space", "probe_video", "render_lecture_set", "save", "show",
    "truncate", "video_format",
]
