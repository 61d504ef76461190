"""Find, list and run the numbered step-through lessons in ``lessons/``.

Each lesson is a script ``NN_name.py`` whose module docstring gives its title (first line) and a
one-line summary (the next paragraph), cut into cells by ``# %%`` lines. ``sgdlab lessons`` lists
them; ``sgdlab lesson N`` runs one in this process, cell by cell: each cell's explanation
(``step``), then its code, then (after a pause in a terminal) its output. The pauses and figures
are configured through :mod:`sgdlab.teach`'s environment variables.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sgdlab
from sgdlab.errors import SgdlabError
from sgdlab.progress import add_progress_option
from sgdlab.style import FigureStyle, add_style_option, style_of
from sgdlab.teach import FIGURES_ENV, NO_PAUSE_ENV, STYLE_ENV, show_code

LESSON_FILE = re.compile(r"^(\d+)_\w+\.py$")
CELL_MARK = re.compile(r"^# %%(\s|$)")


@dataclass(frozen=True)
class Lesson:
    """One lesson script: its number, title, one-line summary and path."""

    number: int
    title: str
    summary: str
    path: Path


def lessons_dir() -> Path:
    """The ``lessons/`` folder beside the package (sgdlab is installed editable from a clone)."""
    folder = Path(sgdlab.__file__).resolve().parents[1] / "lessons"
    if not folder.is_dir():
        raise SgdlabError(
            f"the lessons folder was not found at {folder}; the lessons ship with the source, so "
            f"install sgdlab from a clone with `pip install -e .` (or `make setup`)"
        )
    return folder


def _read_docstring(path: Path) -> tuple[str, str]:
    """Title (first line) and summary (second paragraph, joined) of a script's docstring."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]
    title = paragraphs[0].rstrip(".") if paragraphs else path.stem
    summary = paragraphs[1] if len(paragraphs) > 1 else ""
    return title, summary


def list_lessons() -> list[Lesson]:
    """All lessons, in number order."""
    found = []
    for path in lessons_dir().glob("*.py"):
        match = LESSON_FILE.match(path.name)
        if match:
            title, summary = _read_docstring(path)
            found.append(Lesson(int(match.group(1)), title, summary, path))
    return sorted(found, key=lambda lesson: lesson.number)


def get_lesson(number: int) -> Lesson:
    """The lesson with this number; an unknown number raises with the valid ones."""
    lessons = list_lessons()
    for lesson in lessons:
        if lesson.number == number:
            return lesson
    valid = ", ".join(str(lesson.number) for lesson in lessons) or "none found"
    raise SgdlabError(f"there is no lesson {number}; the lessons are {valid} "
                      f"(`sgdlab lessons` lists them)")


@contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    """Set (or, for ``None``, remove) environment variables, restoring them afterwards."""
    def apply(settings: dict[str, str | None]) -> None:
        for key, value in settings.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    saved = {key: os.environ.get(key) for key in values}
    try:
        apply(values)
        yield
    finally:
        apply(saved)


@dataclass(frozen=True)
class Cell:
    """One ``# %%`` cell of a lesson: its code and the file's line number of its first line."""

    first_line: int
    source: str


def split_cells(text: str) -> list[Cell]:
    """The cells of a ``# %%`` script (the code above the first marker is a cell too), without
    the marker lines and without cells that hold only blank lines."""
    cells, start, lines = [], 1, []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if CELL_MARK.match(line):
            cells.append(Cell(start, "".join(lines)))
            start, lines = number + 1, []
        else:
            lines.append(line)
    cells.append(Cell(start, "".join(lines)))
    return [cell for cell in cells if cell.source.strip()]


def _is_step_call(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "step")


def code_to_show(cell: Cell) -> tuple[str, bool]:
    """What the terminal shows of ``cell`` before it runs, and whether it opens with ``step``.

    The module docstring and the opening ``step(title, text)`` call are left out: the lesson's
    title and the step's explanation are printed already.
    """
    lines = cell.source.splitlines()
    body = ast.parse(cell.source).body
    hidden: set[int] = set()
    opens_with_step = False
    for index, node in enumerate(body[:2]):
        docstring = (index == 0 and isinstance(node, ast.Expr)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))
        if docstring or (_is_step_call(node) and not opens_with_step):
            hidden.update(range(node.lineno - 1, node.end_lineno))
            opens_with_step = opens_with_step or _is_step_call(node)
        else:
            break
    shown = "\n".join(line for i, line in enumerate(lines) if i not in hidden)
    return shown.strip("\n"), opens_with_step


def _run_cells(path: Path, cells: list[Cell], show: bool) -> dict[str, Any]:
    """Run ``cells`` one after the other in one fresh ``__main__`` module (as ``python path``
    would), showing each cell's code first when ``show``; return the module's variables."""
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=str(path), __builtins__=builtins, __spec__=None)
    saved_main, saved_argv0 = sys.modules.get("__main__"), sys.argv[0] if sys.argv else None
    sys.modules["__main__"] = module
    if sys.argv:
        sys.argv[0] = str(path)
    try:
        for cell in cells:
            if show:
                code, opens_with_step = code_to_show(cell)
                show_code(code, at_next_step=opens_with_step)
            # blank lines in front keep the file's line numbers in tracebacks and warnings
            compiled = compile("\n" * (cell.first_line - 1) + cell.source, str(path), "exec")
            exec(compiled, module.__dict__)  # noqa: S102 - the lesson is the program being run
    finally:
        show_code("", at_next_step=True)  # nothing held back for a later step()
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        if saved_argv0 is not None:
            sys.argv[0] = saved_argv0
    return dict(module.__dict__)


def run_lesson_file(path: str | os.PathLike, pause: bool = False,
                    figures: str | os.PathLike | None = None,
                    show_code: bool = True, style: FigureStyle | None = None) -> dict[str, Any]:
    """Run a lesson script in this process, as ``__main__``, cell by cell; return its variables.

    Args:
        path: the script.
        pause: wait for Enter after each explanation (only ever when stdin is a terminal).
        figures: save figures in this folder; ``None`` leaves the choice to
            :func:`sgdlab.teach.show` (a window if it can, else ``figures/`` in the work folder).
        show_code: print each cell's code before it runs: after the step's explanation and
            before its pause, so a learner reads what will run, then sees what it printed.
        style: how saved figures and animations look (:data:`~sgdlab.style.PROJECTOR`: 1280x720
            with bigger letters), passed on as ``SGDLAB_STYLE`` so that the script stays plain;
            ``None`` leaves ``SGDLAB_STYLE`` as it is.
    """
    path = Path(path)
    cells = split_cells(path.read_text(encoding="utf-8"))
    settings = {NO_PAUSE_ENV: None if pause else "1",
                FIGURES_ENV: None if figures is None else str(figures)}
    if style is not None:
        settings[STYLE_ENV] = style.name
    with _environment(**settings):
        return _run_cells(path, cells, show_code)


def run_lesson(number: int, pause: bool = False, figures: Path | None = None,
               style: FigureStyle | None = None) -> None:
    """Run lesson ``number`` from start to end (see :func:`run_lesson_file`)."""
    run_lesson_file(get_lesson(number).path, pause=pause, figures=figures, style=style)


def _list_command(args) -> int:
    for lesson in list_lessons():
        print(f"{lesson.number:2d}  {lesson.title}")
        if lesson.summary:
            print(f"    {lesson.summary}")
    print("\nrun one with `sgdlab lesson N` (add --no-pause to run straight through)")
    return 0


def _run_command(args) -> int:
    lesson = get_lesson(args.number)
    print(f"Lesson {lesson.number}: {lesson.title}")
    run_lesson(lesson.number, pause=not args.no_pause, figures=args.figures,
               style=style_of(args))
    print(f"\nEnd of lesson {lesson.number}.")
    return 0


def add_commands(subparsers) -> None:
    """Register ``sgdlab lessons`` and ``sgdlab lesson N [--no-pause] [--figures DIR]``."""
    listing = subparsers.add_parser("lessons", help="list the step-through lessons",
                                    description="List the numbered step-through lessons.")
    listing.set_defaults(func=_list_command)

    one = subparsers.add_parser(
        "lesson", help="run one lesson step by step",
        description="Run a lesson: an explanation, a pause, then the values, step by step. "
                    "Figures open in a window, or are saved as PNG when there is no display.",
    )
    one.add_argument("number", type=int, metavar="N", help="the lesson's number (see `lessons`)")
    one.add_argument("--no-pause", action="store_true",
                     help="run straight through without waiting for Enter")
    one.add_argument("--figures", type=Path, metavar="DIR", default=None,
                     help="save the figures as PNG files in DIR (default: a window if there "
                          "is a display, else ./figures)")
    add_style_option(one, note="the figures and animations it saves; a window or a notebook "
                               "shows them at their own size")
    add_progress_option(one, _run_command)
