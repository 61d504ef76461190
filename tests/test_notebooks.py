"""The lessons as notebooks: `sgdlab notebooks` writes them, and they run in a real Jupyter kernel.

Lessons 1–6 and the quick bear lessons 7–8 are written with `sgdlab notebooks`, executed with
nbclient in an ipykernel whose work folder (SGDLAB_WORKDIR) is a temporary folder, and their
outputs checked: small (≤ 3 MB), every figure once as image/png, every animation once as an
HTML5 <video>, no cell value (``PosixPath(...)``) and no TqdmWarning, and nothing written outside
the temporary folders. Run with ``-s`` to see each executed notebook's size.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from sgdlab import cli
from sgdlab.errors import SgdlabError
from sgdlab.lessons import Lesson, get_lesson, list_lessons, split_cells
from sgdlab.notebooks import lesson_notebook, write_notebooks
from sgdlab.teach import WORKDIR_ENV, project_root, work_dir

REPO = Path(__file__).resolve().parents[1]
SGD_LESSONS = [1, 2, 3, 4, 5, 6]
BEAR_LESSONS = [7, 8]  # the bear lessons that run in seconds with SGDLAB_QUICK=1, in order
MAX_BYTES = 3 * 1024 * 1024
KERNEL = "sgdlab-test"


def calls(lesson: Lesson) -> tuple[int, int]:
    """How many figures (``show``, ``show_png``) and animations (``animate.show``) a lesson
    shows, counted in its source."""
    figures = animations = 0
    for node in ast.walk(ast.parse(lesson.path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("show", "show_png"):
            figures += 1
        elif (isinstance(func, ast.Attribute) and func.attr == "show"
              and isinstance(func.value, ast.Name) and func.value.id == "animate"):
            animations += 1
    return figures, animations


# --- writing them ---------------------------------------------------------------------------

def test_sgdlab_notebooks_writes_every_lesson_without_outputs(tmp_path, capsys):
    import nbformat

    assert cli.main(["notebooks", str(tmp_path)]) == 0
    assert f"wrote {len(list_lessons())}:" in capsys.readouterr().out
    for lesson in list_lessons():
        path = tmp_path / f"{lesson.path.stem}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "python3"
        assert "jupytext" not in notebook.metadata  # not paired: the script stays the source
        title, *cells = notebook.cells
        assert title.cell_type == "markdown"
        assert title.source.startswith(f"# Lesson {lesson.number}: {lesson.title}")
        assert all(cell.cell_type == "code" for cell in cells)
        assert all(not cell.outputs and cell.execution_count is None for cell in cells)
        # the cells are the script's cells, in order (the docstring became the title)
        script = [cell.source.strip("\n") for cell in split_cells(
            lesson.path.read_text(encoding="utf-8"))]
        assert [cell.source for cell in cells[1:]] == script[1:]
        assert cells[0].source in script[0] and not cells[0].source.startswith('"""')


def test_a_second_run_keeps_what_the_student_changed(tmp_path, capsys):
    import nbformat

    script = tmp_path / "lessons" / "01_demo.py"
    script.parent.mkdir()
    script.write_text('"""Demo.\n\nA summary.\n"""\n\nx = 1\n\n# %%\nprint(x)\n')
    lessons = [Lesson(1, "Demo", "A summary.", script),
               Lesson(2, "Two", "", script.with_name("02_two.py"))]
    lessons[1].path.write_text("# %%\nprint(2)\n")
    out = tmp_path / "notebooks"
    assert [p.name for p in write_notebooks(out, lessons=lessons).written] == [
        "01_demo.ipynb", "02_two.ipynb"]
    assert write_notebooks(out, lessons=lessons).unchanged == [out / "01_demo.ipynb",
                                                               out / "02_two.ipynb"]
    # the student runs notebook 2; then the lessons change
    ran = nbformat.read(out / "02_two.ipynb", as_version=4)
    ran.cells[1].outputs = [nbformat.v4.new_output("stream", text="2\n")]
    nbformat.write(ran, out / "02_two.ipynb")
    script.write_text(script.read_text() + "\n# %%\nprint(x + 1)\n")
    lessons[1].path.write_text("# %%\nprint(22)\n")
    report = write_notebooks(out, lessons=lessons)
    assert report.updated == [out / "01_demo.ipynb"]   # untouched: rewritten from the script
    assert report.kept == [out / "02_two.ipynb"]       # run: kept as it is
    assert "print(x + 1)" in (out / "01_demo.ipynb").read_text()
    assert nbformat.read(out / "02_two.ipynb", as_version=4).cells[1].outputs
    # an edit counts too, and is named by the command
    edited = nbformat.read(out / "01_demo.ipynb", as_version=4)
    edited.cells.append(nbformat.v4.new_code_cell("my_notes = 1"))
    nbformat.write(edited, out / "01_demo.ipynb")
    script.write_text(script.read_text() + "\n# %%\nprint(3)\n")
    assert write_notebooks(out, lessons=lessons).kept == [out / "01_demo.ipynb",
                                                          out / "02_two.ipynb"]
    assert "my_notes" in (out / "01_demo.ipynb").read_text()
    (out / "02_two.ipynb").write_text("{ not a notebook")  # not ours to judge: kept
    assert write_notebooks(out, lessons=lessons).kept[1:] == [out / "02_two.ipynb"]
    # --force writes them from the scripts again
    forced = write_notebooks(out, force=True, lessons=lessons)
    assert forced.updated == [out / "01_demo.ipynb", out / "02_two.ipynb"] and not forced.kept
    assert "my_notes" not in (out / "01_demo.ipynb").read_text()
    assert "print(22)" in (out / "02_two.ipynb").read_text()


def test_the_command_names_the_notebooks_it_kept(tmp_path, capsys):
    assert cli.main(["notebooks", str(tmp_path)]) == 0
    path = tmp_path / "03_gradient_descent.ipynb"
    path.write_text(path.read_text().replace('"outputs": []', '"outputs": [{"output_type": '
                                             '"stream", "name": "stdout", "text": "x"}]', 1))
    capsys.readouterr()
    assert cli.main(["notebooks", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "kept 1 you have edited or run since they were written: 03_gradient_descent.ipynb" in out
    assert "--force" in out and '"text": "x"' in path.read_text()
    assert cli.main(["notebooks", str(tmp_path), "--force"]) == 0
    assert '"text": "x"' not in path.read_text()
    (tmp_path / "a file").write_text("")
    assert cli.main(["notebooks", str(tmp_path / "a file")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_default_folder_is_notebooks_in_the_work_folder_and_git_ignores_it(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv(WORKDIR_ENV, str(tmp_path))
    assert cli.main(["notebooks"]) == 0
    assert len(list((tmp_path / "notebooks").glob("*.ipynb"))) == len(list_lessons())
    if (REPO / ".git").exists():
        ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q",
                                  "notebooks/01_tensors.ipynb"], check=False)
        assert ignored.returncode == 0, "notebooks/ must be ignored by git"


# --- the work folder --------------------------------------------------------------------------

def test_work_folder_rule(tmp_path, monkeypatch):
    project = tmp_path / "clone"
    (project / "lessons").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "sgdlab"\n')
    other = tmp_path / "elsewhere"
    (other / "pyproject.toml").parent.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "another"\n')
    monkeypatch.delenv(WORKDIR_ENV, raising=False)
    monkeypatch.chdir(project / "lessons")        # a notebook opened in lessons/
    assert project_root() == project.resolve()
    assert work_dir() == project.resolve()
    monkeypatch.chdir(project)                    # `sgdlab lesson 8` in the clone
    assert work_dir() == Path(".")
    monkeypatch.chdir(other)                      # outside any clone: the current folder
    assert project_root() is None and work_dir() == Path(".")
    monkeypatch.setenv(WORKDIR_ENV, str(tmp_path))
    assert work_dir() == tmp_path.resolve()
    monkeypatch.setenv(WORKDIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(SgdlabError, match="SGDLAB_WORKDIR=.*missing: no such folder"):
        work_dir()


def test_bear_lessons_keep_models_in_the_work_folder(tmp_path, monkeypatch):
    from sgdlab.vision.lesson_config import lesson_config

    project = tmp_path / "clone"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "sgdlab"\n')
    monkeypatch.chdir(project / "notebooks")
    env = {"SGDLAB_BEARS": str(tmp_path), "SGDLAB_DEVICE": "cpu", "SGDLAB_QUICK": "1"}
    assert lesson_config(env).model_dir == project.resolve() / "models"
    assert lesson_config({**env, WORKDIR_ENV: str(tmp_path)}).model_dir == (
        tmp_path.resolve() / "models")


# --- running them in a kernel ----------------------------------------------------------------

@dataclass
class Executed:
    lesson: Lesson
    notebook: dict
    size: int
    seconds: float


@dataclass
class Notebooks:
    runs: dict[int, Executed]
    work: Path


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folders``: its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for folder in folders
            if folder.exists() for p in sorted(folder.rglob("*")) if p.is_file()}


def git_status() -> str | None:
    if not (REPO / ".git").exists():
        return None
    return subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--ignored"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def executed(tmp_path_factory, request) -> Notebooks:
    """Lessons 1–6 (and 7–8 when the bear photos are here) written by `sgdlab notebooks`, run
    in an ipykernel from the notebooks' folder with SGDLAB_WORKDIR another temporary folder."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import nbformat
    from nbclient import NotebookClient

    root = tmp_path_factory.mktemp("notebooks")
    folder, work, kernels = root / "notebooks", root / "work", root / "jupyter"
    work.mkdir()
    spec = kernels / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({  # this Python, whatever else is installed
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "sgdlab tests", "language": "python"}))
    numbers = list(SGD_LESSONS)
    bears = None
    try:
        bears = request.getfixturevalue("bears_dir")
        numbers += BEAR_LESSONS
    except pytest.skip.Exception:
        pass
    watched = [REPO / name for name in ("lessons", "figures", "models", "notebooks")]
    before = (git_status(), snapshot(*watched))
    write_notebooks(folder, lessons=[get_lesson(n) for n in numbers])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SGDLAB_") and k not in ("MPLBACKEND", "JPY_SESSION_NAME")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
               SGDLAB_WORKDIR=str(work), SGDLAB_QUICK="1", SGDLAB_DEVICE="cpu",
               PYTHONDONTWRITEBYTECODE="1")
    if bears is not None:
        env["SGDLAB_BEARS"] = str(bears)
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(kernels))
        for number in numbers:
            lesson = get_lesson(number)
            path = folder / f"{lesson.path.stem}.ipynb"
            notebook = nbformat.read(path, as_version=4)
            start = time.perf_counter()
            NotebookClient(notebook, timeout=300, kernel_name=KERNEL,
                           resources={"metadata": {"path": str(folder)}}).execute(
                env={**env, "JPY_SESSION_NAME": str(path)})
            seconds = time.perf_counter() - start
            nbformat.write(notebook, path)
            results[number] = Executed(lesson, json.loads(path.read_text(encoding="utf-8")),
                                       path.stat().st_size, seconds)
    print("\nexecuted notebooks:")
    for run in results.values():
        print(f"  {run.lesson.path.stem}.ipynb  {run.size / 1024:7.1f} KB  ({run.size} bytes, "
              f"{run.seconds:.1f} s)")
    after = (git_status(), snapshot(*watched))
    assert after == before, "running the notebooks wrote into the repository"
    written = sorted(p.name for p in folder.iterdir())
    assert written == sorted(f"{get_lesson(n).path.stem}.ipynb" for n in numbers), (
        "the lessons wrote next to the notebooks instead of in the work folder")
    return Notebooks(results, work)


def outputs(run: Executed) -> list[dict]:
    return [output for cell in run.notebook["cells"] for output in cell.get("outputs", [])]


@pytest.mark.slow
@pytest.mark.parametrize("number", SGD_LESSONS + BEAR_LESSONS)
def test_executed_notebook_is_small_and_shows_each_thing_once(executed, number):
    if number not in executed.runs:
        pytest.skip("bear photos not found; set SGDLAB_BEARS to their folder")
    run = executed.runs[number]
    assert run.size <= MAX_BYTES, f"{run.lesson.path.name}: {run.size} bytes"
    everything = outputs(run)
    text = json.dumps(everything)
    for stray in ("PosixPath(", "TqdmWarning", "IProgress not found", " object at 0x"):
        assert stray not in text, f"{stray!r} in the outputs of {run.lesson.path.name}"
    assert not [o for o in everything if o["output_type"] in ("execute_result", "error")]
    figures, animations = calls(run.lesson)
    pngs = [o["data"]["image/png"] for o in everything if "image/png" in o.get("data", {})]
    assert len(pngs) == figures > 0
    assert len(set(pngs)) == len(pngs), "a figure was shown twice"
    assert all(base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n" for png in pngs)
    html = ["".join(o["data"]["text/html"]) for o in everything if "text/html" in o.get("data", {})]
    assert len(html) == animations and all(h.count("<video") == 1 for h in html)
    assert all("data:video/mp4;base64," in h and "<img" not in h for h in html)


@pytest.mark.slow
@pytest.mark.bears
def test_bear_notebooks_write_only_in_the_work_folder(executed):
    if 8 not in executed.runs:
        pytest.skip("bear photos not found; set SGDLAB_BEARS to their folder")
    work = executed.work
    assert (work / "models" / "bears-stage-1.pth").is_file()
    assert {p.name for p in (work / "figures").iterdir()} == {
        "07_bear_data-batch.png", "08_train_resnet-loss.png", "08_train_resnet-schedule.png"}
    assert "saved " + str(work.resolve() / "models" / "bears-stage-1.pth") in json.dumps(
        outputs(executed.runs[8]))


def test_lesson_notebook_is_built_from_the_script():
    lesson = get_lesson(3)
    notebook = lesson_notebook(lesson)
    assert notebook.metadata.sgdlab.lesson == lesson.path.name
    assert sum("animate.show(" in cell.source for cell in notebook.cells) == 1
