"""How a saved figure or movie looks: on a screen, or on a projector (``--projector``).

A projector shows a 1280x720 slide to a room; the back row needs big letters and thick lines,
and a figure that wastes half the slide on margins is a small figure. The projector preset is
therefore a *zoom*: the picture is exactly 1280x720 pixels and drawn at 150 dots per inch
instead of 100, so every font (sized in points) and every line width (in points too) comes out
1.5 times as many pixels as on screen, with the layout recomputed for the larger letters
(constrained layout: the axes fill the figure up to their labels).

    style = PROJECTOR
    fig = new_figure(style, (6, 4))   # 6x4 in at 100 dpi on screen; 1280x720 px on a projector
    ...
    save_styled(fig, "plot.png", style)
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgdlab.files import save_figure


@dataclass(frozen=True)
class FigureStyle:
    """A way of drawing figures and movies.

    Attributes:
        name: ``"screen"`` or ``"projector"``.
        size: ``(width, height)`` in pixels of every picture, or None to keep each figure's own.
        dpi: dots per inch; fonts and line widths are in points, so more dpi draws them bigger.
    """

    name: str
    size: tuple[int, int] | None
    dpi: float

    @property
    def zoom(self) -> float:
        """How many times bigger fonts and lines come out than at 100 dpi."""
        return self.dpi / 100.0


SCREEN = FigureStyle("screen", None, 100.0)
PROJECTOR = FigureStyle("projector", (1280, 720), 150.0)
#: every style by its name (what ``SGDLAB_STYLE`` may say, see :func:`sgdlab.teach.figure_style`)
STYLES = {style.name: style for style in (SCREEN, PROJECTOR)}


def inches(pixels: int, dpi: float) -> float:
    """A side in inches that matplotlib turns into exactly ``pixels`` at ``dpi`` (it
    truncates, so the plain quotient can come out one pixel short)."""
    value = pixels / dpi
    while int(value * dpi) < pixels:
        value = math.nextafter(value, math.inf)
    return value


def figure_size(style: FigureStyle, default: Sequence[float]) -> tuple[float, float]:
    """The figure size in inches: ``default`` on screen, the style's pixels at its dpi else."""
    if style.size is None:
        return float(default[0]), float(default[1])
    width, height = style.size
    return inches(width, style.dpi), inches(height, style.dpi)


def new_figure(style: FigureStyle, default_size: Sequence[float]) -> Any:
    """A matplotlib ``Figure`` (no pyplot, no window) for ``style`` with constrained layout;
    ``default_size`` in inches is used when the style keeps each figure's own size."""
    from matplotlib.figure import Figure

    return Figure(figsize=figure_size(style, default_size), dpi=style.dpi, layout="constrained")


def fit_figure(fig: Any, style: FigureStyle) -> None:
    """Refit a figure drawn at its own size to ``style`` before it is saved: the style's pixel
    size, with the layout recomputed (constrained) for its bigger letters. A style that keeps
    each figure's own size (:data:`SCREEN`) leaves the figure as it is."""
    if style.size is None:
        return
    fig.set_size_inches(figure_size(style, fig.get_size_inches()), forward=False)
    with contextlib.suppress(RuntimeError):  # a colorbar laid out by another engine: keep it
        fig.set_layout_engine("constrained")


def save_styled(fig: Any, path: str | os.PathLike, style: FigureStyle) -> Path:
    """Save ``fig`` atomically at the style's dpi (so a projector figure is 1280x720)."""
    return save_figure(fig, path, dpi=style.dpi)


def add_style_option(parser: argparse.ArgumentParser, note: str = "") -> None:
    """Give ``parser`` the ``--projector`` flag (read it back with :func:`style_of`); ``note``
    says what it applies to, when not to every picture the command saves."""
    parser.add_argument("--projector", action="store_true",
                        help="draw for a projector: 1280x720 pixels, fonts and lines 1.5 times "
                             "as big, margins only as wide as the labels need"
                             + (f" ({note})" if note else ""))


def style_of(args: argparse.Namespace) -> FigureStyle:
    """:data:`PROJECTOR` when ``--projector`` was given, else :data:`SCREEN`."""
    return PROJECTOR if getattr(args, "projector", False) else SCREEN
