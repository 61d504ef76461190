"""The two helpers a lesson script needs: ``step`` (explain, then pause) and ``show`` (a figure).

A lesson is a plain Python script cut into ``# %%`` cells. The same file runs three ways:

* in a terminal: each ``step`` prints a heading and an explanation, then waits for Enter;
  figures open in a window when there is a display, otherwise they are saved as PNG files;
* straight through (``sgdlab lesson N --no-pause``, or stdin is not a terminal): no pauses,
  figures saved as ``<figures>/<lesson>-<name>.png``;
* in Jupyter or a VS Code notebook: explanations render as Markdown, figures inline, no pauses.

``sgdlab lesson`` configures a run through environment variables, so the lessons stay plain
scripts that also run as ``python lessons/03_gradient_descent.py``:

* ``SGDLAB_NO_PAUSE=1``: never wait for Enter;
* ``SGDLAB_FIGURES=DIR``: save every figure in ``DIR`` (default when saving: ``./figures``).

A lesson never blocks when stdin is not a terminal.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

from sgdlab.files import save_figure

NO_PAUSE_ENV = "SGDLAB_NO_PAUSE"
FIGURES_ENV = "SGDLAB_FIGURES"
DEFAULT_FIGURES = Path("figures")

# Backends that draw into a file or a notebook, never a window.
_NO_WINDOW = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def in_notebook() -> bool:
    """True inside a Jupyter kernel (Jupyter, JupyterLab, VS Code notebooks and interactive)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, OSError, ValueError):
        return False


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def pausing() -> bool:
    """Whether ``step`` waits for Enter: only in a terminal, and not with ``SGDLAB_NO_PAUSE=1``."""
    return not _env_flag(NO_PAUSE_ENV) and not in_notebook() and _stdin_is_terminal()


def figures_dir() -> Path | None:
    """The folder named by ``SGDLAB_FIGURES``, or ``None`` when it is not set."""
    value = os.environ.get(FIGURES_ENV, "").strip()
    return Path(value) if value else None


def lesson_name() -> str:
    """The running script's name without ``.py`` (``03_gradient_descent``), or ``lesson``."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return Path(main_file).stem if main_file else "lesson"


def _say(text: str) -> None:
    """Print, replacing characters the terminal's encoding cannot show (λ on a cp1252 console)."""
    try:
        print(text, flush=True)
    except UnicodeEncodeError:
        encoding = getattr(sys.stdout, "encoding", None) or "ascii"
        print(text.encode(encoding, errors="replace").decode(encoding), flush=True)


def step(title: str, text: str = "") -> None:
    """Start a step: print ``title`` and the dedented ``text``, then wait for Enter if pausing.

    The code after the call computes and prints the step's values, so a paused learner reads
    the explanation first and sees the numbers once they press Enter.
    """
    body = inspect.cleandoc(text) if text else ""
    if in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(f"### {title}\n\n{body}"))
        return
    _say(f"\n== {title} " + "=" * max(3, 72 - len(title)))
    if body:
        _say(body + "\n")
    if pausing():
        _say("[press Enter to run this step]")
        try:
            line = sys.stdin.readline()
        except (OSError, ValueError):
            return
        if not line:  # end of input: nothing more to wait for
            os.environ[NO_PAUSE_ENV] = "1"


def can_open_window() -> bool:
    """True when matplotlib's backend draws in a window (not a file or a notebook)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    return backend not in _NO_WINDOW and "inline" not in backend


def show(fig, name: str) -> Path | None:
    """Show a matplotlib figure the way this run can, then close it.

    In a notebook it appears inline; in a paused terminal with a display it opens in a window
    (close the window to go on). Otherwise, or whenever ``SGDLAB_FIGURES`` is set, it is saved
    as ``<figures>/<lesson>-<name>.png`` and the path is printed.

    Returns:
        The saved PNG's path, or ``None`` when nothing was saved.
    """
    import matplotlib.pyplot as plt

    saved = None
    try:
        if in_notebook():
            from IPython.display import display

            display(fig)
        folder = figures_dir()
        window = not in_notebook() and pausing() and can_open_window()
        if folder is not None or (not window and not in_notebook()):
            saved = figure_path(name)
            save_figure(fig, saved)
            _say(f"figure saved: {saved}")
        if window:
            plt.show()
    finally:
        plt.close(fig)
    return saved


def figure_path(name: str) -> Path:
    """Where this lesson's figure ``name`` goes: ``<figures>/<lesson>-<name>.png``.

    :func:`show` saves there; so does a lesson that lets a library method write its own PNG
    (``dls.show_batch(figure_path("batch"))``), before announcing it with :func:`show_png`.
    """
    return (figures_dir() or DEFAULT_FIGURES) / f"{lesson_name()}-{name}.png"


def show_png(path: Path) -> Path:
    """Announce a PNG that is already saved; in a notebook, also show it inline."""
    if in_notebook():
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    _say(f"figure saved: {path}")
    return path
