"""``sgdlab demo``: the main job on the built-in synthetic data, headless.

It runs the SGD lessons 1–6 straight through (figures saved as PNG) and renders the lecture's
animations, so that a fresh set-up ends with everything a teacher needs on disk.

Everything it writes goes to folders that git ignores (``figures/`` and ``animations/rendered/``
by default), so the tree stays clean after the set-up on any machine: ffmpeg builds differ, and
a re-rendered clip differs in a few frames from the committed one. The committed lecture clips in
``animations/`` change only through ``make animations``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sgdlab.progress import add_progress_option
from sgdlab.style import SCREEN, FigureStyle, add_style_option, style_of

LESSONS = range(1, 7)
RENDERED = Path("animations") / "rendered"


def run_demo(figures: Path, animations: Path | None, progress: bool = True,
             style: FigureStyle = SCREEN) -> None:
    """Run lessons 1–6 without pausing, then (unless ``animations`` is None) render the set
    (with ``progress`` bars); figures and animations in ``style``, e.g.
    :data:`~sgdlab.style.PROJECTOR`."""
    from sgdlab.lessons import run_lesson

    figures.mkdir(parents=True, exist_ok=True)
    for number in LESSONS:
        start = time.perf_counter()
        run_lesson(number, pause=False, figures=figures, style=style)
        print(f"\n[demo] lesson {number} done in {time.perf_counter() - start:.1f} s\n")
    if animations is not None:
        from sgdlab.animate import render_lecture_set

        start = time.perf_counter()
        movie = {} if style.size is None else {"size": style.size, "dpi": style.dpi}
        paths = render_lecture_set(animations, progress=progress, **movie)
        print(f"[demo] rendered {len(paths)} animations into {animations}/ "
              f"in {time.perf_counter() - start:.1f} s")
    print(f"[demo] figures are in {figures}/")


def _handle(args: argparse.Namespace) -> int:
    run_demo(args.figures, None if args.no_animations else args.animations,
             progress=not args.no_progress, style=style_of(args))
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="run the SGD lessons headless and render the lecture animations",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--figures", type=Path, default=Path("figures"),
                   help="folder for the lessons' PNG figures (default: figures)")
    p.add_argument("--animations", type=Path, default=RENDERED,
                   help=f"folder for the lecture animations (default: {RENDERED}, which git "
                        "ignores; `make animations` updates the committed set in animations/)")
    p.add_argument("--no-animations", action="store_true", help="skip rendering the animations")
    add_style_option(p)
    add_progress_option(p, _handle)
