"""Exercises: students write the SGD core themselves and property tests prove it right.

``sgdlab exercises init FILE`` writes the template (:mod:`sgdlab.exercises.template`);
``sgdlab check N --impl FILE`` runs exercise ``N``'s tests in ``tests/exercises`` on that file and
explains failures with the hints of :mod:`sgdlab.exercises.hints`. Without ``--impl`` the tests
run on :mod:`sgdlab.exercises.reference`, which is sgdlab's own core.
"""

from __future__ import annotations

from typing import NamedTuple


class Exercise(NamedTuple):
    """One exercise: its number, the functions a solution must define, a one-line title."""

    number: int
    functions: tuple[str, ...]
    title: str

    @property
    def marker(self) -> str:
        """The pytest marker of its tests, ``ex1`` … ``ex14``."""
        return f"ex{self.number}"


EXERCISES: dict[int, Exercise] = {
    ex.number: ex
    for ex in (
        Exercise(1, ("linear",), "the linear model y = x @ a"),
        Exercise(2, ("mse",), "mean squared error"),
        Exercise(3, ("mse_grad",), "the gradient of the MSE, by hand"),
        Exercise(4, ("update",), "one gradient-descent step with autograd"),
        Exercise(5, ("sgd_step",), "the SGD step for a list of parameters"),
        Exercise(6, ("momentum_step",), "SGD with momentum"),
        Exercise(7, ("minibatches",), "shuffled mini-batches"),
        Exercise(8, ("accuracy", "error_rate"), "accuracy and error rate"),
        Exercise(9, ("softmax",), "softmax, stable for large logits"),
        Exercise(10, ("cross_entropy",), "the cross-entropy loss"),
        Exercise(11, ("one_cycle_lr",), "the one-cycle learning rate"),
        Exercise(12, ("smooth_losses",), "the learning-rate finder's smoothed loss"),
        Exercise(13, ("suggest_lrs",), "the learning-rate finder's suggestions"),
        Exercise(14, ("lrs_for_groups",), "one learning rate per layer group"),
    )
}

#: Every function a complete solutions file defines, in exercise order.
FUNCTIONS: tuple[str, ...] = tuple(name for ex in EXERCISES.values() for name in ex.functions)


def exercise_of(function: str) -> Exercise:
    """The exercise that asks for ``function``."""
    for ex in EXERCISES.values():
        if function in ex.functions:
            return ex
    raise KeyError(function)
