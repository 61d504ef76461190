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
* ``SGDLAB_FIGURES=DIR``: save every figure in ``DIR`` (default when saving: ``figures/`` in the
  work folder);
* ``SGDLAB_STYLE=projector``: save figures and animations for a projector (1280x720, letters
  1.5 times as big; see :mod:`sgdlab.style`); ``screen`` (the default) keeps each figure's size;
* ``SGDLAB_WORKDIR=DIR``: the work folder, where lessons keep ``figures/`` and ``models/`` and
  where lessons 9–12 find the models that earlier lessons saved (see :func:`work_dir`).

A lesson never blocks when stdin is not a terminal. ``sgdlab lesson N`` runs a lesson cell by
cell and shows each cell's code (:func:`show_code`) before the cell runs.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from sgdlab.errors import SgdlabError
from sgdlab.files import save_figure
from sgdlab.style import STYLES, FigureStyle, fit_figure

NO_PAUSE_ENV = "SGDLAB_NO_PAUSE"
FIGURES_ENV = "SGDLAB_FIGURES"
STYLE_ENV = "SGDLAB_STYLE"
WORKDIR_ENV = "SGDLAB_WORKDIR"
#: the figures' folder inside the work folder (when ``SGDLAB_FIGURES`` is not set)
DEFAULT_FIGURES = Path("figures")
_PROJECT_NAME = re.compile(r"""^name\s*=\s*["']sgdlab["']""", re.MULTILINE)
# the code of the cell that is about to run, printed by the next step() (see show_code)
_pending_code: str | None = None

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


def project_root(start: Path | None = None) -> Path | None:
    """The sgdlab project folder that holds ``start`` (default: the current folder).

    That is the nearest folder at or above ``start`` whose ``pyproject.toml`` names the
    ``sgdlab`` project (a clone of this repository), or ``None`` outside any such clone.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        toml = folder / "pyproject.toml"
        try:
            if toml.is_file() and _PROJECT_NAME.search(toml.read_text(encoding="utf-8")):
                return folder
        except (OSError, UnicodeDecodeError):
            continue
    return None


def work_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The work folder, where lessons keep ``figures/`` and ``models/``. One rule for all:

    1. ``SGDLAB_WORKDIR``, if set (it must be an existing folder);
    2. else the sgdlab project folder, if the current folder is inside one
       (:func:`project_root`): a notebook run from ``lessons/`` or ``notebooks/`` writes to
       the clone's ``figures/`` and ``models/``, which git ignores, and finds the models that
       ``sgdlab lesson 8`` saved from the project folder;
    3. else the current folder.

    The current folder itself is returned as ``Path(".")``, so that printed paths stay short
    (``models/bears-stage-1.pth``); any other folder as an absolute path.
    """
    env = os.environ if environ is None else environ
    value = (env.get(WORKDIR_ENV) or "").strip()
    if value:
        folder = Path(value).expanduser()
        if not folder.is_dir():
            raise SgdlabError(
                f"{WORKDIR_ENV}={value}: no such folder; create it (mkdir -p {value}) or unset "
                f"{WORKDIR_ENV} to work in the project folder")
    else:
        folder = project_root() or Path.cwd()
    folder = folder.resolve()
    return Path(".") if folder == Path.cwd().resolve() else folder


def figures_folder() -> Path:
    """Where figures are saved: ``SGDLAB_FIGURES`` if set, else ``figures/`` in the work
    folder (:func:`work_dir`)."""
    return figures_dir() or work_dir() / DEFAULT_FIGURES


def lesson_name() -> str:
    """The running script's or notebook's name without its suffix (``03_gradient_descent``),
    or ``lesson``. A notebook's name comes from VS Code (``__vsc_ipynb_file__``) or Jupyter's
    ``JPY_SESSION_NAME``, when they say it."""
    main = sys.modules.get("__main__")
    main_file = (getattr(main, "__file__", None) or getattr(main, "__vsc_ipynb_file__", None)
                 or os.environ.get("JPY_SESSION_NAME"))
    return Path(main_file).stem if main_file else "lesson"


def _say(text: str) -> None:
    """Print, replacing characters the terminal's encoding cannot show (λ on a cp1252 console)."""
    try:
        print(text, flush=True)
    except UnicodeEncodeError:
        encoding = getattr(sys.stdout, "encoding", None) or "ascii"
        print(text.encode(encoding, errors="replace").decode(encoding), flush=True)


def format_code(code: str) -> str:
    """``code`` as the terminal shows it: every line behind a ``  | `` gutter."""
    return "\n".join(f"  | {line}".rstrip() for line in code.strip("\n").splitlines())


def show_code(code: str, at_next_step: bool = False) -> None:
    """Print the code of the cell that is about to run (what ``sgdlab lesson N`` does).

    With ``at_next_step=True`` the code is held back and printed by the next :func:`step`,
    after its explanation and before its pause: title, explanation, code, then the output.
    """
    global _pending_code
    if at_next_step:
        _pending_code = code if code.strip() else None
    elif code.strip():
        _say(format_code(code) + "\n")


def step(title: str, text: str = "") -> None:
    """Start a step: print ``title`` and the dedented ``text``, then wait for Enter if pausing.

    The code after the call computes and prints the step's values, so a paused learner reads
    the explanation first and sees the numbers once they press Enter. When the lesson runs
    through ``sgdlab lesson N``, the cell's code is printed between the explanation and the
    pause (see :func:`show_code`).
    """
    global _pending_code
    body = inspect.cleandoc(text) if text else ""
    code, _pending_code = _pending_code, None
    if in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(f"### {title}\n\n{body}"))
        return
    _say(f"\n== {title} " + "=" * max(3, 72 - len(title)))
    if body:
        _say(body + "\n")
    if code is not None:
        show_code(code)
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


def figure_style() -> FigureStyle:
    """How this run saves figures and animations: the style that ``SGDLAB_STYLE`` names
    (``sgdlab lesson N --projector`` sets it), else the screen's."""
    name = os.environ.get(STYLE_ENV, "").strip().lower() or "screen"
    if name not in STYLES:
        raise SgdlabError(f"{STYLE_ENV}={os.environ[STYLE_ENV]!r} is not a style; use one of "
                          f"{', '.join(STYLES)}, or unset it for the screen's")
    return STYLES[name]


def show(fig, name: str) -> Path | None:
    """Show a matplotlib figure the way this run can, then close it.

    In a notebook it appears inline, once; in a paused terminal with a display it opens in a
    window (close the window to go on). Otherwise, or whenever ``SGDLAB_FIGURES`` is set, it is
    saved as ``<figures>/<lesson>-<name>.png`` (:func:`figure_path`) in the run's
    :func:`figure_style` (1280x720 for a projector) and the path is printed.

    Returns:
        The saved PNG's path, or ``None`` when nothing was saved, and always ``None`` in a
        notebook: the figure is shown once, not again as a ``PosixPath(...)`` cell value.
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
            style = figure_style()
            fit_figure(fig, style)
            save_figure(fig, saved, dpi=style.dpi)
            _say(f"figure saved: {saved}")
        if window:
            plt.show()
    finally:
        plt.close(fig)
    return None if in_notebook() else saved


def figure_path(name: str) -> Path:
    """Where this lesson's figure ``name`` goes: ``<figures>/<lesson>-<name>.png``, in
    :func:`figures_folder`.

    :func:`show` saves there; so does a lesson that lets a library method write its own PNG
    (``dls.show_batch(figure_path("batch"))``), before announcing it with :func:`show_png`.
    """
    return figures_folder() / f"{lesson_name()}-{name}.png"


def show_png(path: Path) -> Path | None:
    """Announce a PNG that is already saved and return its path; in a notebook, show it inline
    once and return ``None`` (so that the cell's value adds no ``PosixPath(...)``)."""
    _say(f"figure saved: {path}")
    if in_notebook():
        from IPython.display import Image, display

        display(Image(filename=str(path)))
        return None
    return path
