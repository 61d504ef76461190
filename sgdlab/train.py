"""Training loops for the linear model that record every step in a :class:`History`.

Both loops repeat lesson 3's :func:`~sgdlab.optim.update` — full-batch gradient descent on all
rows, mini-batch SGD on one shuffled batch at a time — and stop with a
:class:`~sgdlab.errors.DivergenceError` when the loss turns NaN/inf or explodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import torch

from sgdlab.data import make_generator, minibatches
from sgdlab.errors import DivergenceError, SgdlabError, check_lr, check_params, check_xy
from sgdlab.history import History
from sgdlab.linalg import max_stable_lr
from sgdlab.optim import update

OnDivergence = Literal["raise", "stop"]

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

    Args:
        x, y: the data, (n, k) and (n,), float.
        a0: the starting guess (the lecture's is ``(-1., 1.)``).
        lr: learning rate; converges iff ``lr < max_stable_lr(x)``.
        steps: number of updates.
        on_divergence: ``"raise"`` a :class:`DivergenceError`, or ``"stop"`` and return what
            was recorded with ``history.diverged_at`` set (for showing a divergence).
        log_every: print ``step, loss`` every this many steps (the lecture uses 10).
        log: where log lines go.
    """
    _check_steps("steps", steps)
    return _run(x, y, a0, lr, ((None, 0) for _ in range(steps)), on_divergence, log_every, log,
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
    The shuffles come from ``generator`` (or a private one seeded with ``seed``).
    """
    _check_steps("epochs", epochs)
    check_xy(x, y)
    g = make_generator(seed, generator)
    n = x.shape[0]
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise SgdlabError(f"batch size must be an integer >= 1, got {batch_size!r}")

    def schedule() -> Iterator[tuple[torch.Tensor, int]]:
        for epoch in range(epochs):
            for idx in minibatches(n, batch_size, g):
                yield idx, epoch

    return _run(x, y, a0, lr, schedule(), on_divergence, log_every, log,
                label=f"mini-batch SGD, lr={lr:g}, batch={batch_size}")


def _check_steps(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SgdlabError(f"{name} must be a whole number >= 0, got {value!r}")


def _run(x, y, a0, lr, schedule, on_divergence, log_every, log, label) -> History:
    check_xy(x, y)
    check_lr(lr)
    if on_divergence not in ("raise", "stop"):
        raise SgdlabError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}")
    a = torch.tensor(a0, dtype=x.dtype) if not isinstance(a0, torch.Tensor) else a0.detach()
    check_params(a, x)
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
