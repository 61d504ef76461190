"""A student's solutions file: write it from the template, load it back, name what is missing."""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Iterable
from pathlib import Path

from sgdlab.errors import SgdlabError
from sgdlab.exercises import EXERCISES, FUNCTIONS, exercise_of
from sgdlab.files import atomic_path
from sgdlab.impl import load_python_file


class MissingFunctionError(SgdlabError, AttributeError):
    """The solutions file does not define a function an exercise needs."""


class Solutions:
    """The exercise functions of one solutions file, looked up by name: ``impl.mse(y_hat, y)``.

    ``namespace`` is the loaded module (or any object with the functions as attributes);
    ``origin`` names it in messages. Asking for a function it lacks raises
    :class:`MissingFunctionError`, which says which exercise asks for it.
    """

    def __init__(self, namespace: object, origin: str) -> None:
        self._namespace = namespace
        self.origin = origin

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        found = getattr(self._namespace, name, None)
        if callable(found):
            return found
        raise MissingFunctionError(
            f"{self.origin} {self.describe_missing(name)}; define it with exactly that name "
            f"(`sgdlab exercises init NEW_FILE` writes a template with every function)"
        )

    def describe_missing(self, name: str) -> str:
        """``"has no function mse() (exercise 2)"``, or what ``mse`` is when not a function."""
        try:
            number = f" (exercise {exercise_of(name).number})"
        except KeyError:
            number = ""
        found = getattr(self._namespace, name, None)
        if found is None:
            return f"has no function {name}(){number}"
        shown = repr(found) if len(repr(found)) <= 40 else repr(found)[:37] + "..."
        return f"defines {name}{number} as the {type(found).__name__} {shown}, not as a function"

    @property
    def namespace(self) -> object:
        """The loaded module (or object) the functions come from."""
        return self._namespace

    def missing(self, functions: Iterable[str] = FUNCTIONS) -> list[str]:
        """The names among ``functions`` that this file does not define as functions."""
        return [name for name in functions if not callable(getattr(self._namespace, name, None))]

    def __repr__(self) -> str:
        return f"solutions({self.origin!r})"


def reference_solutions() -> Solutions:
    """sgdlab's own solutions (:mod:`sgdlab.exercises.reference`)."""
    from sgdlab.exercises import reference

    return Solutions(reference, "sgdlab's reference solution")


def load_solutions(path: str | os.PathLike) -> Solutions:
    """Import the Python file at ``path`` as a solutions file (see
    :func:`sgdlab.impl.load_python_file`).

    Raises:
        SgdlabError: the file is missing, has a syntax error or fails while importing; the
            message names the file and line and says what to do.
    """
    return Solutions(load_python_file(path), Path(path).expanduser().name)


def require(solutions: Solutions, numbers: Iterable[int]) -> None:
    """Raise :class:`MissingFunctionError` naming every function the exercises need but lack."""
    wanted = [name for n in numbers for name in EXERCISES[n].functions]
    missing = solutions.missing(wanted)
    if missing:
        listed = "; it ".join(solutions.describe_missing(name) for name in missing)
        raise MissingFunctionError(
            f"{solutions.origin} {listed}. Keep the names of the template "
            f"(`sgdlab exercises init NEW_FILE` writes one to copy from)"
        )


def template_text() -> str:
    """The source of the template: every exercise function with its docstring and a stub."""
    return (importlib.resources.files("sgdlab.exercises") / "template.py").read_text("utf-8")


def write_template(path: str | os.PathLike, force: bool = False) -> Path:
    """Write the exercise template to ``path``; refuse to replace a file unless ``force``.

    The file is written to a temporary name in the same folder and then renamed, so an
    interrupted write never leaves half a file.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise SgdlabError(f"{path} is a folder; give a file name such as {path / 'solutions.py'}")
    if path.exists() and not force:
        raise SgdlabError(f"{path} already exists and may hold your work; choose another name, "
                          f"or pass --force to overwrite it with a fresh template")
    if path.suffix != ".py":
        raise SgdlabError(f"{path} should end in .py so that Python can import it")
    with atomic_path(path) as tmp:
        tmp.write_text(template_text(), encoding="utf-8")
    return path
