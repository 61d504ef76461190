"""Hypothesis strategies for the exercises: small sizes, float64 tensors and whole problems.

Hypothesis shrinks a failing input towards zeros and small sizes, so the counter-example a
student sees is as simple as the property allows.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from hypothesis import strategies as st

small_floats = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False, allow_infinity=False,
                         allow_subnormal=False)
sizes = st.integers(min_value=1, max_value=6)
columns = st.integers(min_value=1, max_value=4)
learning_rates = st.floats(min_value=1e-3, max_value=1.0)
betas = st.floats(min_value=0.0, max_value=0.99)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
#: Parameter shapes from a scalar to a small matrix.
shapes = st.lists(st.integers(min_value=1, max_value=3), max_size=2).map(tuple)


@st.composite
def tensors(draw: st.DrawFn, shape: tuple[int, ...],
            elements: st.SearchStrategy[float] = small_floats) -> torch.Tensor:
    """float64 tensors of the given shape.

    A composite rather than ``.map(lambda ...)``: hypothesis shows a mapped value as the
    lambda's body applied to its input, so a counter-example read ``….reshape(shape)`` with
    ``shape`` undefined; a composite's value is shown as the tensor itself.
    """
    count = math.prod(shape)
    values = draw(st.lists(elements, min_size=count, max_size=count))
    return torch.tensor(values, dtype=torch.float64).reshape(shape)


def matrices(rows: st.SearchStrategy[int] = sizes, cols: st.SearchStrategy[int] = columns
             ) -> st.SearchStrategy[torch.Tensor]:
    """float64 matrices of a random shape (n, k)."""
    return st.tuples(rows, cols).flatmap(tensors)


class Problem(NamedTuple):
    """A regression problem: points ``x`` (n, k), targets ``y`` (n,), coefficients ``a`` (k,)."""

    x: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor


@st.composite
def problems(draw: st.DrawFn, rows: st.SearchStrategy[int] = sizes,
             cols: st.SearchStrategy[int] = columns) -> Problem:
    """Random ``x``, ``y`` and ``a`` of matching shapes."""
    n, k = draw(rows), draw(cols)
    return Problem(draw(tensors((n, k))), draw(tensors((n,))), draw(tensors((k,))))


@st.composite
def parameters(draw: st.DrawFn, max_count: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A list of ``(value, gradient)`` pairs of assorted shapes, as a model would have."""
    count = draw(st.integers(min_value=1, max_value=max_count))
    pairs = []
    for _ in range(count):
        shape = draw(shapes)
        pairs.append((draw(tensors(shape)), draw(tensors(shape))))
    return pairs


class Classification(NamedTuple):
    """Logits (n, classes) with no ties, targets (n,), and which rows are predicted right."""

    logits: torch.Tensor
    targets: torch.Tensor
    correct: list[bool]


@st.composite
def classifications(draw: st.DrawFn) -> Classification:
    """Logits whose largest entry is the target in exactly the rows marked ``correct``."""
    n = draw(sizes)
    classes = draw(st.integers(min_value=2, max_value=5))
    logits = draw(tensors((n, classes)))
    targets = draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n))
    correct = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    for i in range(n):
        wrong_by = 0 if correct[i] else draw(st.integers(1, classes - 1))
        winner = (targets[i] + wrong_by) % classes
        logits[i, winner] = logits[i].max() + 1.0
    return Classification(logits, torch.tensor(targets), correct)


def pairs() -> st.SearchStrategy[tuple[torch.Tensor, torch.Tensor]]:
    """Predictions and targets: two float64 vectors of the same random length."""
    return sizes.flatmap(lambda n: st.tuples(tensors((n,)), tensors((n,))))
