"""``sgdlab notebooks [DIR]``: every lesson as a Jupyter notebook, generated from its script.

The ``# %%`` scripts in ``lessons/`` stay the one source: a notebook is written from a script
with jupytext, with no outputs, plus a Markdown cell for the title (the script's docstring) and,
in its metadata, a fingerprint of the cells as written. That fingerprint is how a second run
tells a notebook nobody touched (rewritten from the current script) from one a student has
edited or run (kept, and named, unless ``--force``): a student's notes and outputs are never
overwritten without being asked.

The default folder is ``notebooks/`` in the work folder (:func:`sgdlab.teach.work_dir`): in a
clone that is the project's ``notebooks/``, which git ignores.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgdlab.errors import SgdlabError
from sgdlab.files import write_text
from sgdlab.lessons import Lesson, list_lessons
from sgdlab.teach import work_dir

NOTEBOOKS_DIR = Path("notebooks")
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@dataclass
class NotebookReport:
    """What :func:`write_notebooks` did with each lesson's notebook (lists of paths)."""

    written: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def fingerprint(cells: list[Any]) -> str:
    """A hash of the cells' types and sources (not their outputs)."""
    content = [[cell["cell_type"], _source(cell)] for cell in cells]
    return hashlib.sha256(json.dumps(content).encode("utf-8")).hexdigest()


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _without_docstring(source: str) -> str:
    """``source`` minus a leading docstring (it becomes the notebook's title cell)."""
    body = ast.parse(source).body
    first = body[0] if body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return "\n".join(source.splitlines()[first.end_lineno:]).strip("\n")
    return source


def lesson_notebook(lesson: Lesson) -> Any:
    """The notebook of ``lesson``: its cells as jupytext reads them (percent format), the
    docstring turned into a Markdown title cell, no outputs."""
    import jupytext
    import nbformat

    text = lesson.path.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="py:percent")
    doc = ast.get_docstring(ast.parse(text)) or ""
    intro = doc.split("\n\n", 1)[1].strip() if "\n\n" in doc else ""
    note = (f"*Written from `lessons/{lesson.path.name}` by `sgdlab notebooks`; the script is "
            f"the source. Figures and models go to the work folder: `SGDLAB_WORKDIR` if set, "
            f"else the project folder (see `lessons/README.md`).*")
    title = nbformat.v4.new_markdown_cell("\n\n".join(
        part for part in (f"# Lesson {lesson.number}: {lesson.title}", intro, note) if part))
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and not cells:  # the imports, under the docstring
            cell.source = _without_docstring(cell.source)
        if cell.source.strip():
            cells.append(cell)
    notebook.cells = [title, *cells]
    for cell in notebook.cells:
        cell.pop("id", None)
        cell.metadata = {}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "sgdlab": {"lesson": lesson.path.name, "cells": fingerprint(notebook.cells)},
    }
    notebook.nbformat, notebook.nbformat_minor = 4, 4
    return notebook


def _notebook_text(notebook: Any) -> str:
    import nbformat

    return nbformat.writes(notebook, version=4) + "\n"


def _state(path: Path, new_text: str) -> str:
    """``"new"``, ``"unchanged"`` (the same as what would be written), ``"untouched"`` (as
    sgdlab wrote it from an older script) or ``"changed"`` (edited, run, or not ours)."""
    if not path.exists():
        return "new"
    try:
        old_text = path.read_text(encoding="utf-8")
        old = json.loads(old_text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "changed"
    if old_text == new_text:
        return "unchanged"
    cells = old.get("cells", []) if isinstance(old, dict) else []
    recorded = (old.get("metadata", {}).get("sgdlab", {}).get("cells")
                if isinstance(old, dict) else None)
    ran = any(cell.get("outputs") or cell.get("execution_count") for cell in cells
              if isinstance(cell, dict))
    try:
        same_cells = recorded == fingerprint(cells)
    except (AttributeError, KeyError, TypeError):
        same_cells = False
    return "untouched" if same_cells and not ran else "changed"


def write_notebooks(folder: Path, force: bool = False,
                    lessons: list[Lesson] | None = None) -> NotebookReport:
    """Write ``NN_name.ipynb`` for every lesson into ``folder`` (created if missing).

    A notebook already there is rewritten only if it is exactly as sgdlab wrote it (from an
    older script); one that was edited or run since is kept and listed in ``report.kept``,
    unless ``force``.
    """
    if folder.exists() and not folder.is_dir():
        raise SgdlabError(f"{folder} is a file, not a folder; give `sgdlab notebooks` a folder "
                          f"to write the notebooks in")
    folder.mkdir(parents=True, exist_ok=True)
    report = NotebookReport()
    for lesson in list_lessons() if lessons is None else lessons:
        path = folder / f"{lesson.path.stem}.ipynb"
        text = _notebook_text(lesson_notebook(lesson))
        state = _state(path, text)
        if state == "unchanged":
            report.unchanged.append(path)
            continue
        if state == "changed" and not force:
            report.kept.append(path)
            continue
        write_text(path, text)
        (report.written if state == "new" else report.updated).append(path)
    return report


def _command(args: argparse.Namespace) -> int:
    folder = args.folder if args.folder is not None else work_dir() / NOTEBOOKS_DIR
    report = write_notebooks(folder, force=args.force)
    for label, paths in (("wrote", report.written), ("updated", report.updated),
                         ("already up to date", report.unchanged)):
        if paths:
            print(f"{label} {len(paths)}: {', '.join(p.name for p in paths)}")
    if report.kept:
        print(f"kept {len(report.kept)} you have edited or run since they were written: "
              f"{', '.join(p.name for p in report.kept)}\n  (--force overwrites them, losing "
              f"your changes; or write fresh copies elsewhere: sgdlab notebooks OTHER_DIR)")
    print(f"the notebooks are in {folder}/; open them in JupyterLab, Notebook 7 or VS Code "
          f"with this environment's Python as the kernel")
    return 0


def add_commands(subparsers) -> None:
    """Register ``sgdlab notebooks [DIR] [--force]``."""
    p = subparsers.add_parser(
        "notebooks", help="write every lesson as a Jupyter notebook",
        description="Write every lesson as a Jupyter notebook (.ipynb, no outputs), from its "
                    "# %% script in lessons/ (the scripts stay the source). Run it again after "
                    "the lessons change: notebooks nobody touched are rewritten; notebooks you "
                    "edited or ran are kept and listed, unless --force.",
    )
    p.add_argument("folder", nargs="?", type=Path, default=None, metavar="DIR",
                   help="where to write them (default: notebooks/ in the work folder: "
                        "$SGDLAB_WORKDIR if set, else the project folder, where git ignores "
                        "it, else the current folder)")
    p.add_argument("--force", action="store_true",
                   help="also overwrite notebooks you have edited or run (your changes and "
                        "outputs in them are lost)")
    p.set_defaults(func=_command)
