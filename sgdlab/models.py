"""The world's smallest network, ``y = x @ a``, and features that make it bend."""

from __future__ import annotations

import torch

from sgdlab.errors import SgdlabError


def linear(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Predict ``ŷ = x @ a`` for ``x`` of shape (n, k) and ``a`` of shape (k,)."""
    return x @ a


def polynomial_features(u: torch.Tensor, degree: int) -> torch.Tensor:
    """Columns ``[u^degree, ..., u^2, u, 1]`` so that a linear model fits a polynomial.

    The constant column comes last, like the lecture's column of ones.
    """
    if degree < 0:
        raise SgdlabError(f"degree must be >= 0, got {degree}")
    if u.dim() != 1:
        raise SgdlabError(f"u must be a vector of shape (n,), got {tuple(u.shape)}")
    return torch.stack([u**p for p in range(degree, -1, -1)], dim=1)
