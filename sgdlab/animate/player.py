"""Watch a movie wherever the code runs: inline in a notebook, in a window, or as a file.

Lessons call :func:`show` once; the same cell plays inline in Jupyter, opens a window when
run as a script on a desktop, and saves an MP4 when there is no display (CI, a server, tests).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sgdlab.animate.movie import DEFAULT_FPS, Movie
from sgdlab.errors import SgdlabError
from sgdlab.history import History

#: Backends that draw into files only; everything else opens windows (or is a notebook's).
FILE_ONLY_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


class InlineAnimation:
    """An HTML/JS player that Jupyter displays (via ``_repr_html_``)."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython imported and attached to a kernel)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def has_display() -> bool:
    """True when matplotlib's backend can open a window."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    return backend not in FILE_ONLY_BACKENDS and "inline" not in backend


def show(what: Movie | History, name: str = "animation", fps: float = DEFAULT_FPS,
         out_dir: str | os.PathLike = "figures") -> InlineAnimation | Path | None:
    """Play ``what`` (a Movie, or a History shown as the line-fit scene).

    * in a notebook: display an inline player and return it;
    * with a display: open a window and return None when it is closed;
    * headless: save ``out_dir/name.mp4``, print where, and return the path.
    """
    if isinstance(what, History):
        from sgdlab.animate.scenes import line_fit

        what = line_fit(what)
    if not isinstance(what, Movie):
        raise SgdlabError(f"show() plays a Movie or a History, got {type(what).__name__}")
    if in_notebook():
        player = InlineAnimation(what.to_jshtml(fps))
        try:
            from IPython.display import display
        except ImportError:  # a kernel without IPython.display: the returned value shows
            return player
        display(player)
        return player
    if has_display():
        import matplotlib.pyplot as plt

        what.build(pyplot=True)
        animation = what.animation(fps)  # keep a reference while the window is open
        plt.show()
        del animation
        what.build()  # back on an Agg canvas, ready to save
        return None
    path = what.save(Path(out_dir) / f"{name}.mp4", fps=fps)
    print(f"saved {path}")
    return path
