"""A cleaning session: every photo of the dataset ranked by the model's loss, and decisions on them.

The loss of photo ``i`` with label ``y`` is ``−log p_i(y)``: near 0 when the model is sure of
the label, large when it is sure of another class (p = 0.01 → 4.6). Sorting every photo by it
puts the likely mislabelled or not-a-bear photos first. Unlike ``top_losses``, the cleaner ranks
the training photos too: they were seen in training, so their losses are lower than they would
be on new photos, and a mislabelled training photo that the model has learnt by heart may rank
low. Look at both splits.

Decisions (keep, delete, relabel) go to the journal of :mod:`sgdlab.vision.clean_journal` the
moment they are made, so a new ``Cleaner`` on the same folder (after a restart) shows them again.
``apply()`` carries them out, ``undo()`` puts the photos back::

    cleaner = Cleaner(learn, "bears")
    for row in cleaner.rows(split="valid", which="wrong")[:9]: print(row)
    cleaner.delete("black/00000012.jpg"); cleaner.relabel("teddys/00000003.jpg", "grizzly")
    cleaner.apply(); cleaner.undo()

What cleaning does to the seed-42 split: the split is drawn from the sorted list of the photos
that are there, so after deleting or relabelling photos, loading the folder again draws a new
split (same seed, other photos). To compare the error before and after cleaning fairly, measure
both models on the same photos.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgdlab.checks import check_choice, check_fraction
from sgdlab.errors import SgdlabError
from sgdlab.vision.clean_journal import (
    Decision,
    JournalState,
    Move,
    PhotoNotInDataError,
    UnknownClassError,
    apply_pending,
    read_journal,
    record_decision,
    undo_batches,
)
from sgdlab.vision.interpret import ClassificationInterpretation
from sgdlab.vision.split import find_classes

SPLITS = ("train", "valid")
WHICH = ("all", "wrong", "unsure")
SEEN_NOTE = ("training photos were seen in training, so their losses are lower than they "
             "would be on new photos; a mislabelled one the model learnt by heart ranks low")


@dataclass(frozen=True)
class Row:
    """One photo: its path inside the data folder, label, split, the model's prediction, the
    probability the model gives the label, and the loss ``−log(probability)``."""

    path: str
    label: str
    split: str
    prediction: str
    probability: float
    loss: float
    confidence: float

    @property
    def wrong(self) -> bool:
        """The prediction is not the label."""
        return self.prediction != self.label


class Cleaner:
    """The state of one cleaning session on ``data_dir`` (default: the learner's data folder).

    Args:
        learn: a learner whose data are the photos of ``data_dir`` (``learn.dls.train_items``
            and ``valid_items``); ``None`` to record, apply and undo decisions without ranking.
        data_dir: the dataset folder (one sub-folder per class); the journal is kept there.
        unsure_below: a photo is "unsure" when the model's top probability is below this.
        interpretations: predictions already made, a
            :class:`~sgdlab.vision.interpret.ClassificationInterpretation` per split (from
            ``from_learner(learn)`` and ``from_learner(learn, split="train")``); the cleaner
            ranks those photos instead of predicting again (``learn`` may then be ``None``).
    """

    def __init__(self, learn: Any, data_dir: str | os.PathLike | None = None, *,
                 unsure_below: float = 0.6,
                 interpretations: Sequence[ClassificationInterpretation] = ()) -> None:
        interpretations = list(interpretations)
        for interp in interpretations:
            if not isinstance(interp, ClassificationInterpretation):
                raise SgdlabError(f"interpretations must be ClassificationInterpretation "
                                  f"objects (from_learner(learn, split=...)), got "
                                  f"{type(interp).__name__}")
        splits = [interp.split for interp in interpretations]
        if len(set(splits)) < len(splits):
            raise SgdlabError(f"give at most one interpretation per split, got {splits}")
        self._interpretations = interpretations
        if data_dir is None:
            if learn is None:
                raise SgdlabError("give the data folder: Cleaner(learn, 'bears') or "
                                  "Cleaner(None, 'bears')")
            data_dir = learn.dls.path
        self.data_dir = Path(data_dir)
        self.classes, items = find_classes(self.data_dir)
        self.photos = {self._name(p) for p in items}
        self.unsure_below = check_fraction(unsure_below, "unsure_below", zero=False,
                                           hint="e.g. 0.6: below it the model is unsure")
        self.learn = learn
        self._rows: list[Row] | None = None
        self.state: JournalState = read_journal(self.data_dir)

    # ------------------------------------------------------------------ ranking
    def _name(self, path: str | os.PathLike) -> str:
        return Path(os.path.abspath(path)).relative_to(
            Path(os.path.abspath(self.data_dir))).as_posix()

    def rows(self, label: str | None = None, split: str | None = None,
             which: str = "all") -> list[Row]:
        """Every photo, largest loss first, filtered by ``label`` (a class), ``split``
        (``"train"`` or ``"valid"``) and ``which``: ``"wrong"`` (prediction ≠ label),
        ``"unsure"`` (top probability below ``unsure_below``) or ``"all"``."""
        if label is not None:
            self._check_class(label)
        if split is not None:
            check_choice(split, "split", SPLITS)
        check_choice(which, "which", WHICH)
        rows = self._ranked()
        return [r for r in rows if (label is None or r.label == label)
                and (split is None or r.split == split)
                and (which != "wrong" or r.wrong)
                and (which != "unsure" or r.confidence < self.unsure_below)]

    def _ranked(self) -> list[Row]:
        if self._rows is None:
            if self.learn is None and not self._interpretations:
                raise SgdlabError("this Cleaner has no learner, so it cannot rank the photos; "
                                  "make it with Cleaner(learn, data_dir)")
            self._rows = sorted(self._predict(), key=lambda r: -r.loss)
        return self._rows

    def _predict(self) -> list[Row]:
        rows = []
        interpretations = self._interpretations or [
            ClassificationInterpretation.from_learner(self.learn, split)
            for split in ("train", "valid")]
        for interp in interpretations:
            split, probs, targets, losses = (interp.split, interp.probs, interp.targets,
                                             interp.losses)
            for i, item in enumerate(interp.items):
                name = self._name(item)
                if name not in self.photos:
                    raise PhotoNotInDataError(f"the learner's photo {item} is not a photo of "
                                              f"{self.data_dir}; give the folder the learner's "
                                              f"data came from")
                y, p = int(targets[i]), int(probs[i].argmax())
                rows.append(Row(name, self.classes[y], split, self.classes[p],
                                float(probs[i, y]), float(losses[i]), float(probs[i, p])))
        return rows

    # ------------------------------------------------------------------ decisions
    def photo(self, path: str | os.PathLike) -> str:
        """``path`` as the journal names it (inside the data folder); a path relative to the
        data folder, or one (absolute or relative to the current folder) inside it."""
        given = Path(path)
        candidates = [given] if given.is_absolute() else [self.data_dir / given, given]
        for candidate in candidates:
            try:
                name = self._name(candidate)
            except ValueError:
                continue
            if name in self.photos:
                return name
        raise PhotoNotInDataError(f"{path} is not a photo of {self.data_dir}; give its path "
                                  f"inside the data folder, e.g. {min(self.photos)} (as the "
                                  f"list of photos shows it)")

    def _check_class(self, label: str) -> None:
        if label not in self.classes:
            raise UnknownClassError(f"{label!r} is not a class of {self.data_dir}; choose one "
                                    f"of {', '.join(self.classes)}")

    def decide(self, path: str | os.PathLike, action: str, label: str | None = None) -> str:
        """Record ``action`` (keep, delete, relabel to ``label``) for one photo in the journal
        now; returns the photo's name. The latest decision for a photo wins."""
        check_choice(action, "action", ("keep", "delete", "relabel"))
        name = self.photo(path)
        if action == "relabel":
            if label is None:
                raise UnknownClassError(f"relabel {name} to which class? one of "
                                        f"{', '.join(self.classes)}")
            self._check_class(label)
            if Path(name).parts[0] == label:
                raise UnknownClassError(f"{name} is already in class {label}; relabel it to "
                                        f"another class, or keep it")
        elif label is not None:
            raise SgdlabError(f"only relabel takes a class; {action} {name} without one")
        decision = Decision(action, label)
        record_decision(self.data_dir, name, decision)
        self.state.decisions[name] = self.state.pending[name] = decision
        return name

    def keep(self, path: str | os.PathLike) -> str:
        """Mark a photo keep (takes back an earlier delete or relabel not yet applied)."""
        return self.decide(path, "keep")

    def delete(self, path: str | os.PathLike) -> str:
        """Mark a photo for the quarantine (nothing moves before :meth:`apply`)."""
        return self.decide(path, "delete")

    def relabel(self, path: str | os.PathLike, label: str) -> str:
        """Mark a photo to move into the class folder ``label`` at :meth:`apply`."""
        return self.decide(path, "relabel", label)

    def decision(self, path: str | os.PathLike) -> Decision | None:
        """The latest decision for a photo (``None``: none yet)."""
        return self.state.decisions.get(self.photo(path))

    @property
    def pending(self) -> dict[str, Decision]:
        """Deletes and relabels recorded and not yet applied."""
        return {p: d for p, d in self.state.pending.items() if d.action != "keep"}

    # ------------------------------------------------------------------ apply and undo
    def apply(self) -> list[Move]:
        """Carry out the pending decisions (see :mod:`sgdlab.vision.clean_journal`)."""
        moves = apply_pending(self.data_dir, read_journal(self.data_dir), self.classes)
        self._reload()
        return moves

    def undo(self, all: bool = False) -> list[Move]:  # noqa: A002 (the issue's name)
        """Put back the photos of the last applied batch (``all=True``: of every batch)."""
        moves = undo_batches(self.data_dir, read_journal(self.data_dir), everything=all)
        self._reload()
        return moves

    def _reload(self) -> None:
        self.state = read_journal(self.data_dir)
        self.photos = {self._name(p) for p in find_classes(self.data_dir)[1]}
        self._rows = None if self.learn is None and not self._interpretations else self._rows

    def __repr__(self) -> str:
        return (f"Cleaner({self.data_dir}: {len(self.photos)} photos, {len(self.pending)} "
                f"decision(s) pending, {len(self.state.applied_batches())} batch(es) applied)")
