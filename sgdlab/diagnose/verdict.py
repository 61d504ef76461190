"""The verdict every rule returns: which problem, the numbers behind it, and what to do."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Literal

Problem = Literal["lr_too_high", "lr_too_low", "too_few_epochs", "too_many_epochs",
                  "not_learning", "none"]

TITLES: dict[str, str] = {
    "lr_too_high": "Learning rate too high",
    "lr_too_low": "Learning rate too low",
    "too_few_epochs": "Too few epochs",
    "too_many_epochs": "Too many epochs",
    "not_learning": "Not learning",
    "none": "Nothing wrong",
}

REMEDIES: dict[str, str] = {
    "lr_too_high": "Lower the learning rate (10x lower, or read one off the learning-rate "
                   "finder) and retrain from scratch: the weights are already ruined and more "
                   "training cannot undo it.",
    "lr_too_low": "Raise the learning rate 10x or 100x (the learning-rate finder shows how "
                  "far) and train again.",
    "too_few_epochs": "Train for more epochs; if each epoch is slow, a higher learning rate "
                      "gets more done per epoch.",
    "too_many_epochs": "Train for fewer epochs: stop around the epoch where the error rate "
                       "was lowest.",
    "not_learning": "It has learned nothing yet. The lecture's likely causes are a learning "
                    "rate too low (raise it 10x or 100x; the learning-rate finder shows how "
                    "far) and too few epochs (train for more). If neither helps, check that "
                    "the labels belong to the images.",
    "none": "Nothing to fix: keep this model.",
}


@dataclass(frozen=True)
class Diagnosis:
    """A verdict: which problem (or ``"none"``), the numbers behind it and what to do."""

    problem: Problem
    title: str
    evidence: str
    remedy: str

    def __str__(self) -> str:
        body = textwrap.fill(f"{self.title}. {self.evidence}", width=88)
        return f"{body}\n{textwrap.fill('What to do: ' + self.remedy, width=88)}"


def verdict(problem: Problem, evidence: str, remedy: str | None = None) -> Diagnosis:
    """A :class:`Diagnosis` with the problem's title and (unless given) its usual remedy."""
    return Diagnosis(problem, TITLES[problem], evidence, remedy or REMEDIES[problem])


def number(value: float) -> str:
    """Four significant digits: ``0.1666667`` → ``"0.1667"``."""
    return f"{value:.4g}"


def percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def times(value: float, reference: float) -> str:
    """``value`` as a multiple of ``reference`` ("3.2 times"; "far above" a zero reference)."""
    return f"{value / reference:.3g} times" if reference > 0 else "far above"


def epochs(first: int, last: int) -> str:
    """Epochs ``first..last`` (0-based indices) as people count them: ``"epoch 3"``, ``"5-7"``."""
    return f"epoch {first + 1}" if first == last else f"epochs {first + 1}-{last + 1}"
