"""Loss functions and metrics, with the math they compute."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from sgdlab.checks import check_float_tensor, check_fraction, check_params, check_xy
from sgdlab.errors import SgdlabError


def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error ``L = (1/n) Σᵢ (ŷᵢ − yᵢ)²`` as a 0-d tensor."""
    check_float_tensor(y_hat, "y_hat")
    check_float_tensor(y, "y")
    if y_hat.shape != y.shape:
        raise SgdlabError(
            f"predictions have shape {tuple(y_hat.shape)} but targets have {tuple(y.shape)}; "
            f"a (n, 1) prediction against an (n,) target would broadcast to (n, n) — "
            f"flatten one of them"
        )
    if y.numel() == 0:
        raise SgdlabError("the mse of zero predictions is undefined (a mean of nothing); "
                          "pass at least one point")
    return ((y_hat - y) ** 2).mean()


def mse_grad(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Analytic gradient of ``mse(x @ a, y)`` with respect to ``a``.

    ``∇ₐ L = (2/n) Xᵀ (X a − y)``, a vector of shape (k,).

    ``y`` must be a vector of shape (n,): a column ``y`` of shape (n, 1) is refused, because
    ``x @ a − y`` would broadcast to an (n, n) matrix and the "gradient" would be (k, n).
    """
    check_xy(x, y)
    check_params(a, x)
    n = x.shape[0]
    return (2.0 / n) * (x.T @ (x @ a - y))


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Probabilities over the last dimension: ``pⱼ = exp(zⱼ − m) / Σₖ exp(zₖ − m)``.

    ``m = maxₖ zₖ`` of each row. Subtracting it changes nothing mathematically (the factor
    ``exp(−m)`` cancels) but keeps every ``exp`` at most 1, so logits of ±1000 give exact,
    finite probabilities instead of ``inf / inf = nan``.
    """
    check_float_tensor(logits, "logits")
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise SgdlabError(f"softmax needs at least one logit along the last dimension, got "
                          f"shape {tuple(logits.shape)}; pass a vector or an (n, classes) matrix")
    shifted = logits - logits.detach().amax(dim=-1, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=-1, keepdim=True)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean negative log-probability of the target class, as a 0-d tensor.

    ``L = (1/n) Σᵢ (log Σₖ exp zᵢₖ − zᵢ,tᵢ)``, with the log-sum-exp computed stably as
    ``mᵢ + log Σₖ exp(zᵢₖ − mᵢ)`` where ``mᵢ = maxₖ zᵢₖ``. Its gradient with respect to the
    logits is ``(softmax(z) − onehot(t)) / n``. Equals ``torch.nn.functional.cross_entropy``.
    """
    _check_classification(logits, targets, "cross_entropy")
    check_float_tensor(logits, "logits")
    if logits.shape[0] == 0 or logits.shape[1] == 0:
        raise SgdlabError(f"cross_entropy needs at least one row and one class, got logits of "
                          f"shape {tuple(logits.shape)}")
    m = logits.detach().amax(dim=1, keepdim=True)
    log_sum_exp = (logits - m).exp().sum(dim=1).log() + m.squeeze(1)
    picked = logits.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return (log_sum_exp - picked).mean()


def _check_classification(logits: torch.Tensor, targets: torch.Tensor, what: str) -> None:
    if not isinstance(logits, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise SgdlabError(f"{what} needs two tensors, logits (n, classes) and targets (n,), "
                          f"got {type(logits).__name__} and {type(targets).__name__}")
    if logits.dim() != 2 or targets.dim() != 1 or logits.shape[0] != targets.shape[0]:
        raise SgdlabError(
            f"{what} needs logits of shape (n, classes) and targets of shape (n,), got "
            f"{tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise SgdlabError(f"targets must be class numbers 0, 1, …, an integer tensor, got "
                          f"dtype {targets.dtype}; convert with targets.long()")


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows whose largest output is the target class: ``mean(argmax(zᵢ) == tᵢ)``."""
    _check_classification(logits, targets, "accuracy")
    if logits.shape[0] == 0:
        raise SgdlabError("accuracy of zero predictions is undefined; pass at least one row")
    return (logits.argmax(dim=1) == targets).float().mean().item()


def error_rate(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """``1 − accuracy``: the fraction of rows the model gets wrong."""
    return 1.0 - accuracy(logits, targets)


class LabelSmoothingCrossEntropy:
    """Cross-entropy against softened targets (fastai's ``LabelSmoothingCrossEntropy``).

    Instead of asking for probability 1 on the labelled class, the target puts ``1 − ε`` there
    and spreads ``ε`` evenly over all ``K`` classes: ``q_c = (1 − ε)·[c = y] + ε/K``. The loss
    is the cross-entropy of the predicted ``p = softmax(logits)`` against ``q``::

        L = −Σ_c q_c·log p_c = (1 − ε)·(−log p_y) + ε·mean_c(−log p_c)

    averaged over the batch. The second term stops the logits growing without bound to make
    ``p_y`` exactly 1, so the model stays less over-confident on a small training set. With
    ``ε = 0`` it is plain cross-entropy.
    """

    def __init__(self, eps: float = 0.1) -> None:
        self.eps = check_fraction(eps, "label smoothing eps", hint="0.1 is usual")

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        # shapes and dtypes only: reading values here would stall a GPU every batch
        _check_classification(logits, targets, "LabelSmoothingCrossEntropy")
        log_p = F.log_softmax(logits, dim=1)
        nll = -log_p.gather(1, targets.unsqueeze(1)).squeeze(1)
        return ((1 - self.eps) * nll - self.eps * log_p.mean(dim=1)).mean()

    def __repr__(self) -> str:
        return f"LabelSmoothingCrossEntropy(eps={self.eps:g})"
