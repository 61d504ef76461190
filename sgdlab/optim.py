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

import math
from collections.abc import Callable, Iterable, Sequence

import torch

from sgdlab.checks import (
    check_float_tensor,
    check_fraction,
    check_lr,
    check_number,
    check_params,
    check_xy,
)
from sgdlab.errors import SgdlabError
from sgdlab.losses import mse
from sgdlab.models import linear


def _check_leaf(name: str, a: torch.Tensor) -> None:
    check_float_tensor(a, name)
    if not a.requires_grad:
        raise SgdlabError(f"{name} does not track gradients; create it with "
                          f"requires_grad=True or call {name}.requires_grad_()")
    if not a.is_leaf:
        raise SgdlabError(f"{name} is the result of a computation, not a leaf parameter; "
                          f"make it with torch.tensor(..., requires_grad=True) or nn.Parameter")


def _tensor_list(tensors: Iterable[torch.Tensor], name: str) -> list[torch.Tensor]:
    """``list(tensors)`` (a generator such as ``model.parameters()`` is read once), checked."""
    if isinstance(tensors, torch.Tensor):
        raise SgdlabError(f"{name} must be a list of tensors, got a single tensor (looping over "
                          f"it would give its rows); wrap it in a list: [{name[0]}]")
    try:
        items = list(tensors)
    except TypeError as err:
        raise SgdlabError(f"{name} must be a list of tensors such as model.parameters(), got "
                          f"{type(tensors).__name__}") from err
    for i, t in enumerate(items):
        if not isinstance(t, torch.Tensor):
            raise SgdlabError(f"{name}[{i}] is a {type(t).__name__}, not a tensor; pass "
                              f"model.parameters() or a list of tensors")
    return items


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

    Refused with a :class:`~sgdlab.errors.SgdlabError` before anything moves: an ``lr`` that
    is not a positive finite Python number (see :func:`~sgdlab.checks.check_lr`), an ``a``
    that is not a float leaf tracking gradients, and, for the default linear model, ``x``/``y``
    that are not an (n, k) matrix and an (n,) vector, an ``a`` without k entries, or tensors
    of different dtypes or devices. Values are not read (no NaN check), so a step costs what
    the lecture's four lines cost.

    Returns:
        The loss *before* the step, as a Python float.
    """
    lr = check_lr(lr)
    _check_leaf("a", a)
    if model is linear:
        check_xy(x, y, finite=False)
        check_params(a, x)
    y_hat = model(x, a)
    loss = loss_fn(y_hat, y)
    loss.backward()
    with torch.no_grad():
        a.sub_(lr * a.grad)
        a.grad.zero_()
    return loss.item()


def sgd_step(params: Iterable[torch.Tensor], lr: float) -> None:
    """``p ← p − lr·p.grad`` in place for every parameter with a gradient, then zero it."""
    lr = check_lr(lr)
    params = _tensor_list(params, "params")
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
    velocities at zero (``torch.zeros_like(p)``); ``0 ≤ β < 1``.
    """
    lr = check_lr(lr)
    beta = check_fraction(beta, "beta", hint="0.9 is the usual momentum")
    params = _tensor_list(params, "params")
    velocities = _tensor_list(velocities, "velocities")
    if len(params) != len(velocities):
        raise SgdlabError(f"got {len(params)} parameters but {len(velocities)} velocities; "
                          f"make one per parameter: [torch.zeros_like(p) for p in params]")
    for i, (p, v) in enumerate(zip(params, velocities, strict=True)):
        if v.shape != p.shape or v.dtype != p.dtype or v.device != p.device:
            raise SgdlabError(f"velocities[{i}] is {tuple(v.shape)} {v.dtype} on {v.device} "
                              f"but its parameter is {tuple(p.shape)} {p.dtype} on {p.device}; "
                              f"start it as torch.zeros_like(p)")
    with torch.no_grad():
        for p, v in zip(params, velocities, strict=True):
            if p.grad is None:
                continue
            v.mul_(beta).add_(p.grad)
            p.add_(v, alpha=-lr)   # p ← p − lr·v, rounded as SGD.step rounds it
            p.grad.zero_()


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise SgdlabError(f"{name} must be True or False, got {value!r}")
    return value


_OPTION_CHECKS: dict[str, Callable[[object], object]] = {
    "lr": check_lr,
    "momentum": lambda v: check_fraction(v, "momentum", hint="0.9 is a common choice"),
    "dampening": lambda v: check_fraction(v, "dampening", one=True,
                                          hint="0 (the default) keeps the whole gradient"),
    "weight_decay": lambda v: check_number(v, "weight_decay", minimum=0.0,
                                           hint="1e-4 is typical, 0 turns it off"),
    "nesterov": lambda v: _check_flag(v, "nesterov"),
    "foreach": lambda v: _check_flag(v, "foreach"),
}


def _checked_options(options: dict) -> dict:
    """SGD's settings, each checked (and numbers made Python floats)."""
    return {name: _OPTION_CHECKS[name](value) for name, value in options.items()}


class SGD(torch.optim.Optimizer):
    """Stochastic gradient descent with momentum, dampening, weight decay and Nesterov.

    A drop-in ``torch.optim.Optimizer``: param groups, ``state_dict``/``load_state_dict``,
    ``zero_grad`` and torch's learning-rate schedulers all work. Its numbers are those of
    ``torch.optim.SGD`` (see the module docstring for the update rule), and it keeps its
    velocity under the same state key (``"momentum_buffer"``), so state dicts are interchangeable.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate, a positive Python number.
        momentum: ``μ`` in ``[0, 1)``, 0 for plain SGD.
        dampening: ``d`` in ``[0, 1]``, how much of the new gradient is *left out* of the
            velocity.
        weight_decay: ``λ ≥ 0``, adds ``λ·p`` to the gradient (L2 regularisation).
        nesterov: look ahead along the velocity (needs ``momentum > 0`` and ``dampening = 0``).
        foreach: ``False`` (default) loops over the parameters one by one: the readable path,
            the update rule written out. ``True`` updates all tensors of a device and dtype with
            a few batched ``torch._foreach_*`` calls: the fast path, for a big model. Both give
            the same numbers, bit for bit (``benchmarks/optimizer.py`` measures the speed).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *,
                 foreach: bool = False) -> None:
        if isinstance(params, torch.Tensor):
            raise SgdlabError("params must be a list of tensors or param-group dicts, got a "
                              "single tensor; pass model.parameters() or [p]")
        defaults = _checked_options(dict(lr=lr, momentum=momentum, dampening=dampening,
                                         weight_decay=weight_decay, nesterov=nesterov,
                                         foreach=foreach))
        try:
            super().__init__(params, defaults)
        except (TypeError, ValueError) as err:
            if isinstance(err, SgdlabError):
                raise
            raise SgdlabError(f"SGD needs the parameters to train, e.g. "
                              f"SGD(model.parameters(), lr=0.1): {err}") from err

    def add_param_group(self, param_group: dict) -> None:
        """``torch.optim``'s, with the checks of ``__init__`` on a group's own settings."""
        if isinstance(param_group, dict):
            param_group = {**param_group, **_checked_options(
                {k: v for k, v in param_group.items() if k in _OPTION_CHECKS})}
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            self.param_groups.pop()
            raise SgdlabError("Nesterov momentum needs momentum > 0 and dampening = 0")

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("foreach", False)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Take one step for every parameter that has a gradient.

        ``closure``, if given, re-evaluates the model and returns the loss.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for i, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            _check_group(i, group, params)
            if not group["foreach"]:
                self._step_one_by_one(group, params)
            else:
                for same_kind in _group_by_device_and_dtype(params):
                    self._step_foreach(group, same_kind)
        return loss

    def _step_one_by_one(self, group: dict, params: list[torch.Tensor]) -> None:
        """The readable path (the default): the update rule, one parameter at a time."""
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
        """The fast path (``foreach=True``): the same arithmetic on whole lists of tensors."""
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


def _check_group(i: int, group: dict, params: list[torch.Tensor]) -> None:
    """What a schedule or a caller may have put into a param group since ``__init__``."""
    lr = group["lr"]
    if isinstance(lr, (int, float)) and not 0 <= lr < math.inf:
        raise SgdlabError(f"param group {i} has learning rate {lr!r}; a schedule set it to a "
                          f"value SGD cannot step with, use a finite lr >= 0")
    if any(p.grad.is_sparse for p in params):
        raise SgdlabError("sgdlab.SGD does not handle sparse gradients; use dense "
                          "embeddings or torch.optim.SGD")


def _group_by_device_and_dtype(params: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """Split parameters into lists that one ``_foreach`` kernel can handle together."""
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for p in params:
        groups.setdefault((p.device, p.dtype), []).append(p)
    return list(groups.values())
