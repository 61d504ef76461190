"""`sgdlab lesson N` runs a lesson cell by cell: the explanation, the cell's code, the pause, the
output. The oracle is the order of the lines in what the learner sees, and the file's own line
numbers in a traceback."""

from __future__ import annotations

import io
import sys
import traceback
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from sgdlab import cli, teach
from sgdlab.lessons import code_to_show, run_lesson_file, split_cells

LESSON = '''"""A demo lesson.

Its summary.
"""
from sgdlab.teach import step

x = 1

# %%
step("First", """
    Explain one.
""")
y = x + 1
print("y is", y)

# %%
def helper():
    return 3

# %%
step("Second", "Explain two.")
print("helper says", helper())
'''


class Terminal(io.StringIO):
    """A stdin that is a terminal and remembers what the learner had seen at each pause."""

    def __init__(self, text: str, seen: io.StringIO) -> None:
        super().__init__(text)
        self.seen, self.at_pause = seen, []

    def isatty(self) -> bool:
        return True

    def readline(self, *args) -> str:
        self.at_pause.append(self.seen.getvalue())
        return super().readline(*args)


@pytest.fixture
def lesson(tmp_path) -> Path:
    path = tmp_path / "01_demo.py"
    path.write_text(LESSON)
    return path


def test_cells_and_what_is_shown_of_them(lesson):
    cells = split_cells(lesson.read_text())
    assert [cell.first_line for cell in cells] == [1, 10, 17, 21]
    shown = [code_to_show(cell) for cell in cells]
    assert shown[0] == ("from sgdlab.teach import step\n\nx = 1", False)  # no docstring
    assert shown[1] == ('y = x + 1\nprint("y is", y)', True)              # no step() call
    assert shown[2] == ("def helper():\n    return 3", False)
    assert shown[3] == ('print("helper says", helper())', True)


def test_paused_step_shows_explanation_then_code_then_waits_then_output(lesson, monkeypatch):
    seen = io.StringIO()
    terminal = Terminal("\n\n", seen)
    monkeypatch.setattr(sys, "stdin", terminal)
    with redirect_stdout(seen):
        ns = run_lesson_file(lesson, pause=True)
    assert ns["y"] == 2 and ns["helper"]() == 3
    first, second = terminal.at_pause
    assert first.endswith("  | y = x + 1\n  | print(\"y is\", y)\n\n"
                          "[press Enter to run this step]\n")
    assert first.index("== First") < first.index("Explain one.") < first.index("  | y = x + 1")
    assert "y is 2" not in first and "step(" not in first and "A demo lesson" not in first
    assert second.index("y is 2") < second.index("  | def helper():") < second.index(
        "== Second") < second.index('  | print("helper says", helper())')
    assert "helper says 3" not in second
    assert seen.getvalue().endswith("helper says 3\n")


def test_straight_through_is_code_then_output(lesson, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    out = io.StringIO()
    with redirect_stdout(out):
        run_lesson_file(lesson, pause=False)
    text = out.getvalue()
    assert "press Enter" not in text
    assert text.index("Explain one.") < text.index("  | y = x + 1") < text.index("y is 2")
    with redirect_stdout(io.StringIO()) as quiet:
        run_lesson_file(lesson, pause=False, show_code=False)
    assert "  | " not in quiet.getvalue() and "y is 2" in quiet.getvalue()
    assert teach._pending_code is None


def test_an_error_points_at_the_lessons_own_line(tmp_path):
    path = tmp_path / "02_broken.py"
    path.write_text('x = 1\n\n# %%\nprint("fine")\n\n# %%\ny = 2\nraise ValueError("line 8")\n')
    with redirect_stdout(io.StringIO()), pytest.raises(ValueError) as caught:
        run_lesson_file(path)
    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert (Path(last.filename), last.lineno, last.line) == (
        path, 8, 'raise ValueError("line 8")')


def test_sgdlab_lesson_shows_each_cells_code_before_its_output(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(["lesson", "1", "--no-pause", "--figures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("== 100 points with a column of ones") < out.index(
        "  | x[:, 0].uniform_(-1.0, 1, generator=g)") < out.index("x[:5] =")
    assert out.index("  | import torch") < out.index("== A tensor is a rectangular array")
