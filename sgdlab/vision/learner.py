"""The Learner: data + model + sgdlab's own SGD, with fastai's training vocabulary.

One training step is the lecture's ``update()`` grown up::

    logits = model(xb);  L = cross_entropy(logits, yb)       (mean over the batch)
    L.backward();  opt.step();  opt.zero_grad()

where ``opt`` is :class:`sgdlab.SGD` (momentum, L2 weight decay) with one parameter group per
layer group. No ``torch.optim`` optimizer or scheduler is involved: schedules are pure functions
(:mod:`sgdlab.vision.schedule`) and the learner writes ``group["lr"]`` and
``group["momentum"]`` itself before every batch.

After each epoch the learner prints a row like the lecture's table::

    epoch  train_loss  valid_loss  error_rate  time
        0    1.030236    0.179226    0.028369  00:13

``train_loss`` is the mean of that epoch's mini-batch losses (each taken before its step; fastai
prints an exponentially smoothed loss instead); ``valid_loss`` is the mean cross-entropy over
all validation images and ``error_rate`` the fraction of them the model gets wrong.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from sgdlab.errors import DivergenceError, SgdlabError
from sgdlab.files import atomic_path, save_figure
from sgdlab.losses import error_rate
from sgdlab.optim import SGD
from sgdlab.vision import model as vision_model
from sgdlab.vision.device import HostScalar, autocast, default_device, memory_format
from sgdlab.vision.schedule import one_cycle_lr, one_cycle_momentum

#: fastai's rule of thumb for a first fit (before unfreezing).
DEFAULT_LR = 3e-3
#: L2 weight decay λ (adds λ·p to every gradient), torchvision's ResNet recipe.
DEFAULT_WD = 1e-4
#: Momentum for ``fit`` (``fit_one_cycle`` cycles it 0.95 → 0.85 → 0.95) and ``lr_find``.
DEFAULT_MOMENTUM = 0.9
CHECKPOINT_FORMAT = "sgdlab-learner-1"
COLUMNS = ("epoch", "train_loss", "valid_loss", "error_rate", "time")

LearningRates = float | slice | Sequence[float]
OnDivergence = Literal["raise", "stop"]


# --------------------------------------------------------------------------- losses

class LabelSmoothingCrossEntropy:
    """Cross-entropy against softened targets (fastai's ``LabelSmoothingCrossEntropy``).

    Instead of asking for probability 1 on the labelled class, the target puts ``1 − ε`` there
    and spreads ``ε`` evenly over all ``K`` classes: ``q_c = (1 − ε)·[c = y] + ε/K``. The loss
    is the cross-entropy of the predicted ``p = softmax(logits)`` against ``q``::

        L = −Σ_c q_c·log p_c = (1 − ε)·(−log p_y) + ε·mean_c(−log p_c)

    averaged over the batch. The second term stops the logits growing without bound to make
    ``p_y`` exactly 1, so the model stays less over-confident on a small training set. With
    ``ε = 0`` it is plain cross-entropy.
    """

    def __init__(self, eps: float = 0.1) -> None:
        if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 <= eps < 1:
            raise SgdlabError(f"label smoothing eps must be in [0, 1), got {eps!r}; 0.1 is usual")
        self.eps = float(eps)

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits, dim=1)
        nll = -log_p.gather(1, targets.unsqueeze(1)).squeeze(1)
        return ((1 - self.eps) * nll - self.eps * log_p.mean(dim=1)).mean()

    def __repr__(self) -> str:
        return f"LabelSmoothingCrossEntropy(eps={self.eps:g})"


# --------------------------------------------------------------------------- what a fit records

@dataclass(frozen=True)
class EpochRow:
    """One row of the training table (``seconds`` covers training and validation)."""

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
    ``group_lrs`` (every group's lr) and ``epochs`` (which epoch the batch belongs to).
    Per epoch: ``rows``.
    """

    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    momenta: list[float] = field(default_factory=list)
    group_lrs: list[list[float]] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    rows: list[EpochRow] = field(default_factory=list)

    def record_batch(self, loss: float, lrs: list[float], momentum: float, epoch: int) -> None:
        self.losses.append(loss)
        self.lrs.append(lrs[-1])
        self.momenta.append(momentum)
        self.group_lrs.append(list(lrs))
        self.epochs.append(epoch)

    def table(self) -> str:
        """The epoch table as printed during training."""
        return "\n".join([format_header(), *(format_row(r) for r in self.rows)])

    def plot_loss(self, path: str | os.PathLike) -> Path:
        """Training loss per batch, and validation loss at the end of each epoch, as a PNG."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        ax.plot(range(1, len(self.losses) + 1), self.losses, lw=1, label="train (per batch)")
        ends = [sum(1 for e in self.epochs if e <= row.epoch) for row in self.rows]
        ax.plot(ends, [r.valid_loss for r in self.rows], "o-", label="valid (per epoch)")
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


# --------------------------------------------------------------------------- the learner

def _check_epochs(epochs: int) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise SgdlabError(f"epochs must be a whole number >= 1, got {epochs!r}; "
                          f"the lecture trains for 4")


def _check_weight_decay(wd: float) -> None:
    if not isinstance(wd, (int, float)) or isinstance(wd, bool) or not math.isfinite(wd) or wd < 0:
        raise SgdlabError(f"weight decay must be a number >= 0, got {wd!r}; 1e-4 is typical")


class Learner:
    """Trains ``model`` on ``dls`` with :class:`sgdlab.SGD`; predicts, saves and loads.

    Args:
        dls: an ``ImageDataLoaders`` (``train``, ``valid``, ``classes``, ``size``, ``mean``,
            ``std``, ...), or ``None`` for an inference-only learner (then give ``classes``,
            ``size``, ``mean`` and ``std``).
        model: made by :func:`~sgdlab.vision.model.create_model` (three layer groups), or any
            module that maps (B, 3, H, W) to (B, classes) logits (one layer group).
        arch, head: how ``model`` was built; stored in checkpoints so that
            :func:`load_learner` can rebuild it.
        wd: L2 weight decay λ.
        momentum: momentum used by :meth:`fit` and :meth:`lr_find`.
        model_dir: where :meth:`save` and :meth:`load` put checkpoints (relative to the
            working directory; never inside the data folder, which may be read-only).
        device: ``"cpu"``/``"cuda"``; default: the data's device, else CUDA when present.
        seed: makes dropout (and so the whole run on the CPU) repeatable, using a private
            random stream; the global one is left untouched.
        progress: show tqdm progress bars.
        log: where the epoch table goes (default ``print``).
        loss_func: the training loss ``(logits, targets) -> mean loss``; default
            cross-entropy, or e.g. :class:`LabelSmoothingCrossEntropy`. The table's
            ``valid_loss`` is always plain cross-entropy, so runs stay comparable.
    """

    def __init__(self, dls: Any, model: nn.Module, *, arch: str | None = None,
                 head: str | None = None, wd: float = DEFAULT_WD,
                 momentum: float = DEFAULT_MOMENTUM, model_dir: str | os.PathLike = "models",
                 device: str | torch.device | None = None, seed: int | None = None,
                 progress: bool = True, log: Callable[[str], None] = print,
                 classes: Sequence[str] | None = None, size: int | None = None,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 loss_func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 ) -> None:
        _check_weight_decay(wd)
        if not 0 <= momentum < 1:
            raise SgdlabError(f"momentum must be in [0, 1), got {momentum}; 0.9 is typical")
        self._dls = dls
        if dls is not None:
            classes, size = dls.classes, dls.size
            mean, std = dls.mean, dls.std
        if classes is None or size is None or mean is None or std is None:
            raise SgdlabError("a learner without data needs classes, size, mean and std; "
                              "use load_learner(path) to rebuild one from a checkpoint")
        self.classes = list(classes)
        self.size, self.mean, self.std = int(size), tuple(mean), tuple(std)
        self.arch, self.head = arch, head
        self.model_dir = Path(model_dir)
        self.momentum = momentum
        self.seed = seed
        self.progress, self.log = progress, log
        self.loss_func = F.cross_entropy if loss_func is None else loss_func
        if device is None and dls is not None and getattr(dls, "device", None) is not None:
            device = dls.device
        self.device = default_device(device)
        self.model = model.to(self.device, memory_format=memory_format(self.device))
        self._check_classes()
        self.opt = SGD([{"params": ps} for ps in vision_model.group_parameters(self.model)],
                       lr=DEFAULT_LR, momentum=momentum, weight_decay=wd)
        self.recorder = Recorder()
        self._rng_state = (torch.Generator().manual_seed(seed).get_state()
                           if seed is not None else None)

    # ------------------------------------------------------------------ checks
    def _check_classes(self) -> None:
        n = len(self.classes)
        if n < 2:
            raise SgdlabError(f"a classifier needs at least 2 classes, got {n} ({self.classes}); "
                              f"put each class's images in its own folder")
        linears = [m for m in self.model.modules() if isinstance(m, nn.Linear)]
        if linears and linears[-1].out_features != n:
            raise SgdlabError(f"the model has {linears[-1].out_features} outputs but the data "
                              f"has {n} classes {self.classes}; build the model with "
                              f"n_classes={n}")
        if self.dls is None:
            return
        for name in ("train_labels", "valid_labels"):
            labels = getattr(self.dls, name, None)
            if labels is None or len(labels) == 0:
                continue
            low, high = int(labels.min()), int(labels.max())
            if low < 0 or high >= n:
                raise SgdlabError(f"{name} run from {low} to {high} but there are only {n} "
                                  f"classes (0..{n - 1})")

    @property
    def dls(self) -> Any:
        """The data the learner trains and validates on (``None`` after :func:`load_learner`)."""
        return self._dls

    @dls.setter
    def dls(self, dls: Any) -> None:
        """Swap in other data with the same classes, e.g. the same photos at a larger size.

        This is fastai's progressive resizing: train first on small images (an epoch at
        ``s/2`` px costs about a quarter of one at ``s`` px, since a convolution's work grows
        with the number of pixels), then ``learn.dls = ImageDataLoaders(..., size=s)`` and
        train on. The ResNet's global pooling makes it work at any image size. The learner's
        ``size`` (saved in checkpoints, used by :meth:`predict`) follows the new data.
        """
        if dls is None:
            raise SgdlabError("a learner's data cannot be removed; use load_learner(path) for "
                              "a learner that only predicts")
        if list(dls.classes) != self.classes:
            raise SgdlabError(f"the new data has the classes {list(dls.classes)} but the model "
                              f"was built for {self.classes}; progressive resizing needs the "
                              f"same classes (build the new loaders from the same folder)")
        self._dls = dls
        self.size, self.mean, self.std = int(dls.size), tuple(dls.mean), tuple(dls.std)
        self._check_classes()

    def _need_data(self) -> Any:
        if self.dls is None:
            raise SgdlabError("this learner has no data (it was made by load_learner for "
                              "predictions); build one with vision_learner(dls) to train")
        return self.dls

    # ------------------------------------------------------------------ layer groups
    @property
    def n_groups(self) -> int:
        return len(self.opt.param_groups)

    def freeze_to(self, n: int) -> None:
        """Train only layer groups ``n`` onward (BatchNorm layers stay trainable)."""
        vision_model.freeze_to(self.model, n)

    def freeze(self) -> None:
        """Train only the head (and the body's BatchNorm layers)."""
        vision_model.freeze(self.model)

    def unfreeze(self) -> None:
        """Train every layer."""
        vision_model.unfreeze(self.model)

    def lrs(self, lr: LearningRates) -> list[float]:
        """One learning rate per layer group; see :func:`~sgdlab.vision.model.lrs_for_groups`."""
        return vision_model.lrs_for_groups(lr, self.n_groups)

    def set_hyper(self, lrs: Sequence[float], momentum: float) -> None:
        """Write each group's learning rate, and the momentum, into the optimizer."""
        for group, lr in zip(self.opt.param_groups, lrs, strict=True):
            group["lr"] = lr
            group["momentum"] = momentum

    # ------------------------------------------------------------------ one step
    def _to_device(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if xb.dim() != 4 or xb.shape[1] != 3 or not xb.is_floating_point():
            raise SgdlabError(f"expected a float image batch of shape (B, 3, H, W), got "
                              f"{tuple(xb.shape)} {xb.dtype}")
        if yb.dim() != 1 or yb.shape[0] != xb.shape[0] or yb.is_floating_point():
            raise SgdlabError(f"expected integer labels of shape ({xb.shape[0]},), got "
                              f"{tuple(yb.shape)} {yb.dtype}")
        xb = xb.to(self.device, non_blocking=True, memory_format=memory_format(self.device))
        return xb, yb.to(self.device, non_blocking=True)

    def train_batch(self, xb: torch.Tensor, yb: torch.Tensor) -> float:
        """Forward, ``loss_func``, backward, ``opt.step()``, ``opt.zero_grad()``; returns the
        loss."""
        return self._step(xb, yb).get()

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> HostScalar:
        """:meth:`train_batch` with the loss still on its way to the host (see HostScalar)."""
        xb, yb = self._to_device(xb, yb)
        with autocast(self.device):
            logits = self.model(xb)
        loss = self.loss_func(logits.float(), yb)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()
        return HostScalar(loss)

    def _rng(self) -> AbstractContextManager:
        return self._private_rng() if self._rng_state is not None else nullcontext()

    @contextmanager
    def _private_rng(self):
        """Run with the learner's own random stream (dropout), restoring the caller's after."""
        cuda = self.device.type == "cuda"
        index = self.device.index if self.device.index is not None else (
            torch.cuda.current_device() if cuda else 0)
        with torch.random.fork_rng(devices=[index] if cuda else []):
            torch.set_rng_state(self._rng_state)
            if cuda:
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(int(torch.randint(0, 2**62, (1,))))
            try:
                yield
            finally:
                self._rng_state = torch.get_rng_state()

    # ------------------------------------------------------------------ training
    def fit(self, epochs: int, lr: LearningRates = DEFAULT_LR, wd: float | None = None,
            momentum: float | None = None, on_divergence: OnDivergence = "raise") -> Recorder:
        """Train ``epochs`` epochs at a constant learning rate (per group, see :meth:`lrs`).

        ``wd``, if given, becomes the learner's weight decay from now on; ``momentum`` holds
        for this call only. ``on_divergence``: when a batch loss turns NaN/inf, ``"raise"`` a
        :class:`~sgdlab.errors.DivergenceError` after recording that epoch's row, or ``"stop"``
        and return the recorder.
        """
        _check_epochs(epochs)
        lrs = self.lrs(lr)
        mom = self.momentum if momentum is None else momentum
        return self._fit(epochs, lambda pct: (lrs, mom), wd, on_divergence)

    def fit_one_cycle(self, epochs: int, max_lr: LearningRates = DEFAULT_LR, div: float = 25.0,
                      div_final: float = 1e5, pct_start: float = 0.25,
                      moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
                      wd: float | None = None, on_divergence: OnDivergence = "raise") -> Recorder:
        """Train with the one-cycle policy (:func:`~sgdlab.vision.schedule.one_cycle_lr`).

        Each group's lr rises from ``max/div`` to its ``max`` over the first ``pct_start`` of
        all batches, then falls to ``max/div_final`` (cosine both ways); momentum does the
        opposite (``moms``). ``max_lr`` may be a number, ``slice(lo, hi)`` or ``slice(hi)``.
        """
        _check_epochs(epochs)
        max_lrs = self.lrs(max_lr)
        one_cycle_lr(0.0, max_lrs[-1], div, div_final, pct_start)  # validates the arguments
        one_cycle_momentum(0.0, moms, pct_start)

        def hyper(pct: float) -> tuple[list[float], float]:
            return ([one_cycle_lr(pct, m, div, div_final, pct_start) for m in max_lrs],
                    one_cycle_momentum(pct, moms, pct_start))

        return self._fit(epochs, hyper, wd, on_divergence)

    def _fit(self, epochs: int, hyper: Callable[[float], tuple[list[float], float]],
             wd: float | None, on_divergence: OnDivergence) -> Recorder:
        dls = self._need_data()
        if on_divergence not in ("raise", "stop"):
            raise SgdlabError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}")
        if wd is not None:
            _check_weight_decay(wd)
            for group in self.opt.param_groups:
                group["weight_decay"] = wd
        n_batches = len(dls.train)
        if n_batches == 0:
            raise SgdlabError("the training loader yields no batches; is the training set "
                              "empty, or the batch size larger than it?")
        total = epochs * n_batches
        self.recorder = recorder = Recorder()
        self.log(format_header())
        with self._rng():
            for epoch in range(epochs):
                start = time.perf_counter()
                first = len(recorder.losses)
                bad = self._train_epoch(epoch, n_batches, total, hyper)
                epoch_losses = recorder.losses[first:]
                valid_loss, valid_error = self.validate()
                row = EpochRow(epoch, sum(epoch_losses) / max(len(epoch_losses), 1),
                               valid_loss, valid_error, time.perf_counter() - start)
                recorder.rows.append(row)
                self.log(format_row(row))
                if bad is not None:
                    if on_divergence == "stop":
                        break
                    step, loss = bad
                    lr = recorder.lrs[step - 1]
                    raise DivergenceError(step, loss, lr, lr / 10,
                                          f"the training loss became {loss}", history=recorder)
        return recorder

    def _train_epoch(self, epoch: int, n_batches: int, total: int,
                     hyper: Callable[[float], tuple[list[float], float]]
                     ) -> tuple[int, float] | None:
        """One pass over the training data; returns (step, loss) if the loss went bad.

        Each batch's loss is read after the *next* batch's step has been queued, so that on a
        GPU the Python loop never waits for the GPU to run dry (see
        :class:`~sgdlab.vision.device.HostScalar`). The recorder gets exactly the same numbers;
        a bad loss is noticed one step later, when the weights are already ruined anyway.
        """
        self.model.train()
        bar = tqdm(self.dls.train, total=n_batches, leave=False, disable=not self.progress,
                   desc=f"epoch {epoch}")

        def record(loss: HostScalar, lrs: list[float], mom: float) -> tuple[int, float] | None:
            value = loss.get()
            self.recorder.record_batch(value, lrs, mom, epoch)
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            return None if math.isfinite(value) else (len(self.recorder.losses), value)

        previous = None
        try:
            for i, (xb, yb) in enumerate(bar):
                lrs, mom = hyper(min((epoch * n_batches + i) / total, 1.0))
                self.set_hyper(lrs, mom)
                step = (self._step(xb, yb), lrs, mom)
                bad = record(*previous) if previous is not None else None
                if bad is not None:
                    return bad
                previous = step
            return record(*previous) if previous is not None else None
        finally:
            bar.close()

    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
                stop_div: bool = True, beta: float = 0.98):
        """Sweep the learning rate upward and suggest one; see :mod:`sgdlab.vision.lr_find`."""
        from sgdlab.vision.lr_find import lr_find

        return lr_find(self, start_lr, end_lr, num_it, stop_div, beta)

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def _logits(self, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, classes) float32 logits and (N,) targets on the CPU, in the loader's order."""
        self.model.eval()
        logits, targets = [], []
        bar = tqdm(loader, leave=False, disable=not self.progress, desc="validating")
        for xb, yb in bar:
            xb, yb = self._to_device(xb, yb)
            with autocast(self.device):
                out = self.model(xb)
            logits.append(out.float().cpu())
            targets.append(yb.cpu())
        bar.close()
        if not logits:
            return torch.empty(0, len(self.classes)), torch.empty(0, dtype=torch.long)
        return torch.cat(logits), torch.cat(targets)

    def get_preds(self, loader: Iterable | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Probabilities (N, classes), targets (N,) and per-image losses (N,) on the CPU.

        ``loader`` defaults to the validation loader, so row ``i`` is ``dls.valid_items[i]``.
        The loss of image ``i`` is ``−log p(actual class)``.
        """
        logits, targets = self._logits(self._need_data().valid if loader is None else loader)
        losses = F.cross_entropy(logits, targets, reduction="none")
        return logits.softmax(dim=1), targets, losses

    def validate(self, loader: Iterable | None = None) -> tuple[float, float]:
        """``(valid_loss, error_rate)`` over the whole validation set (NaN when it is empty)."""
        logits, targets = self._logits(self._need_data().valid if loader is None else loader)
        if len(targets) == 0:
            return math.nan, math.nan
        return F.cross_entropy(logits, targets).item(), error_rate(logits, targets)

    def tta(self, loader: Iterable | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Test-time augmentation: probabilities averaged over each image and its mirror image.

        A picture of a bear flipped left-right is still the same bear, and training showed the
        model flipped pictures half of the time; so we ask it twice and average::

            p(x) = ( softmax(f(x)) + softmax(f(flip(x))) ) / 2

        where ``flip`` reverses the width axis. The two answers disagree most on the images
        the model is unsure about, and the average is often right where one of them is wrong.
        Returns ``(probabilities (N, classes), targets (N,))`` on the CPU, in the loader's
        order (default: the validation loader), like fastai's ``learn.tta()``; the error rate
        is ``(probs.argmax(1) != targets).float().mean()``.
        """
        loader = self._need_data().valid if loader is None else loader
        # one pass (a shuffled loader gives a new order each pass): x0, flip(x0), x1, ...
        pairs = ((torch.stack([xb, xb.flip(-1)], dim=1).flatten(0, 1), yb.repeat_interleave(2))
                 for xb, yb in loader)
        logits, targets = self._logits(pairs)
        probs = logits.softmax(dim=1).view(-1, 2, logits.shape[1]).mean(dim=1)
        return probs, targets[::2].clone()

    @torch.no_grad()
    def predict(self, image: Any) -> tuple[str, int, torch.Tensor]:
        """Classify one image (a path or a PIL image) the way validation images are seen.

        Returns ``(class name, class index, probabilities)``, the probabilities a CPU tensor in
        the order of ``classes``. Runs on the learner's device (CPU for :func:`load_learner`'s
        default).
        """
        from sgdlab.vision.data import load_image, valid_transform

        x = valid_transform(self.size, self.mean, self.std)(load_image(image)).unsqueeze(0)
        x = x.to(self.device, memory_format=memory_format(self.device))
        self.model.eval()
        with autocast(self.device):
            logits = self.model(x)
        probs = logits.float().softmax(dim=1)[0].cpu()
        index = int(probs.argmax())
        return self.classes[index], index, probs

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint_path(self, name: str | os.PathLike) -> Path:
        path = Path(name)
        if path.parent == Path("."):  # a bare name lives in model_dir
            path = self.model_dir / (path.name if path.suffix else f"{path.name}.pth")
        return path

    def save(self, name: str | os.PathLike) -> Path:
        """Write weights, class names, architecture, image size and normalization atomically.

        A bare ``name`` goes to ``model_dir/name.pth``; a path with a folder is used as given.
        The optimizer's momentum is not saved.
        """
        path = self._checkpoint_path(name)
        checkpoint = {
            "format": CHECKPOINT_FORMAT, "arch": self.arch, "head": self.head,
            "classes": list(self.classes), "size": self.size,
            "mean": [float(m) for m in self.mean], "std": [float(s) for s in self.std],
            "state_dict": {k: v.detach().cpu().contiguous()
                           for k, v in self.model.state_dict().items()},
        }
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)
        return path

    def load(self, name: str | os.PathLike) -> Learner:
        """Load weights saved by :meth:`save` into this learner's model (and clear momentum).

        Raises :class:`~sgdlab.errors.SgdlabError` when the checkpoint was made for other
        classes or another architecture.
        """
        path = self._checkpoint_path(name)
        checkpoint = read_checkpoint(path)
        if self.arch is not None and checkpoint["arch"] is not None and (
                checkpoint["arch"], checkpoint["head"]) != (self.arch, self.head):
            raise SgdlabError(f"{path} holds a {checkpoint['arch']} with a {checkpoint['head']} "
                              f"head, but this learner is a {self.arch} with a {self.head} head; "
                              f"build the learner with arch={checkpoint['arch']!r}, "
                              f"head={checkpoint['head']!r}")
        if checkpoint["classes"] != self.classes:
            raise SgdlabError(f"{path} was trained on the classes {checkpoint['classes']} but "
                              f"this learner's data has {self.classes}; load it into a learner "
                              f"built on the same classes (or use load_learner({str(path)!r}))")
        if (tuple(checkpoint["mean"]), tuple(checkpoint["std"])) != (self.mean, self.std):
            warnings.warn(f"{path} was trained with normalization mean={checkpoint['mean']} "
                          f"std={checkpoint['std']}, but this learner uses mean={self.mean} "
                          f"std={self.std}", stacklevel=2)
        try:
            self.model.load_state_dict(checkpoint["state_dict"])
        except RuntimeError as err:
            raise SgdlabError(f"{path} does not fit this model ({str(err).splitlines()[0]}); "
                              f"was it saved from another architecture?") from err
        self.opt.state.clear()
        return self


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read and check a checkpoint written by :meth:`Learner.save` (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise SgdlabError(f"checkpoint {path} not found; save one with learn.save(name)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise SgdlabError(f"could not read checkpoint {path} ({err}); it must be written by "
                          f"learn.save(name)") from err
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise SgdlabError(f"{path} is not a sgdlab learner checkpoint; write one with "
                          f"learn.save(name)")
    return checkpoint


def vision_learner(dls: Any, arch: str = "resnet34", weights: vision_model.Weights = None, *,
                   head: str = "fastai", freeze: bool | None = None, seed: int | None = None,
                   **kwargs: Any) -> Learner:
    """A :class:`Learner` with a new ``arch`` model for ``dls.classes`` (fastai's cnn_learner).

    Args:
        weights: ``None`` (random), ``"imagenet"`` or a path; see
            :func:`~sgdlab.vision.model.create_model`.
        freeze: train only the head at first; default: yes for pretrained weights (as fastai),
            no for random ones (a random body must learn too).
        seed: repeatable initial weights and dropout.
        kwargs: passed to :class:`Learner` (``wd``, ``momentum``, ``model_dir``, ``device``,
            ``progress``, ``log``, ``loss_func``).
    """
    model = vision_model.create_model(len(dls.classes), arch, weights, head, seed)
    learn = Learner(dls, model, arch=arch, head=head, seed=seed, **kwargs)
    if freeze is None:
        freeze = weights is not None
    if freeze:
        learn.freeze()
    return learn


def load_learner(path: str | os.PathLike, device: str | torch.device = "cpu",
                 **kwargs: Any) -> Learner:
    """Rebuild a learner from a checkpoint for predictions, without data (CPU by default)."""
    checkpoint = read_checkpoint(path)
    if checkpoint["arch"] is None:
        raise SgdlabError(f"{path} holds a custom model that load_learner cannot rebuild; "
                          f"build the model yourself and call Learner(...).load(path)")
    model = vision_model.create_model(len(checkpoint["classes"]), checkpoint["arch"],
                                      head=checkpoint["head"])
    learn = Learner(None, model, arch=checkpoint["arch"], head=checkpoint["head"],
                    device=device, classes=checkpoint["classes"], size=checkpoint["size"],
                    mean=checkpoint["mean"], std=checkpoint["std"], **kwargs)
    learn.load(path)
    learn.model.eval()
    return learn
