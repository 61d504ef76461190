"""The recipes that train the bear classifier, and the one function that runs them.

A :class:`Recipe` is a fixed way to train: its stages are one-cycle fits,

1. with progressive resizing (``small_epochs > 0``), ``fit_one_cycle(small_epochs,
   small_lr)`` on ``small_size``-px images first (a warm-up: half a run, not judged alone);
2. ``fit_one_cycle(epochs, lr)`` at ``size`` px (the main stage);
3. with ``unfreeze_epochs > 0``, unfreeze and ``fit_one_cycle(unfreeze_epochs,
   slice(lr / 100, lr / 10))``, the lecture's 3e-3 → slice(3e-5, 3e-4).

:func:`run_recipe` trains them in order and yields each stage's result; ``sgdlab bears
train`` adds diagnosis and saving, ``benchmarks/bears.py`` timing and test-time augmentation,
and the lessons call it too, so there is one way to run a recipe.

**The override rule** (``Recipe.with_overrides``, ``sgdlab bears train``'s options, the
benchmark's): every value you give replaces the recipe's value of the same name, and nothing
else changes. ``--epochs 4`` changes the main stage only: on a CPU the 64-px warm-up still
runs; ``--small-epochs 0`` turns progressive resizing off. A combination that cannot work
(a main size not above the warm-up size) is refused, never quietly changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

import torch

from sgdlab.checks import DEFAULT_SEED, check_fraction, check_lr, check_number, check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.losses import LabelSmoothingCrossEntropy
from sgdlab.vision.learner import Learner, LearningRates, vision_learner
from sgdlab.vision.model import check_arch
from sgdlab.vision.recorder import Recorder


@dataclass(frozen=True)
class Stage:
    """One ``fit_one_cycle(epochs, lr)`` at ``size`` px; ``unfreeze`` first when asked.
    ``judged``: whether the stage is a whole run that a diagnosis may judge."""

    name: str
    size: int
    epochs: int
    lr: LearningRates
    unfreeze: bool = False
    judged: bool = True

    def describe(self) -> str:
        lr = (f"slice({self.lr.start:g}, {self.lr.stop:g})" if isinstance(self.lr, slice)
              else f"{self.lr:g}")
        return (f"{self.name}: {'unfreeze, then ' if self.unfreeze else ''}"
                f"fit_one_cycle({self.epochs}, {lr}) at {self.size} px")


@dataclass(frozen=True)
class Recipe:
    """A fixed way to train the bear classifier (see the module docstring for the stages).

    With ``label_smoothing`` ε the training loss is
    :class:`~sgdlab.losses.LabelSmoothingCrossEntropy` (ε), else cross-entropy. With ``tta``
    the benchmark reports the error of :meth:`~sgdlab.vision.learner.Learner.tta`.
    ``unfreeze_lrs``: the ``(lo, hi)`` of the unfrozen stage, default ``(lr/100, lr/10)``.
    """

    arch: str
    size: int
    batch_size: int
    epochs: int
    lr: float
    wd: float
    weights: str | None = None
    unfreeze_epochs: int = 0
    unfreeze_lrs: tuple[float, float] | None = None
    small_size: int = 0
    small_epochs: int = 0
    small_lr: float | None = None
    label_smoothing: float = 0.0
    tta: bool = False
    seed: int = DEFAULT_SEED
    targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_arch(self.arch)
        for name, minimum in (("size", 8), ("batch_size", 1), ("epochs", 1),
                              ("unfreeze_epochs", 0), ("small_epochs", 0), ("small_size", 0),
                              ("seed", 0)):
            check_whole_number(getattr(self, name), name, minimum=minimum)
        check_lr(self.lr)
        if self.small_lr is not None:
            check_lr(self.small_lr, "small_lr")
        check_number(self.wd, "wd", minimum=0.0, hint="1e-4 is typical")
        check_fraction(self.label_smoothing, "label_smoothing", hint="0.1 is usual")
        if self.unfreeze_lrs is not None:
            lo, hi = (check_lr(v, "unfreeze_lrs") for v in self.unfreeze_lrs)
            if lo > hi:
                raise SgdlabError(f"unfreeze_lrs ({lo:g}, {hi:g}) must go from the first "
                                  f"layers' lr up to the head's: give the smaller one first")
        if self.small_epochs and not 0 < self.small_size < self.size:
            raise SgdlabError(
                f"progressive resizing trains {self.small_epochs} epochs at small_size="
                f"{self.small_size} px before the main stage at size={self.size} px, so the "
                f"main size must be larger; give small_epochs=0 (--small-epochs 0) for one "
                f"cycle at {self.size} px, or a smaller small_size (--small-size)")

    def with_overrides(self, **values: Any) -> Recipe:
        """This recipe with ``values`` in place of the recipe's (``None`` values are ignored):
        the override rule of the module docstring."""
        names = {f.name for f in fields(self)}
        unknown = sorted(values.keys() - names)
        if unknown:
            raise SgdlabError(f"a recipe has no setting {', '.join(unknown)}; it has "
                              f"{', '.join(sorted(names))}")
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @property
    def unfreeze_lr(self) -> slice:
        """The discriminative learning rates after unfreezing: ``slice(lo, hi)``."""
        lo, hi = self.unfreeze_lrs or (self.lr / 100, self.lr / 10)
        return slice(lo, hi)

    @property
    def resizes(self) -> bool:
        """Whether the recipe trains on smaller images first (progressive resizing)."""
        return self.small_epochs > 0

    @property
    def first_lr(self) -> float:
        """The maximum lr of the small-image cycle: ``small_lr``, else ``lr``."""
        return self.lr if self.small_lr is None else self.small_lr

    def stages(self) -> list[Stage]:
        """The recipe's fits, in order."""
        stages = [Stage("small images", self.small_size, self.small_epochs, self.first_lr,
                        judged=False)] if self.resizes else []
        stages.append(Stage("main", self.size, self.epochs, self.lr))
        if self.unfreeze_epochs:
            stages.append(Stage("unfrozen", self.size, self.unfreeze_epochs, self.unfreeze_lr,
                                unfreeze=True))
        return stages

    def loss_func(self) -> LabelSmoothingCrossEntropy | None:
        """The training loss for ``vision_learner(..., loss_func=...)``: ``None`` (plain
        cross-entropy) or ``LabelSmoothingCrossEntropy(label_smoothing)``."""
        return LabelSmoothingCrossEntropy(self.label_smoothing) if self.label_smoothing else None

    def describe(self) -> str:
        start = "from scratch" if self.weights is None else f"weights={self.weights}"
        smoothing = f", label smoothing {self.label_smoothing:g}" if self.label_smoothing else ""
        tta = ", error with TTA (image + mirror)" if self.tta else ""
        plan = "; ".join(stage.describe() for stage in self.stages())
        return (f"{self.arch} {start}, batch {self.batch_size}, wd {self.wd:g}{smoothing}"
                f"{tta}: {plan}")


#: The from-scratch learning rate and weight decay of one long cycle (the GPU recipe, lessons).
SCRATCH_LR = 1e-2
SCRATCH_WD = 5e-4


def default_size(device: torch.device) -> int:
    """224 px on a GPU (the lecture's size), 128 px on a CPU (a third of the pixels)."""
    return 224 if device.type == "cuda" else 128


def scratch_recipe(device: torch.device) -> Recipe:
    """Random initial weights: many more epochs than the lecture's 4, a higher learning rate and
    stronger weight decay.

    On a CPU, ResNet34 with progressive resizing: ``fit_one_cycle(40, 1e-2)`` on 64-px images
    (an epoch there costs a third of one at 128 px), then the same photos at 128 px and
    ``fit_one_cycle(10, 3e-3)``, with label smoothing 0.1 and weight decay 1e-3. Measured with
    ``benchmarks/bears.py`` on 2 cores: 17.7% error on the seed-42 split in 527 s (8.8 min,
    decoding included); with other initial weights (``--model-seed`` 1, 2, 3) 17.7%, 21.9% and
    19.8% in 522–544 s, so the 20% target is met on average but not by every seed (one image
    is 1.04%). A single cycle at 128 or 112 px levelled off at about 22% in the same time. On a
    GPU the lecture's ResNet34 at 224 px, 40 epochs (not measured here: no GPU).
    """
    if device.type == "cuda":
        return Recipe(arch="resnet34", size=224, batch_size=32, epochs=40, lr=SCRATCH_LR,
                      wd=SCRATCH_WD,
                      targets=("<= 10% error from scratch at 224 px on an H100",
                               ">= 4,000 images/s steady state at 224 px on an H100"))
    return Recipe(arch="resnet34", size=128, batch_size=32, epochs=10, lr=3e-3, wd=1e-3,
                  small_size=64, small_epochs=40, small_lr=SCRATCH_LR, label_smoothing=0.1,
                  targets=("<= 20% error from scratch at 112-128 px in <= 10 minutes on a "
                           "CPU",))


def pretrained_recipe(device: torch.device, weights: str) -> Recipe:
    """The lecture's: ImageNet weights, head first for 4 epochs at 3e-3, then unfrozen for 2."""
    return Recipe(arch="resnet34", size=default_size(device), batch_size=64, epochs=4, lr=3e-3,
                  wd=1e-4, weights=weights, unfreeze_epochs=2,
                  targets=("<= 3% error with ImageNet weights, as in the lecture",))


def recipe_for(device: torch.device, weights: str | None) -> Recipe:
    """:func:`pretrained_recipe` when there are starting weights, else :func:`scratch_recipe`."""
    return scratch_recipe(device) if weights is None else pretrained_recipe(device, weights)


# ------------------------------------------------------------------------------ running one

@dataclass(frozen=True)
class StageRun:
    """What one stage of :func:`run_recipe` left: the learner after it and its recorder."""

    stage: Stage
    learn: Learner
    recorder: Recorder

    @property
    def diverged(self) -> bool:
        """The loss became NaN/inf and training stopped: the weights are ruined."""
        return self.recorder.stopped_at is not None


def run_stage(learn: Learner, stage: Stage,
              loaders: Callable[[int], Any] | None = None) -> Recorder:
    """Train one stage on ``learn``: new loaders at the stage's size if it differs (progressive
    resizing; ``loaders(size)`` makes them), unfreeze if asked, then ``fit_one_cycle``. A
    diverging loss stops the stage (``recorder.stopped_at``) instead of raising."""
    if stage.size != learn.dls.size:
        if loaders is None:
            raise SgdlabError(f"stage {stage.name!r} trains at {stage.size} px but the data is "
                              f"{learn.dls.size} px; pass loaders(size) to make new loaders")
        learn.dls = loaders(stage.size)
    if stage.unfreeze:
        learn.unfreeze()
    learn.log(stage.describe())
    return learn.fit_one_cycle(stage.epochs, stage.lr, on_divergence="stop")


def run_recipe(recipe: Recipe, loaders: Callable[[int], Any], *, model_seed: int | None = None,
               make_learner: Callable[..., Learner] = vision_learner,
               **learner_options: Any) -> Iterator[StageRun]:
    """Train ``recipe`` stage by stage, yielding a :class:`StageRun` after each one.

    ``loaders(size)`` makes the data loaders at an image size (the recipe's split, batch size
    and seed are the caller's to keep). ``model_seed`` (default the recipe's seed) seeds the
    initial weights and dropout only. ``learner_options`` go to ``vision_learner`` (``log``,
    ``progress``, ``model_dir``...); ``make_learner`` builds it (``vision_learner``, or
    :func:`~sgdlab.vision.distributed.distributed_vision_learner` on each rank of a
    data-parallel run). Code between two stages runs while the generator waits
    (saving stage 1 before unfreezing, for example); after a diverged stage nothing more runs.
    """
    stages = recipe.stages()
    seed = recipe.seed if model_seed is None else model_seed
    learn = make_learner(loaders(stages[0].size), recipe.arch, recipe.weights, seed=seed,
                         wd=recipe.wd, loss_func=recipe.loss_func(), **learner_options)
    for stage in stages:
        result = StageRun(stage, learn, run_stage(learn, stage, loaders))
        yield result
        if result.diverged:
            return

