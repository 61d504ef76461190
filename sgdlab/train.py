"""Training loops for the linear model that record every step in a :class:`History`.

Both loops repeat lesson 3's :func:`~sgdlab.optim.update` — full-batch gradient descent on all
rows, mini-batch SGD on one shuffled batch at a time — and stop with a
:class:`~sgdlab.errors.DivergenceError` when the loss turns NaN/inf or explodes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import get_args

import torch

from sgdlab.checks import (
    OnDivergence,
    check_choice,
    check_float_tensor,
    check_lr,
    check_params,
    check_whole_number,
    check_xy,
)
from sgdlab.data import make_generator, minibatches
from sgdlab.errors import DivergenceError, SgdlabError, UnstableLearningRateWarning
from sgdlab.history import History
from sgdlab.linalg import curvatures, max_stable_lr
from sgdlab.optim import update

#: A loss this many times the first one counts as exploded.
EXPLODE_FACTOR = 1e6


def gradient_descent(
    x: torch.Tensor,
    y: torch.Tensor,
    a0: Sequence[float] | torch.Tensor = (-1.0, 1.0),
    lr: float = 0.1,
    steps: int = 100,
    on_divergence: OnDivergence = "raise",
    log_every: int | None = None,
    log: Callable[[str], None] = print,
) -> History:
    """Full-batch gradient descent: ``steps`` calls of ``update(x, y, a, lr)``.

    Each step multiplies the error along the Hessian's eigenvector of curvature ``λ`` by
    ``1 − lr·λ``, so the run converges iff ``lr < 2/λmax`` (:func:`~sgdlab.max_stable_lr`).
    At or above that limit it warns with an
    :class:`~sgdlab.errors.UnstableLearningRateWarning` before the first step, even when the
    step budget ends before the loss explodes.

    Args:
        x, y: the data, (n, k) and (n,), float, one dtype, no NaN/inf.
        a0: the starting guess (the lecture's is ``(-1., 1.)``), converted to x's dtype.
        lr: learning rate, a positive Python number; converges iff ``lr < max_stable_lr(x)``.
        steps: number of updates, a whole number >= 0.
        on_divergence: ``"raise"`` a :class:`DivergenceError`, or ``"stop"`` and return what
            was recorded with ``history.diverged_at`` set (for showing a divergence).
        log_every: print ``step, loss`` every this many steps (the lecture uses 10).
        log: where log lines go.
    """
    steps = check_whole_number(steps, "steps", minimum=0, hint="the lecture takes 100")
    lr, a, on_divergence, log_every = _check_run(x, y, a0, lr, on_divergence, log_every, log)
    _warn_if_unstable(x, lr, steps)
    return _run(x, y, a, lr, ((None, 0) for _ in range(steps)), on_divergence, log_every, log,
                label=f"gradient descent, lr={lr:g}")


def minibatch_sgd(
    x: torch.Tensor,
    y: torch.Tensor,
    a0: Sequence[float] | torch.Tensor = (-1.0, 1.0),
    lr: float = 0.1,
    epochs: int = 10,
    batch_size: int = 16,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    on_divergence: OnDivergence = "raise",
    log_every: int | None = None,
    log: Callable[[str], None] = print,
) -> History:
    """Mini-batch SGD: each epoch shuffles the rows and takes one ``update`` per batch.

    An epoch of ``n`` rows has ``ceil(n / batch_size)`` steps; the last batch may be short.
    The shuffles come from ``generator`` (or a private one seeded with ``seed``). The
    arguments are checked as in :func:`gradient_descent`; ``epochs`` is a whole number >= 0
    and ``batch_size`` one >= 1.
    """
    epochs = check_whole_number(epochs, "epochs", minimum=0, hint="the lecture trains for 10")
    batch_size = check_whole_number(batch_size, "batch_size", minimum=1,
                                    hint="the lecture uses 64 images per batch")
    lr, a, on_divergence, log_every = _check_run(x, y, a0, lr, on_divergence, log_every, log)
    g = make_generator(seed, generator)
    n = x.shape[0]

    def schedule() -> Iterator[tuple[torch.Tensor, int]]:
        for epoch in range(epochs):
            for idx in minibatches(n, batch_size, g):
                yield idx, epoch

    return _run(x, y, a, lr, schedule(), on_divergence, log_every, log,
                label=f"mini-batch SGD, lr={lr:g}, batch={batch_size}")


def _check_run(x, y, a0, lr, on_divergence, log_every, log):
    """The checks both loops share; returns ``lr``, the start ``a`` and the options."""
    check_xy(x, y)
    lr = check_lr(lr)
    check_choice(on_divergence, "on_divergence", get_args(OnDivergence))
    if log_every is not None:
        log_every = check_whole_number(log_every, "log_every", minimum=1,
                                       hint="the lecture prints every 10 steps")
    if not callable(log):
        raise SgdlabError(f"log must be a function that takes a line of text, such as print, "
                          f"got {type(log).__name__}")
    if isinstance(a0, torch.Tensor):
        a = check_float_tensor(a0, "a0").detach().to(x.dtype)
    else:
        try:
            a = torch.tensor(a0, dtype=x.dtype, device=x.device)
        except (TypeError, ValueError, RuntimeError) as err:
            raise SgdlabError(f"a0 must be numbers, one per column of x, such as (-1., 1.), "
                              f"got {a0!r}") from err
    check_params(a, x)
    return lr, a, on_divergence, log_every


def _warn_if_unstable(x: torch.Tensor, lr: float, steps: int) -> None:
    """Warn when ``lr ≥ 2/λmax``: full-batch descent cannot converge and the loss will grow."""
    lam_max = curvatures(x)[-1].item()
    if lam_max == 0 or lr < 2.0 / lam_max:
        return
    limit = 2.0 / lam_max
    warnings.warn(UnstableLearningRateWarning(
        f"lr={lr:g} >= 2/λmax = {limit:.4g}, the stability limit of gradient descent on this "
        f"data: every step multiplies the error along the steepest direction by "
        f"|1 − lr·λmax| = {abs(1 - lr * lam_max):.3g} (not below 1), so the loss will grow "
        f"instead of settling, even if the {steps} steps end before it explodes; try "
        f"lr={0.5 * limit:.3g} (half the limit)"), stacklevel=3)


def _run(x, y, a, lr, schedule, on_divergence, log_every, log, label) -> History:
    a = a.clone().requires_grad_(True)

    params, losses, lrs, batches, epochs = [a.detach().clone()], [], [], [], []
    first_loss = None
    diverged_at = None
    for step, (idx, epoch) in enumerate(schedule, start=1):
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        loss = update(xb, yb, a, lr)
        if first_loss is None:
            first_loss = loss
        reason = _divergence_reason(loss, first_loss)
        if reason is not None:
            diverged_at = step
            if on_divergence == "raise":
                history = _history(x, y, params, losses, lrs, batches, epochs, label, step)
                raise DivergenceError(step, loss, lr, _suggest_lr(x, lr), reason, history)
            break
        params.append(a.detach().clone())
        losses.append(loss)
        lrs.append(lr)
        batches.append(idx)
        epochs.append(epoch)
        if log_every and (step - 1) % log_every == 0:  # steps 1, 11, 21, ... as in the lecture
            log(f"step {step:4d}  loss {loss:.4f}")
    return _history(x, y, params, losses, lrs, batches, epochs, label, diverged_at)


def _history(x, y, params, losses, lrs, batches, epochs, label, diverged_at):
    full_batch = not batches or batches[0] is None
    return History(
        x=x, y=y, params=torch.stack(params),
        losses=torch.tensor(losses, dtype=torch.float64),
        lrs=torch.tensor(lrs, dtype=torch.float64),
        batches=None if full_batch else batches,
        epochs=torch.tensor(epochs, dtype=torch.long),
        diverged_at=diverged_at, label=label,
    )


def _divergence_reason(loss: float, first_loss: float) -> str | None:
    if not math.isfinite(loss):
        return "loss became " + ("NaN" if math.isnan(loss) else "inf")
    if loss > EXPLODE_FACTOR * max(first_loss, 1e-12):
        return f"loss exploded to more than {EXPLODE_FACTOR:.0e} times its first value"
    return None


def _suggest_lr(x: torch.Tensor, lr: float) -> float:
    """Half the stability limit ``2/λmax`` when ``lr`` is above it, else ten times lower."""
    limit = max_stable_lr(x)
    return 0.5 * limit if lr >= limit else lr / 10
