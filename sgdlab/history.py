"""What a run recorded: enough to redraw any step later without training again.

Convention (used by every picture): ``params[0]`` is the starting guess and ``params[k]`` the
parameters *after* step ``k``; ``losses[k-1]``, ``lrs[k-1]`` and ``batch(k)`` describe step
``k`` itself, where the loss is the one ``update()`` computed *before* moving the parameters
(the value the lecture prints).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from sgdlab.checks import check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.files import atomic_path

_FIELDS = ("x", "y", "params", "losses", "lrs", "batches", "epochs", "diverged_at", "label")


@dataclass
class History:
    """A recorded run of a linear model ``ŷ = x @ a``.

    Attributes:
        x, y: the full data set the run was trained on.
        params: (steps + 1, k) parameters; row 0 is the initial guess.
        losses: (steps,) mini-batch (or full-batch) loss at each step, before the update.
        lrs: (steps,) learning rate used at each step.
        batches: the row indices used at each step, or ``None`` for full-batch runs.
        epochs: (steps,) the epoch each step belongs to (0-based).
        diverged_at: the 1-based step whose loss blew up, or ``None``. Steps from then on
            were not taken.
        label: a short description for titles and legends.
    """

    x: torch.Tensor
    y: torch.Tensor
    params: torch.Tensor
    losses: torch.Tensor
    lrs: torch.Tensor
    batches: list[torch.Tensor] | None = None
    epochs: torch.Tensor | None = None
    diverged_at: int | None = None
    label: str = ""
    _full_losses: torch.Tensor | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        steps = self.losses.shape[0]
        if self.params.shape[0] != steps + 1 or self.lrs.shape[0] != steps:
            raise SgdlabError(
                f"inconsistent history: {self.params.shape[0]} parameter rows, {steps} losses "
                f"and {self.lrs.shape[0]} learning rates (need steps + 1, steps, steps)"
            )
        if self.batches is not None and len(self.batches) != steps:
            raise SgdlabError(f"history has {steps} steps but {len(self.batches)} batches")
        if self.epochs is None:
            self.epochs = torch.zeros(steps, dtype=torch.long)

    @property
    def steps(self) -> int:
        """Number of update steps taken."""
        return int(self.losses.shape[0])

    def __len__(self) -> int:
        return self.steps

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def final_params(self) -> torch.Tensor:
        return self.params[-1]

    def params_at(self, k: int) -> torch.Tensor:
        """Parameters after step ``k`` (``k = 0``: the initial guess)."""
        return self.params[self._check_frame(k)]

    def batch(self, k: int) -> torch.Tensor:
        """Row indices used by step ``k`` (1-based); all rows for a full-batch run."""
        k = check_whole_number(k, "step", minimum=1)
        if not 1 <= k <= self.steps:
            raise SgdlabError(f"step must be between 1 and {self.steps}, got {k}")
        if self.batches is None:
            return torch.arange(self.x.shape[0])
        return self.batches[k - 1]

    def full_losses(self) -> torch.Tensor:
        """(steps + 1,) MSE on the whole data set at each recorded parameter vector."""
        if self._full_losses is None:
            residual = self.params.double() @ self.x.double().T - self.y.double()
            self._full_losses = (residual**2).mean(dim=1)
        return self._full_losses

    def _check_frame(self, k: int) -> int:
        k = check_whole_number(k, "frame", minimum=0)
        if not 0 <= k <= self.steps:
            raise SgdlabError(f"frame must be between 0 and {self.steps}, got {k}")
        return k

    def to_dict(self) -> dict:
        return {
            "x": self.x, "y": self.y, "params": self.params, "losses": self.losses,
            "lrs": self.lrs, "batches": self.batches, "epochs": self.epochs,
            "diverged_at": self.diverged_at, "label": self.label,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the history atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        with atomic_path(path) as tmp:
            torch.save(self.to_dict(), tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read a history written by :meth:`save` (tensors only: ``weights_only=True``)."""
        path = Path(path)
        expected = ("expected a History saved by History.save() (e.g. from "
                    "sgdlab.gradient_descent(...).save('run.pt'))")
        if not path.is_file():
            raise SgdlabError(f"no file at {path}; {expected}")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many kinds for a file that is not its own
            raise SgdlabError(f"{path} is not a saved History ({type(err).__name__}); "
                              f"{expected}") from err
        if not isinstance(data, dict) or not set(_FIELDS) <= set(data):
            raise SgdlabError(f"{path} holds something else than a History; {expected}")
        return cls(**{name: data[name] for name in _FIELDS})
