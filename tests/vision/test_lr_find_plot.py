"""The learning-rate finder's plot: y-limits that show the fall, not the final divergence, and
the projector preset's size. Oracles: a synthetic curve with a known minimum and first loss, and
the figure that is handed to the saver (its y-limits and its text)."""

from __future__ import annotations

import math

import pytest
from PIL import Image

from sgdlab.style import PROJECTOR
from sgdlab.vision import lr_find as finder
from sgdlab.vision.lr_find import LRFinderResult, loss_limits, off_the_top


def diverging_result() -> LRFinderResult:
    """A sweep of 100 rates from 1e-7 to 10: the loss falls 2.0 -> 0.5, then shoots to 1e6."""
    lrs = [1e-7 * 1e8 ** (i / 99) for i in range(100)]
    losses = [2.0 - 1.5 * i / 79 for i in range(80)]
    losses += [0.5 * 1e6 ** ((i + 1) / 20) * 2 for i in range(20)]
    losses[-1] = 1e6
    return LRFinderResult(lrs, losses, losses, steepest=1e-3, minimum_div_10=1e-2,
                          stopped_early=False)


def test_the_limits_show_the_fall_and_leave_the_divergence_off_the_top():
    result = diverging_result()
    low, high, clipped = loss_limits(result.losses)
    assert low == pytest.approx(0.5 - 0.15) and high == pytest.approx(2.0 + 0.15)
    assert clipped
    assert off_the_top(result.lrs, result.losses) == ("the curve continues off the top, to "
                                                      "1e+06 at lr 10")


def test_a_curve_that_stays_in_range_is_not_clipped_and_one_that_never_falls_is_shown_whole():
    assert loss_limits([2.0, 1.5, 1.0, 1.2]) == pytest.approx((0.9, 2.1, False))
    low, high, clipped = loss_limits([1.0, 1.5, 3.0])
    assert low < 1.0 and high > 3.0 and not clipped
    assert loss_limits([2.0, 1.0, math.inf])[2]
    assert "inf or NaN" in off_the_top([1e-3, 1e-2, 1e-1], [2.0, 1.0, math.nan])


def test_the_plot_uses_the_limits_says_so_and_fits_a_projector(tmp_path, monkeypatch):
    figures = []
    save = finder.save_styled
    monkeypatch.setattr(finder, "save_styled",
                        lambda fig, path, style: figures.append(fig) or save(fig, path, style))
    result = diverging_result()
    screen = result.plot(tmp_path / "screen.png")
    slide = result.plot(tmp_path / "slide.png", style=PROJECTOR)
    ax = figures[0].axes[0]
    assert ax.get_ylim() == pytest.approx((0.35, 2.15))
    assert any(t.get_text().startswith("the curve continues off the top")
               for t in ax.texts)
    with Image.open(screen) as small, Image.open(slide) as big:
        assert small.size == (600, 400) and big.size == (1280, 720)
