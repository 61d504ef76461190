"""The shared checks of sgdlab.checks: what each accepts, what it refuses and how it says so."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import sgdlab
from sgdlab.checks import (
    DEFAULT_SEED,
    OnDivergence,
    check_choice,
    check_fraction,
    check_lr,
    check_number,
    check_params,
    check_whole_number,
    check_xy,
)
from sgdlab.errors import SgdlabError

CORE = Path(sgdlab.__file__).parent


@given(st.floats(min_value=1e-300, max_value=1e300) | st.integers(1, 10**6))
def test_check_lr_returns_every_positive_number_as_a_float(lr):
    result = check_lr(lr)
    assert type(result) is float and result == lr


not_learning_rates = [math.nan, math.inf, -math.inf, -0.1, 0.0, 0, True, False,
                      np.float32(0.1), np.float16(0.1), torch.tensor(0.1),
                      torch.tensor([0.1]), "0.1", None, [0.1]]


@pytest.mark.parametrize("lr", not_learning_rates, ids=repr)
def test_check_lr_refuses_what_is_not_a_positive_python_number(lr):
    with pytest.raises(SgdlabError, match=r"learning rate must be a positive number.*got lr="):
        check_lr(lr)


def test_check_lr_messages_say_what_to_do():
    with pytest.raises(SgdlabError, match=r"got max_lr=nan .*the lecture starts with lr=0.1"):
        check_lr(math.nan, "max_lr")
    with pytest.raises(SgdlabError, match="uphill"):
        check_lr(-1.0)
    with pytest.raises(SgdlabError, match=r"float32\).*convert it with float\(lr\)"):
        check_lr(np.float32(0.1))
    with pytest.raises(SgdlabError, match=r"torch.Tensor\).*float\(lr\)"):
        check_lr(torch.tensor(0.1))
    assert check_lr(np.float64(0.25)) == 0.25  # a float subclass is a Python float


@given(st.integers(0, 10**9), st.integers(0, 10))
def test_check_whole_number_accepts_ints_at_or_above_the_minimum(value, minimum):
    if value >= minimum:
        assert check_whole_number(value, "n", minimum) == value
    else:
        with pytest.raises(SgdlabError, match=f"n must be a whole number >= {minimum}, got"):
            check_whole_number(value, "n", minimum)


def test_check_whole_number_refuses_bools_floats_and_strings():
    assert type(check_whole_number(np.int64(3), "epochs")) is int
    for value, fragment in [(True, "got True"), (3.0, "got 3.0; write 3"), (2.5, "got 2.5"),
                            ("3", "got '3'"), (None, "got None"),
                            (torch.tensor(3), r"got tensor\(3\) \(a torch.Tensor\)")]:
        with pytest.raises(SgdlabError, match=f"epochs must be a whole number >= 1, {fragment}"):
            check_whole_number(value, "epochs", minimum=1)
    with pytest.raises(SgdlabError, match="got -1; the lecture trains for 4$"):
        check_whole_number(-1, "epochs", hint="the lecture trains for 4")


def test_check_number_bounds_and_kinds():
    assert check_number(3, "x") == 3.0 and type(check_number(3, "x")) is float
    assert check_number(np.float32(0.5), "x", minimum=0, maximum=1) == 0.5
    cases = [
        (dict(value=-1.0, minimum=0.0), r"wd must be a finite number >= 0, got -1.0"),
        (dict(value=2.0, minimum=0.0, maximum=1.0), r">= 0 and <= 1, got 2.0"),
        (dict(value=math.nan), "a finite number, got nan"),
        (dict(value=math.inf, minimum=0.0), "got inf"),
        (dict(value=True), "got True"),
        (dict(value="1"), "got '1'"),
        (dict(value=0.0, positive=True), "wd must be a positive number, got 0.0"),
    ]
    for kwargs, fragment in cases:
        with pytest.raises(SgdlabError, match=fragment):
            check_number(name="wd", **kwargs)
    with pytest.raises(SgdlabError, match="; 1e-4 is typical$"):
        check_number(-1.0, "wd", minimum=0.0, hint="1e-4 is typical")


@pytest.mark.parametrize("zero, one, inside, outside, shown", [
    (True, False, [0.0, 0.5, 0.999], [1.0, -0.1], "[0, 1)"),
    (True, True, [0.0, 1.0], [1.01, -1e-9], "[0, 1]"),
    (False, False, [1e-9, 0.5], [0.0, 1.0], "(0, 1)"),
    (False, True, [1.0], [0.0], "(0, 1]"),
])
def test_check_fraction_ends(zero, one, inside, outside, shown):
    for value in inside:
        assert check_fraction(value, "p", zero=zero, one=one) == value
    for value in [*outside, math.nan, True, "0.5"]:
        with pytest.raises(SgdlabError, match=re.escape(f"p must be a number in {shown}, got")):
            check_fraction(value, "p", zero=zero, one=one)


def test_check_choice_names_the_options_and_guesses_a_typo():
    assert check_choice("stop", "on_divergence", get_args(OnDivergence)) == "stop"
    with pytest.raises(SgdlabError, match=r"one of 'raise', 'stop', got 'stpo'; did you mean "
                                          r"'stop'\?"):
        check_choice("stpo", "on_divergence", get_args(OnDivergence))
    with pytest.raises(SgdlabError, match=r"got 3$"):
        check_choice(3, "noise", ("uniform", "none"))


def test_check_xy_and_check_params():
    x, y = sgdlab.make_linear_data(n=5)
    check_xy(x, y)
    assert check_params(torch.zeros(2), x).shape == (2,)
    nan_y = y.clone()
    nan_y[0] = math.nan
    check_xy(x, nan_y, finite=False)  # shapes and dtypes only
    cases = [
        ((x, nan_y), "y contains 1 NaN/inf value"),
        ((x[:, 0], y), "x must be a matrix"),
        ((x, y[:, None]), "y must be a vector"),
        ((x[:0], y[:0]), "the data is empty"),
        ((x, y[:3]), "x has 5 rows but y has 3"),
        ((x.long(), y), "x has integer dtype torch.int64"),
        ((x, y.double()), "x is torch.float32 but y is torch.float64"),
        ((x.numpy(), y), "x must be a torch.Tensor, got ndarray"),
    ]
    for args, fragment in cases:
        with pytest.raises(SgdlabError, match=fragment):
            check_xy(*args)
    with pytest.raises(SgdlabError, match=r"a must have shape \(2,\)"):
        check_params(torch.zeros(2, 1), x)


@given(st.integers(1, 8), st.integers(1, 4), st.sampled_from([torch.float32, torch.float64]))
def test_check_xy_accepts_every_finite_float_problem(n, k, dtype):
    g = torch.Generator().manual_seed(n * 10 + k)
    x = torch.randn(n, k, generator=g, dtype=dtype)
    check_xy(x, torch.randn(n, generator=g, dtype=dtype))
    check_params(torch.zeros(k, dtype=dtype), x)


def test_shared_constants():
    assert DEFAULT_SEED == 42
    assert get_args(OnDivergence) == ("raise", "stop")
    first = sgdlab.make_generator().initial_seed()
    assert first == DEFAULT_SEED == sgdlab.make_generator(seed=None).initial_seed()


def test_the_core_defines_each_check_and_constant_once():
    """Only sgdlab/checks.py defines them in the core; the others import it."""
    pattern = re.compile(r"^(DEFAULT_SEED|OnDivergence)\s*=|^def (check_lr|check_float|"
                         r"check_finite|check_xy|check_params|_check_steps)\(", re.MULTILINE)
    for path in sorted(CORE.glob("*.py")):
        if path.name != "checks.py":
            assert not pattern.search(path.read_text("utf-8")), f"{path.name} has its own copy"

