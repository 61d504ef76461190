"""How big the bear lessons (7–11) run: every setting they take from the environment, in one place.

A lesson calls :func:`lesson_config` once and takes its sizes from the result, so the same script
is a real lesson by default and a smoke test with ``SGDLAB_QUICK=1``:

* ``SGDLAB_QUICK=1`` — a quick look: 32-px images, 16 photos per class, resnet18, one epoch per
  fit, a short learning-rate sweep. Unset: a real run on all 480 photos with the lecture's
  ResNet34, at 224 px on a GPU and 128 px on a CPU (from scratch: 12 epochs on a CPU, a few
  minutes each training; 40 on a GPU).
* ``SGDLAB_BEARS`` — the folder holding ``black/``, ``grizzly/`` and ``teddys/``; default
  ``../shared/bears`` (see :func:`~sgdlab.vision.data.default_bears_dir`).
* ``SGDLAB_DEVICE`` — ``cpu`` or ``cuda``; default CUDA when present, else the CPU.
* ``SGDLAB_WEIGHTS`` — the body's starting weights: a file holding the state dict of
  torchvision's ResNet, or ``imagenet`` (downloads once). Unset: random weights, so the lessons
  train from scratch; this machine cannot download ImageNet weights.
* ``SGDLAB_WORKDIR`` — the work folder: checkpoints go to its ``models/``, where lessons 9–12
  find the models that lessons 8 and 9 saved. Unset: the project folder when the current folder
  is inside the clone (a notebook in ``lessons/`` or ``notebooks/``), else the current folder
  (see :func:`sgdlab.teach.work_dir`).

The training recipes live in :mod:`sgdlab.vision.recipe`, which the lessons, ``sgdlab bears
train`` and ``benchmarks/bears.py`` share; :func:`lesson_config` picks one and sizes it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from sgdlab.checks import DEFAULT_SEED
from sgdlab.errors import SgdlabError
from sgdlab.teach import WORKDIR_ENV, work_dir
from sgdlab.vision.checkpoint import read_checkpoint
from sgdlab.vision.data import ImageDataLoaders, default_bears_dir, find_classes
from sgdlab.vision.data import split_items as split_seeded
from sgdlab.vision.device import default_device
from sgdlab.vision.learner import Learner, vision_learner
from sgdlab.vision.model import parse_weights
from sgdlab.vision.recipe import SCRATCH_LR, SCRATCH_WD, Recipe, recipe_for, run_stage

QUICK_ENV = "SGDLAB_QUICK"
BEARS_ENV = "SGDLAB_BEARS"
DEVICE_ENV = "SGDLAB_DEVICE"
WEIGHTS_ENV = "SGDLAB_WEIGHTS"


class BearsNotFoundError(SgdlabError):
    """The bear photos are not where the lessons looked."""


# ------------------------------------------------------------------------------ the lessons

@dataclass(frozen=True)
class LessonConfig:
    """The sizes of one lesson run (see the module docstring for where they come from).

    Attributes:
        quick: a quick look (``SGDLAB_QUICK=1``).
        bears: the photos' folder (it may not exist: see :meth:`require_bears`).
        device: where training runs.
        weights: the body's starting weights: ``None`` (random), ``"imagenet"`` or a file path.
        recipe: how lessons 8–10 train (architecture, size, batch size, epochs, lr, wd).
        train_per_class, valid_per_class: keep only this many training / validation photos of
            each class (``None``: all of them).
        lr_find_steps: mini-batches the learning-rate finder sweeps.
        problem_size, problem_arch: image size and ResNet of lesson 11's small, deliberately
            broken runs (always from scratch).
        problem_photos: training and validation photos per class (``None``: all) of its
            learning-rate and too-few-epochs runs.
        overfit_photos, overfit_epochs: training photos per class, and epochs, of its "too
            many epochs" run (which validates on every validation photo).
        seed: seeds the validation split, the batches, the augmentation and the initial weights.
        model_dir: where checkpoints go: ``models/`` in the work folder
            (:func:`sgdlab.teach.work_dir`).
        progress: show progress bars.
    """

    quick: bool
    bears: Path
    device: torch.device
    weights: str | None
    recipe: Recipe
    train_per_class: int | None
    valid_per_class: int | None
    lr_find_steps: int
    problem_size: int
    problem_arch: str
    problem_photos: tuple[int | None, int | None]
    overfit_photos: int
    overfit_epochs: int
    seed: int = DEFAULT_SEED
    model_dir: Path = field(default_factory=lambda: Path("models"))
    progress: bool = True

    def require_bears(self) -> Path:
        """The photos' folder; raises :class:`BearsNotFoundError` saying where it looked."""
        if self.bears.is_dir() and any(p.is_dir() and not p.name.startswith(".")
                                       for p in self.bears.iterdir()):
            return self.bears
        where = (f"the folder named by {BEARS_ENV}" if os.environ.get(BEARS_ENV)
                 else f"{BEARS_ENV} is not set, so the default ../shared/bears, from the "
                      f"current folder and from the project folder")
        raise BearsNotFoundError(
            f"the bear photos were not found at {self.bears.absolute()} ({where}). Set "
            f"{BEARS_ENV} to the folder that holds black/, grizzly/ and teddys/, e.g. "
            f"`{BEARS_ENV}=/data/bears sgdlab lesson 7`, or download the photos with "
            f"`sgdlab bears download URLS_FILE DEST` (lesson 7 shows how)")

    def full_split(self, valid_pct: float = 0.2) -> tuple[list[str], list[Path], list[Path]]:
        """``(classes, train_items, valid_items)``: the seed's split of all the photos."""
        classes, items = find_classes(self.require_bears())
        train, valid = split_seeded(items, valid_pct=valid_pct, seed=self.seed)
        return classes, train, valid

    def split(self) -> tuple[list[str], list[Path], list[Path]]:
        """:meth:`full_split`, then at most ``train_per_class`` / ``valid_per_class`` photos of
        each class. All photos are split first, so a smaller run validates on photos of the
        full run's validation set."""
        classes, train, valid = self.full_split()
        return (classes, keep_per_class(train, self.train_per_class),
                keep_per_class(valid, self.valid_per_class))

    def loaders(self, size: int | None = None, batch_size: int | None = None,
                augment: bool = True,
                split: tuple[list[str], list[Path], list[Path]] | None = None,
                ) -> ImageDataLoaders:
        """:class:`ImageDataLoaders` of ``split`` (default :meth:`split`), by default at the
        recipe's size and batch size."""
        classes, train, valid = split if split is not None else self.split()
        return ImageDataLoaders(self.bears, classes, train, valid,
                                size=size or self.recipe.size,
                                batch_size=batch_size or self.recipe.batch_size,
                                device=self.device, augment=augment, seed=self.seed)

    def learner(self, dls: ImageDataLoaders, **kwargs) -> Learner:
        """``vision_learner`` with the recipe's architecture, weights and weight decay."""
        options = {"wd": self.recipe.wd, "model_dir": self.model_dir, "progress": self.progress,
                   "seed": self.seed, **kwargs}
        return vision_learner(dls, options.pop("arch", self.recipe.arch),
                              options.pop("weights", self.weights), **options)

    def checkpoint(self, name: str) -> Path | None:
        """``model_dir/name.pth`` if it exists and was trained with this run's architecture
        and image size (an earlier lesson's stage), else ``None``."""
        path = self.model_dir / f"{name}.pth"
        if not path.is_file():
            return None
        try:
            saved = read_checkpoint(path)
        except SgdlabError:
            return None
        fits = saved["arch"] == self.recipe.arch and saved["size"] == self.recipe.size
        return path if fits else None


def stage_one(config: LessonConfig, learn: Learner, *names: str) -> tuple[Path, bool]:
    """The first of the checkpoints ``names`` an earlier lesson saved (``config.checkpoint``),
    loaded into ``learn``; if there is none, train the recipe's main stage now and save it as
    ``bears-stage-1``. Returns ``(path, trained_now)``."""
    for name in names or ("bears-stage-1",):
        saved = config.checkpoint(name)
        if saved is not None:
            learn.load(saved)
            return saved, False
    run_stage(learn, config.recipe.stages()[0])
    return learn.save("bears-stage-1"), True


def keep_per_class(items: list[Path], limit: int | None) -> list[Path]:
    """The first ``limit`` items of each class folder, in the given order (all if ``None``)."""
    if limit is None:
        return list(items)
    counts: dict[str, int] = {}
    kept = []
    for item in items:
        label = item.parent.name
        if counts.get(label, 0) < limit:
            counts[label] = counts.get(label, 0) + 1
            kept.append(item)
    return kept


def is_set(value: str | None) -> bool:
    """An environment flag is on unless empty, ``0``, ``false`` or ``no``."""
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def lesson_config(environ: Mapping[str, str] | None = None) -> LessonConfig:
    """Read ``SGDLAB_QUICK``, ``SGDLAB_BEARS``, ``SGDLAB_DEVICE``, ``SGDLAB_WEIGHTS`` and
    ``SGDLAB_WORKDIR`` (from ``environ``, default ``os.environ``)."""
    env = os.environ if environ is None else environ
    model_dir = work_dir({WORKDIR_ENV: env.get(WORKDIR_ENV, "")}) / "models"
    quick = is_set(env.get(QUICK_ENV))
    bears = Path(env[BEARS_ENV]) if env.get(BEARS_ENV) else default_bears_dir()
    device = default_device(env.get(DEVICE_ENV) or None)
    weights = parse_weights(env.get(WEIGHTS_ENV), WEIGHTS_ENV)
    recipe = recipe_for(device, weights)
    if weights is None:  # the lessons train the lecture's ResNet34, for fewer epochs on a CPU,
        # in one fit_one_cycle at the recipe's size (no progressive resizing, TTA or smoothing)
        recipe = replace(recipe, arch="resnet34", lr=SCRATCH_LR, wd=SCRATCH_WD,
                         epochs=recipe.epochs if device.type == "cuda" else 12,
                         small_size=0, small_epochs=0, small_lr=None, label_smoothing=0.0,
                         tta=False)
    if quick:
        recipe = replace(recipe, arch="resnet18" if weights is None else recipe.arch, size=32,
                         batch_size=16, epochs=1, lr=1e-2 if weights is None else recipe.lr,
                         unfreeze_epochs=1)
        return LessonConfig(quick=True, bears=bears, device=device, weights=weights,
                            recipe=recipe, train_per_class=12, valid_per_class=4,
                            lr_find_steps=20, problem_size=32, problem_arch="resnet18",
                            problem_photos=(40, 20), overfit_photos=8, overfit_epochs=30,
                            model_dir=model_dir, progress=False)
    return LessonConfig(quick=False, bears=bears, device=device, weights=weights,
                        recipe=replace(recipe, unfreeze_epochs=2), train_per_class=None,
                        valid_per_class=None, lr_find_steps=100, problem_size=64,
                        problem_arch="resnet18", problem_photos=(None, None), overfit_photos=8,
                        overfit_epochs=40, model_dir=model_dir)
