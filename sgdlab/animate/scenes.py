"""The scenes of a lecture on gradient descent, each a ready-made :class:`Movie`.

Every scene first *records* its runs (``gradient_descent`` / ``minibatch_sgd`` into a History)
and only then builds the picture, so replaying is free of training.

==================  ==============================================================
``line-fit``        the data and the current line; step, loss and lr in the title
``loss-curve``      the loss on all the data, growing step by step
``parameter-space`` MSE contours over (a1, a2), the optimum, the path so far
``surface``         the contours next to the same bowl as a 3D surface
``learning-rates``  one data set, one start, several learning rates side by side
``minibatch``       full-batch and mini-batch SGD on the same contours
``overview``        line fit, loss curve and contours of one run side by side
==================  ==============================================================
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from sgdlab.animate.movie import Movie
from sgdlab.animate.panels import LineFit, LossCurve, line_limits
from sgdlab.animate.replay import truncate
from sgdlab.animate.surface import LossSurface, ParameterSpace, parameter_limits
from sgdlab.checks import DEFAULT_SEED, check_whole_number
from sgdlab.data import make_linear_data
from sgdlab.errors import SgdlabError, UnstableLearningRateWarning
from sgdlab.history import History
from sgdlab.linalg import curvatures, max_stable_lr
from sgdlab.train import gradient_descent, minibatch_sgd

#: The lecture's first guess.
START = (-1.0, 1.0)


def line_fit(history: History, frames: int | None = None, size=(640, 480), **movie) -> Movie:
    """Scene 1, the lecture's animation: data, current line, step/loss/lr in the title."""
    return Movie(LineFit(history), frames=frames, size=size, **movie)


def loss_curve(history: History, frames: int | None = None, size=(640, 480), **movie) -> Movie:
    """Scene 2: the loss on all the data, growing with the steps."""
    return Movie(LossCurve(history), frames=frames, size=size, **movie)


def parameter_space(history: History, frames: int | None = None, size=(640, 560),
                    **movie) -> Movie:
    """Scene 3: MSE contours over (a1, a2), the least-squares optimum and the path so far."""
    return Movie(ParameterSpace(history), frames=frames, size=size, **movie)


def loss_surface(history: History, frames: int | None = None, size=(1120, 480),
                 **movie) -> Movie:
    """Scene 3, 3D variant: the contours next to the MSE bowl as a surface, same path on both."""
    limits = parameter_limits([history])
    panels = [ParameterSpace(history, limits=limits),
              LossSurface(history, limits=limits, heading="the same bowl in 3D")]
    return Movie(panels, frames=frames, size=size, **movie)


def describe_lr(x: torch.Tensor, lr: float, steps: int) -> str:
    """Name what a learning rate does to full-batch GD on ``x`` (from the Hessian's λ).

    Each step multiplies the error along an eigenvector by ``1 − lr·λ``. With
    ``ρ = max |1 − lr·λ|``: ``lr ≥ 2/λmax`` diverges; ``lr > 1/λmax`` flips sign every step
    (oscillates); otherwise ``ρ^steps`` says whether ``steps`` steps are enough.
    """
    lam = curvatures(x)
    lam_min, lam_max = float(lam[0]), float(lam[-1])
    if lr >= 2.0 / lam_max:
        return "too high: diverges"
    if lr > 1.0 / lam_max:
        return "high: oscillates"
    slowest = max(abs(1 - lr * lam_min), abs(1 - lr * lam_max))
    return "good" if slowest**steps <= 0.1 else "too low: crawls"


def default_lrs(x: torch.Tensor) -> list[float]:
    """Too low, good (the lecture's 0.1), just under ``2/λmax``, and above it."""
    edge = max_stable_lr(x)
    return [0.01, 0.1, round(0.95 * edge, 2), round(1.15 * edge, 2)]


def compare(histories: Mapping[str, History] | Sequence[History], frames: int | None = None,
            size=(1280, 640), **movie) -> Movie:
    """Runs side by side, one column each: the line fit on top, the path on the contours below.

    ``histories`` maps a heading to each run (or is a list; the runs' labels head the
    columns). All columns share their axes limits, taken from the runs that stay finite, so a
    diverging run leaves its panels (and says "diverged at step k") without changing the scale
    of the others. Shorter runs freeze on their last state.
    """
    if isinstance(histories, Mapping):
        headings, runs = list(histories), list(histories.values())
    else:
        runs = list(histories)
        headings = [h.label or f"run {i + 1}" for i, h in enumerate(runs)]
    if not runs:
        raise SgdlabError("give at least one History to compare")
    lines, params = line_limits(runs), parameter_limits(runs)
    top = [LineFit(h, heading=heading, limits=lines)
           for h, heading in zip(runs, headings, strict=True)]
    bottom = [ParameterSpace(h, limits=params) for h in runs]
    movie.setdefault("fontsize", 8.0)
    return Movie([top, bottom], frames=frames, size=size, **movie)


def learning_rates(x: torch.Tensor, y: torch.Tensor, lrs: Sequence[float] | None = None,
                   steps: int = 100, a0: Sequence[float] = START, size=(1280, 640),
                   **movie) -> Movie:
    """Scene 4: the same data and start with several learning rates, side by side.

    Records one full-batch run per learning rate (a diverging one stops where it blows up)
    and shows them with :func:`compare`; each column is headed by what its rate does, so the
    core's :class:`~sgdlab.errors.UnstableLearningRateWarning` for a rate at or above
    ``2/λmax`` is not repeated here: showing that rate fail is the point of the scene.
    """
    lrs = default_lrs(x) if lrs is None else list(lrs)
    if not lrs:
        raise SgdlabError("give at least one learning rate to compare")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnstableLearningRateWarning)
        runs = {f"lr {lr:g}: {describe_lr(x, lr, steps)}":
                gradient_descent(x, y, a0, lr, steps, on_divergence="stop") for lr in lrs}
    if len(runs) != len(lrs):
        raise SgdlabError(f"learning rates repeat in {lrs}; give each one once")
    movie.setdefault("title", f"the same data and start, {len(lrs)} learning rates "
                              f"(2/λmax = {max_stable_lr(x):.3g})")
    return compare(runs, frames=steps + 1, size=size, **movie)


def overview(history: History, frames: int | None = None, size=(1280, 440), **movie) -> Movie:
    """One run three ways: the line fit, the loss curve and the path on the contours."""
    movie.setdefault("fontsize", 9.0)
    return Movie([LineFit(history), LossCurve(history), ParameterSpace(history)],
                 frames=frames, size=size, **movie)


def full_vs_minibatch(x: torch.Tensor, y: torch.Tensor, lr: float = 0.1, steps: int = 100,
                      batch_size: int = 10, seed: int | None = None,
                      a0: Sequence[float] = START, size=(1280, 440), **movie) -> Movie:
    """Scene 5: full-batch GD and mini-batch SGD, update for update.

    Left: the data with both lines and the current mini-batch's points circled. Middle: both
    paths on the contours (SGD's wanders: each step sees only ``batch_size`` points). Right:
    the loss on all the data.
    """
    full = gradient_descent(x, y, a0, lr, steps, on_divergence="stop")
    full.label = "full batch"
    epochs = max(1, math.ceil(steps * batch_size / x.shape[0]))
    mini = truncate(minibatch_sgd(x, y, a0, lr, epochs, batch_size, seed=seed,
                                  on_divergence="stop"), steps)
    mini.label = f"mini-batch of {batch_size}"
    runs = [full, mini]
    panels = [LineFit(runs), ParameterSpace(runs), LossCurve(runs)]
    movie.setdefault("fontsize", 9.0)
    movie.setdefault("title", f"full batch vs mini-batches of {batch_size}, lr {lr:g}")
    return Movie(panels, frames=steps + 1, size=size, **movie)


# -- building a scene from command-line style options -------------------------------------------
@dataclass
class SceneOptions:
    """What ``sgdlab animate`` passes to a scene (None: the scene's default)."""

    lrs: Sequence[float] | None = None
    steps: int = 100
    batch_size: int = 10
    noise: str = "uniform"
    seed: int = DEFAULT_SEED
    n: int = 100
    size: tuple[int, int] | None = None


def _one_lr(name: str, options: SceneOptions) -> float:
    if options.lrs is None:
        return 0.1
    if len(options.lrs) != 1:
        raise SgdlabError(f"the {name} scene shows one run and takes one learning rate, got "
                          f"{len(options.lrs)}; use the learning-rates scene to compare several")
    return options.lrs[0]


def _single_run(builder: Callable[..., Movie], name: str) -> Callable[..., Movie]:
    def build(options: SceneOptions, x: torch.Tensor, y: torch.Tensor, **movie) -> Movie:
        history = gradient_descent(x, y, START, _one_lr(name, options), options.steps,
                                   on_divergence="stop")
        return builder(history, frames=options.steps + 1, **movie)
    return build


def _learning_rates(options: SceneOptions, x, y, **movie) -> Movie:
    return learning_rates(x, y, options.lrs, options.steps, **movie)


def _minibatch(options: SceneOptions, x, y, **movie) -> Movie:
    return full_vs_minibatch(x, y, _one_lr("minibatch", options), options.steps,
                             options.batch_size, seed=options.seed, **movie)


SCENES: dict[str, Callable[..., Movie]] = {
    "line-fit": _single_run(line_fit, "line-fit"),
    "loss-curve": _single_run(loss_curve, "loss-curve"),
    "parameter-space": _single_run(parameter_space, "parameter-space"),
    "surface": _single_run(loss_surface, "surface"),
    "learning-rates": _learning_rates,
    "minibatch": _minibatch,
    "overview": _single_run(overview, "overview"),
}


def build_scene(name: str, options: SceneOptions | None = None, **movie) -> Movie:
    """Record the runs for scene ``name`` on the lecture's data and return its Movie.

    ``options.steps`` steps give ``steps + 1`` frames (frame 0 is the first guess).
    """
    options = options or SceneOptions()
    if name not in SCENES:
        raise SgdlabError(f"unknown scene {name!r}; choose one of: {', '.join(SCENES)}")
    check_whole_number(options.steps, "steps", minimum=0)
    x, y = make_linear_data(options.n, noise=options.noise, seed=options.seed)
    if options.size is not None:
        movie["size"] = options.size
    return SCENES[name](options, x, y, **movie)
