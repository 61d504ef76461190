"""``diagnose_history``: the lecture's problems in a linear run, measured against the optimum.

A linear run (a :class:`~sgdlab.history.History` from ``gradient_descent`` or
``minibatch_sgd``) has an oracle an epoch table lacks: the least-squares optimum ``L*``. The
excess ``e_k = L_k − L*`` of the full-batch loss shrinks at every step of stable full-batch
gradient descent, so a growing excess means the learning rate is past the edge ``2/λmax``.
"""

from __future__ import annotations

import torch

from sgdlab.diagnose.verdict import REMEDIES, Diagnosis, number, percent, verdict
from sgdlab.errors import SgdlabError
from sgdlab.history import History
from sgdlab.linalg import hessian, least_squares, max_stable_lr, optimal_lr

#: A run has converged once less than this fraction of the starting excess loss ``L_0 − L*``
#: is left.
CONVERGED_FRACTION = 0.01
#: Full-batch runs: an excess loss this many times its lowest value means the loss is growing.
GROWTH_FACTOR = 1.1
#: Mini-batch runs: the loss is growing when the mean excess over the last third of the steps
#: is this many times that over the third before.
NOISY_TREND_FACTOR = 2.0
#: A learning rate this many times below the fastest fixed step ``2/(λmax + λmin)`` is too low
#: (below it, a slow run just needs more steps).
LR_TOO_LOW_FACTOR = 10.0


def diagnose_history(history: History) -> Diagnosis:
    """Name the problem of a linear run from its full-batch loss ``L_k`` (see the module doc).

    With ``L*`` the least-squares loss and ``e_k = L_k − L*`` the excess:

    * diverged (``history.diverged_at``) or growing → lr too high. Stable full-batch gradient
      descent never increases ``e_k``, so there growing means ``e_end > GROWTH_FACTOR · min e_k``.
      Mini-batch steps jitter, so there it means the mean ``e`` over the last third of the steps
      is ``NOISY_TREND_FACTOR`` times that over the third before;
    * ``lr ≥ 2/λmax`` → lr too high even if the loss still falls: the error along the
      steepest direction is multiplied by ``|1 − lr·λmax| ≥ 1`` at every step;
    * ``e_end ≤ CONVERGED_FRACTION · e_0`` → none;
    * a mini-batch run whose *drift* has converged → none: it sits at its noise floor. A batch
      gradient is on average the full gradient, so the drift is full-batch descent with the same
      learning rates from the same start: with ``H = V diag(λ) Vᵀ`` and ``c = Vᵀ(a_0 − a*)``,
      ``e_drift = ½ Σ_j λ_j (c_j Π_k (1 − lr_k λ_j))²``;
    * otherwise the loss is still on its way down: lr too low when ``lr`` is more than
      ``LR_TOO_LOW_FACTOR`` times below the fastest fixed step ``2/(λmax + λmin)``, else too few
      steps (``"too_few_epochs"``: for full-batch descent one step is one epoch). Too low, not too
      few: with lr 10x higher the same steps would go 10x as far, still safely below ``2/λmax``.
    """
    if not isinstance(history, History):
        raise SgdlabError(f"diagnose_history needs a sgdlab.History (from gradient_descent or "
                          f"minibatch_sgd), got {type(history).__name__}; for a table of "
                          f"epochs use diagnose()")
    edge = max_stable_lr(history.x)
    too_high_remedy = REMEDIES["lr_too_high"] + f" Below {number(edge)} it converges; half is safe."
    if history.diverged:
        lr = f"lr {history.lrs[-1].item():g}" if history.steps else "this learning rate"
        return verdict("lr_too_high", (
            f"With {lr} the loss blew up at step {history.diverged_at}; the edge of stability "
            f"for this data is 2/λmax = {number(edge)}."), too_high_remedy)
    if history.steps == 0:
        raise SgdlabError("the history has no steps to judge; train for at least one step")

    lr = history.lrs[-1].item()
    losses = history.full_losses()
    a_star = least_squares(history.x, history.y).double()
    optimum = ((history.x.double() @ a_star - history.y.double()) ** 2).mean().item()
    excess = (losses - optimum).clamp(min=0.0)
    start, end = excess[0].item(), excess[-1].item()
    left = end / start if start > 0 else 0.0
    lowest = int(excess.argmin())
    if history.batches is None:
        growing = end > GROWTH_FACTOR * excess[lowest].item() and end > 1e-12 * max(optimum, 1)
    else:
        window = max(1, history.steps // 3)
        before = excess[-2 * window:-window].mean().item() if history.steps >= 2 else start
        growing = (excess[-window:].mean().item() > NOISY_TREND_FACTOR * before
                   and left > CONVERGED_FRACTION)
    if growing:
        return verdict("lr_too_high", (
            f"With lr {lr:g} the full-batch loss is growing: from {number(losses[lowest].item())} "
            f"at step {lowest} to {number(losses[-1].item())} at step {history.steps}. The steps "
            f"overshoot: " + (
                f"stable gradient descent never raises the loss (the edge is 2/λmax = "
                f"{number(edge)})." if history.batches is None else
                f"with small batches that starts below the full-batch edge 2/λmax = "
                f"{number(edge)}.")), too_high_remedy)
    if lr >= edge:
        return verdict("lr_too_high", (
            f"lr {lr:g} is past the edge of stability 2/λmax = {number(edge)}: along the steepest "
            f"direction every step overshoots further than the last (by |1 − lr·λmax| = "
            f"{abs(1 - lr * 2 / edge):.4g} times), so the loss will blow up, even if it still "
            f"falls for now."), too_high_remedy)

    path = (f"After {history.steps} steps at lr {lr:g} the full-batch loss went from "
            f"{number(losses[0].item())} to {number(losses[-1].item())} (least-squares optimum "
            f"{number(optimum)})")
    if left <= CONVERGED_FRACTION:
        return verdict("none", f"{path}: converged, less than {percent(CONVERGED_FRACTION)} of "
                                f"the starting excess is left.")
    drift_left = left if history.batches is None else _drift_left(history, a_star, start)
    if drift_left <= CONVERGED_FRACTION:
        return verdict("none", (
            f"{path}: {percent(left)} of the starting excess is left, but without the mini-batch "
            f"noise less than {percent(CONVERGED_FRACTION)} would be. Each step sees only one "
            f"batch, so the parameters jitter around the optimum."),
            "Nothing to fix. To get closer to the optimum, lower the lr for the last epochs or "
            "use bigger batches.")
    fastest = optimal_lr(history.x)
    if lr * LR_TOO_LOW_FACTOR < fastest:
        return verdict("lr_too_low", (
            f"{path}: {percent(left)} of the starting excess is still there. The fastest fixed "
            f"step for this data is 2/(λmax + λmin) = {number(fastest)}, {fastest / lr:.3g} times "
            f"this lr, and the edge of stability 2/λmax = {number(edge)}."),
            REMEDIES["lr_too_low"] + f" Stay below {number(edge)}, where it diverges.")
    return verdict("too_few_epochs", (
        f"{path}: still falling, {percent(left)} of the starting excess is left. The lr is already "
        f"within {LR_TOO_LOW_FACTOR:g}x of the fastest fixed step 2/(λmax + λmin) = "
        f"{number(fastest)}, so the run needs more steps."),
        f"Take more steps (each full-batch step is one epoch). A higher lr helps only up to "
        f"{number(fastest)}; past {number(edge)} it diverges.")


def _drift_left(history: History, a_star: torch.Tensor, start: float) -> float:
    """Fraction of the starting excess that full-batch steps with the run's lrs would leave."""
    curvature, basis = torch.linalg.eigh(hessian(history.x))
    c = basis.T @ (history.params[0].double() - a_star)
    shrink = (1.0 - history.lrs.double()[:, None] * curvature[None, :]).prod(dim=0)
    drift = 0.5 * (curvature * (c * shrink) ** 2).sum().item()
    return drift / start if start > 0 else 0.0
