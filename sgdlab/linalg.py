"""The "why" behind the learning rate: closed-form least squares and the curvature of the MSE.

For ``L(a) = (1/n)‖X a − y‖²`` the gradient is ``(2/n) Xᵀ(X a − y)`` and the Hessian is the
constant matrix ``H = (2/n) XᵀX``. Full-batch gradient descent ``a ← a − lr·∇L`` multiplies the
error along each eigenvector of ``H`` by ``(1 − lr·λ)``, so it converges iff
``0 < lr < 2/λmax``. The fastest fixed step is ``2/(λmax + λmin)``.

Everything here is computed in float64 and returned as Python floats or float32 tensors.
"""

from __future__ import annotations

import torch

from sgdlab.errors import SgdlabError, check_float


def least_squares(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The minimiser ``a* = argminₐ ‖X a − y‖²`` (solves the normal equations ``XᵀX a = Xᵀy``)."""
    check_float("x", x)
    check_float("y", y)
    sol = torch.linalg.lstsq(x.double(), y.double().unsqueeze(1), driver="gelsd").solution
    return sol.squeeze(1).to(x.dtype)


def hessian(x: torch.Tensor) -> torch.Tensor:
    """``H = (2/n) XᵀX``, the (constant) Hessian of the MSE of a linear model, in float64."""
    check_float("x", x)
    if x.dim() != 2 or x.shape[0] == 0:
        raise SgdlabError(f"x must be a non-empty (n, k) matrix, got {tuple(x.shape)}")
    x64 = x.double()
    return (2.0 / x.shape[0]) * x64.T @ x64


def curvatures(x: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the Hessian, smallest first (float64)."""
    return torch.linalg.eigvalsh(hessian(x))


def max_stable_lr(x: torch.Tensor, momentum: float = 0.0) -> float:
    """Largest learning rate for which full-batch GD converges: ``2/λmax``.

    With heavy-ball momentum ``β`` the bound is ``2(1+β)/λmax``.
    """
    return 2.0 * (1.0 + momentum) / curvatures(x)[-1].item()


def optimal_lr(x: torch.Tensor) -> float:
    """The fixed step with the fastest worst-case convergence, ``2/(λmax + λmin)``."""
    lam = curvatures(x)
    return 2.0 / (lam[-1] + lam[0]).item()


def condition_number(x: torch.Tensor) -> float:
    """``κ = λmax/λmin``; GD contracts the error by ``(κ−1)/(κ+1)`` per step at best."""
    lam = curvatures(x)
    return (lam[-1] / lam[0]).item()
