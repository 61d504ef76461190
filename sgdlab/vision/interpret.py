"""What the classifier gets wrong: confusion matrix, most-confused pairs, top losses.

The loss of validation image ``i`` is ``−log p_i(actual class)``: near 0 when the model is
confidently right, large when it is confidently wrong (p = 0.01 → 4.6). Sorting by it puts
the likely mislabelled or junk images first — the ones worth a look before cleaning the data.

Every tensor here is indexed like ``dls.valid_items``: row ``i`` is ``valid_items[i]``; an
interpretation of the training photos (``from_learner(learn, split="train")``) is indexed like
``dls.train_items`` instead. The model learnt from those, so their losses are lower than a new
photo's would be, and a mislabelled one it learnt by heart ranks low; they are still worth a
look, since a mislabelled training photo is never seen among the validation photos.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from sgdlab.checks import check_choice, check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.style import SCREEN, FigureStyle, new_figure, save_styled

if TYPE_CHECKING:
    from sgdlab.vision.learner import Learner

SPLITS = ("valid", "train")


def photo_name(item: str | os.PathLike) -> str:
    """A photo's class folder and file name (``black/00000042.jpg``): for a photo lying
    directly in its class folder, its path inside the data folder, as the cleaner and
    ``sgdlab bears clean`` name it."""
    path = Path(item)
    return f"{path.parent.name}/{path.name}"


@dataclass
class ClassificationInterpretation:
    """Validation predictions gathered once, in ``items`` order.

    Attributes:
        probs: (N, classes) predicted probabilities.
        targets: (N,) actual class indices.
        losses: (N,) cross-entropy of each image, ``−log probs[i, targets[i]]``.
        items: the image files (``dls.valid_items``, or ``dls.train_items``).
        classes: class names, in index order.
        split: ``"valid"`` or ``"train"``: which photos these are.
    """

    probs: torch.Tensor
    targets: torch.Tensor
    losses: torch.Tensor
    items: list[Path]
    classes: list[str]
    split: str = "valid"

    def __post_init__(self) -> None:
        check_choice(self.split, "split", SPLITS)
        n = self.probs.shape[0]
        if not (self.targets.shape[0] == self.losses.shape[0] == len(self.items) == n):
            raise SgdlabError(f"interpretation needs one row per item: got {n} predictions, "
                              f"{self.targets.shape[0]} targets, {self.losses.shape[0]} losses "
                              f"and {len(self.items)} items")
        if self.probs.shape[1] != len(self.classes):
            raise SgdlabError(f"predictions have {self.probs.shape[1]} columns but there are "
                              f"{len(self.classes)} classes")

    @classmethod
    def from_learner(cls, learn: Learner, split: str = "valid") -> ClassificationInterpretation:
        """Predict every validation photo of ``learn`` (``split="train"``: every training
        photo, in item order and without augmentation, as validation photos are seen)."""
        check_choice(split, "split", SPLITS)
        if split == "valid":
            probs, targets, losses = learn.get_preds()
            items = learn.dls.valid_items
        else:
            from sgdlab.vision.data import train_in_order

            probs, targets, losses = learn.get_preds(train_in_order(learn.dls))
            items = learn.dls.train_items
        return cls(probs, targets, losses, list(items), list(learn.classes), split)

    @property
    def preds(self) -> torch.Tensor:
        """(N,) predicted class: the most probable one."""
        return self.probs.argmax(dim=1)

    def confusion_matrix(self) -> torch.Tensor:
        """``cm[a, p]`` = how many images of actual class ``a`` were predicted as ``p``."""
        k = len(self.classes)
        flat = self.targets.long() * k + self.preds
        return torch.bincount(flat, minlength=k * k).reshape(k, k)

    def confusion_table(self) -> str:
        """The confusion matrix as aligned text: rows actual, columns predicted."""
        cm = self.confusion_matrix()
        corner = "actual \\ predicted"
        first = max(len(corner), *(len(c) for c in self.classes))
        widths = [max(len(c), len(str(int(cm.max())))) for c in self.classes]
        lines = [corner.ljust(first) + "".join(f"  {c:>{w}}" for c, w in
                                               zip(self.classes, widths, strict=True))]
        for a, name in enumerate(self.classes):
            lines.append(name.ljust(first) + "".join(
                f"  {int(cm[a, p]):>{w}}" for p, w in enumerate(widths)))
        return "\n".join(lines)

    def plot_confusion_matrix(self, path: str | os.PathLike,
                              style: FigureStyle = SCREEN) -> Path:
        """The confusion matrix as a PNG, counts written in the cells (``style``: e.g.
        :data:`~sgdlab.style.PROJECTOR`)."""
        cm = self.confusion_matrix()
        k = len(self.classes)
        fig = new_figure(style, (1.2 * k + 2.5, 1.2 * k + 2))
        ax = fig.subplots()
        ax.imshow(cm.numpy(), cmap="Blues")
        top = int(cm.max()) if cm.numel() else 0
        for a in range(k):
            for p in range(k):
                count = int(cm[a, p])
                ax.text(p, a, str(count), ha="center", va="center",
                        color="white" if count > top / 2 else "black")
        ax.set_xticks(range(k), self.classes, rotation=45, ha="right")
        ax.set_yticks(range(k), self.classes)
        ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
        return save_styled(fig, path, style)

    def most_confused(self, min_val: int = 1) -> list[tuple[str, str, int]]:
        """Off-diagonal cells with at least ``min_val`` images: ``(actual, predicted, count)``,
        most frequent first."""
        cm = self.confusion_matrix()
        pairs = [(self.classes[a], self.classes[p], int(cm[a, p]))
                 for a in range(len(self.classes)) for p in range(len(self.classes))
                 if a != p and int(cm[a, p]) >= min_val]
        return sorted(pairs, key=lambda t: -t[2])

    def top_losses(self, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``k`` largest losses (all if ``None``), largest first, and their indices into
        ``items``."""
        n = self.losses.shape[0]
        if k is None:
            k = n
        k = check_whole_number(k, "k", minimum=1, hint="top_losses(9) shows the worst nine")
        losses, indices = torch.topk(self.losses, min(k, n), sorted=True)
        return losses, indices

    def plot_top_losses(self, k: int, path: str | os.PathLike, ncols: int | None = None,
                        style: FigureStyle = SCREEN) -> Path:
        """The ``k`` worst images as a PNG grid, each titled with its file name (class folder
        and name, as the cleaner names it) over ``prediction / actual / loss / probability of
        the actual class``; the grid says which split its photos are. ``ncols`` defaults to 3
        (on a projector's wide slide, to about 1.8 times as many columns as rows)."""
        from sgdlab.vision.data import load_image

        losses, indices = self.top_losses(k)
        if ncols is None:
            ncols = 3 if style.size is None else math.ceil(math.sqrt(1.8 * len(indices)))
        ncols = max(1, min(ncols, len(indices)))
        nrows = math.ceil(len(indices) / ncols)
        fig = new_figure(style, (3.4 * ncols, 3.6 * nrows + 0.4))
        axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
        for ax in axes:
            ax.axis("off")
        for ax, loss, i in zip(axes, losses.tolist(), indices.tolist(), strict=False):
            image = load_image(self.items[i])
            image.thumbnail((256, 256))
            actual, predicted = int(self.targets[i]), int(self.preds[i])
            ax.imshow(image)
            ax.set_title(f"{photo_name(self.items[i])}\n{self.classes[predicted]} / "
                         f"{self.classes[actual]} / {loss:.2f} / "
                         f"p({self.classes[actual]})={self.probs[i, actual]:.2f}", fontsize=9)
        which = ("validation photos" if self.split == "valid" else
                 "training photos (seen in training, so their losses are lower)")
        fig.suptitle(f"{which}: file / prediction / actual / loss / probability of the actual "
                     f"class", fontsize=10)
        return save_styled(fig, path, style)
