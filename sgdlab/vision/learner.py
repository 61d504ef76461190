"""The Learner: data + model + sgdlab's own SGD, with fastai's training vocabulary.

One training step is the lecture's ``update()`` grown up::

    logits = model(xb);  L = loss_func(logits, yb)          (mean over the batch)
    L.backward();  opt.step();  opt.zero_grad()

where ``opt`` is :class:`sgdlab.SGD` (momentum, L2 weight decay) with one parameter group per
layer group. With ``impl="my_sgd.py"`` a student's exercise solutions take the place of
sgdlab's: their ``momentum_step`` steps, their ``cross_entropy`` is the loss, and so on
(:mod:`sgdlab.vision.impl`). No ``torch.optim`` optimizer or scheduler is involved: a schedule
is a plain function from the step number to each group's learning rate and the momentum
(:mod:`sgdlab.vision.schedule`), and the learner writes ``group["lr"]`` and
``group["momentum"]`` itself before every batch.

Every way of training is one loop, :meth:`Learner.fit_schedule`: ``fit`` gives it a constant
schedule, ``fit_one_cycle`` the one-cycle policy, and ``lr_find`` an exponential sweep with a
stop condition, run inside ``with learn.restored():``. The loop prints the epoch table
(:mod:`sgdlab.vision.recorder`), numbered from 1.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, get_args

import torch
from torch import nn
from torch.nn import functional as F

from sgdlab import checks
from sgdlab.checks import OnDivergence
from sgdlab.errors import DivergenceError, SgdlabError
from sgdlab.progress import progress_bar
from sgdlab.vision import checkpoint as ckpt
from sgdlab.vision import evaluate, snapshot
from sgdlab.vision import model as vision_model
from sgdlab.vision.device import autocast, default_device, memory_format, read_one_step_late
from sgdlab.vision.impl import training_code
from sgdlab.vision.lr_find import LRFinderResult, lr_find
from sgdlab.vision.random_stream import RandomStream
from sgdlab.vision.recorder import Recorder, format_header, format_row
from sgdlab.vision.schedule import Schedule, constant_schedule

#: fastai's rule of thumb for a first fit (before unfreezing).
DEFAULT_LR = 3e-3
#: L2 weight decay λ (adds λ·p to every gradient), torchvision's ResNet recipe.
DEFAULT_WD = 1e-4
#: Momentum for ``fit`` (``fit_one_cycle`` cycles it 0.95 → 0.85 → 0.95) and ``lr_find``.
DEFAULT_MOMENTUM = 0.9
EPOCHS_HINT = "the lecture trains for 4"

LearningRates = float | slice | Sequence[float]
#: ``stop(step, loss) -> True`` ends training after that step (step counted from 1).
StopCondition = Callable[[int, float], bool]


def _loss_diverged(step: int, loss: float) -> bool:
    return not math.isfinite(loss)


class Learner:
    """Trains ``model`` on ``dls`` with :class:`sgdlab.SGD`; validates, predicts and saves.

    Args:
        dls: an ``ImageDataLoaders`` (``train``, ``valid``, ``classes``, ``size``, ...); to
            predict without data use :func:`~sgdlab.vision.checkpoint.load_learner`.
        model: made by :func:`~sgdlab.vision.model.create_model` (three layer groups), or any
            module that maps (B, 3, H, W) to (B, classes) logits (one layer group).
        arch, head: how ``model`` was built; stored in checkpoints so that ``load_learner``
            can rebuild it.
        wd: L2 weight decay λ.
        momentum: momentum used by :meth:`fit` and :meth:`lr_find`.
        model_dir: where :meth:`save` and :meth:`load` put checkpoints given by name.
        device: ``"cpu"``/``"cuda"``; default: the data's device, else CUDA when present.
        seed: makes dropout (and so the whole run on the CPU) repeatable, using a private
            random stream; the global one is left untouched.
        progress: show progress bars (:mod:`sgdlab.progress`; none in a log file).
        log: where the epoch table goes (default ``print``).
        loss_func: the training loss ``(logits, targets) -> mean loss``; default sgdlab's own
            :func:`~sgdlab.losses.cross_entropy` (exercise 10's reference), or e.g.
            :class:`~sgdlab.losses.LabelSmoothingCrossEntropy`, built on that same
            cross-entropy. The table's ``valid_loss`` is always plain cross-entropy, so runs
            stay comparable.
        impl: train with your own exercise solutions: a file such as ``"my_sgd.py"`` (or a
            module) whose ``momentum_step`` makes every update, ``cross_entropy`` the loss,
            ``one_cycle_lr`` and ``lrs_for_groups`` the learning rates, and ``smooth_losses``
            and ``suggest_lrs`` the finder's curve (:mod:`sgdlab.vision.impl`); default:
            sgdlab's own.
    """

    def __init__(self, dls: Any, model: nn.Module, *, arch: str | None = None,
                 head: str | None = None, wd: float = DEFAULT_WD,
                 momentum: float = DEFAULT_MOMENTUM, model_dir: str | os.PathLike = "models",
                 device: str | torch.device | None = None, seed: int | None = None,
                 progress: bool = True, log: Callable[[str], None] = print,
                 loss_func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 impl: str | os.PathLike | object | None = None) -> None:
        checks.check_number(wd, "weight decay", minimum=0.0, hint="1e-4 is typical")
        self.momentum = checks.check_fraction(momentum, "momentum", hint="0.9 is typical")
        if dls is None:
            raise SgdlabError("a Learner needs data to train on; for predictions from a saved "
                              "model use load_learner(path)")
        self.arch, self.head = arch, head
        self.model_dir = Path(model_dir)
        self.seed, self.progress, self.log = seed, progress, log
        self.code = training_code(impl, log)
        self.loss_func = self.code.loss(loss_func)
        self.device = default_device(device if device is not None
                                     else getattr(dls, "device", None))
        self.model = model.to(self.device, memory_format=memory_format(self.device))
        self._dls = None
        self.dls = dls
        # SGD's fast path (torch._foreach_*) on a GPU; on a CPU the readable loop was as fast
        # for ResNet34 (benchmarks/optimizer.py). Both give the same numbers bit for bit.
        self.opt = self.code.optimizer(
            [{"params": ps} for ps in vision_model.group_parameters(self.model)],
            lr=DEFAULT_LR, momentum=self.momentum, weight_decay=wd,
            foreach=self.device.type == "cuda")
        self.recorder = Recorder(n_valid=len(dls.valid_items), n_classes=len(self.classes))
        self._random = RandomStream(seed, self.device)

    # ------------------------------------------------------------------ the data
    @property
    def dls(self) -> Any:
        """The data the learner trains and validates on."""
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
                              "a model that only predicts")
        if self._dls is not None and list(dls.classes) != self.classes:
            raise SgdlabError(f"the new data has the classes {list(dls.classes)} but the model "
                              f"was built for {self.classes}; progressive resizing needs the "
                              f"same classes (build the new loaders from the same folder)")
        vision_model.check_fits_data(self.model, list(dls.classes), dls)
        self._dls, self.classes = dls, list(dls.classes)
        self.size, self.mean, self.std = int(dls.size), tuple(dls.mean), tuple(dls.std)

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
        return self.code.lrs(lr, self.n_groups)

    def set_hyper(self, lrs: Sequence[float], momentum: float) -> None:
        """Write each group's learning rate, and the momentum, into the optimizer."""
        for group, lr in zip(self.opt.param_groups, lrs, strict=True):
            group["lr"] = lr
            group["momentum"] = momentum

    # ------------------------------------------------------------------ one step
    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """Forward, loss, backward, ``opt.step()``, ``opt.zero_grad()``; returns the loss
        before the step, still on the device."""
        xb, yb = evaluate.batch_to_device(xb, yb, self.device)
        with autocast(self.device):
            logits = self.model(xb)
        loss = self.loss_func(logits.float(), yb)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()
        return loss.detach()

    # ------------------------------------------------------------------ training
    def fit(self, epochs: int, lr: LearningRates = DEFAULT_LR, wd: float | None = None,
            momentum: float | None = None, on_divergence: OnDivergence = "raise") -> Recorder:
        """Train ``epochs`` epochs at a constant learning rate (per group, see :meth:`lrs`).

        ``wd``, if given, becomes the learner's weight decay from now on; ``momentum`` holds
        for this call only. ``on_divergence``: when a batch loss turns NaN/inf, ``"raise"`` a
        :class:`~sgdlab.errors.DivergenceError` after recording that epoch's row, or ``"stop"``
        and return the recorder.
        """
        epochs = checks.check_whole_number(epochs, "epochs", minimum=1, hint=EPOCHS_HINT)
        schedule = constant_schedule(self.lrs(lr), self.momentum if momentum is None else momentum)
        return self._fit_epochs(epochs, schedule, wd, on_divergence)

    def fit_one_cycle(self, epochs: int, max_lr: LearningRates = DEFAULT_LR, div: float = 25.0,
                      div_final: float = 1e5, pct_start: float = 0.25,
                      moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
                      wd: float | None = None, on_divergence: OnDivergence = "raise") -> Recorder:
        """Train with the one-cycle policy (:func:`~sgdlab.vision.schedule.one_cycle_lr`).

        Each group's lr rises from ``max/div`` to its ``max`` over the first ``pct_start`` of
        all batches, then falls to ``max/div_final`` (cosine both ways); momentum does the
        opposite (``moms``). ``max_lr`` may be a number, ``slice(lo, hi)`` or ``slice(hi)``.
        """
        epochs = checks.check_whole_number(epochs, "epochs", minimum=1, hint=EPOCHS_HINT)
        schedule = self.code.one_cycle_schedule(self.lrs(max_lr),
                                                epochs * self._batches_per_epoch(), div,
                                                div_final, pct_start, moms)
        return self._fit_epochs(epochs, schedule, wd, on_divergence)

    def _fit_epochs(self, epochs: int, schedule: Schedule, wd: float | None,
                    on_divergence: OnDivergence) -> Recorder:
        checks.check_choice(on_divergence, "on_divergence", get_args(OnDivergence))
        if wd is not None:
            checks.check_number(wd, "weight decay", minimum=0.0, hint="1e-4 is typical")
            for group in self.opt.param_groups:
                group["weight_decay"] = wd
        recorder = self.fit_schedule(epochs * self._batches_per_epoch(), schedule,
                                     stop=_loss_diverged)
        if recorder.stopped_at is not None and on_divergence == "raise":
            step, loss = recorder.stopped_at, recorder.losses[recorder.stopped_at - 1]
            lr = recorder.lrs[step - 1]
            raise DivergenceError(step, loss, lr, lr / 10, f"the training loss became {loss}",
                                  history=recorder)
        return recorder

    def _batches_per_epoch(self) -> int:
        if len(self.dls.train) == 0:
            raise SgdlabError("the training loader yields no batches; is the training set "
                              "empty, or the batch size larger than it?")
        return len(self.dls.train)

    def fit_schedule(self, n_batches: int, schedule: Schedule, *,
                     stop: StopCondition | None = None, validate: bool = True) -> Recorder:
        """The training loop: ``n_batches`` steps, epoch after epoch, under ``schedule``.

        Before step ``i`` (from 0) the optimizer gets ``schedule(i)``'s learning rates and
        momentum. After each step its loss is recorded, and ``stop(step, loss)``, if given,
        may end training there. With ``validate`` every epoch (and the stopped one) ends with
        a validation pass and a row of the table; without, nothing is printed (the
        learning-rate finder). Returns the new :attr:`recorder`.
        """
        n_batches = checks.check_whole_number(n_batches, "n_batches", minimum=1)
        per_epoch = self._batches_per_epoch()
        self.recorder = recorder = Recorder(n_valid=len(self.dls.valid_items),
                                            n_classes=len(self.classes))
        if validate:
            for line in (self.code.header(self.loss_func), format_header()):
                if line:
                    self.log(line)
        with self._random.active():
            for epoch in range(1, math.ceil(n_batches / per_epoch) + 1):
                start = time.perf_counter()
                self._train_epoch(epoch, schedule, n_batches, stop)
                if validate:
                    self._end_epoch(epoch, start)
                if recorder.stopped_at is not None:
                    break
        return recorder

    def _train_epoch(self, epoch: int, schedule: Schedule, last: int,
                     stop: StopCondition | None) -> None:
        """One pass over the training data (or up to step ``last``), recording every loss."""
        self.model.train()
        recorder = self.recorder
        first = len(recorder.losses)
        batches = progress_bar(self.dls.train, total=min(len(self.dls.train), last - first),
                               leave=False, enabled=self.progress, desc=f"epoch {epoch}")

        def steps() -> Iterator[tuple[torch.Tensor, tuple[list[float], float]]]:
            for i, (xb, yb) in zip(range(first, last), batches, strict=False):
                lrs, momentum = schedule(i)
                self.set_hyper(lrs, momentum)
                yield self._step(xb, yb), (lrs, momentum)

        try:
            for loss, (lrs, momentum) in read_one_step_late(steps()):
                recorder.record_batch(loss, lrs, momentum, epoch)
                batches.set_postfix(loss=f"{loss:.4f}", refresh=False)
                if stop is not None and stop(len(recorder.losses), loss):
                    recorder.stopped_at = len(recorder.losses)
                    return
        finally:
            batches.close()

    def _end_epoch(self, epoch: int, start: float) -> None:
        valid_loss, valid_error = self.validate()
        row = self.recorder.end_epoch(epoch, valid_loss, valid_error, time.perf_counter() - start)
        self.log(format_row(row))

    def restored(self) -> AbstractContextManager[Learner]:
        """``with learn.restored():`` train as you like; afterwards weights, optimizer state,
        random streams, mode and recorder are as they were (see
        :func:`sgdlab.vision.snapshot.restored`)."""
        return snapshot.restored(self)

    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
                stop_div: bool = True, beta: float = 0.98) -> LRFinderResult:
        """Sweep the learning rate upward and suggest one; see :mod:`sgdlab.vision.lr_find`."""
        return lr_find(self, start_lr, end_lr, num_it, stop_div, beta)

    # ------------------------------------------------------------------ evaluation
    def _logits(self, loader: Iterable | None) -> tuple[torch.Tensor, torch.Tensor]:
        return evaluate.predict_logits(self.model, self.dls.valid if loader is None else loader,
                                       self.device, len(self.classes), self.progress)

    def get_preds(self, loader: Iterable | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Probabilities (N, classes), targets (N,) and per-image losses (N,) on the CPU.

        ``loader`` defaults to the validation loader, so row ``i`` is ``dls.valid_items[i]``.
        The loss of image ``i`` is ``−log p(actual class)``.
        """
        logits, targets = self._logits(loader)
        losses = F.cross_entropy(logits, targets, reduction="none")
        return logits.softmax(dim=1), targets, losses

    def validate(self, loader: Iterable | None = None) -> tuple[float, float]:
        """``(valid_loss, error_rate)`` over the whole validation set (NaN when it is empty)."""
        return evaluate.loss_and_error(*self._logits(loader))

    def tta(self, loader: Iterable | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Test-time augmentation: each image's probabilities averaged with its mirror image's
        (see :func:`~sgdlab.vision.evaluate.average_mirrored`), as fastai's ``learn.tta()``.

        Returns ``(probabilities (N, classes), targets (N,))`` on the CPU in the loader's order
        (default: the validation loader).
        """
        loader = self.dls.valid if loader is None else loader
        return evaluate.average_mirrored(*self._logits(evaluate.mirrored_pairs(loader)))

    def predict(self, image: Any) -> tuple[str, int, torch.Tensor]:
        """Classify one image (a path or a PIL image) the way validation images are seen:
        ``(class name, class index, probabilities)``, probabilities in ``classes`` order."""
        return evaluate.predict_image(self.model, image, classes=self.classes, size=self.size,
                                      mean=self.mean, std=self.std, device=self.device)

    # ------------------------------------------------------------------ checkpoints
    def save(self, name: str | os.PathLike) -> Path:
        """Write weights, class names, architecture, image size, normalization and the run
        record atomically; returns the path. A bare name (``"stage-1"``) goes to
        ``model_dir/stage-1.pth``; see :func:`~sgdlab.vision.checkpoint.checkpoint_path`."""
        checkpoint = ckpt.make_checkpoint(self.model, arch=self.arch, head=self.head,
                                          classes=self.classes, size=self.size, mean=self.mean,
                                          std=self.std,
                                          run=ckpt.run_record(self.recorder, self.dls))
        return ckpt.write_checkpoint(checkpoint, ckpt.checkpoint_path(name, self.model_dir))

    def load(self, name: str | os.PathLike) -> Learner:
        """Load weights saved by :meth:`save` into this model and clear the momentum; a
        checkpoint of other classes or another architecture is a clear error."""
        ckpt.load_into(self.model, ckpt.checkpoint_path(name, self.model_dir), arch=self.arch,
                       head=self.head, classes=self.classes, mean=self.mean, std=self.std)
        self.opt.state.clear()
        return self


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
            ``progress``, ``log``, ``loss_func``, ``impl``).
    """
    model = vision_model.create_model(len(dls.classes), arch, weights, head, seed)
    learn = Learner(dls, model, arch=arch, head=head, seed=seed, **kwargs)
    if freeze is None:
        freeze = weights is not None
    if freeze:
        learn.freeze()
    return learn
