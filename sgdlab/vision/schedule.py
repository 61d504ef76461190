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

from collections.abc import Callable, Sequence

from sgdlab.checks import check_fraction, check_lr, check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.schedules import (  # noqa: F401 (re-exported: one source)
    _check_cycle,
    _check_moms,
    _two_phase,
    cos_anneal,
    one_cycle_lr,
    one_cycle_momentum,
)

#: ``schedule(step) -> (one learning rate per layer group, momentum)``, step counted from 0:
#: what :meth:`~sgdlab.vision.learner.Learner.fit_schedule` follows.
Schedule = Callable[[int], tuple[list[float], float]]


def lr_find_schedule(step: int, num_steps: int, start_lr: float = 1e-7,
                     end_lr: float = 10.0) -> float:
    """Learning rate of the finder's ``step`` (0-based) in an exponential sweep of ``num_steps``.

    >>> lr_find_schedule(0, 3, 1e-2, 1.0), lr_find_schedule(1, 3, 1e-2, 1.0)
    (0.01, 0.1)
    """
    _check_sweep(start_lr, end_lr, num_steps)
    if not 0 <= step < num_steps:
        raise SgdlabError(f"step must be between 0 and {num_steps - 1}, got {step}")
    return start_lr * (end_lr / start_lr) ** (step / (num_steps - 1))


def _check_sweep(start_lr: float, end_lr: float, num_steps: int) -> None:
    check_lr(start_lr, "start_lr")
    check_lr(end_lr, "end_lr")
    if start_lr >= end_lr:
        raise SgdlabError(f"the sweep needs start_lr < end_lr, got {start_lr:g} and {end_lr:g}")
    check_whole_number(num_steps, "num_it (steps of the sweep)", minimum=2,
                       hint="fastai uses 100")


# ------------------------------------------------------------------ schedules for a whole fit

def constant_schedule(lrs: Sequence[float], momentum: float) -> Schedule:
    """The same learning rates and momentum at every step (:meth:`Learner.fit`)."""
    lrs = [check_lr(lr) for lr in lrs]
    momentum = check_fraction(momentum, "momentum", hint="0.9 is typical")
    return lambda step: (lrs, momentum)


def one_cycle_schedule(max_lrs: Sequence[float], total_steps: int, div: float = 25.0,
                       div_final: float = 1e5, pct_start: float = 0.25,
                       moms: tuple[float, float, float] = (0.95, 0.85, 0.95)) -> Schedule:
    """One cycle over ``total_steps`` batches, each group to its own ``max_lrs[g]``: step ``i``
    is at ``pct = i / total_steps`` of :func:`one_cycle_lr` and :func:`one_cycle_momentum`."""
    for max_lr in max_lrs:
        _check_cycle(max_lr, div, div_final)
    check_fraction(pct_start, "pct_start", one=True, hint="fastai uses 0.25")
    _check_moms(moms)
    total_steps = check_whole_number(total_steps, "total_steps", minimum=1)

    def schedule(step: int) -> tuple[list[float], float]:
        pct = step / total_steps
        return ([_two_phase(pct, m / div, m, m / div_final, pct_start) for m in max_lrs],
                _two_phase(pct, *moms, pct_start))

    return schedule


def sweep_schedule(n_groups: int, momentum: float, num_steps: int, start_lr: float = 1e-7,
                   end_lr: float = 10.0) -> Schedule:
    """The finder's exponential sweep (:func:`lr_find_schedule`), every group at one rate."""
    _check_sweep(start_lr, end_lr, num_steps)
    return lambda step: ([lr_find_schedule(step, num_steps, start_lr, end_lr)] * n_groups,
                         momentum)
