"""The input checks and constants shared by every public entry point of sgdlab.

Each check either returns the value in its plain Python form (an ``int`` or a ``float``) or
raises a :class:`~sgdlab.errors.SgdlabError` whose message says what went wrong and what to do
next::

    >>> check_lr(0.1)
    0.1
    >>> check_whole_number(3, "epochs", minimum=1)
    3

The checks look only at types, shapes and dtypes, except :func:`check_finite` (and
:func:`check_xy`, which calls it), which reads the values once.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Sequence
from typing import Literal

import torch

from sgdlab.errors import SgdlabError

#: The seed of every private generator when none is given (the lecture's data and split).
DEFAULT_SEED = 42

#: What a training loop does when the loss turns NaN/inf or explodes: raise a
#: :class:`~sgdlab.errors.DivergenceError`, or stop and return what it recorded.
OnDivergence = Literal["raise", "stop"]

#: The lecture's first learning rate, quoted in error messages.
LECTURE_LR = 0.1

__all__ = [
    "DEFAULT_SEED", "LECTURE_LR", "OnDivergence", "check_choice", "check_finite",
    "check_float_tensor", "check_fraction", "check_lr", "check_matrix", "check_number",
    "check_params", "check_whole_number", "check_xy",
]


def _then(hint: str) -> str:
    return f"; {hint}" if hint else ""


def _is_real(value: object) -> bool:
    """A real number that is not a bool (``True`` is 1 to Python, never to a learner)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, torch.Tensor))


def _show(value: object) -> str:
    """``repr(value)``, with its type when that is not a plain int, float, str or None."""
    if value is None or type(value) in (int, float, str):
        return repr(value)
    kind = "torch.Tensor" if isinstance(value, torch.Tensor) else type(value).__name__
    return f"{value!r} (a {kind})"


# --------------------------------------------------------------------------- numbers

def check_lr(lr: object, name: str = "lr") -> float:
    """A learning rate: a positive, finite Python ``int`` or ``float``; returned as ``float``.

    ``bool``, NaN, ±inf, zero and negative numbers are refused, and so are ``np.float32`` and
    0-d tensors: they are numbers, but with another type ``lr * a.grad`` gives another dtype
    (or a tensor that is tracked), so sgdlab asks for ``float(lr)``. A ``float`` subclass such
    as ``np.float64`` is a Python float and is accepted.
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        number = isinstance(lr, (numbers.Real, torch.Tensor)) and not isinstance(lr, bool)
        convert = f"; convert it with float({name})" if number else ""
        raise SgdlabError(f"learning rate must be a positive number (a Python float such as "
                          f"{LECTURE_LR}), got {name}={_show(lr)}{convert}")
    if not math.isfinite(lr) or lr <= 0:
        advice = ("a negative step walks uphill" if lr < 0 else
                  "zero never moves" if lr == 0 else "it would turn every parameter into "
                  "NaN or inf")
        raise SgdlabError(f"learning rate must be a positive number, got {name}={lr!r} "
                          f"({advice}); the lecture starts with lr={LECTURE_LR}")
    return float(lr)


def check_whole_number(value: object, name: str, minimum: int = 0, hint: str = "") -> int:
    """A whole number ``>= minimum`` (a Python or numpy integer, not a bool); returned as int."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        write = (f"; write {int(value)}" if isinstance(value, float) and value.is_integer()
                 else "")
        raise SgdlabError(f"{name} must be a whole number >= {minimum}, got {_show(value)}"
                          f"{write}{_then(hint)}")
    if value < minimum:
        raise SgdlabError(f"{name} must be a whole number >= {minimum}, got {value!r}"
                          f"{_then(hint)}")
    return int(value)


def check_number(value: object, name: str, minimum: float | None = None,
                 maximum: float | None = None, hint: str = "", *,
                 positive: bool = False) -> float:
    """A finite real number (not a bool) with ``minimum <= value <= maximum``; as ``float``.

    ``positive=True`` asks for ``value > 0`` as well.
    """
    bounds = [f">= {minimum:g}"] if minimum is not None else []
    bounds += [f"<= {maximum:g}"] if maximum is not None else []
    kind = "a positive number" if positive else "a finite number"
    wanted = f"{kind} {' and '.join(bounds)}".rstrip()
    if not _is_real(value) or not math.isfinite(value):
        raise SgdlabError(f"{name} must be {wanted}, got {_show(value)}{_then(hint)}")
    if ((minimum is not None and value < minimum) or (maximum is not None and value > maximum)
            or (positive and value <= 0)):
        raise SgdlabError(f"{name} must be {wanted}, got {value!r}{_then(hint)}")
    return float(value)


def check_fraction(value: object, name: str, *, zero: bool = True, one: bool = False,
                   hint: str = "") -> float:
    """A number between 0 and 1; ``zero``/``one`` say whether the ends are allowed.

    The defaults give ``[0, 1)``, the range of a momentum or a label-smoothing ``ε``.
    """
    interval = f"{'[' if zero else '('}0, 1{']' if one else ')'}"
    ok = _is_real(value) and math.isfinite(value) and (
        (value >= 0 if zero else value > 0) and (value <= 1 if one else value < 1))
    if not ok:
        raise SgdlabError(f"{name} must be a number in {interval}, got {_show(value)}"
                          f"{_then(hint)}")
    return float(value)


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """One of the strings in ``choices``; a near miss gets a "did you mean" suggestion."""
    if isinstance(value, str) and value in choices:
        return value
    options = ", ".join(repr(c) for c in choices)
    close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
    guess = f"; did you mean {close[0]!r}?" if close else ""
    raise SgdlabError(f"{name} must be one of {options}, got {value!r}{guess}")


# --------------------------------------------------------------------------- tensors

def check_float_tensor(t: object, name: str) -> torch.Tensor:
    """A floating-point ``torch.Tensor`` (the lecture's ``3.`` versus ``3`` pitfall)."""
    if not isinstance(t, torch.Tensor):
        raise SgdlabError(f"{name} must be a torch.Tensor, got {type(t).__name__}; "
                          f"wrap it with torch.tensor(...)")
    if not t.is_floating_point():
        raise SgdlabError(
            f"{name} has integer dtype {t.dtype}; gradients need floats. Write 3. instead of 3, "
            f"or convert with {name}.float()"
        )
    return t


def check_finite(t: torch.Tensor, name: str) -> None:
    """Refuse a tensor holding NaN or infinite values (reads every value once)."""
    if not torch.isfinite(t).all():
        bad = int((~torch.isfinite(t)).sum())
        raise SgdlabError(f"{name} contains {bad} NaN/inf value(s); clean or drop those rows "
                          f"first")


def _check_same_dtype(first: torch.Tensor, first_name: str, second: torch.Tensor,
                      second_name: str) -> None:
    if first.dtype != second.dtype:
        fix = (f"{second_name} = {second_name}.to({first_name}.dtype)" if second_name != "a"
               else "a = torch.tensor(..., dtype=x.dtype, requires_grad=True)")
        raise SgdlabError(f"{first_name} is {first.dtype} but {second_name} is {second.dtype}; "
                          f"use one dtype for both, e.g. {fix}")
    if first.device != second.device:
        raise SgdlabError(f"{first_name} is on {first.device} but {second_name} is on "
                          f"{second.device}; move both to one device, e.g. {second_name} = "
                          f"{second_name}.to({first_name}.device)")


def check_matrix(x: object, name: str = "x") -> torch.Tensor:
    """A non-empty, finite, floating-point design matrix of shape (n, k)."""
    check_float_tensor(x, name)
    if x.dim() != 2:
        raise SgdlabError(f"{name} must be a matrix of shape (n, k), got shape "
                          f"{tuple(x.shape)}; add a column of ones for the intercept")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise SgdlabError(f"{name} is empty (shape {tuple(x.shape)}); make_linear_data(n=100) "
                          f"makes some data")
    check_finite(x, name)
    return x


def _check_xy_shapes(x: torch.Tensor, y: torch.Tensor) -> None:
    check_float_tensor(x, "x")
    check_float_tensor(y, "y")
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
    _check_same_dtype(x, "x", y, "y")


def check_xy(x: object, y: object, *, finite: bool = True) -> None:
    """A design matrix ``x`` (n, k) and targets ``y`` (n,): float, one dtype and device, n ≥ 1.

    ``finite=True`` also refuses NaN/inf values, which reads every value once;
    :func:`~sgdlab.optim.update` skips that so that a step costs what the lecture's does.
    """
    _check_xy_shapes(x, y)
    if finite:
        check_finite(x, "x")
        check_finite(y, "y")


def check_params(a: object, x: torch.Tensor) -> torch.Tensor:
    """A parameter vector ``a`` of shape (k,) and the dtype of the design matrix ``x`` (n, k)."""
    check_float_tensor(a, "a")
    k = x.shape[1] if x.dim() == 2 else None
    if a.dim() != 1 or (k is not None and a.shape[0] != k):
        raise SgdlabError(f"a must have shape ({k},), one coefficient per column of x, "
                          f"got {tuple(a.shape)}")
    _check_same_dtype(x, "x", a, "a")
    return a
