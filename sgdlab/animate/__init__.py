"""Animations that replay a recorded :class:`~sgdlab.History` — record first, draw later.

>>> x, y = sgdlab.make_linear_data()
>>> history = sgdlab.gradient_descent(x, y, lr=0.1, steps=100)
>>> line_fit(history).save("line_fit.mp4")          # .gif and .html work too
>>> show(history)                                   # inline, in a window, or saved

Panels (:class:`LineFit`, :class:`LossCurve`, :class:`ParameterSpace`, :class:`LossSurface`)
draw one axes each and combine freely in a :class:`Movie`; the scene functions build the
lecture's pictures. Frame ``k`` shows the parameters after step ``k``; frame 0 is the first
guess.

A :class:`Movie` draws frames; :mod:`~sgdlab.animate.writers` turn frames into files and know
nothing about movies; :mod:`~sgdlab.animate.options` holds what both share (fps, sizes, formats).

The names below load on first use, so that ``sgdlab --help`` does not import matplotlib.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "sgdlab.animate.lecture": ("LECTURE_SET", "render_lecture_set"),
    "sgdlab.animate.movie": ("Movie",),
    "sgdlab.animate.options": ("DEFAULT_FPS", "video_format"),
    "sgdlab.animate.panels": ("LineFit", "LossCurve", "Panel"),
    "sgdlab.animate.player": ("show",),
    "sgdlab.animate.replay": ("truncate",),
    "sgdlab.animate.scenes": ("SCENES", "SceneOptions", "build_scene", "compare", "describe_lr",
                              "full_vs_minibatch", "learning_rates", "line_fit", "loss_curve",
                              "loss_surface", "overview", "parameter_space"),
    "sgdlab.animate.surface": ("LossSurface", "ParameterSpace", "mse_grid"),
    "sgdlab.animate.probe": ("decode_frames", "probe_video"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'sgdlab.animate' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
