"""What one ``fit`` recorded: every batch's loss and hyper-parameters, and the epoch table.

The learner prints one row per epoch, numbered from 1 like every other epoch number sgdlab
shows (the diagnosis, the plots, the lessons)::

    epoch  train_loss  valid_loss  error_rate  time
        1    1.030236    0.179226    0.028369  00:13

``train_loss`` is the mean of that epoch's mini-batch losses (each taken before its step; fastai
prints an exponentially smoothed loss instead); ``valid_loss`` is the mean cross-entropy over
all ``n_valid`` validation images and ``error_rate`` the fraction of them the model gets wrong,
so it moves in steps of ``1/n_valid``.

:meth:`Recorder.to_csv` writes the table in the layout of fastai's ``CSVLogger`` with two more
columns, ``n_valid`` and ``n_classes``, which ``sgdlab diagnose`` needs to tell a real change of
the error rate from the noise of a small validation set.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sgdlab.files import atomic_path, save_figure

COLUMNS = ("epoch", "train_loss", "valid_loss", "error_rate", "time")
CSV_COLUMNS = (*COLUMNS, "n_valid", "n_classes")


@dataclass(frozen=True)
class EpochRow:
    """One row of the training table: ``epoch`` counts from 1; ``seconds`` covers training and
    validation."""

    epoch: int
    train_loss: float
    valid_loss: float
    error_rate: float
    seconds: float


def format_time(seconds: float) -> str:
    """``mm:ss`` as in fastai's table (``83.4`` → ``"01:23"``)."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes:02d}:{secs:02d}"


def _format_number(value: float) -> str:
    return f"{value:.6f}" if abs(value) < 1e4 or not math.isfinite(value) else f"{value:.4e}"


def format_header() -> str:
    """``epoch  train_loss  valid_loss  error_rate  time``."""
    return "  ".join(COLUMNS)


def format_row(row: EpochRow) -> str:
    """The row under :func:`format_header`, each value right-aligned under its column."""
    values = (str(row.epoch), _format_number(row.train_loss), _format_number(row.valid_loss),
              _format_number(row.error_rate), format_time(row.seconds))
    return "  ".join(v.rjust(len(name)) for v, name in zip(values, COLUMNS, strict=True))


@dataclass
class Recorder:
    """Everything one ``fit`` recorded (each fit starts a new recorder, as in fastai).

    Per batch: ``losses`` (before the step), ``lrs`` and ``momenta`` of the head's group,
    ``group_lrs`` (every group's lr) and ``epochs`` (the 1-based epoch of the batch).
    Per epoch: ``rows``. About the data: ``n_valid`` validation images of ``n_classes``
    classes (``None`` when unknown), which :func:`sgdlab.diagnose.diagnose` reads.
    ``stopped_at``: the step after which a stop condition ended training (the loss diverged,
    or the learning-rate finder had seen enough), else ``None``.
    """

    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    momenta: list[float] = field(default_factory=list)
    group_lrs: list[list[float]] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    rows: list[EpochRow] = field(default_factory=list)
    n_valid: int | None = None
    n_classes: int | None = None
    stopped_at: int | None = None

    def record_batch(self, loss: float, lrs: list[float], momentum: float, epoch: int) -> None:
        self.losses.append(loss)
        self.lrs.append(lrs[-1])
        self.momenta.append(momentum)
        self.group_lrs.append(list(lrs))
        self.epochs.append(epoch)

    def end_epoch(self, epoch: int, valid_loss: float, error_rate: float,
                  seconds: float) -> EpochRow:
        """Add the row of ``epoch``: its batches' mean loss beside the validation results."""
        losses = [loss for loss, e in zip(self.losses, self.epochs, strict=True) if e == epoch]
        row = EpochRow(epoch, sum(losses) / max(len(losses), 1), valid_loss, error_rate, seconds)
        self.rows.append(row)
        return row

    def table(self) -> str:
        """The epoch table as printed during training."""
        return "\n".join([format_header(), *(format_row(r) for r in self.rows)])

    def run_record(self) -> dict:
        """The epoch table and the validation set's size, as plain data for a checkpoint."""
        return {"rows": [asdict(row) for row in self.rows], "n_valid": self.n_valid,
                "n_classes": self.n_classes}

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the epoch table as CSV (``CSV_COLUMNS``), atomically; returns the path."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.rows:
            writer.writerow([row.epoch, repr(row.train_loss), repr(row.valid_loss),
                             repr(row.error_rate), format_time(row.seconds),
                             "" if self.n_valid is None else self.n_valid,
                             "" if self.n_classes is None else self.n_classes])
        path = Path(path)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text.getvalue(), encoding="utf-8")
        return path

    def plot_loss(self, path: str | os.PathLike) -> Path:
        """Training loss per batch, and validation loss at the end of each epoch, as a PNG."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        ax.plot(range(1, len(self.losses) + 1), self.losses, lw=1, label="train (per batch)")
        ends = [sum(1 for e in self.epochs if e <= row.epoch) for row in self.rows]
        ax.plot(ends, [r.valid_loss for r in self.rows], "o-",
                label="valid (end of epochs 1, 2, ...)")
        ax.set(xlabel="batches processed", ylabel="cross-entropy loss", title="Loss")
        ax.legend()
        fig.tight_layout()
        return save_figure(fig, path)

    def plot_lr(self, path: str | os.PathLike) -> Path:
        """Learning rate of every layer group and momentum, per batch, as a PNG."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 4))
        ax_lr, ax_mom = fig.subplots(1, 2)
        steps = range(1, len(self.lrs) + 1)
        n_groups = len(self.group_lrs[0]) if self.group_lrs else 0
        for g in range(n_groups):
            name = "head" if g == n_groups - 1 else f"group {g}"
            ax_lr.plot(steps, [lrs[g] for lrs in self.group_lrs], label=name)
        ax_lr.set(xlabel="batches processed", ylabel="learning rate", title="Learning rate")
        if n_groups > 1:
            ax_lr.legend()
        ax_mom.plot(steps, self.momenta)
        ax_mom.set(xlabel="batches processed", ylabel="momentum", title="Momentum")
        fig.tight_layout()
        return save_figure(fig, path)
