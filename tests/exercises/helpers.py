"""Comparisons that fail with a message written for students, and gradient bookkeeping."""

from __future__ import annotations

import torch
from hypothesis import Phase, settings

#: Settings of every exercise test: the active profile (dev or ci) without hypothesis's explain
#: phase, which traces every line it runs, costs seconds per failure and tells students little.
exercise_settings = settings(phases=[phase for phase in Phase if phase is not Phase.explain])


def show(t: object) -> str:
    """A short printout of a tensor or number for failure messages."""
    if isinstance(t, torch.Tensor):
        return repr(t.detach()).replace("\n", "\n            ")
    return repr(t)


def assert_close(actual: object, expected: torch.Tensor, message: str, tol: float = 1e-7) -> None:
    """Fail with ``message`` unless ``actual`` is a tensor equal to ``expected`` up to ``tol``.

    The tolerance is relative to the size of the expected numbers (at least 1).
    """
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{message}\n  expected a tensor, got {type(actual).__name__}: "
                             f"{show(actual)}")
    if actual.shape != expected.shape:
        raise AssertionError(f"{message}\n  expected shape {tuple(expected.shape)}, got "
                             f"{tuple(actual.shape)}")
    returned, wanted = actual.detach(), expected.detach()
    actual, expected = returned.to(torch.float64), wanted.to(torch.float64)
    scale = max(1.0, expected.abs().max().item()) if expected.numel() else 1.0
    if not torch.allclose(actual, expected, rtol=tol, atol=tol * scale):
        raise AssertionError(f"{message}\n  got:      {show(returned)}\n  expected: "
                             f"{show(wanted)}{difference(returned, wanted, tol * scale)}")


def difference(actual: torch.Tensor, expected: torch.Tensor, allowed: float) -> str:
    """The largest difference, and the dtype when it differs: two printouts that look the same
    (``tensor([-1.8889])`` in float32 and in float64) still say why they are not equal."""
    gap = (actual.to(torch.float64) - expected.to(torch.float64)).abs()
    gap = gap.nan_to_num(nan=float("inf"))
    text = f"\n  largest difference: {gap.max().item():.3g} (allowed: {allowed:.3g})"
    if actual.dtype != expected.dtype:
        text += (f"\n  your result is {actual.dtype} but the expected one is {expected.dtype}, "
                 f"the dtype of the inputs: keep the dtype you are given (no .float(); make "
                 f"new tensors with dtype=x.dtype), or digits are lost")
    return text


def assert_float_close(actual: object, expected: float, message: str, tol: float = 1e-7) -> None:
    """Fail with ``message`` unless ``actual`` is a Python float close to ``expected``."""
    if not isinstance(actual, float):
        raise AssertionError(f"{message}\n  expected a Python float, got "
                             f"{type(actual).__name__}: {show(actual)} (use .item())")
    if abs(actual - expected) > tol * max(1.0, abs(expected)):
        raise AssertionError(f"{message}\n  got:      {actual!r}\n  expected: {expected!r}")


def gradient_is_zeroed(p: torch.Tensor) -> bool:
    """True when ``p.grad`` was reset: None or all zeros."""
    return p.grad is None or not p.grad.any()


def add_gradient(p: torch.Tensor, g: torch.Tensor) -> None:
    """Add ``g`` to ``p.grad`` the way ``backward()`` does: accumulate, or set when None."""
    if p.grad is None:
        p.grad = g.clone()
    else:
        p.grad += g


def leaf(values: torch.Tensor) -> torch.Tensor:
    """A fresh leaf tensor that tracks gradients, holding a copy of ``values``."""
    return values.detach().clone().requires_grad_(True)
