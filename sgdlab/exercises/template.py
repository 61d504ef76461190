"""My solutions to the sgdlab exercises.

Fill in one function at a time, replacing its ``raise NotImplementedError(...)``, then check it:

    sgdlab check 1 --impl THIS_FILE      # one exercise (1 to 14)
    sgdlab check all --impl THIS_FILE    # all of them

The checks are property tests: they try many small random inputs and, when one breaks your
function, show you the smallest such input they found. Keep the names and the arguments as
they are; the tests call the functions by these names. Inputs come as float64 tensors: keep
the dtype you are given.

Then your code trains the bear classifier:

    sgdlab bears train --impl THIS_FILE  # your momentum_step, cross_entropy, one_cycle_lr, ...

Functions that still raise NotImplementedError come from sgdlab meanwhile, with a note.
"""

from __future__ import annotations

from collections.abc import Sequence

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

    Use plain tensor arithmetic: no autograd (``backward()``, ``torch.autograd.grad``) here.
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


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Exercise 9: turn each row of logits into probabilities over the LAST dimension::

        pⱼ = exp(zⱼ − m) / Σₖ exp(zₖ − m),      m = maxₖ zₖ   (the row's largest logit)

    Subtracting ``m`` cancels out, but keeps ``exp`` from overflowing: logits of ±1000 must give
    finite probabilities. Every row sums to 1.
    """
    raise NotImplementedError("exercise 9: softmax(logits) is not written yet")


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Exercise 10: the classification loss, the batch MEAN of −log softmax at the target::

        L = (1/n) Σᵢ [ log Σⱼ exp(zᵢⱼ) − zᵢ,tᵢ ]

    ``logits`` (n, classes), ``targets`` class numbers (n,). Compute log Σ exp stably (shift by
    the row's maximum). Return a 0-d tensor; gradients must flow back to ``logits``.
    """
    raise NotImplementedError("exercise 10: cross_entropy(logits, targets) is not written yet")


def one_cycle_lr(pct: float, max_lr: float, div: float = 25.0, div_final: float = 1e5,
                 pct_start: float = 0.25) -> float:
    """Exercise 11: the one-cycle learning rate after a fraction ``pct`` of training (0 … 1).

    Warm up for the first ``pct_start`` from ``max_lr/div`` to ``max_lr``, then anneal down to
    ``max_lr/div_final``; both halves are cosine::

        cos_anneal(start, end, t) = end + (start − end) · (1 + cos(π·t)) / 2

    with ``t = pct/pct_start`` while warming up and ``t = (pct − pct_start)/(1 − pct_start)``
    after. Return a Python float.
    """
    raise NotImplementedError("exercise 11: one_cycle_lr(pct, max_lr, ...) is not written yet")


def smooth_losses(losses: Sequence[float], beta: float = 0.98) -> list[float]:
    """Exercise 12: the learning-rate finder's smoothed losses, a list of floats::

        avg_i = β·avg_{i−1} + (1 − β)·loss_i,    avg_{−1} = 0
        smoothed_i = avg_i / (1 − β^(i+1))       (the bias correction)
    """
    raise NotImplementedError("exercise 12: smooth_losses(losses, beta) is not written yet")


def suggest_lrs(lrs: Sequence[float], losses: Sequence[float],
                window: int = 1) -> tuple[float, float]:
    """Exercise 13: the finder's two suggestions ``(steepest, minimum_div_10)``.

    With ``w = max(1, min(window, len(lrs) − 1))`` the slope at ``i`` is
    ``(losses[i+w] − losses[i]) / (log lrs[i+w] − log lrs[i])``; ``steepest`` is
    ``lrs[i + w // 2]`` for the most negative slope (the first one on ties), and
    ``minimum_div_10`` is the learning rate of the lowest loss divided by 10.
    """
    raise NotImplementedError("exercise 13: suggest_lrs(lrs, losses, window) is not written yet")


def lrs_for_groups(lr: float | slice | Sequence[float], n_groups: int) -> list[float]:
    """Exercise 14: one learning rate per layer group (earliest layers first, head last).

    * a number: the same rate for every group;
    * ``slice(lo, hi)``: spread GEOMETRICALLY, ``lo · (hi/lo)^(i/(n−1))`` (just ``[hi]`` for one
      group);
    * ``slice(hi)``: ``hi/10`` for every group but the head, ``hi`` for the head;
    * a sequence: one rate per group, as given (as floats).
    """
    raise NotImplementedError("exercise 14: lrs_for_groups(lr, n_groups) is not written yet")
