"""Tests of the exercise tests: they catch planted wrong solutions, fail on the template, and
``sgdlab exercises`` / ``sgdlab check`` work end to end.

The planted wrong solutions live in ``tests/exercises/wrong/``: each file defines the functions
of one exercise with one typical mistake, ``EXERCISE`` (its number) and ``CAUGHT_BY`` (the tests
that must fail on it). The other functions come from the reference solution. The exercise tests
are called directly with such a solutions object, in this process.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from sgdlab.cli import main
from sgdlab.exercises import EXERCISES, FUNCTIONS, check
from sgdlab.exercises import reference as reference_module
from sgdlab.exercises.check import describe_failure
from sgdlab.exercises.hints import HINTS
from sgdlab.exercises.solutions import (
    Solutions,
    load_solutions,
    template_text,
    write_template,
)

EXERCISE_TESTS = Path(__file__).resolve().parent / "exercises"
WRONG = sorted((EXERCISE_TESTS / "wrong").glob("*.py"))

#: The fixed contract: every exercise function and its arguments.
CONTRACT = {
    "linear": ["x", "a"],
    "mse": ["y_hat", "y"],
    "mse_grad": ["x", "y", "a"],
    "update": ["x", "y", "a", "lr"],
    "sgd_step": ["params", "lr"],
    "momentum_step": ["params", "velocities", "lr", "beta"],
    "minibatches": ["n", "batch_size", "generator"],
    "accuracy": ["logits", "targets"],
    "error_rate": ["logits", "targets"],
    "softmax": ["logits"],
    "cross_entropy": ["logits", "targets"],
    "one_cycle_lr": ["pct", "max_lr", "div", "div_final", "pct_start"],
    "smooth_losses": ["losses", "beta"],
    "suggest_lrs": ["lrs", "losses", "window"],
    "lrs_for_groups": ["lr", "n_groups"],
}


def exercise_tests() -> dict[str, tuple[int, Callable]]:
    """Every exercise test by name, with the number of its exercise."""
    tests: dict[str, tuple[int, Callable]] = {}
    for path in sorted(EXERCISE_TESTS.glob("test_ex*.py")):
        module = importlib.import_module(f"exercises.{path.stem}")
        number = int(module.pytestmark.name.removeprefix("ex"))
        for name, fn in vars(module).items():
            if name.startswith("test_") and callable(fn):
                assert name not in tests, f"two exercise tests are called {name}"
                tests[name] = (number, fn)
    return tests


TESTS = exercise_tests()


def with_mistake(path: Path) -> tuple[Solutions, object]:
    """The reference solution with the functions of the wrong solution at ``path`` swapped in."""
    wrong = load_solutions(path)
    functions = {name: getattr(reference_module, name) for name in FUNCTIONS}
    functions.update({name: getattr(wrong, name) for name in FUNCTIONS
                      if name not in wrong.missing([name])})
    module = wrong.namespace
    return Solutions(SimpleNamespace(**functions), f"wrong/{path.name}"), module


def failure_of(test: Callable, impl: Solutions) -> BaseException | None:
    """Run one exercise test on ``impl``; the error it failed with, or None if it passed."""
    try:
        test(impl=impl)
    except Exception as err:  # an AssertionError, the solution's own error, or a group of them
        return err
    return None


def test_the_contract_matches_the_catalogue():
    assert list(CONTRACT) == list(FUNCTIONS)


def test_every_exercise_test_carries_its_exercise_marker():
    for path in sorted(EXERCISE_TESTS.glob("test_ex*.py")):
        module = importlib.import_module(f"exercises.{path.stem}")
        number = int(path.stem.split("_")[1].removeprefix("ex"))
        assert module.pytestmark.name == f"ex{number}", f"{path.name} must be marked ex{number}"
        for name, fn in vars(module).items():
            if name.startswith("test_") and callable(fn):
                marks = [m.name for m in getattr(fn, "pytestmark", []) if m.name.startswith("ex")]
                assert not marks, f"{name} carries extra exercise markers {marks}"
    assert {number for number, _ in TESTS.values()} == set(EXERCISES)


@pytest.mark.parametrize("path", WRONG, ids=[p.stem for p in WRONG])
def test_planted_wrong_solution_is_caught(path):
    impl, module = with_mistake(path)
    assert module.EXERCISE in EXERCISES and module.CAUGHT_BY, f"{path.name} needs both fields"
    for name in module.CAUGHT_BY:
        number, test = TESTS[name]
        assert number == module.EXERCISE, f"{name} is not a test of exercise {module.EXERCISE}"
        assert failure_of(test, impl) is not None, (
            f"the planted mistake {path.stem} ({inspect.getdoc(module)}) passed {name}")


def test_every_exercise_has_planted_wrong_solutions():
    planted = {load_solutions(p).namespace.EXERCISE for p in WRONG}
    assert planted == set(EXERCISES)
    assert len(WRONG) >= 3 * len(EXERCISES)
    for number in EXERCISES:
        count = sum(number == load_solutions(p).namespace.EXERCISE for p in WRONG)
        assert count >= 3, f"exercise {number} has only {count} planted wrong solutions"


def test_the_readme_tables_tell_the_truth():
    readme = (EXERCISE_TESTS / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        match = re.match(r"\| (\d+) \| `(\w+)` \|", line)
        if match and (EXERCISE_TESTS / "wrong" / f"{match.group(2)}.py").exists():
            rows[match.group(2)] = (int(match.group(1)), re.findall(r"`(test_\w+)`", line))
    for path in WRONG:
        module = load_solutions(path).namespace
        assert rows.get(path.stem) == (module.EXERCISE, list(module.CAUGHT_BY)), (
            f"tests/exercises/README.md must list {path.stem} with exercise {module.EXERCISE} "
            f"and the tests of its CAUGHT_BY")
    for name in TESTS:
        assert f"`{name}`" in readme, f"tests/exercises/README.md does not list {name}"


@pytest.fixture(scope="module")
def template_file(tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("student") / "my_sgd.py")


@pytest.mark.parametrize("name", sorted(TESTS))
def test_every_exercise_test_fails_on_the_template(template_file, name):
    err = failure_of(TESTS[name][1], load_solutions(template_file))
    assert err is not None, f"{name} passed on the untouched template"
    failure = describe_failure(name, err)
    assert failure.not_written, f"{name} failed on the template with {failure.message}"


def test_the_template_keeps_the_contract(template_file):
    template = load_solutions(template_file)
    assert template.missing() == []
    for name, arguments in CONTRACT.items():
        fn = getattr(template, name)
        assert list(inspect.signature(fn).parameters) == arguments, name
        reference_arguments = list(inspect.signature(getattr(reference_module, name)).parameters)
        assert reference_arguments[:len(arguments)] == arguments, name
        number = next(n for n, ex in EXERCISES.items() if name in ex.functions)
        assert f"Exercise {number}" in inspect.getdoc(fn), name
        with pytest.raises(NotImplementedError, match=f"exercise {number}"):
            fn(*[None] * len(arguments))


def test_init_writes_the_template_and_protects_existing_work(tmp_path, capsys):
    target = tmp_path / "lessons" / "my_sgd.py"
    assert main(["exercises", "init", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == template_text()
    assert "sgdlab check 1" in capsys.readouterr().out
    target.write_text("my work\n", encoding="utf-8")
    assert main(["exercises", "init", str(target)]) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "my work\n"
    assert main(["exercises", "init", str(target), "--force"]) == 0
    assert target.read_text(encoding="utf-8") == template_text()
    assert [p.name for p in target.parent.iterdir()] == ["my_sgd.py"]


@pytest.mark.parametrize("contents, args, expected", [
    (None, ["check", "1"], "no solutions file"),
    ("def linear(x, a):\n    return x @ a\n", ["check", "3"],
     "has no function mse_grad() (exercise 3)"),
    ("def linear(x, a):\n    return x @ a\n", ["check", "all"],
     "has no function minibatches() (exercise 7)"),
    ("mse = 2\n", ["check", "2"], "defines mse (exercise 2) as the int 2, not as a function"),
    ("def linear(x, a)\n    return x @ a\n", ["check", "1"], "syntax error on line 1"),
    ("import torch\ntorch.frobnicate()\n", ["check", "1"], "failed on line 2: AttributeError"),
    ("", ["check", "15"], "no exercise '15'"),
])
def test_check_explains_a_broken_solutions_file(tmp_path, capsys, contents, args, expected):
    path = tmp_path / "mine.py"
    if contents is not None:
        path.write_text(contents, encoding="utf-8")
    assert main([*args, "--impl", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_check_needs_a_file(monkeypatch, capsys):
    monkeypatch.delenv("SGDLAB_IMPL", raising=False)
    assert main(["check", "1"]) == 2
    assert "--impl FILE" in capsys.readouterr().err


def test_the_tests_folder_is_found():
    assert check.tests_folder() == EXERCISE_TESTS


def solutions_file(tmp_path: Path, name: str, replacements: dict[str, str]) -> Path:
    """The template with some stubs replaced by code."""
    text = template_text()
    for stub, code in replacements.items():
        assert stub in text
        text = text.replace(stub, code)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MSE_STUB = '    raise NotImplementedError("exercise 2: mse(y_hat, y) is not written yet")'


def test_the_report_names_failures_examples_and_hints():
    number = 2
    failing = check.Outcome(EXERCISES[number], passed=["test_a"], failures=[
        check.Failure("test_b", "mse must be the MEAN", "Failing test case: test_b(\n)")])
    unwritten = check.Outcome(EXERCISES[7], failures=[
        check.Failure("test_c", "your code raised NotImplementedError", not_written=True)])
    passing = check.Outcome(EXERCISES[8], passed=["test_d", "test_e"])
    report = check.format_report([failing, unwritten, passing], "mine.py")
    assert "✗ Exercise 2" in report and "1 of 2 checks fail" in report
    assert "mse must be the MEAN" in report and "Failing test case: test_b(" in report
    assert HINTS[number].splitlines()[0] in report and HINTS[7] not in report
    assert "Exercise 7" in report and "not written yet" in report
    assert "sgdlab check 7 --impl mine.py" in report
    assert "✓ Exercise 8" in report and "all 2 checks pass" in report
    assert report.endswith("1 of 3 exercises pass.")


def test_a_failure_is_described_without_pytest_introspection(tmp_path):
    note = ("Failing test case: test_x(\n    impl=solutions('mine.py'),\n"
            "    y=tensor([1.]),  # or any other generated value\n)")
    err = AssertionError("mse must be the MEAN\n  got: 2\nassert False\n +  where ...")
    err.__notes__ = [note, "Explanation:"]
    failure = describe_failure("test_x", err)
    assert failure.message == "mse must be the MEAN\n  got: 2"
    assert failure.example == "Failing test case: test_x(\n    y=tensor([1.]),\n)"
    try:
        group_type = ExceptionGroup  # Python >= 3.11
    except NameError:
        group_type = pytest.importorskip("exceptiongroup").ExceptionGroup
    group = group_type("two errors", [ValueError("shapes differ"), err])
    assert describe_failure("test_x", group).message == (
        "your code raised ValueError: shapes differ")


def test_sgdlab_check_end_to_end(tmp_path):
    """The real command in a fresh process: a right solution passes (exit 0), a wrong one
    fails (exit 1) with the property, the smallest counter-example and the hint."""
    right = solutions_file(tmp_path, "right.py", {MSE_STUB: "    return ((y_hat - y)**2).mean()"})
    wrong = solutions_file(tmp_path, "wrong.py", {MSE_STUB: "    return ((y_hat - y)**2).sum()"})
    script = (
        "from sgdlab.cli import main\n"
        f"print('EXIT', main(['check', '2', '--impl', {str(right)!r}]), flush=True)\n"
        f"print('EXIT', main(['check', '2', '--impl', {str(wrong)!r}]), flush=True)\n"
    )
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, second, _ = done.stdout.split("EXIT ")
    assert first.startswith("✓ Exercise 2") and "Well done" in first
    assert second.startswith("0\n✗ Exercise 2")
    assert "test_mse_is_a_mean_not_a_sum" in second and "MEAN" in second
    assert "Smallest counter-example" in second
    assert ("Failing test case" in second) or ("Falsifying example" in second)
    assert HINTS[2].splitlines()[0] in second
    assert "impl=" not in second and "\nassert " not in second
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("EXIT 1")


def test_a_float32_answer_says_its_dtype_and_the_largest_difference():
    from exercises.helpers import assert_close

    expected = torch.tensor([-1.8888888888888888], dtype=torch.float64)
    with pytest.raises(AssertionError) as caught:
        assert_close(expected.float() + 1e-6, expected, "mse_grad must be the slope", tol=1e-7)
    message = str(caught.value)
    assert "your result is torch.float32 but the expected one is torch.float64" in message
    assert re.search(r"largest difference: 1\.0\de-06 \(allowed: 1\.89e-07\)", message), message


def test_a_counter_example_shows_tensors_not_the_strategy_code():
    impl, _ = with_mistake(EXERCISE_TESTS / "wrong" / "mse_grad_sign.py")
    err = failure_of(TESTS["test_mse_grad_points_uphill"][1], impl)
    example = describe_failure("test_mse_grad_points_uphill", err).example
    assert "x=tensor([[" in example and "dtype=torch.float64" in example, example
    assert "reshape" not in example and "lambda" not in example, example
