"""Learning-rate and momentum schedules as pure functions of how far training has got.

``pct`` is the fraction of all training batches already done: 0 at the first batch, and it
approaches 1 at the last (batch ``i`` of ``n`` has ``pct = i / n``).

Cosine annealing from ``start`` to ``end``::

    cos_anneal(start, end, t) = end + (start − end) · (1 + cos(π·t)) / 2,   t ∈ [0, 1]

One-cycle (Leslie Smith's policy, with fastai's defaults): warm up for the first ``pct_start``
of training from ``max_lr / div`` up to ``max_lr``, then anneal down to ``max_lr / div_final``;
both halves are cosine. Momentum moves the opposite way, 0.95 → 0.85 → 0.95, so that the
largest steps get the least momentum. ``div_final`` divides ``max_lr`` itself (not
``max_lr / div``): the default 1e5 ends one cycle at ``max_lr · 1e-5``.

The learning-rate finder sweeps exponentially (equal ratios per step, a straight line on a log
axis)::

    lr(i) = start_lr · (end_lr / start_lr) ** (i / (num_steps − 1)),   i = 0 … num_steps − 1

so the first step uses exactly ``start_lr`` and the last exactly ``end_lr``.
"""

from __future__ import annotations

import math

from sgdlab.errors import SgdlabError, check_lr


def cos_anneal(start: float, end: float, t: float) -> float:
    """Cosine interpolation: ``start`` at ``t = 0``, ``end`` at ``t = 1``, flat at both ends."""
    w = (1 + math.cos(math.pi * t)) / 2  # exactly 1 at t = 0 and 0 at t = 1
    return start * w + end * (1 - w)


def _check_pct(pct: float, pct_start: float) -> None:
    if not 0.0 <= pct <= 1.0:
        raise SgdlabError(f"pct (the fraction of training done) must be in [0, 1], got {pct}")
    if not 0.0 <= pct_start <= 1.0:
        raise SgdlabError(f"pct_start must be in [0, 1], got {pct_start}; fastai uses 0.25")


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
    check_lr(max_lr)
    _check_pct(pct, pct_start)
    if div <= 0 or div_final <= 0:
        raise SgdlabError(f"div and div_final must be positive, got {div} and {div_final}")
    return _two_phase(pct, max_lr / div, max_lr, max_lr / div_final, pct_start)


def one_cycle_momentum(pct: float, moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
                       pct_start: float = 0.25) -> float:
    """One-cycle momentum at ``pct``: ``moms[0] → moms[1]`` while the lr warms up, then back.

    >>> one_cycle_momentum(0.0), one_cycle_momentum(0.25), one_cycle_momentum(1.0)
    (0.95, 0.85, 0.95)
    """
    _check_pct(pct, pct_start)
    if len(moms) != 3 or any(not 0.0 <= m < 1.0 for m in moms):
        raise SgdlabError(f"moms must be three momenta in [0, 1), got {moms!r}")
    return _two_phase(pct, moms[0], moms[1], moms[2], pct_start)


def lr_find_schedule(step: int, num_steps: int, start_lr: float = 1e-7,
                     end_lr: float = 10.0) -> float:
    """Learning rate of the finder's ``step`` (0-based) in an exponential sweep of ``num_steps``.

    >>> lr_find_schedule(0, 3, 1e-2, 1.0), lr_find_schedule(1, 3, 1e-2, 1.0)
    (0.01, 0.1)
    """
    check_lr(start_lr)
    check_lr(end_lr)
    if start_lr >= end_lr:
        raise SgdlabError(f"the sweep needs start_lr < end_lr, got {start_lr:g} and {end_lr:g}")
    if num_steps < 2:
        raise SgdlabError(f"the sweep needs at least 2 steps, got {num_steps}; fastai uses 100")
    if not 0 <= step < num_steps:
        raise SgdlabError(f"step must be between 0 and {num_steps - 1}, got {step}")
    return start_lr * (end_lr / start_lr) ** (step / (num_steps - 1))
