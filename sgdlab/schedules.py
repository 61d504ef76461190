"""Schedules as pure functions: the one-cycle learning rate and momentum, and one learning
rate per layer group. Plain arithmetic on floats, shared by the bear learner
(:mod:`sgdlab.vision.schedule`, :mod:`sgdlab.vision.model`) and the exercises.

``pct`` is the fraction of all training batches already done: 0 at the first batch, and it
approaches 1 at the last (batch ``i`` of ``n`` has ``pct = i / n``).

Cosine annealing from ``start`` to ``end``::

    cos_anneal(start, end, t) = end + (start − end) · (1 + cos(π·t)) / 2,   t ∈ [0, 1]

One-cycle (Leslie Smith's policy, with fastai's defaults): warm up for the first ``pct_start``
of training from ``max_lr / div`` up to ``max_lr``, then anneal down to ``max_lr / div_final``;
both halves are cosine. Momentum moves the opposite way, 0.95 → 0.85 → 0.95. ``div_final``
divides ``max_lr`` itself (not ``max_lr / div``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sgdlab.checks import check_fraction, check_lr, check_number
from sgdlab.errors import SgdlabError


def cos_anneal(start: float, end: float, t: float) -> float:
    """Cosine interpolation: ``start`` at ``t = 0``, ``end`` at ``t = 1``, flat at both ends."""
    w = (1 + math.cos(math.pi * t)) / 2  # exactly 1 at t = 0 and 0 at t = 1
    return start * w + end * (1 - w)


def _check_pct(pct: float, pct_start: float) -> None:
    check_fraction(pct, "pct (the fraction of training done)", one=True)
    check_fraction(pct_start, "pct_start", one=True, hint="fastai uses 0.25")


def _check_cycle(max_lr: float, div: float, div_final: float) -> None:
    check_lr(max_lr, "max_lr")
    check_number(div, "div", positive=True, hint="fastai uses 25")
    check_number(div_final, "div_final", positive=True, hint="fastai uses 1e5")


def _check_moms(moms: tuple[float, float, float]) -> None:
    if isinstance(moms, (str, bytes)) or not isinstance(moms, Sequence) or len(moms) != 3:
        raise SgdlabError(f"moms must be three momenta in [0, 1), got {moms!r}; fastai uses "
                          f"(0.95, 0.85, 0.95)")
    for m in moms:
        check_fraction(m, "each of moms", hint="fastai uses (0.95, 0.85, 0.95)")


def _two_phase(pct: float, start: float, middle: float, end: float, pct_start: float) -> float:
    """``start → middle`` over ``[0, pct_start]``, then ``middle → end`` over the rest."""
    if pct < pct_start:
        return cos_anneal(start, middle, pct / pct_start)
    if pct_start == 1.0:
        return middle
    return cos_anneal(middle, end, (pct - pct_start) / (1.0 - pct_start))


def one_cycle_lr(pct: float, max_lr: float, div: float = 25.0, div_final: float = 1e5,
                 pct_start: float = 0.25) -> float:
    """One-cycle learning rate at ``pct``: ``max_lr/div → max_lr → max_lr/div_final``.

    >>> one_cycle_lr(0.0, 1.0), one_cycle_lr(0.25, 1.0), one_cycle_lr(1.0, 1.0)
    (0.04, 1.0, 1e-05)
    """
    _check_cycle(max_lr, div, div_final)
    _check_pct(pct, pct_start)
    return _two_phase(pct, max_lr / div, max_lr, max_lr / div_final, pct_start)


def one_cycle_momentum(pct: float, moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
                       pct_start: float = 0.25) -> float:
    """One-cycle momentum at ``pct``: ``moms[0] → moms[1]`` while the lr warms up, then back.

    >>> one_cycle_momentum(0.0), one_cycle_momentum(0.25), one_cycle_momentum(1.0)
    (0.95, 0.85, 0.95)
    """
    _check_pct(pct, pct_start)
    _check_moms(moms)
    return _two_phase(pct, moms[0], moms[1], moms[2], pct_start)



def lrs_for_groups(lr: float | slice | Sequence[float], n_groups: int) -> list[float]:
    """One learning rate per layer group, from the forms fastai accepts.

    * a number: the same rate for every group;
    * ``slice(lo, hi)``: rates spread geometrically from ``lo`` (first group) to ``hi`` (the
      head), ``lo · (hi/lo)^(i/(n−1))`` — for 3 groups ``lo, √(lo·hi), hi``;
    * ``slice(hi)``: ``hi/10`` for every group but the head, ``hi`` for the head;
    * a sequence: one rate per group, as given.

    >>> lrs_for_groups(slice(1e-5, 1e-3), 3)
    [1e-05, 0.0001, 0.001]
    """
    if isinstance(lr, slice):
        if lr.step is not None:
            raise SgdlabError(f"a learning-rate slice has no step, got {lr!r}")
        hi = lr.stop
        check_lr(hi)
        if lr.start is None:
            return [hi / 10] * (n_groups - 1) + [hi]
        lo = lr.start
        check_lr(lo)
        if lo > hi:
            raise SgdlabError(f"slice({lo:g}, {hi:g}) runs backwards: the first number is for "
                              f"the earliest layers and should be the smaller one")
        if n_groups == 1:
            return [hi]
        return [lo * (hi / lo) ** (i / (n_groups - 1)) for i in range(n_groups)]
    if isinstance(lr, Sequence) and not isinstance(lr, str):
        if len(lr) != n_groups:
            raise SgdlabError(f"got {len(lr)} learning rates for {n_groups} layer groups; give "
                              f"one per group, a single number, or slice(lo, hi)")
        for value in lr:
            check_lr(value)
        return [float(value) for value in lr]
    check_lr(lr)
    return [float(lr)] * n_groups
