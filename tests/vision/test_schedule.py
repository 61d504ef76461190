"""One-cycle and lr-finder schedules against hand-computed values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sgdlab.errors import SgdlabError
from sgdlab.vision.schedule import (
    cos_anneal,
    lr_find_schedule,
    one_cycle_lr,
    one_cycle_momentum,
)


def test_cos_anneal_ends_and_middle() -> None:
    assert cos_anneal(2.0, 10.0, 0.0) == 2.0
    assert cos_anneal(2.0, 10.0, 1.0) == 10.0
    assert cos_anneal(2.0, 10.0, 0.5) == pytest.approx(6.0)
    # a quarter of the way: (1 + cos(π/4)) / 2 = 0.853553 of the start remains
    assert cos_anneal(0.0, 1.0, 0.25) == pytest.approx(1 - (1 + math.sqrt(0.5)) / 2)


def test_one_cycle_lr_hand_computed() -> None:
    max_lr = 3e-3
    assert one_cycle_lr(0.0, max_lr) == pytest.approx(max_lr / 25)            # start
    assert one_cycle_lr(0.25, max_lr) == pytest.approx(max_lr)                # peak at pct_start
    assert one_cycle_lr(1.0, max_lr) == pytest.approx(max_lr / 1e5)           # end
    assert one_cycle_lr(0.125, max_lr) == pytest.approx((max_lr / 25 + max_lr) / 2)
    assert one_cycle_lr(0.625, max_lr) == pytest.approx((max_lr + max_lr / 1e5) / 2)
    # 3/4 of the warm-up: max/25 + (max − max/25)·(1 − cos(3π/4))/2
    expected = max_lr / 25 + (max_lr - max_lr / 25) * (1 - math.cos(0.75 * math.pi)) / 2
    assert one_cycle_lr(0.1875, max_lr) == pytest.approx(expected)


def test_one_cycle_lr_other_settings() -> None:
    assert one_cycle_lr(0.0, 1.0, div=10, div_final=100, pct_start=0.5) == pytest.approx(0.1)
    assert one_cycle_lr(0.5, 1.0, div=10, div_final=100, pct_start=0.5) == pytest.approx(1.0)
    assert one_cycle_lr(1.0, 1.0, div=10, div_final=100, pct_start=0.5) == pytest.approx(0.01)
    assert one_cycle_lr(0.0, 1.0, pct_start=0.0) == pytest.approx(1.0)   # no warm-up
    assert one_cycle_lr(1.0, 1.0, pct_start=1.0) == pytest.approx(1.0)   # no annealing


def test_one_cycle_momentum_hand_computed() -> None:
    assert one_cycle_momentum(0.0) == pytest.approx(0.95)
    assert one_cycle_momentum(0.25) == pytest.approx(0.85)
    assert one_cycle_momentum(1.0) == pytest.approx(0.95)
    assert one_cycle_momentum(0.125) == pytest.approx(0.90)
    assert one_cycle_momentum(0.625) == pytest.approx(0.90)
    assert one_cycle_momentum(0.5, moms=(0.9, 0.8, 0.7), pct_start=0.5) == pytest.approx(0.8)


@given(pct=st.floats(0.0, 1.0), pct_start=st.floats(0.05, 0.95))
def test_one_cycle_rises_then_falls(pct: float, pct_start: float) -> None:
    lr = one_cycle_lr(pct, 1.0, pct_start=pct_start)
    assert 1e-5 * (1 - 1e-9) <= lr <= 1.0 * (1 + 1e-9)
    later = min(1.0, pct + 0.01)
    next_lr = one_cycle_lr(later, 1.0, pct_start=pct_start)
    if later <= pct_start:
        assert next_lr >= lr - 1e-12
    elif pct >= pct_start:
        assert next_lr <= lr + 1e-12
    mom = one_cycle_momentum(pct, pct_start=pct_start)
    assert 0.85 - 1e-12 <= mom <= 0.95 + 1e-12


def test_lr_find_schedule_is_exponential() -> None:
    assert lr_find_schedule(0, 100) == pytest.approx(1e-7)
    assert lr_find_schedule(99, 100) == pytest.approx(10.0)
    assert lr_find_schedule(33, 100) == pytest.approx(1e-7 * 10 ** (8 * 33 / 99))
    ratios = [lr_find_schedule(i + 1, 100) / lr_find_schedule(i, 100) for i in range(99)]
    assert ratios == pytest.approx([1e8 ** (1 / 99)] * 99)
    assert lr_find_schedule(2, 5, 1e-4, 1.0) == pytest.approx(1e-2)


@pytest.mark.parametrize("call", [
    lambda: one_cycle_lr(1.5, 1e-3),
    lambda: one_cycle_lr(-0.1, 1e-3),
    lambda: one_cycle_lr(0.5, 0.0),
    lambda: one_cycle_lr(0.5, -1e-3),
    lambda: one_cycle_lr(0.5, 1e-3, pct_start=1.5),
    lambda: one_cycle_lr(0.5, 1e-3, div=0),
    lambda: one_cycle_momentum(0.5, moms=(0.95, 1.2, 0.95)),
    lambda: lr_find_schedule(0, 1),
    lambda: lr_find_schedule(0, 100, start_lr=1.0, end_lr=1e-3),
    lambda: lr_find_schedule(100, 100),
    lambda: lr_find_schedule(0, 100, start_lr=0.0),
])
def test_bad_schedule_arguments_raise(call) -> None:
    with pytest.raises(SgdlabError):
        call()
