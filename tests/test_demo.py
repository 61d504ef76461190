"""``sgdlab demo`` (the README's first command) leaves a fresh clone's git tree clean."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sgdlab import demo
from sgdlab.animate import lecture
from sgdlab.animate.lecture import LectureClip
from sgdlab.animate.scenes import SceneOptions
from sgdlab.cli import main

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def clone(tmp_path) -> Path:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of sgdlab to clone")
    target = tmp_path / "clone"
    _git("clone", "--quiet", str(REPO), str(target), cwd=tmp_path)
    return target


def test_demo_renders_into_ignored_folders_and_leaves_the_tree_clean(clone, monkeypatch, capsys):
    # The demo's own code and paths, on one lesson and 3-step clips to keep it short; the
    # commands run in the clone, so whatever the demo writes lands there.
    tiny = tuple(LectureClip(c.filename, c.scene, SceneOptions(lrs=c.options.lrs, steps=3, n=20),
                             c.point_at) for c in lecture.LECTURE_SET)
    monkeypatch.setattr(lecture, "LECTURE_SET", tiny)
    monkeypatch.setattr(demo, "LESSONS", (1,))
    monkeypatch.chdir(clone)
    committed = {p.name: p.read_bytes() for p in (clone / "animations").glob("*.mp4")}
    assert committed, "the clone has no committed lecture clips to protect"

    assert main(["demo"]) == 0

    rendered = sorted(p.name for p in (clone / demo.RENDERED).glob("*.mp4"))
    assert rendered == sorted(committed)
    assert any((clone / "figures").glob("*.png")), "lesson 1 saved no figure"
    assert _git("status", "--porcelain", "--untracked-files=all", cwd=clone) == ""
    for name, data in committed.items():
        assert (clone / "animations" / name).read_bytes() == data, f"demo changed {name}"
    assert str(demo.RENDERED) in capsys.readouterr().out
