"""Exercise 1: ``linear(x, a)`` predicts ``ŷ = x @ a``.

Oracle: a linear map is fixed by what it does to the unit vectors (``linear(x, eⱼ)`` must be
column ``j`` of ``x``) together with linearity in ``a``; no test restates ``x @ a``.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given

from exercises.helpers import assert_close, exercise_settings, leaf
from exercises.strategies import matrices, problems, sizes, small_floats

pytestmark = pytest.mark.ex1


@exercise_settings
@given(problem=problems())
def test_linear_gives_one_prediction_per_row(impl, problem):
    x, _, a = problem
    y_hat = impl.linear(x, a)
    assert isinstance(y_hat, torch.Tensor), (
        f"linear must return a tensor, got {type(y_hat).__name__}")
    assert y_hat.shape == (x.shape[0],), (
        f"linear must give one prediction per row of x: x has shape {tuple(x.shape)}, so the "
        f"result must have shape ({x.shape[0]},), got {tuple(y_hat.shape)}")
    assert y_hat.dtype == x.dtype, (
        f"linear must keep the dtype of its inputs: {x.dtype} in, {x.dtype} out, got "
        f"{y_hat.dtype} (a tensor you made yourself needs dtype=x.dtype)")


@exercise_settings
@given(x=matrices())
def test_linear_of_a_unit_vector_picks_a_column(impl, x):
    for j in range(x.shape[1]):
        unit = torch.zeros(x.shape[1], dtype=x.dtype)
        unit[j] = 1.0
        assert_close(impl.linear(x, unit), x[:, j],
                     f"with a = the unit vector e{j} (1 at position {j}, 0 elsewhere), every "
                     f"prediction must be the row's entry in column {j}: linear(x, e{j}) == "
                     f"x[:, {j}]. Every column of x counts, not only the first two")


@exercise_settings
@given(problem=problems(), s=small_floats, t=small_floats)
def test_linear_is_linear_in_a(impl, problem, s, t):
    x, _, a = problem
    b = torch.flip(a, dims=[0]) - 1.0
    combined = impl.linear(x, s * a + t * b)
    expected = s * impl.linear(x, a) + t * impl.linear(x, b)
    assert_close(combined, expected,
                 f"linear must be linear in a: linear(x, s*a + t*b) == s*linear(x, a) + "
                 f"t*linear(x, b) (here s={s}, t={t}); no constant may be added", tol=1e-6)


@exercise_settings
@given(problem=problems(rows=sizes.map(lambda n: n + 1)))
def test_linear_treats_rows_independently(impl, problem):
    x, _, a = problem
    order = torch.arange(x.shape[0]).flip(0)
    assert_close(impl.linear(x[order], a), impl.linear(x, a)[order],
                 "each prediction must depend on its own row only: reversing the rows of x "
                 "must reverse the predictions")


@exercise_settings
@given(problem=problems())
def test_gradients_flow_back_to_a(impl, problem):
    x, _, a = problem
    a = leaf(a)
    y_hat = impl.linear(x, a)
    assert isinstance(y_hat, torch.Tensor) and y_hat.requires_grad, (
        "autograd must be able to follow linear back to a: build the result from a with torch "
        "operations (no numpy, no .item(), no .detach(), no torch.tensor(...) of results)")
    y_hat.sum().backward()
    assert_close(a.grad, x.sum(dim=0),
                 "the gradient of sum(linear(x, a)) with respect to a must be the column sums "
                 "of x")
