"""Exercise 11: ``one_cycle_lr`` follows the one-cycle rule of the bear learner.

Oracles: the rule written out here with cosines, its fixed points (start, peak, end), and the
shape of the curve (it rises during warm-up, then falls).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.helpers import assert_float_close, exercise_settings

pytestmark = pytest.mark.ex11

fractions = st.floats(min_value=0.0, max_value=1.0)
max_lrs = st.floats(min_value=1e-5, max_value=1.0)
pct_starts = st.floats(min_value=0.05, max_value=0.95)


def rule(pct: float, max_lr: float, div: float, div_final: float, pct_start: float) -> float:
    def cosine(start: float, end: float, t: float) -> float:
        return end + (start - end) * (1 + math.cos(math.pi * t)) / 2

    if pct < pct_start:
        return cosine(max_lr / div, max_lr, pct / pct_start)
    return cosine(max_lr, max_lr / div_final, (pct - pct_start) / (1 - pct_start))


@exercise_settings
@given(max_lr=max_lrs)
def test_one_cycle_starts_peaks_and_ends_where_it_should(impl, max_lr):
    for pct, expected, where in [(0.0, max_lr / 25, "starts at max_lr/div"),
                                 (0.25, max_lr, "peaks at max_lr when pct = pct_start"),
                                 (1.0, max_lr / 1e5, "ends at max_lr/div_final")]:
        assert_float_close(impl.one_cycle_lr(pct, max_lr), expected,
                           f"one_cycle_lr {where} (pct = {pct}, max_lr = {max_lr})", tol=1e-9)


@exercise_settings
@given(pct=fractions, max_lr=max_lrs, pct_start=pct_starts,
       div=st.floats(min_value=1.0, max_value=100.0),
       div_final=st.floats(min_value=10.0, max_value=1e6))
def test_one_cycle_is_cosine_in_both_halves(impl, pct, max_lr, pct_start, div, div_final):
    expected = rule(pct, max_lr, div, div_final, pct_start)
    assert_float_close(impl.one_cycle_lr(pct, max_lr, div, div_final, pct_start), expected,
                       f"at pct = {pct} of training one_cycle_lr must be on the cosine from "
                       f"max_lr/div up to max_lr (before pct_start = {pct_start}), then down to "
                       f"max_lr/div_final: end + (start − end)·(1 + cos(π·t))/2", tol=1e-9)


@exercise_settings
@given(max_lr=max_lrs, pct_start=pct_starts)
def test_one_cycle_rises_then_falls(impl, max_lr, pct_start):
    pcts = [i / 40 for i in range(41)]
    lrs = [impl.one_cycle_lr(p, max_lr, pct_start=pct_start) for p in pcts]
    rising = [lr for p, lr in zip(pcts, lrs, strict=True) if p <= pct_start]
    falling = [lr for p, lr in zip(pcts, lrs, strict=True) if p >= pct_start]
    assert all(a <= b * (1 + 1e-12) for a, b in zip(rising, rising[1:], strict=False)), (
        f"one_cycle_lr must RISE during the warm-up (pct < pct_start = {pct_start}), got "
        f"{[f'{lr:.3g}' for lr in rising]}")
    assert all(a >= b * (1 - 1e-12) for a, b in zip(falling, falling[1:], strict=False)), (
        f"one_cycle_lr must FALL after the warm-up (pct > pct_start = {pct_start}), got "
        f"{[f'{lr:.3g}' for lr in falling]}")
