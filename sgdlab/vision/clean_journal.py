"""The cleaning journal: every decision and every move of a cleaning session, and apply / undo.

The journal is ``<data folder>/.cleaning.jsonl``, one JSON object per line, appended (under the
data folder's lock) the moment something happens, so nothing is lost when the kernel or the
terminal stops. Photos are named by their path inside the data folder (``black/0001.jpg``).

    {"kind": "decision", "photo": "black/0001.jpg", "action": "delete", "label": null}
    {"kind": "decision", "photo": "black/0002.jpg", "action": "relabel", "label": "grizzly"}
    {"kind": "move", "batch": 1, "photo": "black/0001.jpg", "to": ".quarantine/black/0001.jpg",
     "action": "delete", "label": null}
    {"kind": "undo", "batch": 1}

Reading it back replays the lines in order: the last decision per photo wins; a ``move`` makes
that photo's decision done; an ``undo`` puts the batch's decisions back to pending, so undo
followed by apply does the same moves again. A move is journalled *before* it happens; undo
skips a move whose photo is already back (a run stopped between the line and the move).

``apply`` moves a deleted photo into the quarantine of :func:`~sgdlab.vision.clean.verify_images`
(``<data folder>/.quarantine``, listed in its ``manifest.csv``) and a relabelled one into its new
class folder (``name-1.jpg`` if the name is taken). ``undo`` moves them back to exactly their old
paths (a rename: same bytes). Nothing is ever unlinked.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sgdlab.errors import SgdlabError
from sgdlab.files import append_text, folder_lock
from sgdlab.vision.clean import (
    MANIFEST_FIELDS,
    MANIFEST_NAME,
    QUARANTINE_NAME,
    BadImage,
    check_quarantine,
    free_name,
    make_quarantine_folder,
    manifest_row,
    move_to_quarantine,
)

JOURNAL_NAME = ".cleaning.jsonl"
ACTIONS = ("keep", "delete", "relabel")


class CleaningError(SgdlabError):
    """A cleaning request that cannot be carried out (the message says what to do)."""


class UnknownClassError(CleaningError):
    """A relabel to a class the dataset does not have."""


class PhotoNotInDataError(CleaningError):
    """A path that is not a photo of the data folder."""


class NothingToUndoError(CleaningError):
    """``undo`` with no applied batch left."""


@dataclass(frozen=True)
class Decision:
    """What to do with one photo: ``keep``, ``delete``, or ``relabel`` to ``label``."""

    action: str
    label: str | None = None


@dataclass(frozen=True)
class Move:
    """One photo moved by ``apply``: from ``photo`` to ``to`` (both inside the data folder)."""

    batch: int
    photo: str
    to: str
    action: str
    label: str | None = None


@dataclass
class JournalState:
    """The journal replayed: the latest decision per photo, those not yet applied, the batches."""

    decisions: dict[str, Decision] = field(default_factory=dict)
    pending: dict[str, Decision] = field(default_factory=dict)
    batches: dict[int, list[Move]] = field(default_factory=dict)
    undone: set[int] = field(default_factory=set)

    def applied_batches(self) -> list[int]:
        """Batches applied and not undone, oldest first."""
        return sorted(b for b in self.batches if b not in self.undone)


def journal_path(data_dir: Path) -> Path:
    """Where the journal of ``data_dir`` lives."""
    return Path(data_dir) / JOURNAL_NAME


def _append(data_dir: Path, entry: dict) -> None:
    with folder_lock(data_dir):
        append_text(journal_path(data_dir), json.dumps(entry, sort_keys=True) + "\n")


def record_decision(data_dir: Path, photo: str, decision: Decision) -> None:
    """Append one decision to the journal (flushed to the disk before this returns)."""
    _append(data_dir, {"kind": "decision", "photo": photo, "action": decision.action,
                       "label": decision.label})


def read_journal(data_dir: Path) -> JournalState:
    """Replay the journal of ``data_dir`` (an empty state when there is none yet)."""
    path, state = journal_path(data_dir), JournalState()
    if not path.exists():
        return state
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            kind = entry["kind"]
            if kind == "decision":
                decision = Decision(entry["action"], entry.get("label"))
                state.decisions[entry["photo"]] = state.pending[entry["photo"]] = decision
            elif kind == "move":
                move = Move(int(entry["batch"]), entry["photo"], entry["to"], entry["action"],
                            entry.get("label"))
                state.batches.setdefault(move.batch, []).append(move)
                state.pending.pop(move.photo, None)
            elif kind == "undo":
                batch = int(entry["batch"])
                state.undone.add(batch)
                for move in state.batches.get(batch, []):
                    state.pending[move.photo] = Decision(move.action, move.label)
            else:
                raise KeyError(kind)
        except (ValueError, KeyError, TypeError) as err:
            raise CleaningError(f"line {number} of the cleaning journal {path} cannot be read "
                                f"({type(err).__name__}: {err}); it was not written by sgdlab. "
                                f"Move the journal aside to start a new session (the photos "
                                f"it moved stay where they are)") from None
    return state


def apply_pending(data_dir: Path, state: JournalState, classes: list[str]) -> list[Move]:
    """Carry out every pending delete and relabel as one new batch; returns the moves made.

    Every photo is checked before the first one moves, so a bad request moves nothing.
    """
    todo = {p: d for p, d in sorted(state.pending.items()) if d.action != "keep"}
    for photo, decision in todo.items():
        if not os.path.lexists(data_dir / photo):
            raise PhotoNotInDataError(
                f"{photo} was marked {decision.action} but is no longer in {data_dir}; nothing "
                f"was moved. Mark it keep (cleaner.keep(...) or --keep) and apply again")
        if decision.action == "relabel" and decision.label not in classes:
            raise UnknownClassError(f"{photo} is to be relabelled {decision.label!r}, which is "
                                    f"not a class of {data_dir} ({', '.join(classes)}); "
                                    f"nothing was moved. Relabel it to one of those")
    if not todo:
        return []
    batch = max(state.batches, default=0) + 1
    quarantine = data_dir / QUARANTINE_NAME
    moves = []
    for photo, decision in todo.items():
        if decision.action == "delete":
            moves.append(_quarantine(data_dir, quarantine, batch, photo))
        else:
            moves.append(_relabel(data_dir, batch, photo, str(decision.label)))
    return moves


def _move_entry(move: Move) -> dict:
    return {"kind": "move", "batch": move.batch, "photo": move.photo, "to": move.to,
            "action": move.action, "label": move.label}


def _quarantine(data_dir: Path, quarantine: Path, batch: int, photo: str) -> Move:
    check_quarantine(data_dir, quarantine)
    make_quarantine_folder(quarantine)
    made: list[Move] = []

    def journal(target: Path) -> None:
        made.append(Move(batch, photo, target.relative_to(data_dir).as_posix(), "delete"))
        _append(data_dir, _move_entry(made[-1]))

    with folder_lock(quarantine):
        bad = BadImage(data_dir / photo, "deleted while cleaning (sgdlab cleaner)")
        move_to_quarantine(bad, data_dir, quarantine, quarantine / MANIFEST_NAME, journal)
    if not made:
        raise PhotoNotInDataError(f"{photo} disappeared from {data_dir} while applying; the "
                                  f"moves before it are in the journal (undo puts them back)")
    return made[0]


def _relabel(data_dir: Path, batch: int, photo: str, label: str) -> Move:
    with folder_lock(data_dir):
        target = free_name(data_dir / label / Path(photo).name)
        move = Move(batch, photo, target.relative_to(data_dir).as_posix(), "relabel", label)
        append_text(journal_path(data_dir), json.dumps(_move_entry(move), sort_keys=True) + "\n")
        shutil.move(data_dir / photo, target)
    return move


def undo_batches(data_dir: Path, state: JournalState, everything: bool = False) -> list[Move]:
    """Move the photos of the last applied batch (``everything``: of every batch, newest
    first) back to their old paths; returns the moves undone. Checks every move first."""
    batches = state.applied_batches()
    if not batches:
        raise NothingToUndoError(f"nothing to undo in {data_dir}: no applied batch is left in "
                                 f"its journal ({JOURNAL_NAME}); apply decisions first")
    chosen = batches[::-1] if everything else batches[-1:]
    planned: dict[Path, bool] = {}  # paths that the undo so far would fill (True) or empty

    def there_now(path: Path) -> bool:
        return planned.get(path, os.path.lexists(path))

    for batch in chosen:
        for move in reversed(state.batches[batch]):
            there, back = data_dir / move.to, data_dir / move.photo
            if not there_now(there) and not there_now(back):
                raise CleaningError(f"cannot undo batch {batch}: {move.photo} is neither at "
                                    f"{back} nor where it was moved, {there}; nothing was "
                                    f"moved. Put it back at {there} and undo again")
            if not there_now(there):
                continue  # journalled but never moved, or already back
            if there_now(back):
                raise CleaningError(f"cannot undo batch {batch}: {back} exists again, so "
                                    f"{there} cannot go back there; nothing was moved. Move "
                                    f"the new {back} aside and undo again")
            planned[there], planned[back] = False, True
    undone = []
    for batch in chosen:
        for move in reversed(state.batches[batch]):
            there, back = data_dir / move.to, data_dir / move.photo
            if os.path.lexists(there):  # else: journalled but never moved, or already back
                back.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(there, back)
                if move.action == "delete":
                    _note_put_back(data_dir, back, there)
                undone.append(move)
        _append(data_dir, {"kind": "undo", "batch": batch})
    return undone


def _note_put_back(data_dir: Path, back: Path, there: Path) -> None:
    """Add a row to the quarantine's manifest saying the photo went back."""
    header = ",".join(MANIFEST_FIELDS) + "\r\n"
    quarantine = data_dir / QUARANTINE_NAME
    with folder_lock(quarantine):
        append_text(quarantine / MANIFEST_NAME,
                    manifest_row(back, there, "put back by the cleaner's undo"), header=header)
