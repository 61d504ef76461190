"""Loss functions and metrics, with the math they compute."""

from __future__ import annotations

import torch

from sgdlab.errors import SgdlabError


def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error ``L = (1/n) Σᵢ (ŷᵢ − yᵢ)²`` as a 0-d tensor."""
    if y_hat.shape != y.shape:
        raise SgdlabError(
            f"predictions have shape {tuple(y_hat.shape)} but targets have {tuple(y.shape)}; "
            f"a (n, 1) prediction against an (n,) target would broadcast to (n, n) — "
            f"flatten one of them"
        )
    return ((y_hat - y) ** 2).mean()


def mse_grad(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Analytic gradient of ``mse(x @ a, y)`` with respect to ``a``.

    ``∇ₐ L = (2/n) Xᵀ (X a − y)``, a vector of shape (k,).
    """
    n = x.shape[0]
    return (2.0 / n) * (x.T @ (x @ a - y))


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows whose largest output is the target class: ``mean(argmax(zᵢ) == tᵢ)``."""
    if logits.dim() != 2 or targets.dim() != 1 or logits.shape[0] != targets.shape[0]:
        raise SgdlabError(
            f"accuracy needs logits of shape (n, classes) and targets of shape (n,), got "
            f"{tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    if logits.shape[0] == 0:
        raise SgdlabError("accuracy of zero predictions is undefined; pass at least one row")
    return (logits.argmax(dim=1) == targets).float().mean().item()


def error_rate(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """``1 − accuracy``: the fraction of rows the model gets wrong."""
    return 1.0 - accuracy(logits, targets)
