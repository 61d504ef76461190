"""A movie: panels laid out in one figure, replayed frame by frame.

Two ways to turn frames into pictures, giving the same pixels:

* :meth:`Movie.animation` — matplotlib's ``FuncAnimation``, which redraws the whole figure for
  every frame. Used for the notebook player and a live window.
* :meth:`Movie.frames_rgba` — the fast path for files: draw the static background once on the
  Agg canvas, then for each frame paste it back and draw only the moving artists on top.

Both call :meth:`Movie.draw_frame`, which only *sets* artist data from the recorded History;
nothing trains while drawing, so it does not matter how often matplotlib calls it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sgdlab.animate.options import (
    DEFAULT_DPI,
    DEFAULT_FPS,
    DEFAULT_SIZE,
    check_dpi,
    check_fps,
    check_size,
    check_target,
    check_writable,
)
from sgdlab.animate.panels import DYNAMIC_ZORDER, Panel
from sgdlab.animate.writers import (
    FRAME_WRITERS,
    check_html_frames,
    html_embed_limit_mb,
    with_progress,
)
from sgdlab.checks import check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.files import atomic_path
from sgdlab.style import FigureStyle, inches


class Movie:
    """Panels side by side (or in rows) replaying recorded runs.

    Args:
        panels: one panel, a row of panels, or a list of rows.
        frames: number of frames; default: enough for every panel's runs (``steps + 1``).
            Runs shorter than the movie freeze on their last state.
        size: ``(width, height)`` in pixels.
        dpi: dots per inch (fonts are sized in points, so a higher dpi makes them bigger).
        title: a heading over the whole figure; multi-panel movies add the step to it.
        fontsize: base font size in points.
    """

    def __init__(self, panels: Panel | Sequence[Panel] | Sequence[Sequence[Panel]],
                 frames: int | None = None, size: Sequence[int] = DEFAULT_SIZE,
                 dpi: float = DEFAULT_DPI, title: str | None = None, fontsize: float = 10.0):
        if isinstance(panels, Panel):
            rows = [[panels]]
        elif not isinstance(panels, Sequence):
            raise SgdlabError(f"a Movie needs panels such as LineFit(history), got "
                              f"{type(panels).__name__}")
        elif all(isinstance(p, Panel) for p in panels):
            rows = [list(panels)]
        else:
            rows = [list(row) for row in panels]
        if not rows or not all(rows) or not all(isinstance(p, Panel) for r in rows for p in r):
            raise SgdlabError("a Movie needs panels: one Panel, a list of them, or rows of them")
        self.rows = rows
        self.panels = [p for row in rows for p in row]
        self.frames = (check_whole_number(frames, "frames", minimum=1) if frames is not None
                       else max(p.frames for p in self.panels))
        self.size = check_size(size)
        self.dpi = check_dpi(dpi)
        self.title = title
        self.fontsize = float(fontsize)
        self._figure: Figure | None = None
        self._dynamic: list[Artist] = []
        self._suptitle = None
        self.build()

    # -- building ---------------------------------------------------------------------------
    def restyle(self, style: FigureStyle) -> None:
        """Draw the movie in ``style`` from now on (its pixel size and dpi, e.g. 1280x720 at
        150 dpi on a projector), rebuilt at frame 0; a style that keeps each figure's own size
        leaves it as it is."""
        if style.size is None:
            return
        self.size, self.dpi = check_size(style.size), check_dpi(style.dpi)
        self.build()

    @property
    def figure(self) -> Figure:
        """The figure (on an Agg canvas unless built for a window)."""
        return self._figure

    def build(self, pyplot: bool = False) -> Figure:
        """Create the figure and every panel's artists, showing frame 0.

        ``pyplot=True`` makes a pyplot figure (needed for a live window); otherwise the figure
        lives on its own Agg canvas and is freed with the Movie.
        """
        width, height = self.size
        figsize = (inches(width, self.dpi), inches(height, self.dpi))
        if pyplot:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=figsize, dpi=self.dpi, layout="constrained")
        else:
            fig = Figure(figsize=figsize, dpi=self.dpi, layout="constrained")
            FigureCanvasAgg(fig)
        grid = fig.add_gridspec(len(self.rows), max(len(r) for r in self.rows))
        per_axes: list[list[Artist]] = []
        for i, row in enumerate(self.rows):
            for j, panel in enumerate(row):
                span = grid[i, j] if len(row) > 1 or grid.ncols == 1 else grid[i, :]
                if panel.projection == "3d":
                    ax = fig.add_subplot(span, projection="3d", computed_zorder=False)
                else:
                    ax = fig.add_subplot(span)
                per_axes.append(panel.draw(ax, self.frames, self.fontsize))
        # the fast path draws moving artists in the order a full redraw would: axes by axes,
        # by zorder within an axes (a stable sort keeps creation order among equals)
        self._dynamic = [a for artists in per_axes
                         for a in sorted(artists, key=lambda a: a.get_zorder())]
        self._suptitle = None
        if self.title is not None:
            self._suptitle = fig.suptitle(self._heading(0), fontsize=self.fontsize + 1,
                                          zorder=DYNAMIC_ZORDER)
            self._dynamic.append(self._suptitle)
        self._figure = fig
        self.draw_frame(0)
        # lay out once, for frame 0, then freeze the layout so that nothing moves
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        return fig

    def _heading(self, k: int) -> str:
        return self.title if len(self.panels) == 1 else f"{self.title}   (step {k})"

    # -- frames -----------------------------------------------------------------------------
    def draw_frame(self, k: int) -> list[Artist]:
        """Set every moving artist to frame ``k``; returns them. Draws nothing itself."""
        k = check_whole_number(k, "frame")
        if k >= self.frames:
            raise SgdlabError(f"frame must be a whole number from 0 to {self.frames - 1}, "
                              f"got {k!r}")
        for panel in self.panels:
            panel.update(int(k))
        if self._suptitle is not None:
            self._suptitle.set_text(self._heading(int(k)))
        return self._dynamic

    def animation(self, fps: float = DEFAULT_FPS, repeat: bool = True):
        """A ``FuncAnimation`` over all frames (it redraws the whole figure every frame)."""
        from matplotlib.animation import FuncAnimation

        interval = 1000.0 / check_fps(fps)
        return FuncAnimation(self.figure, self.draw_frame, frames=self.frames,
                             interval=interval, repeat=repeat, cache_frame_data=False)

    def render(self, k: int) -> np.ndarray:
        """Frame ``k`` as an (height, width, 4) uint8 RGBA array, by a full redraw."""
        self.draw_frame(k)
        canvas = self._agg_canvas()
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy()

    def frames_rgba(self) -> Iterator[memoryview]:
        """Yield every frame as raw RGBA bytes, redrawing only what changes.

        Each buffer is valid until the next one is requested (copy it to keep it).
        """
        canvas = self._agg_canvas()
        fig = self.figure
        for artist in self._dynamic:
            artist.set_animated(True)
        try:
            canvas.draw()  # animated artists are left out: this is the background
            background = canvas.copy_from_bbox(fig.bbox)
            for k in range(self.frames):
                canvas.restore_region(background)
                for artist in self.draw_frame(k):
                    fig.draw_artist(artist)
                yield canvas.buffer_rgba()
        finally:
            for artist in self._dynamic:
                artist.set_animated(False)

    def _agg_canvas(self) -> FigureCanvasAgg:
        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            raise SgdlabError("this movie's figure is shown in a window; build it again with "
                              "movie.build() before saving frames")
        return canvas

    @property
    def pixel_size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames the canvas produces."""
        width, height = self._agg_canvas().get_width_height(physical=True)
        return int(width), int(height)

    # -- output -----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, fps: float = DEFAULT_FPS,
             progress: bool = False) -> Path:
        """Write the movie to ``path`` atomically; the extension picks the format.

        ``.mp4`` and ``.gif`` are written from :meth:`frames_rgba` by the writer of
        :data:`~sgdlab.animate.writers.FRAME_WRITERS`; ``.html`` is :meth:`to_jshtml`. The
        folder is created if needed; everything is checked before the first frame is drawn.

        Args:
            path: the output file.
            fps: frames per second of the video.
            progress: show a progress bar over the frames (:mod:`sgdlab.progress`).
        """
        path = Path(path)
        kind = check_target(path, self.size)
        fps = check_fps(fps)
        check_writable(path.parent)
        with atomic_path(path) as tmp:
            if kind == "html":
                tmp.write_text(self.to_jshtml(fps), encoding="utf-8")
            else:
                frames = self.frames_rgba()
                try:
                    FRAME_WRITERS[kind](with_progress(frames, self.frames, path.name, progress),
                                        self.pixel_size, tmp, fps)
                finally:
                    frames.close()  # puts the figure back the way a full redraw expects it
        return path

    def to_jshtml(self, fps: float = DEFAULT_FPS) -> str:
        """An HTML/JavaScript player with every frame embedded (for notebooks).

        Written by matplotlib's ``HTMLWriter`` with its embed limit raised to what this movie
        needs, estimated from the PNG sizes of its first, middle and last frames
        (:func:`~sgdlab.animate.writers.html_embed_limit_mb`); a movie too big for a player,
        or a player that still lost frames, raises :class:`SgdlabError` instead.
        """
        import io
        import tempfile

        from matplotlib.animation import HTMLWriter

        fps = check_fps(fps)
        sizes = []
        for k in sorted({0, self.frames // 2, self.frames - 1}):
            self.draw_frame(k)
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png")
            sizes.append(buffer.tell())
        writer = HTMLWriter(fps=fps, embed_frames=True, default_mode="loop",
                            embed_limit=html_embed_limit_mb(sizes, self.frames))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "player.html")
            with writer.saving(self.figure, path, dpi=self.figure.dpi):
                for k in range(self.frames):
                    self.draw_frame(k)
                    writer.grab_frame()
            html = path.read_text(encoding="utf-8")
        return check_html_frames(html, self.frames)

    def __repr__(self) -> str:
        names = ", ".join(type(p).__name__ for p in self.panels)
        return f"Movie([{names}], frames={self.frames}, size={self.size})"
