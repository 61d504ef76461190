"""The hand-written optimizer, from lesson 3's ``update()`` to a drop-in ``torch.optim`` SGD.

Plain SGD moves every parameter against its gradient::

    p ← p − lr · ∇p L

With momentum ``μ``, dampening ``d``, weight decay ``λ`` and optionally Nesterov (the same
semantics as ``torch.optim.SGD``)::

    g ← ∇p L + λ·p
    v ← g                        on the first step
    v ← μ·v + (1 − d)·g          afterwards
    g ← g + μ·v   (Nesterov)   or   g ← v
    p ← p − lr · g
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch

from sgdlab.errors import SgdlabError, check_lr
from sgdlab.losses import mse
from sgdlab.models import linear


def _check_leaf(name: str, a: torch.Tensor) -> None:
    if not a.requires_grad:
        raise SgdlabError(f"{name} does not track gradients; create it with "
                          f"requires_grad=True or call {name}.requires_grad_()")
    if not a.is_leaf:
        raise SgdlabError(f"{name} is the result of a computation, not a leaf parameter; "
                          f"make it with torch.tensor(..., requires_grad=True) or nn.Parameter")


def update(
    x: torch.Tensor,
    y: torch.Tensor,
    a: torch.Tensor,
    lr: float,
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = linear,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = mse,
) -> float:
    """One gradient-descent step on the leaf tensor ``a``, exactly as in the lecture.

    Predict ``ŷ = model(x, a)``, compute ``L = loss_fn(ŷ, y)``, back-propagate, then (without
    tracking gradients) ``a ← a − lr·∇a L`` in place and zero the gradient.

    Returns:
        The loss *before* the step, as a Python float.
    """
    _check_leaf("a", a)
    y_hat = model(x, a)
    loss = loss_fn(y_hat, y)
    loss.backward()
    with torch.no_grad():
        a.sub_(lr * a.grad)
        a.grad.zero_()
    return loss.item()


def sgd_step(params: Iterable[torch.Tensor], lr: float) -> None:
    """``p ← p − lr·p.grad`` in place for every parameter with a gradient, then zero it."""
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            p.sub_(lr * p.grad)
            p.grad.zero_()


def momentum_step(params: Sequence[torch.Tensor], velocities: Sequence[torch.Tensor],
                  lr: float, beta: float) -> None:
    """Heavy-ball momentum as in ``torch.optim.SGD`` (dampening 0), in place.

    ``v ← β·v + ∇p L``, then ``p ← p − lr·v``; gradients are zeroed afterwards. Start the
    velocities at zero (``torch.zeros_like(p)``).
    """
    with torch.no_grad():
        for p, v in zip(params, velocities, strict=True):
            if p.grad is None:
                continue
            v.mul_(beta).add_(p.grad)
            p.sub_(lr * v)
            p.grad.zero_()


class SGD(torch.optim.Optimizer):
    """Stochastic gradient descent with momentum, dampening, weight decay and Nesterov.

    A drop-in ``torch.optim.Optimizer``: param groups, ``state_dict``/``load_state_dict``,
    ``zero_grad`` and torch's learning-rate schedulers all work. Its numbers are those of
    ``torch.optim.SGD`` (see the module docstring for the update rule), and it keeps its
    velocity under the same state key (``"momentum_buffer"``), so state dicts are interchangeable.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate.
        momentum: ``μ``, 0 for plain SGD.
        dampening: ``d``, how much of the new gradient is *left out* of the velocity.
        weight_decay: ``λ``, adds ``λ·p`` to the gradient (L2 regularisation).
        nesterov: look ahead along the velocity (needs ``momentum > 0`` and ``dampening = 0``).
        foreach: ``True`` updates all tensors of a device and dtype with a few batched
            ``torch._foreach_*`` calls (fast); ``False`` loops over the parameters one by one
            (readable); ``None`` (default) picks ``True``. Both give the same numbers.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *,
                 foreach: bool | None = None) -> None:
        check_lr(lr)
        if momentum < 0:
            raise SgdlabError(f"momentum must be >= 0, got {momentum}; 0.9 is a common choice")
        if weight_decay < 0:
            raise SgdlabError(f"weight decay must be >= 0, got {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise SgdlabError("Nesterov momentum needs momentum > 0 and dampening = 0")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, foreach=foreach)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("foreach", None)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Take one step for every parameter that has a gradient.

        ``closure``, if given, re-evaluates the model and returns the loss.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if any(p.grad.is_sparse for p in params):
                raise SgdlabError("sgdlab.SGD does not handle sparse gradients; use dense "
                                  "embeddings or torch.optim.SGD")
            if group["foreach"] is False:
                self._step_one_by_one(group, params)
            else:
                for same_kind in _group_by_device_and_dtype(params):
                    self._step_foreach(group, same_kind)
        return loss

    def _step_one_by_one(self, group: dict, params: list[torch.Tensor]) -> None:
        """The readable path: the update rule, one parameter at a time."""
        lr, mu, damp = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]
        for p in params:
            g = p.grad
            if wd != 0:
                g = g.add(p, alpha=wd)                      # g + λ·p
            if mu != 0:
                state = self.state[p]
                v = state.get("momentum_buffer")
                if v is None:
                    v = state["momentum_buffer"] = g.clone().detach()
                else:
                    v.mul_(mu).add_(g, alpha=1 - damp)      # v ← μ·v + (1 − d)·g
                g = g.add(v, alpha=mu) if nesterov else v
            p.add_(g, alpha=-lr)                            # p ← p − lr·g

    def _step_foreach(self, group: dict, params: list[torch.Tensor]) -> None:
        """The fast path: the same arithmetic on whole lists of tensors at once."""
        lr, mu, damp = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]
        grads = [p.grad for p in params]
        if wd != 0:
            grads = torch._foreach_add(grads, params, alpha=wd)
        if mu != 0:
            states = [self.state[p] for p in params]
            velocities = [s.get("momentum_buffer") for s in states]
            if all(v is not None for v in velocities):
                torch._foreach_mul_(velocities, mu)
                torch._foreach_add_(velocities, grads, alpha=1 - damp)
            else:
                for i, (s, v, g) in enumerate(zip(states, velocities, grads, strict=True)):
                    if v is None:
                        velocities[i] = s["momentum_buffer"] = g.clone().detach()
                    else:
                        v.mul_(mu).add_(g, alpha=1 - damp)
            grads = torch._foreach_add(grads, velocities, alpha=mu) if nesterov else velocities
        torch._foreach_add_(params, grads, alpha=-lr)


def _group_by_device_and_dtype(params: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """Split parameters into lists that one ``_foreach`` kernel can handle together."""
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for p in params:
        groups.setdefault((p.device, p.dtype), []).append(p)
    return list(groups.values())
