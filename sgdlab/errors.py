"""The exceptions and warnings a learner can trigger.

Every message says what went wrong and what to do next. The checks that raise them live in
:mod:`sgdlab.checks`.
"""

from __future__ import annotations


class SgdlabError(ValueError):
    """A mistake in how sgdlab was called; the message says how to fix it."""


class DivergenceError(SgdlabError):
    """Training diverged: the loss became NaN/inf or exploded.

    Attributes:
        step: the 1-based step at which the loss went bad.
        loss: the offending loss value.
        lr: the learning rate in use.
        suggested_lr: a learning rate worth trying instead.
        history: what was recorded up to the failure (may be ``None``).
    """

    def __init__(self, step: int, loss: float, lr: float, suggested_lr: float | None,
                 reason: str, history=None) -> None:
        self.step, self.loss, self.lr = step, loss, lr
        self.suggested_lr = suggested_lr
        self.history = history
        hint = (f"try lr={suggested_lr:.3g}" if suggested_lr is not None
                else f"try lr={lr / 10:.3g} (10x lower)")
        super().__init__(
            f"learning rate {lr:g} is too high: training diverged at step {step} "
            f"({reason}, loss={loss:.4g}); {hint}"
        )


class SgdlabWarning(UserWarning):
    """Something sgdlab can do, but probably not what you meant; the message says why."""


class UnstableLearningRateWarning(SgdlabWarning):
    """The learning rate is at or above the stability limit ``2/λmax`` of full-batch descent.

    Along the steepest direction each step multiplies the error by ``|1 − lr·λmax| ≥ 1``, so
    the loss cannot settle and grows once that direction dominates, even if the run ends first.
    """



class ParallelRunError(SgdlabError):
    """A process of a data-parallel run failed, or the run did not finish in time.

    The message names the rank and ends with the last lines that rank wrote to stderr.
    """
