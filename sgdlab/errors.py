"""Exceptions a learner can trigger, and the checks that raise them.

Every message says what went wrong and what to do next.
"""

from __future__ import annotations

import math

import torch


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


def check_float(name: str, t: torch.Tensor) -> None:
    """Raise if ``t`` is not a floating-point tensor (the lecture's ``3.`` vs ``3`` pitfall)."""
    if not isinstance(t, torch.Tensor):
        raise SgdlabError(f"{name} must be a torch.Tensor, got {type(t).__name__}; "
                          f"wrap it with torch.tensor(...)")
    if not t.is_floating_point():
        raise SgdlabError(
            f"{name} has integer dtype {t.dtype}; gradients need floats. Write 3. instead of 3, "
            f"or convert with {name}.float()"
        )


def check_finite(name: str, t: torch.Tensor) -> None:
    """Raise if ``t`` holds NaN or infinite values."""
    if not torch.isfinite(t).all():
        bad = int((~torch.isfinite(t)).sum())
        raise SgdlabError(f"{name} contains {bad} NaN/inf value(s); clean or drop those rows "
                          f"before training")


def check_lr(lr: float) -> None:
    """Raise unless ``lr`` is a positive finite number."""
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr) or lr <= 0:
        raise SgdlabError(f"learning rate must be a positive number, got {lr!r}; "
                          f"the lecture starts with lr=0.1")


def check_xy(x: torch.Tensor, y: torch.Tensor) -> None:
    """Check a design matrix ``x`` (n, k) and targets ``y`` (n,) for training."""
    check_float("x", x)
    check_float("y", y)
    if x.dim() != 2:
        raise SgdlabError(f"x must be a matrix of shape (n, k), got shape {tuple(x.shape)}; "
                          f"add a column of ones for the intercept")
    if y.dim() != 1:
        raise SgdlabError(f"y must be a vector of shape (n,), got shape {tuple(y.shape)}; "
                          f"use y.flatten() or y[:, 0]")
    if x.shape[0] == 0:
        raise SgdlabError("the data is empty (n = 0); make_linear_data(n=100) makes some")
    if x.shape[0] != y.shape[0]:
        raise SgdlabError(f"x has {x.shape[0]} rows but y has {y.shape[0]} values; "
                          f"they must describe the same points")
    check_finite("x", x)
    check_finite("y", y)


def check_params(a: torch.Tensor, x: torch.Tensor) -> None:
    """Check a parameter vector ``a`` against the design matrix ``x``."""
    check_float("a", a)
    if a.dim() != 1 or a.shape[0] != x.shape[1]:
        raise SgdlabError(f"a must have shape ({x.shape[1]},) to match x's {x.shape[1]} columns, "
                          f"got {tuple(a.shape)}")
