"""Your own code trains the bears: ``Learner(..., impl="my_sgd.py")``, ``--impl my_sgd.py``.

The arithmetic of the bear classifier is six exercise functions; with ``impl`` the learner takes
each one from the student's file (or module, or any object with them as attributes):

=================  ========  ====================================================
function           exercise  what the learner does with it
=================  ========  ====================================================
``momentum_step``  6         every parameter update (the optimizer's ``step``)
``cross_entropy``  10        the training loss
``one_cycle_lr``   11        every group's learning rate in ``fit_one_cycle``
``lrs_for_groups`` 14        one learning rate per layer group (``slice(lo, hi)``)
``smooth_losses``  12        ``lr_find``'s smoothed curve
``suggest_lrs``    13        ``lr_find``'s two suggestions
=================  ========  ====================================================

**Not written yet.** A function the file does not define, or one that raises
``NotImplementedError`` (the template's stubs do) when tried once on a tiny input as the file is
loaded, comes from sgdlab instead, and a note says which. Any other error on that input stops
before training, with the input and the ``sgdlab check`` that explains it.

**The optimizer step** of each param group (learning rate ``lr``, momentum ``μ``, weight decay
``λ``) with the student's ``momentum_step``, velocities ``v`` starting at zero::

    p.grad ← ∇p L + λ·p          (sgdlab adds the weight decay to the gradient first, in place)
    momentum_step(params, velocities, lr, μ):   v ← μ·v + p.grad;  p ← p − lr·v;  p.grad ← 0

which is :class:`sgdlab.SGD`'s rule (its first velocity is the gradient itself, ``μ·0 + g``).

**Label smoothing** ε mixes the student's cross-entropy ``ce`` over the ``K`` classes::

    L = (1 − ε)·ce(z, y) + (ε/K)·Σ_c ce(z, c)       (= LabelSmoothingCrossEntropy(ε))

sgdlab keeps: the momentum schedule, the table's ``valid_loss`` and ``error_rate`` (sgdlab's
cross-entropy, so a wrong loss cannot grade itself), and ``lr_find``'s stop condition.
Without ``impl`` the learner uses :data:`SGDLAB`, sgdlab's own functions, through these very
paths (its loss is :func:`sgdlab.losses.cross_entropy`, smoothed as above): so a file holding
the reference solutions trains to the same numbers, bit for bit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sgdlab.errors import SgdlabError
from sgdlab.impl import load_python_file
from sgdlab.losses import LabelSmoothingCrossEntropy, cross_entropy
from sgdlab.lr_suggest import smooth_losses, suggest_lrs
from sgdlab.optim import SGD, momentum_step
from sgdlab.schedules import lrs_for_groups, one_cycle_lr
from sgdlab.vision.schedule import Schedule, one_cycle_schedule


def _try_momentum_step(f: Callable) -> None:
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    p.grad = torch.tensor([0.5, 0.25])
    with torch.no_grad():
        f([p], [torch.zeros(2)], 0.1, 0.9)


#: name → (exercise, a call on a tiny input, that input in words), in the header's order.
TRIALS: dict[str, tuple[int, Callable[[Callable], object], str]] = {
    "momentum_step": (6, _try_momentum_step,
                      "params [tensor([1., -2.])] with grad [0.5, 0.25], velocities [zeros(2)], "
                      "lr 0.1, beta 0.9"),
    "cross_entropy": (10, lambda f: f(torch.zeros(2, 3), torch.tensor([0, 2])),
                      "logits torch.zeros(2, 3), targets tensor([0, 2])"),
    "one_cycle_lr": (11, lambda f: f(0.5, 1e-2), "pct 0.5, max_lr 0.01"),
    "lrs_for_groups": (14, lambda f: f(slice(1e-5, 1e-3), 3),
                       "lr slice(1e-05, 0.001), 3 groups"),
    "smooth_losses": (12, lambda f: f([1.0, 0.5, 0.25], 0.98),
                      "losses [1.0, 0.5, 0.25], beta 0.98"),
    "suggest_lrs": (13, lambda f: f([1e-3, 1e-2, 1e-1, 1.0], [1.0, 0.5, 0.4, 2.0], 1),
                    "lrs [0.001, 0.01, 0.1, 1.0], losses [1.0, 0.5, 0.4, 2.0], window 1"),
}


class MomentumStepSGD(SGD):
    """:class:`sgdlab.SGD` (param groups, state dicts, checks) whose ``step`` is a student's
    ``momentum_step``, after adding ``λ·p`` to each gradient; velocities are kept in the state
    under SGD's key ``"momentum_buffer"``, starting at zero."""

    def __init__(self, step_function: Callable, params: Any, **options: Any) -> None:
        super().__init__(params, **options)
        self.step_function = step_function

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Weight decay into the gradients, then ``momentum_step`` once per param group."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if group["weight_decay"]:
                for p in params:
                    p.grad.add_(p, alpha=group["weight_decay"])      # g ← g + λ·p
            velocities = []
            for p in params:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                velocities.append(state["momentum_buffer"])
            self.step_function(params, velocities, group["lr"], group["momentum"])
        return loss


class SmoothedCrossEntropy:
    """Label smoothing ε on top of any cross-entropy ``ce`` (see the module docstring)."""

    def __init__(self, ce: Callable, eps: float) -> None:
        self.ce, self.eps = ce, eps

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        n, k = logits.shape
        spread = sum(self.ce(logits, torch.full_like(targets, c)) for c in range(k))
        return (1 - self.eps) * self.ce(logits, targets) + (self.eps / k) * spread


@dataclass(frozen=True)
class TrainingCode:
    """The six functions a learner trains with, and which of them are the student's.

    ``origin``: the student's file name (``None``: all sgdlab's, :data:`SGDLAB`); ``theirs``:
    the names taken from it. ``path``: how to name the file in ``sgdlab check`` advice.
    """

    momentum_step: Callable
    cross_entropy: Callable
    one_cycle_lr: Callable
    lrs_for_groups: Callable
    smooth_losses: Callable
    suggest_lrs: Callable
    origin: str | None = None
    theirs: frozenset[str] = frozenset()
    path: str | None = None

    def source(self, name: str) -> str:
        """``"momentum_step from my_sgd.py"`` or ``"momentum_step from sgdlab"``."""
        return f"{name} from {self.origin if name in self.theirs else 'sgdlab'}"

    def _wrong(self, name: str, what: str) -> SgdlabError:
        check = f"sgdlab check {TRIALS[name][0]} --impl {self.path or self.origin}"
        return SgdlabError(f"{name}() from {self.origin} {what}; `{check}` shows what is wrong")

    # ------------------------------------------------------------------ what the learner asks
    def optimizer(self, param_groups: list[dict], **options: Any) -> SGD:
        """:class:`sgdlab.SGD`, or :class:`MomentumStepSGD` with the student's step (``foreach``
        does not apply to it)."""
        if "momentum_step" not in self.theirs:
            return SGD(param_groups, **options)
        options.pop("foreach", None)
        return MomentumStepSGD(self.momentum_step, param_groups, **options)

    def loss(self, loss_func: Callable | None) -> Callable:
        """The training loss: the cross-entropy of this code, the student's or sgdlab's own
        :func:`sgdlab.losses.cross_entropy` (exercise 10's reference, not ``F.cross_entropy``),
        with label smoothing built on it when ``loss_func`` is a ``LabelSmoothingCrossEntropy``;
        any other ``loss_func`` as given. So the reference solutions train to the very same
        numbers as sgdlab, bit for bit."""
        if isinstance(loss_func, LabelSmoothingCrossEntropy):
            return SmoothedCrossEntropy(self.cross_entropy, loss_func.eps)
        return self.cross_entropy if loss_func is None else loss_func

    def lrs(self, lr: Any, n_groups: int) -> list[float]:
        """``lrs_for_groups(lr, n_groups)``; the student's answer must be ``n_groups`` rates."""
        lrs = self.lrs_for_groups(lr, n_groups)
        if "lrs_for_groups" in self.theirs:
            try:
                lrs = [float(v) for v in lrs]
            except (TypeError, ValueError):
                lrs = None
            if lrs is None or len(lrs) != n_groups or not all(0 < v < math.inf for v in lrs):
                raise self._wrong("lrs_for_groups", f"gave {lrs!r} for lr={lr!r} and "
                                  f"{n_groups} layer groups, not {n_groups} positive rates")
        return lrs

    def one_cycle_schedule(self, max_lrs: Sequence[float], total_steps: int, div: float,
                           div_final: float, pct_start: float,
                           moms: tuple[float, float, float]) -> Schedule:
        """sgdlab's one-cycle schedule, each lr from the student's ``one_cycle_lr`` when theirs
        (step ``i`` at ``pct = i / total_steps``; the momentum stays sgdlab's)."""
        schedule = one_cycle_schedule(max_lrs, total_steps, div, div_final, pct_start, moms)
        if "one_cycle_lr" not in self.theirs:
            return schedule

        def theirs(step: int) -> tuple[list[float], float]:
            pct = step / total_steps
            lrs = [self.one_cycle_lr(pct, m, div, div_final, pct_start) for m in max_lrs]
            if not all(isinstance(v, (int, float)) and 0 < v < math.inf for v in lrs):
                raise self._wrong("one_cycle_lr", f"gave {lrs!r} at pct={pct:g} for max_lr "
                                  f"{list(max_lrs)}; it must be a positive Python float")
            return [float(v) for v in lrs], schedule(step)[1]

        return theirs

    def smooth(self, losses: list[float], beta: float) -> list[float]:
        """``smooth_losses(losses, beta)``, one float per loss."""
        smoothed = self.smooth_losses(losses, beta)
        try:
            smoothed = [float(v) for v in smoothed]
        except (TypeError, ValueError):
            smoothed = None
        if smoothed is None or len(smoothed) != len(losses):
            raise self._wrong("smooth_losses", f"gave {smoothed!r} for {len(losses)} losses, "
                              f"not one float per loss")
        return smoothed

    def suggest(self, lrs: list[float], losses: list[float], window: int) -> tuple[float, float]:
        """``suggest_lrs(lrs, losses, window)``: two learning rates."""
        found = self.suggest_lrs(lrs, losses, window)
        try:
            steepest, minimum_div_10 = (float(v) for v in found)
        except (TypeError, ValueError):
            raise self._wrong("suggest_lrs", f"gave {found!r}, not two learning rates "
                              f"(steepest, minimum_div_10)") from None
        return steepest, minimum_div_10

    # ------------------------------------------------------------------ what it prints
    def header(self, loss_func: Callable | None = None) -> str | None:
        """The line above the epoch table naming whose code trains; ``None`` for sgdlab's."""
        if self.origin is None:
            return None
        loss = self.source("cross_entropy")
        if isinstance(loss_func, (SmoothedCrossEntropy, LabelSmoothingCrossEntropy)):
            loss += f", label smoothing {loss_func.eps:g}"
        elif loss_func is not None and loss_func is not self.cross_entropy:
            loss = f"{loss_func!r} (the loss_func given)"
        return (f"optimizer: {self.source('momentum_step')} (weight decay added to the gradient "
                f"first); loss: {loss}; schedule: {self.source('one_cycle_lr')}; layer groups: "
                f"{self.source('lrs_for_groups')}")

    def lr_find_header(self) -> str | None:
        """The line naming whose code smooths the finder's curve and suggests."""
        if self.origin is None:
            return None
        return (f"lr_find: the curve by {self.source('smooth_losses')}, the suggestions by "
                f"{self.source('suggest_lrs')}")


#: sgdlab's own functions: what a learner trains with when no ``impl`` is given.
SGDLAB = TrainingCode(momentum_step, cross_entropy, one_cycle_lr, lrs_for_groups,
                      smooth_losses, suggest_lrs)


def training_code(impl: str | os.PathLike | object | None,
                  log: Callable[[str], None] = print) -> TrainingCode:
    """The functions to train with: :data:`SGDLAB` for ``None``, else each of the six from
    ``impl`` (a file path, or a module or object with them as attributes) when it is written
    there, sgdlab's otherwise, with a note to ``log`` for each that is not (module docstring).

    Raises:
        SgdlabError: the file does not import, or one of its functions fails on a tiny input
            with an error other than ``NotImplementedError``.
    """
    if impl is None or isinstance(impl, TrainingCode):
        return SGDLAB if impl is None else impl
    if isinstance(impl, (str, os.PathLike)):
        namespace, origin, path = load_python_file(impl), Path(impl).name, str(impl)
    else:
        namespace, path = impl, getattr(impl, "__file__", None)
        origin = Path(path).name if path else getattr(impl, "__name__", type(impl).__name__)
    functions, theirs = {}, set()
    for name, (number, trial, example) in TRIALS.items():
        found = getattr(namespace, name, None)
        functions[name] = getattr(SGDLAB, name)
        if not callable(found):
            log(f"note: {origin} does not define {name}() (exercise {number}) yet: sgdlab's "
                f"{name} is used instead")
            continue
        try:
            trial(found)
        except NotImplementedError:
            log(f"note: {name}() in {origin} still raises NotImplementedError (exercise "
                f"{number} is not written yet): sgdlab's {name} is used instead")
            continue
        except Exception as err:
            raise SgdlabError(
                f"{name}() from {origin} raised {type(err).__name__}: {err}, tried on a tiny "
                f"input ({example}); `sgdlab check {number} --impl {path or origin}` shows "
                f"what is wrong (or raise NotImplementedError in it to train with sgdlab's)"
            ) from err
        functions[name] = found
        theirs.add(name)
    return TrainingCode(**functions, origin=origin, theirs=frozenset(theirs), path=path)
