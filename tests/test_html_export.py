"""HTML players keep every frame asked for, or the command refuses with the size and what to do."""

from __future__ import annotations

import re

import matplotlib
import pytest

import sgdlab.animate.writers as writers
from sgdlab.cli import main
from sgdlab.errors import SgdlabError


def _frames_in(html: str) -> int:
    return len(re.findall(r"frames\[\d+\] = ", html))


@pytest.mark.slow
def test_surface_html_keeps_all_101_frames_past_the_default_limit(tmp_path, capsys):
    # 0.2 MB is far below what 101 frames need: matplotlib alone would drop most of them
    out = tmp_path / "surface.html"
    with matplotlib.rc_context({"animation.embed_limit": 0.2}):
        code = main(["animate", "surface", "--steps", "100", "--size", "64x64", "--out",
                     str(out), "--no-progress"])
    assert code == 0
    assert _frames_in(out.read_text()) == 101


def test_refuses_a_player_over_the_limit_with_size_and_alternatives(tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.setattr(writers, "MAX_HTML_MB", 0.01)
    out = tmp_path / "fit.html"
    code = main(["animate", "line-fit", "--steps", "5", "--size", "64x64", "--out", str(out),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code != 0
    assert "6 frames would be about" in err and "MB" in err
    assert ".mp4" in err and "--steps" in err and "--size" in err
    assert not out.exists()


def test_a_player_with_frames_missing_is_an_error():
    html = "".join(f"frames[{k}] = 'x';" for k in range(81))
    with pytest.raises(SgdlabError, match="kept only 81 of 101 frames"):
        writers.check_html_frames(html, 101)
    assert writers.check_html_frames(html, 81) == html


def test_embed_limit_covers_the_base64_of_every_frame():
    limit = writers.html_embed_limit_mb([10_000, 30_000, 20_000], 100)
    assert limit * 2**20 > 100 * 30_000 * 4 / 3
