"""A :class:`~sgdlab.History` seen frame by frame.

Frame ``k`` shows the parameters after step ``k`` (frame 0: the initial guess). A run can have
fewer steps than the movie has frames — it diverged, or it is shorter than its neighbours in a
comparison — and then it freezes on its last recorded state. A diverged run says so: its
History holds the steps before the one that blew up, so by default it gets one extra frame that
shows "diverged at step k".
"""

from __future__ import annotations

import numpy as np

from sgdlab.errors import SgdlabError
from sgdlab.history import History


def natural_frames(history: History) -> int:
    """Frames needed to replay ``history``: ``steps + 1``, plus one for a diverged run."""
    return history.steps + 1 + int(history.diverged)


def truncate(history: History, steps: int) -> History:
    """The first ``steps`` steps of ``history`` (itself when it is no longer than that).

    Handy for mini-batch runs, which are trained in whole epochs but shown step by step.
    """
    if steps >= history.steps:
        return history
    return History(
        x=history.x, y=history.y, params=history.params[: steps + 1],
        losses=history.losses[:steps], lrs=history.lrs[:steps],
        batches=None if history.batches is None else history.batches[:steps],
        epochs=history.epochs[:steps], diverged_at=None, label=history.label,
    )


class Replay:
    """Read-only, numpy view of a History for drawing (float64, on the CPU).

    Attributes:
        history: the run.
        params: (steps + 1, k) parameters.
        full_losses: (steps + 1,) MSE on all the data at each recorded parameter vector.
    """

    def __init__(self, history: History) -> None:
        if not isinstance(history, History):
            raise SgdlabError(f"expected an sgdlab.History, got {type(history).__name__}; "
                              f"record one with sgdlab.gradient_descent(x, y, ...)")
        self.history = history
        self.params = history.params.detach().cpu().double().numpy()
        self.full_losses = history.full_losses().detach().cpu().double().numpy()
        self.x = history.x.detach().cpu().double().numpy()
        self.y = history.y.detach().cpu().double().numpy()

    @property
    def steps(self) -> int:
        return self.history.steps

    def step(self, k: int) -> int:
        """The recorded step frame ``k`` shows: ``k``, or the last one when the run is over."""
        return min(k, self.steps)

    def diverged_by(self, k: int) -> bool:
        """True once frame ``k`` lies past a divergence."""
        return self.history.diverged and k > self.steps

    def params_at(self, k: int) -> np.ndarray:
        return self.params[self.step(k)]

    def loss_at(self, k: int) -> float:
        return float(self.full_losses[self.step(k)])

    def lr_at(self, k: int) -> float | None:
        """Learning rate of the step that led to frame ``k`` (frame 0: of the first step)."""
        if self.steps == 0:
            return None
        return float(self.history.lrs[max(self.step(k), 1) - 1])

    def batch_at(self, k: int) -> np.ndarray | None:
        """Row indices of the mini-batch step ``k`` used; None for frame 0, frozen frames and
        full-batch runs."""
        if self.history.batches is None or k == 0 or k > self.steps:
            return None
        return self.history.batch(k).detach().cpu().numpy()

    def epoch_at(self, k: int) -> int | None:
        """1-based epoch of the step that led to frame ``k`` (None for frame 0)."""
        if self.step(k) == 0:
            return None
        return int(self.history.epochs[self.step(k) - 1]) + 1

    def status(self, k: int) -> str:
        """One line for a title: ``step 12   loss 0.584   lr 0.1`` (or where it diverged)."""
        parts = [f"step {k}"]
        if self.diverged_by(k):
            parts.append(f"diverged at step {self.history.diverged_at}")
        else:
            parts.append(f"loss {self.loss_at(k):.3g}")
        lr = self.lr_at(k)
        if lr is not None:
            parts.append(f"lr {lr:g}")
        if self.history.batches is not None and self.epoch_at(k) is not None:
            parts.append(f"epoch {self.epoch_at(k)}")
        return "   ".join(parts)


def check_line_model(history: History) -> None:
    """The line scenes draw ``y = a1·u + a2`` and need x = [u, 1] with two parameters."""
    if history.x.dim() != 2 or history.x.shape[1] != 2 or history.params.shape[1] != 2:
        raise SgdlabError(
            f"this scene draws the line y = a1*x + a2 and needs x of shape (n, 2) and two "
            f"parameters, got x {tuple(history.x.shape)} and {history.params.shape[1]} "
            f"parameters; make the data with sgdlab.make_linear_data()"
        )


def as_history_list(histories: History | list[History] | tuple[History, ...]) -> list[History]:
    if isinstance(histories, History):
        return [histories]
    histories = list(histories)
    if not histories:
        raise SgdlabError("this scene needs at least one History")
    return histories
