"""The step-through lessons: each runs headless, computes what it teaches and saves its figures.

Oracles: the closed form (least squares), eigenvalues computed here with numpy, and the
library's own loops run again outside the lesson.
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
import types
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import jupytext
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

import sgdlab
from sgdlab import cli, teach
from sgdlab.lessons import get_lesson, lessons_dir, list_lessons, run_lesson, run_lesson_file

NUMBERS = [1, 2, 3, 4, 5, 6]


@dataclass
class LessonRun:
    ns: dict
    output: str
    figures: Path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[int, LessonRun]:
    """Every lesson, run once with no pauses; what it printed, its variables, its figures."""
    results = {}
    for lesson in map(get_lesson, NUMBERS):  # the bear lessons: tests/test_lessons_bears.py
        figures = tmp_path_factory.mktemp(f"figures{lesson.number}")
        out = io.StringIO()
        with redirect_stdout(out):
            ns = run_lesson_file(lesson.path, pause=False, figures=figures)
        results[lesson.number] = LessonRun(ns, out.getvalue(), figures)
    return results


def lecture_data():
    return sgdlab.make_linear_data(n=100, a=(3.0, 2.0), noise="uniform")


# --- finding and listing -------------------------------------------------------------------

def test_six_lessons_with_titles_and_summaries():
    lessons = list_lessons()[:len(NUMBERS)]
    assert [lesson.number for lesson in lessons] == NUMBERS
    for lesson in lessons:
        assert lesson.path.parent == lessons_dir()
        assert lesson.title and lesson.summary, lesson.path.name
        assert "\n" not in lesson.summary and lesson.summary != lesson.title
    assert get_lesson(3).title == "Gradient descent by hand"
    assert get_lesson(3).summary.startswith("The gradient and the update() loop")


def test_sgdlab_lessons_lists_six(capsys):
    assert cli.main(["lessons"]) == 0
    out = capsys.readouterr().out
    listed = [int(line.split()[0]) for line in out.splitlines() if line[:2].strip().isdigit()]
    assert listed[:len(NUMBERS)] == NUMBERS
    for lesson in list_lessons():
        assert lesson.title in out and lesson.summary in out


def test_unknown_lesson_names_the_valid_ones(capsys):
    with pytest.raises(sgdlab.SgdlabError, match="1, 2, 3, 4, 5, 6"):
        get_lesson(99)
    assert cli.main(["lesson", "99", "--no-pause"]) == 2
    assert "no lesson 99" in capsys.readouterr().err


@pytest.mark.parametrize("number", NUMBERS)
def test_lesson_converts_to_a_notebook(number):
    text = get_lesson(number).path.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="py:percent")
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code_cells) > 1
    assert sum("step(" in cell.source for cell in code_cells) >= 3


# --- every lesson runs headless ------------------------------------------------------------

@pytest.mark.parametrize("number", NUMBERS)
def test_lesson_saves_its_figures(runs, number):
    run = runs[number]
    stem = get_lesson(number).path.stem
    pngs = sorted(run.figures.glob("*.png"))
    assert pngs, f"lesson {number} saved no figure"
    for png in pngs:
        assert png.name.startswith(f"{stem}-")
        assert f"figure saved: {png}" in run.output
        with Image.open(png) as image:
            assert image.format == "PNG" and min(image.size) > 100
    assert not list(run.figures.glob("*.tmp")), "a half-written figure was left behind"


def test_cli_runs_a_lesson_without_pausing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # must not be read
    before = os.environ.get(teach.NO_PAUSE_ENV)
    assert cli.main(["lesson", "1", "--no-pause", "--figures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "press Enter" not in out
    assert "End of lesson 1" in out
    assert (tmp_path / "01_tensors-data.png").is_file()
    assert os.environ.get(teach.NO_PAUSE_ENV) == before, "the runner must restore the environment"


def test_lesson_runs_as_a_plain_script_without_a_terminal(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SGDLAB_")}
    env["MPLBACKEND"] = "Agg"
    script = get_lesson(1).path
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "press Enter" not in done.stdout
    assert (tmp_path / "figures" / "01_tensors-data.png").is_file()


# --- what each lesson computes -------------------------------------------------------------

def test_lesson1_builds_the_lecture_data(runs):
    run = runs[1]
    x, y = lecture_data()
    assert torch.equal(run.ns["x"], x) and torch.equal(run.ns["y"], y)
    assert str(x[:5]) in run.output
    assert "rank 4, shape (64, 3, 224, 224)" in run.output
    assert "same x: True  same y: True" in run.output


def test_lesson2_first_guess_loss(runs):
    run = runs[2]
    x, y = lecture_data()
    expected = ((x @ torch.tensor([-1.0, 1.0]) - y) ** 2).mean().item()
    assert run.ns["first_loss"] == pytest.approx(expected, rel=1e-6)
    assert f"loss of the guess (-1, 1): {expected:.4f}" in run.output
    assert "8.89" in run.output  # the lecture's number is quoted, not faked


def test_lesson3_matches_least_squares_and_autograd(runs):
    run = runs[3]
    x, y = lecture_data()
    a_star = torch.linalg.lstsq(x.double(), y.double().unsqueeze(1)).solution.squeeze(1)
    assert run.ns["autograd_matches"] is True
    assert "they agree: True" in run.output
    # the printed losses are those of the recorded run at steps 1, 11, ..., 91
    history = sgdlab.gradient_descent(x, y, a0=(-1.0, 1.0), lr=0.1, steps=100)
    for k in range(1, 101, 10):
        assert f"step {k:3d}  loss {history.losses[k - 1].item():.4f}" in run.output
    assert (run.ns["after_100"].double() - a_star).abs().max() < 5e-3
    assert (run.ns["a"].detach().double() - a_star).abs().max() < 1e-3
    assert torch.allclose(run.ns["history"].final_params, run.ns["after_100"], atol=1e-6)
    noise_mean = (y - x @ torch.tensor([3.0, 2.0])).mean().item()
    assert run.ns["a_star"][1].item() - 2 == pytest.approx(noise_mean, abs=0.01)
    big = run.ns["big"]
    assert sgdlab.least_squares(big.x, big.y)[1].item() == pytest.approx(2.5, abs=0.01)


def test_lesson4_stability_limit(runs):
    run = runs[4]
    x, _ = lecture_data()
    xn = x.double().numpy()
    lam_max = np.linalg.eigvalsh(2 / len(xn) * xn.T @ xn).max()
    rates, histories = run.ns["rates"], run.ns["histories"]
    assert rates["just under the limit"] < 2 / lam_max < rates["just over the limit"]
    assert rates["too low"] < rates["good (the lecture's)"]
    best = run.ns["sgdlab"].mse(x @ sgdlab.least_squares(x, run.ns["y"]), run.ns["y"]).item()
    for name in ("good (the lecture's)", "fastest", "just under the limit"):
        assert not histories[name].diverged
        assert histories[name].full_losses()[-1].item() == pytest.approx(best, abs=1e-3)
    too_low = histories["too low"]
    assert not too_low.diverged and too_low.full_losses()[-1].item() > 10 * best
    over = histories["just over the limit"]
    assert over.diverged_at is not None and over.diverged_at <= 100
    assert over.steps == over.diverged_at - 1
    assert f"diverged at step {over.diverged_at}" in run.output
    assert run.output.count("warning: lr=") == 1          # only the run past 2/lam_max warns
    assert "warning: lr=" in run.output.split("just over the limit:")[1]
    assert isinstance(run.ns["divergence"], sgdlab.DivergenceError)
    assert f"DivergenceError: {run.ns['divergence']}" in run.output


def test_lesson5_steps_per_epoch_and_noise(runs):
    run = runs[5]
    for bs, history in run.ns["runs"].items():
        assert history.steps == 10 * math.ceil(100 / bs)
        assert f"steps per epoch = ceil(100/{bs}) = {math.ceil(100 / bs)}" in run.output
    full = run.ns["runs"][100]
    small = run.ns["small"]
    # full batch: the loss of a step is the loss on all data; mini-batch: a noisy estimate
    assert torch.allclose(full.losses, full.full_losses()[:-1], rtol=1e-5)
    relative = (small.losses - small.full_losses()[:-1]).abs() / small.full_losses()[:-1]
    assert relative.median() > 0.1
    assert small.full_losses()[-1] < 0.1 * full.full_losses()[-1]
    assert [len(small.batch(k)) for k in range(1, 14)] == [8] * 12 + [4]
    # the readable and the fast path of sgdlab.SGD side by side: the same numbers
    assert run.ns["same_numbers"] is True and run.ns["speed_ratio"] > 0
    assert "after 300 steps the two copies are equal bit for bit: True" in run.output


def test_lesson6_validation_picks_the_degree(runs):
    ns = runs[6].ns
    train, valid, best = ns["train_losses"], ns["valid_losses"], ns["best_degree"]
    pairs = zip(train[:-1], train[1:], strict=True)
    assert all(b <= a * (1 + 1e-4) for a, b in pairs), "the training loss must keep falling"
    assert best == int(np.argmin(valid)) and 2 <= best <= 5
    assert valid[1] > 2 * valid[best], "a line should underfit"
    assert valid[ns["high_degree"]] > 100 * valid[best], "a high degree should overfit"
    assert train[ns["high_degree"]] < train[best]
    assert f"best degree on the validation set: {best}" in runs[6].output
    assert torch.allclose(ns["descent"].final_params, ns["closed_form"], atol=1e-3)


# --- the teaching helpers ------------------------------------------------------------------

class FakeTerminal(io.StringIO):
    """A stdin that claims to be a terminal and counts how often it was read."""

    reads = 0

    def isatty(self) -> bool:
        return True

    def readline(self, *args) -> str:
        self.reads += 1
        return super().readline(*args)


def test_step_pauses_only_in_a_terminal(monkeypatch, capsys):
    monkeypatch.setenv(teach.NO_PAUSE_ENV, "0")
    terminal = FakeTerminal("\n\n")
    monkeypatch.setattr(sys, "stdin", terminal)
    teach.step("A title", """
        An indented
        explanation.
    """)
    out = capsys.readouterr().out
    assert "A title" in out and "An indented\nexplanation." in out and "press Enter" in out
    assert terminal.reads == 1

    monkeypatch.setenv(teach.NO_PAUSE_ENV, "1")
    teach.step("No pause", "text")
    assert terminal.reads == 1

    monkeypatch.setenv(teach.NO_PAUSE_ENV, "0")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))  # not a terminal
    teach.step("Piped", "text")
    assert sys.stdin.tell() == 0 and "press Enter" not in capsys.readouterr().out


def test_step_stops_pausing_at_end_of_input(monkeypatch):
    monkeypatch.setenv(teach.NO_PAUSE_ENV, "0")
    terminal = FakeTerminal("")
    monkeypatch.setattr(sys, "stdin", terminal)
    teach.step("one", "text")
    teach.step("two", "text")
    assert terminal.reads == 1


def test_show_saves_a_png_and_closes_the_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(teach.FIGURES_ENV, str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = teach.show(fig, "line")
    assert path == tmp_path / f"{teach.lesson_name()}-line.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
    assert f"figure saved: {path}" in capsys.readouterr().out
    assert not plt.fignum_exists(fig.number)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_show_defaults_to_the_figures_folder_when_headless(tmp_path, monkeypatch):
    monkeypatch.delenv(teach.FIGURES_ENV, raising=False)
    monkeypatch.setenv(teach.NO_PAUSE_ENV, "1")
    monkeypatch.chdir(tmp_path)
    fig, _ = plt.subplots()
    path = teach.show(fig, "empty")
    assert path is not None and (tmp_path / path).is_file()
    assert path.parent == Path("figures")


def test_notebook_renders_inline_without_pausing(tmp_path, monkeypatch):
    shown = []
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    display = types.ModuleType("IPython.display")
    display.display = shown.append
    display.Markdown = lambda text: ("markdown", text)
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    monkeypatch.setenv(teach.NO_PAUSE_ENV, "0")
    monkeypatch.delenv(teach.FIGURES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    terminal = FakeTerminal("\n")
    monkeypatch.setattr(sys, "stdin", terminal)

    teach.step("Inline", "Some *text*.")
    fig, _ = plt.subplots()
    assert teach.show(fig, "inline") is None
    assert shown == [("markdown", "### Inline\n\nSome *text*."), fig]
    assert terminal.reads == 0 and not (tmp_path / "figures").exists()


def test_run_lesson_restores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(teach.NO_PAUSE_ENV, "keep")
    monkeypatch.delenv(teach.FIGURES_ENV, raising=False)
    with redirect_stdout(io.StringIO()):
        run_lesson(1, pause=False, figures=tmp_path)
    assert os.environ[teach.NO_PAUSE_ENV] == "keep"
    assert teach.FIGURES_ENV not in os.environ
