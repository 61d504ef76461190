"""The world's smallest network, ``y = x @ a``, and features that make it bend."""

from __future__ import annotations

import torch

from sgdlab.checks import check_float_tensor, check_whole_number
from sgdlab.errors import SgdlabError


def linear(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Predict ``ŷ = x @ a`` for ``x`` of shape (n, k) and ``a`` of shape (k,)."""
    check_float_tensor(x, "x")
    check_float_tensor(a, "a")
    if x.dim() != 2 or a.dim() != 1 or x.shape[1] != a.shape[0] or x.dtype != a.dtype:
        raise SgdlabError(f"linear needs x of shape (n, k) and a of shape (k,) with one dtype, "
                          f"got x {tuple(x.shape)} {x.dtype} and a {tuple(a.shape)} {a.dtype}; "
                          f"a needs one coefficient per column of x")
    return x @ a


def polynomial_features(u: torch.Tensor, degree: int) -> torch.Tensor:
    """Columns ``[u^degree, ..., u^2, u, 1]`` so that a linear model fits a polynomial.

    The constant column comes last, like the lecture's column of ones.
    """
    degree = check_whole_number(degree, "degree", minimum=0, hint="degree 1 is a straight line")
    check_float_tensor(u, "u")
    if u.dim() != 1:
        raise SgdlabError(f"u must be a vector of shape (n,), got {tuple(u.shape)}")
    return torch.stack([u**p for p in range(degree, -1, -1)], dim=1)
