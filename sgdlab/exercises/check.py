"""``sgdlab check``: run an exercise's property tests on a student's file and explain failures.

The tests live in ``tests/exercises`` of the source checkout, one pytest marker per exercise
(``ex1`` … ``ex14``). The runner calls pytest in this process with ``-m exN --impl FILE``,
collects what failed through a small plugin, and prints for each failed property the message
written for students, the smallest counter-example hypothesis found, and the exercise's hint.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import textwrap
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sgdlab.errors import SgdlabError
from sgdlab.exercises import EXERCISES, Exercise
from sgdlab.exercises.hints import hint
from sgdlab.exercises.solutions import load_solutions, require

#: How many failed properties of one exercise are shown in full.
SHOWN_FAILURES = 3
#: Lines of prose in the report are wrapped at this width.
REPORT_WIDTH = 100

_EXAMPLE_PREFIXES = ("Falsifying example", "Failing test case", "Falsifying explicit example",
                     "Failing explicit example")


@dataclass
class Failure:
    """One property that did not hold."""

    test: str
    message: str
    example: str | None = None
    not_written: bool = False


@dataclass
class Outcome:
    """What happened to one exercise's tests."""

    exercise: Exercise
    passed: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.passed) and not self.failures


def tests_folder() -> Path:
    """``tests/exercises`` next to the package (sgdlab is installed editable from a clone)."""
    import sgdlab

    folder = Path(sgdlab.__file__).resolve().parents[1] / "tests" / "exercises"
    if not folder.is_dir():
        raise SgdlabError(
            f"the exercise tests are not at {folder}; they come with the source code, not with "
            f"an installed wheel. Clone the sgdlab repository and install it with "
            f"`pip install -e .` from there, then run the check again")
    return folder


def parse_exercises(which: str) -> list[int]:
    """``"3"`` (or ``"ex3"``) → ``[3]``, ``"all"`` → ``[1, …, 14]``; else a clear error."""
    if which.strip().lower() == "all":
        return sorted(EXERCISES)
    try:
        number = int(which.strip().lower().removeprefix("ex"))
    except ValueError:
        number = None
    if number not in EXERCISES:
        raise SgdlabError(f"there is no exercise {which!r}; choose a number from 1 to "
                          f"{len(EXERCISES)}, or 'all'")
    return [number]


def run_checks(numbers: Iterable[int], impl: str | os.PathLike,
               pytest_args: Iterable[str] = ()) -> tuple[list[Outcome], str]:
    """Run the tests of the exercises ``numbers`` on the solutions file ``impl``.

    Returns the outcome of every exercise and pytest's own report (for ``--verbose``).

    Raises:
        SgdlabError: the file is missing or does not import, lacks a function, or the tests
            could not run at all.
    """
    import pytest

    numbers = sorted(set(numbers))
    path = Path(impl).expanduser().resolve()
    require(load_solutions(path), numbers)
    folder = tests_folder()
    collector = _Collector(path)
    markers = " or ".join(EXERCISES[n].marker for n in numbers)
    args = [str(folder), "-m", markers, f"--impl={path}", "-p", "no:cacheprovider",
            "--tb=short", "-q", *pytest_args]
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        code = pytest.main(args, plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise SgdlabError(f"the exercise tests could not run (pytest exit code {int(code)}):\n"
                          f"{log.getvalue()[-3000:]}")
    outcomes = [collector.outcomes.get(n, Outcome(EXERCISES[n])) for n in numbers]
    for outcome in outcomes:
        if not outcome.passed and not outcome.failures:
            raise SgdlabError(f"no tests of exercise {outcome.exercise.number} were found in "
                              f"{folder}; is the checkout complete?")
    return outcomes, log.getvalue()


class _Collector:
    """A pytest plugin that sorts test results by exercise and keeps the failures' details."""

    def __init__(self, impl: Path) -> None:
        self.impl = impl
        self.outcomes: dict[int, Outcome] = {}

    def _outcome(self, item) -> Outcome | None:
        for mark in item.iter_markers():
            match = re.fullmatch(r"ex(\d+)", mark.name)
            if match and int(match.group(1)) in EXERCISES:
                number = int(match.group(1))
                return self.outcomes.setdefault(number, Outcome(EXERCISES[number]))
        return None

    def pytest_runtest_makereport(self, item, call) -> None:
        outcome = self._outcome(item)
        if outcome is None:
            return
        if call.excinfo is None:
            if call.when == "call":
                outcome.passed.append(item.name)
            return
        if call.excinfo.errisinstance(_skip_exceptions()):
            return
        outcome.failures.append(describe_failure(item.name, call.excinfo.value, self.impl))


def _skip_exceptions() -> tuple[type[BaseException], ...]:
    import pytest

    return (pytest.skip.Exception, pytest.xfail.Exception)


def _first_leaf(err: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(getattr(err, "exceptions", None), tuple) and err.exceptions:
        err = err.exceptions[0]  # an ExceptionGroup (a backport's on Python 3.10)
    return err


def describe_failure(test: str, err: BaseException, impl: Path | None = None) -> Failure:
    """Turn an exception from a failed test into a :class:`Failure` for students."""
    notes = [*getattr(err, "__notes__", [])]
    leaf = _first_leaf(err)
    if leaf is not err:
        notes += getattr(leaf, "__notes__", [])
    example = next((_tidy_example(n) for n in notes if n.startswith(_EXAMPLE_PREFIXES)), None)
    if isinstance(leaf, AssertionError):
        message = _without_introspection(str(leaf))
    else:
        where = ""
        if impl is not None:
            lines = [f.lineno for f in traceback.extract_tb(leaf.__traceback__)
                     if Path(f.filename).resolve() == impl]
            if lines:
                where = f" (line {lines[-1]} of {impl.name})"
        message = f"your code raised {type(leaf).__name__}{where}: {leaf}"
        if leaf is not err and "Flaky" in type(err).__name__:
            message += ("\nthe failure did not repeat on the same input: does your function "
                        "use unseeded randomness or change something outside itself?")
    return Failure(test, message.strip(), example,
                   not_written=isinstance(leaf, NotImplementedError))


def _without_introspection(message: str) -> str:
    """Drop the ``assert …`` explanation pytest appends to an assertion's own message."""
    lines = message.splitlines()
    for i, line in enumerate(lines[1:], start=1):
        if line.startswith("assert "):
            return "\n".join(lines[:i])
    return message


def _tidy_example(note: str) -> str:
    """Hypothesis's counter-example without the ``impl=...`` line and trailing comments."""
    lines = [line for line in note.splitlines() if "impl=solutions(" not in line]
    return "\n".join(re.sub(r",\s+# or any other generated value$", ",", line)
                     for line in lines)


def _indent(text: str, prefix: str, width: int = 0) -> str:
    """Indent every line; with ``width``, also wrap the lines of prose (not indented ones)."""
    lines = []
    for line in text.splitlines():
        if width and line and not line[0].isspace() and len(prefix + line) > width:
            lines += textwrap.wrap(line, width, initial_indent=prefix, subsequent_indent=prefix,
                                   break_on_hyphens=False)
        else:
            lines.append(prefix + line if line else line)
    return "\n".join(lines)


def format_outcome(outcome: Outcome, impl_name: str, show_hint: bool = True) -> str:
    """The report of one exercise, written for the student."""
    ex = outcome.exercise
    names = ", ".join(f"{f}()" for f in ex.functions)
    head = f"Exercise {ex.number}, {ex.title} ({names})"
    total = len(outcome.passed) + len(outcome.failures)
    if outcome.ok:
        return f"✓ {head}: all {total} checks pass."
    if all(f.not_written for f in outcome.failures):
        return (f"· {head}: not written yet (it still raises NotImplementedError).\n"
                f"  Write it, then run: sgdlab check {ex.number} --impl {impl_name}")
    parts = [f"✗ {head}: {len(outcome.failures)} of {total} checks fail."]
    for failure in outcome.failures[:SHOWN_FAILURES]:
        parts.append(f"\n  ✗ {failure.test}")
        parts.append(_indent(failure.message, "    ", width=REPORT_WIDTH))
        if failure.example:
            parts.append("    Smallest counter-example hypothesis found:")
            parts.append(_indent(failure.example, "      "))
    hidden = outcome.failures[SHOWN_FAILURES:]
    if hidden:
        parts.append(f"\n  … and {len(hidden)} more: " + ", ".join(f.test for f in hidden))
    if show_hint:
        parts.append(f"\n  Hint for exercise {ex.number}:")
        parts.append(_indent(hint(ex.number), "    "))
    return "\n".join(parts)


def format_report(outcomes: list[Outcome], impl_name: str) -> str:
    """The whole report: every exercise, then a one-line summary for ``check all``."""
    blocks = [format_outcome(o, impl_name) for o in outcomes]
    if len(outcomes) > 1:
        passing = sum(o.ok for o in outcomes)
        blocks.append(f"{passing} of {len(outcomes)} exercises pass.")
    elif outcomes and outcomes[0].ok:
        blocks.append("Well done! On to the next exercise.")
    return "\n\n".join(blocks)
