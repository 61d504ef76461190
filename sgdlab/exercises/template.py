"""My solutions to the sgdlab exercises.

Fill in one function at a time, replacing its ``raise NotImplementedError(...)``, then check it:

    sgdlab check 1 --impl THIS_FILE      # one exercise (1 to 8)
    sgdlab check all --impl THIS_FILE    # all of them

The checks are property tests: they try many small random inputs and, when one breaks your
function, show you the smallest such input they found. Keep the names and the arguments as
they are; the tests call the functions by these names. Inputs come as float64 tensors: keep
the dtype you are given.
"""

from __future__ import annotations

import torch


def linear(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Exercise 1: the linear model, the world's smallest network.

    For ``x`` of shape (n, k) and ``a`` of shape (k,) return the predictions ``ŷ`` of shape (n,)::

        ŷᵢ = Σⱼ xᵢⱼ · aⱼ        that is,   ŷ = x @ a

    With the lecture's ``x = [u, 1]`` this is the line ``ŷ = a₁·u + a₂``. Gradients must be able
    to flow back to ``a``.
    """
    raise NotImplementedError("exercise 1: linear(x, a) is not written yet")


def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Exercise 2: mean squared error of predictions ``y_hat`` against targets ``y`` (both (n,)).

    ::

        L = (1/n) Σᵢ (ŷᵢ − yᵢ)²

    Return a 0-d tensor (not a Python float) so that ``L.backward()`` works.
    """
    raise NotImplementedError("exercise 2: mse(y_hat, y) is not written yet")


def mse_grad(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Exercise 3: the gradient of ``mse(linear(x, a), y)`` with respect to ``a``, by hand.

    Differentiate ``L(a) = (1/n) Σᵢ (xᵢ·a − yᵢ)²`` to get a vector of shape (k,)::

        ∂L/∂aⱼ = (2/n) Σᵢ (xᵢ·a − yᵢ) · xᵢⱼ        that is,   ∇ₐL = (2/n) xᵀ (x a − y)
    """
    raise NotImplementedError("exercise 3: mse_grad(x, y, a) is not written yet")


def update(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, lr: float) -> float:
    """Exercise 4: one step of gradient descent on ``a``, with autograd (lesson 3's ``update``).

    ``a`` is a leaf tensor with ``requires_grad=True``. Predict, compute the loss, call
    ``backward()``, then without tracking gradients move ``a`` in place and reset its gradient::

        L = mse(linear(x, a), y)
        a ← a − lr · ∇ₐL        (in place: the caller's tensor changes)
        a.grad ← 0

    Return the loss *before* the step as a Python float.
    """
    raise NotImplementedError("exercise 4: update(x, y, a, lr) is not written yet")


def sgd_step(params, lr: float) -> None:
    """Exercise 5: one SGD step for every parameter ``p`` in ``params`` that has a gradient.

    In place, for each ``p`` whose ``p.grad`` is not None::

        p ← p − lr · p.grad
        p.grad ← 0          (or None)

    ``params`` may be a list or a generator such as ``model.parameters()``. Return nothing.
    """
    raise NotImplementedError("exercise 5: sgd_step(params, lr) is not written yet")


def momentum_step(params, velocities, lr: float, beta: float) -> None:
    """Exercise 6: one step of SGD with momentum (heavy ball), like ``torch.optim.SGD``.

    ``velocities[i]`` belongs to ``params[i]``; they start as ``torch.zeros_like(p)``. In place,
    for each pair::

        v ← β · v + p.grad
        p ← p − lr · v
        p.grad ← 0          (or None)

    Return nothing.
    """
    raise NotImplementedError("exercise 6: momentum_step(params, velocities, lr, beta) "
                              "is not written yet")


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Exercise 7: one epoch of shuffled mini-batches of the row indices ``0 … n−1``.

    Shuffle ``range(n)`` into a random order drawn from ``generator`` (not from torch's global
    random state), then cut it into consecutive pieces of ``batch_size``; the last piece holds
    the leftovers when ``batch_size`` does not divide ``n``. Return a list of 1-D integer
    tensors. Every index appears exactly once; the same generator state gives the same batches.
    """
    raise NotImplementedError("exercise 7: minibatches(n, batch_size, generator) "
                              "is not written yet")


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Exercise 8a: the fraction of rows whose largest output is the target class.

    ``logits`` has shape (n, classes), ``targets`` holds class numbers, shape (n,)::

        accuracy = (1/n) Σᵢ [ argmaxⱼ logitsᵢⱼ = targetsᵢ ]

    Return a Python float between 0 and 1.
    """
    raise NotImplementedError("exercise 8: accuracy(logits, targets) is not written yet")


def error_rate(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Exercise 8b: the fraction of rows the model gets wrong, ``1 − accuracy``, as a float."""
    raise NotImplementedError("exercise 8: error_rate(logits, targets) is not written yet")
