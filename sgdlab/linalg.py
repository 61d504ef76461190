"""The "why" behind the learning rate: closed-form least squares and the curvature of the MSE.

For ``L(a) = (1/n)‖X a − y‖²`` the gradient is ``(2/n) Xᵀ(X a − y)`` and the Hessian is the
constant matrix ``H = (2/n) XᵀX``. Full-batch gradient descent ``a ← a − lr·∇L`` multiplies the
error along each eigenvector of ``H`` by ``(1 − lr·λ)``, so it converges iff
``0 < lr < 2/λmax``. The fastest fixed step is ``2/(λmax + λmin)``.

Everything here is computed in float64 and returned as Python floats or tensors of x's dtype.
"""

from __future__ import annotations

import torch

from sgdlab.checks import check_fraction, check_matrix, check_xy
from sgdlab.errors import SgdlabError


def least_squares(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The minimiser ``a* = argminₐ ‖X a − y‖²`` (solves the normal equations ``XᵀX a = Xᵀy``).

    When ``XᵀX`` is singular (fewer rows than columns, or a repeated column) many ``a`` reach
    the minimum; this returns the one of smallest length ``‖a‖``.
    """
    check_xy(x, y)
    sol = torch.linalg.lstsq(x.double(), y.double().unsqueeze(1), driver="gelsd").solution
    return sol.squeeze(1).to(x.dtype)


def hessian(x: torch.Tensor) -> torch.Tensor:
    """``H = (2/n) XᵀX``, the (constant) Hessian of the MSE of a linear model, in float64."""
    check_matrix(x)
    x64 = x.double()
    return (2.0 / x.shape[0]) * x64.T @ x64


def curvatures(x: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the Hessian, smallest first (float64, never below 0).

    ``H`` is positive semi-definite; rounding can give an eigenvalue like ``-1e-17`` for a
    singular ``XᵀX``, which is clipped to 0.
    """
    return torch.linalg.eigvalsh(hessian(x)).clamp(min=0.0)


def _curved(x: torch.Tensor) -> torch.Tensor:
    """The curvatures, refusing a flat loss (x all zeros), where no learning rate is special."""
    lam = curvatures(x)
    if lam[-1].item() == 0.0:
        raise SgdlabError("x is all zeros, so the loss is flat (every curvature is 0): any "
                          "learning rate is stable and none makes progress; check the data")
    return lam


def max_stable_lr(x: torch.Tensor, momentum: float = 0.0) -> float:
    """Largest learning rate for which full-batch GD converges: ``2/λmax``.

    With heavy-ball momentum ``β`` (``0 ≤ β < 1``) the bound is ``2(1+β)/λmax``.
    """
    momentum = check_fraction(momentum, "momentum", hint="0.9 is the usual choice")
    return 2.0 * (1.0 + momentum) / _curved(x)[-1].item()


def optimal_lr(x: torch.Tensor) -> float:
    """The fixed step with the fastest worst-case convergence, ``2/(λmax + λmin)``."""
    lam = _curved(x)
    return 2.0 / (lam[-1] + lam[0]).item()


def condition_number(x: torch.Tensor) -> float:
    """``κ = λmax/λmin``; GD contracts the error by ``(κ−1)/(κ+1)`` per step at best.

    ``inf`` when ``λmin = 0`` (a direction with no curvature, e.g. a repeated column).
    """
    lam = _curved(x)
    return (lam[-1] / lam[0]).item()
