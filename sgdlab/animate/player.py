"""Watch a movie wherever the code runs: inline in a notebook, in a window, or as a file.

Lessons call :func:`show` once; the same cell plays inline in Jupyter, opens a window when
run as a script on a desktop, and saves an MP4 when there is no display (CI, a server, tests).
"""

from __future__ import annotations

import os
from pathlib import Path

from sgdlab.animate.movie import Movie
from sgdlab.animate.notebook import html5_video, offline_player
from sgdlab.animate.options import DEFAULT_FPS
from sgdlab.checks import check_choice
from sgdlab.errors import SgdlabError
from sgdlab.history import History
from sgdlab.teach import can_open_window, figure_style, figures_folder, in_notebook, pausing


class InlineAnimation:
    """HTML that Jupyter displays (via ``_repr_html_``): an inline video or the JS player."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # the text/plain beside the HTML: no "object at 0x..."
        kind = "HTML5 video" if "<video" in self.html else "frame-by-frame player"
        return f"<animation: {kind}, shown in a notebook>"


PLAYERS = ("video", "frames")


def show(what: Movie | History, name: str = "animation", fps: float = DEFAULT_FPS,
         out_dir: str | os.PathLike | None = None,
         window: bool | None = None, player: str = "video") -> Path | None:
    """Play ``what`` (a Movie, or a History shown as the line-fit scene).

    * in a notebook: display it once, inline, and return None (so that Jupyter does not show
      it a second time as the cell's value): ``player="video"`` (the default) is one HTML5
      ``<video>`` of the MP4, a few hundred KB; ``player="frames"`` is the JavaScript player
      for stepping frame by frame (every frame embedded as PNG, so much larger; it needs no
      network);
    * with a window (default: when matplotlib can open one and the run is interactive, see
      :func:`sgdlab.teach.pausing`): open it and return None when it is closed;
    * otherwise: save ``out_dir/name.mp4`` (default folder: ``$SGDLAB_FIGURES``, else
      ``figures/`` in the work folder of :func:`sgdlab.teach.work_dir`) in the run's
      :func:`~sgdlab.teach.figure_style` (1280x720 for a projector), print where, and return
      the path.
    """
    if isinstance(what, History):
        from sgdlab.animate.scenes import line_fit

        what = line_fit(what)
    if not isinstance(what, Movie):
        raise SgdlabError(f"show() plays a Movie or a History, got {type(what).__name__}")
    player = check_choice(player, "player", PLAYERS)
    if in_notebook():
        from IPython.display import display

        html = (html5_video(what, fps) if player == "video"
                else offline_player(what.to_jshtml(fps)))
        display(InlineAnimation(html))
        return None
    if window is None:
        window = can_open_window() and pausing()
    if window:
        import matplotlib.pyplot as plt

        figure = what.build(pyplot=True)
        animation = what.animation(fps)  # keep a reference while the window is open
        plt.show()
        del animation
        plt.close(figure)
        what.build()  # back on an Agg canvas, ready to save
        return None
    folder = Path(out_dir) if out_dir is not None else figures_folder()
    what.restyle(figure_style())
    path = what.save(folder / f"{name}.mp4", fps=fps)
    print(f"saved {path}")
    return path
