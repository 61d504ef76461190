"""The lecture set: every animation a lecture on gradient descent needs, in one call.

``sgdlab animate lecture --out-dir animations`` (``make animations``) and ``sgdlab demo`` render
it. Everything is seeded, so a render gives the same files every time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgdlab.animate.options import DEFAULT_FPS
from sgdlab.animate.scenes import SceneOptions, build_scene


@dataclass(frozen=True)
class LectureClip:
    """One file of the lecture set."""

    filename: str
    scene: str
    options: SceneOptions
    point_at: str


LECTURE_SET = (
    LectureClip("1-line-fit.mp4", "line-fit", SceneOptions(lrs=[0.1]),
                "the line swings from the first guess (-1, 1) onto the data while the loss "
                "in the title falls 8.23 → 0.075 — lr 0.1, 100 steps, as in the lecture (whose "
                "own random data started at 8.89)"),
    LectureClip("2-learning-rates.mp4", "learning-rates", SceneOptions(),
                "same data, same start: 0.01 crawls, 0.1 arrives, just under 2/λmax the "
                "intercept zig-zags across the valley, just over it the line flies off"),
    LectureClip("3-loss-surface.mp4", "surface", SceneOptions(lrs=[0.1]),
                "the path runs down the steep intercept direction first, then along the flat "
                "valley to the star — the loss as a bowl over (a1, a2)"),
    LectureClip("4-minibatch.mp4", "minibatch", SceneOptions(lrs=[0.1], batch_size=10),
                "each mini-batch step (circled points) pulls the line its own way: a noisy "
                "path that still reaches the star, at a tenth of the work per step"),
)


def render_lecture_set(out_dir: str | os.PathLike, progress: bool = True,
                       fps: float = DEFAULT_FPS, **movie_options: Any) -> list[Path]:
    """Render every clip of :data:`LECTURE_SET` into ``out_dir`` (MP4); returns the paths.

    ``movie_options`` (e.g. ``size=(1280, 720), dpi=150`` for a projector) go to every
    :class:`~sgdlab.animate.movie.Movie`.
    """
    out_dir = Path(out_dir)
    paths = []
    for clip in LECTURE_SET:
        movie = build_scene(clip.scene, clip.options, **movie_options)
        paths.append(movie.save(out_dir / clip.filename, fps=fps, progress=progress))
    return paths
