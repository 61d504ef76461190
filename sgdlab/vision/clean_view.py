"""What a cleaning page shows: the filters, one page of photos, each photo's state, the counts.

:class:`CleanView` sits between a :class:`~sgdlab.vision.cleaner.Cleaner` (the session: ranking,
journal, apply, undo) and a screen (the notebook widget of :mod:`sgdlab.vision.clean_widget`;
a browser page would sit on it the same way). It holds only what the screen is looking
at (class, split, wrong/unsure, page); every decision goes straight to the cleaner's journal, so
changing a filter or the page never loses one. A screen reads :meth:`CleanView.cards` and
:meth:`CleanView.counts`, and sends :meth:`CleanView.choose`, ``apply`` and ``undo``.

A photo's choice is written ``keep``, ``delete`` or ``relabel:CLASS``. A photo that an applied
batch moved shows where it went (``moved_to``) and takes no choice until that batch is undone.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from sgdlab.checks import check_choice, check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.vision.clean_journal import Decision, Move
from sgdlab.vision.cleaner import SPLITS, WHICH, Cleaner, Row

ALL = "all"
THUMBNAIL_PIXELS = 160


@dataclass(frozen=True)
class Card:
    """One photo as a page shows it: its row, the current choice, and where it is now.

    Attributes:
        row: the photo's ranking (path, label, split, prediction, probability, loss).
        choice: ``keep``, ``delete`` or ``relabel:CLASS`` (the latest decision; keep if none).
        moved_to: where an applied batch moved it (inside the data folder), else ``None``.
        options: the choices this photo can take, as ``(text, value)`` pairs.
    """

    row: Row
    choice: str
    moved_to: str | None
    options: tuple[tuple[str, str], ...]

    @property
    def seen_in_training(self) -> bool:
        """A training photo: the model learnt from it, so its loss is lower than a new one's."""
        return self.row.split == "train"

    def to_dict(self) -> dict:
        """The card as plain JSON-able values (for the browser page)."""
        r = self.row
        return {"path": r.path, "label": r.label, "split": r.split, "prediction": r.prediction,
                "probability": r.probability, "loss": r.loss, "wrong": r.wrong,
                "choice": self.choice, "moved_to": self.moved_to,
                "seen_in_training": self.seen_in_training,
                "options": [list(o) for o in self.options]}


@dataclass(frozen=True)
class Counts:
    """How many photos the filters show, of all, and what is decided, pending and applied."""

    shown: int
    total: int
    delete: int
    relabel: int
    moved: int
    batches: int

    def text(self) -> str:
        """One line for the screen."""
        return (f"{self.shown} of {self.total} photos shown · pending: {self.delete} to delete,"
                f" {self.relabel} to relabel · applied: {self.moved} photo(s) moved in "
                f"{self.batches} batch(es)")


def choice_value(decision: Decision | None) -> str:
    """``keep``, ``delete`` or ``relabel:CLASS`` for a journal decision (keep for none)."""
    if decision is None:
        return "keep"
    return f"relabel:{decision.label}" if decision.action == "relabel" else decision.action


class CleanView:
    """The filters and page of one screen on ``cleaner``, ``per_page`` photos a page."""

    def __init__(self, cleaner: Cleaner, per_page: int = 12) -> None:
        if not isinstance(cleaner, Cleaner):
            raise SgdlabError(f"a cleaning page needs a Cleaner, got {type(cleaner).__name__}; "
                              f"make one with Cleaner(learn, data_dir)")
        self.cleaner = cleaner
        self.per_page = check_whole_number(per_page, "per_page", minimum=1,
                                           hint="e.g. 12 photos a page")
        self.label: str | None = None
        self.split: str | None = None
        self.which = ALL
        self.page = 0
        self._thumbnails: dict[tuple[str, int], bytes] = {}

    # ------------------------------------------------------------------ what is shown
    def set_filters(self, label: str | None = None, split: str | None = None,
                    which: str = ALL) -> None:
        """Show only ``label`` (a class; ``None`` or ``"all"``: every class), ``split``
        (``train``, ``valid``; ``None`` or ``"all"``: both) and ``which`` (all, wrong, unsure);
        back to the first page."""
        label = None if label in (None, ALL) else label
        split = None if split in (None, ALL) else split
        if split is not None:
            check_choice(split, "split", SPLITS)
        check_choice(which, "which", WHICH)
        self.cleaner.rows(label=label, split=split, which=which)  # checks the class
        self.label, self.split, self.which, self.page = label, split, which, 0

    def rows(self) -> list[Row]:
        """Every photo the filters let through, largest loss first."""
        return self.cleaner.rows(label=self.label, split=self.split, which=self.which)

    @property
    def pages(self) -> int:
        """How many pages the filtered photos fill (at least 1)."""
        return max(1, math.ceil(len(self.rows()) / self.per_page))

    def go(self, page: int) -> int:
        """Turn to ``page`` (0-based; past the last page: the last one); returns it."""
        page = check_whole_number(page, "page", hint="pages count from 0")
        self.page = min(page, self.pages - 1)
        return self.page

    def cards(self) -> list[Card]:
        """The photos of the current page, with their choices."""
        self.go(self.page)
        start = self.page * self.per_page
        moved = self._moved()
        state = self.cleaner.state
        return [Card(r, choice_value(state.decisions.get(r.path)), moved.get(r.path),
                     self.options(r)) for r in self.rows()[start:start + self.per_page]]

    def options(self, row: Row) -> tuple[tuple[str, str], ...]:
        """keep, delete, and relabel as each other class."""
        return (("keep", "keep"), ("delete", "delete"),
                *((f"relabel as {c}", f"relabel:{c}") for c in self.cleaner.classes
                  if c != row.label))

    def _moved(self) -> dict[str, str]:
        state = self.cleaner.state
        return {m.photo: m.to for b in state.applied_batches() for m in state.batches[b]}

    def counts(self) -> Counts:
        """What the screen's counts line says."""
        pending = self.cleaner.pending.values()
        state = self.cleaner.state
        return Counts(shown=len(self.rows()), total=len(self.cleaner.rows()),
                      delete=sum(d.action == "delete" for d in pending),
                      relabel=sum(d.action == "relabel" for d in pending),
                      moved=len(self._moved()), batches=len(state.applied_batches()))

    # ------------------------------------------------------------------ events
    def choose(self, path: str, value: str) -> str:
        """Record the choice ``value`` (``keep``, ``delete``, ``relabel:CLASS``) for ``path``
        in the journal now; returns the photo's name."""
        action, _, label = str(value).partition(":")
        if path in self._moved():
            raise SgdlabError(f"{path} was moved to {self._moved()[path]} by an applied batch; "
                              f"undo that batch to decide again")
        return self.cleaner.decide(path, action, label or None)

    def apply(self) -> list[Move]:
        """Carry out the pending decisions (the cleaner's ``apply``)."""
        return self.cleaner.apply()

    def undo(self, all: bool = False) -> list[Move]:  # noqa: A002 (the cleaner's name)
        """Put back the last applied batch (``all``: every batch)."""
        return self.cleaner.undo(all=all)

    # ------------------------------------------------------------------ pictures
    def file(self, path: str) -> Path:
        """Where the photo ``path`` is now (moved by an applied batch or not)."""
        return self.cleaner.data_dir / self._moved().get(path, path)

    def thumbnail(self, path: str, pixels: int = THUMBNAIL_PIXELS) -> bytes:
        """A JPEG of the photo ``path``, at most ``pixels`` on its longer side."""
        from sgdlab.vision.images import load_image

        file = self.file(path)
        key = (file.as_posix(), file.stat().st_mtime_ns if file.exists() else 0)
        if key not in self._thumbnails:
            image = load_image(file, draft_size=pixels)
            image.thumbnail((pixels, pixels))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85)
            self._thumbnails[key] = out.getvalue()
        return self._thumbnails[key]
