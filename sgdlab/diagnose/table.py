"""An epoch table in memory: the rows a learner recorded, read into plain numbers.

:func:`epoch_table` accepts every form a learner meets: a learner (``.recorder``), a recorder
(``.rows``), rows with attributes (``EpochRow``), dicts, 3-tuples, a numpy array or a tensor, a
run record ``{"rows": [...], "n_valid": ..., "n_classes": ...}`` as a checkpoint stores it (or
the checkpoint itself, with its ``"run"``), and an :class:`EpochTable` read from a file.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from sgdlab.errors import SgdlabError

FIELDS = ("train_loss", "valid_loss", "error_rate")
FORMAT_HINT = ("diagnose() needs one row per epoch: (train_loss, valid_loss, error_rate) "
               "tuples, dicts with those keys, objects with those attributes (a learner's "
               "recorder.rows), or the recorder or learner itself")


@dataclass(frozen=True)
class EpochTable:
    """Per-epoch numbers of one run (index 0 is epoch 1) and what is known of its data.

    ``n_valid`` is the number of validation images the error rates were measured on and
    ``n_classes`` the number of classes; either may be ``None`` (unknown).
    """

    train_losses: tuple[float, ...]
    valid_losses: tuple[float, ...]
    error_rates: tuple[float, ...]
    n_valid: int | None = None
    n_classes: int | None = None

    def __len__(self) -> int:
        return len(self.error_rates)

    @property
    def rows(self) -> list[tuple[float, float, float]]:
        """``(train_loss, valid_loss, error_rate)`` per epoch."""
        return list(zip(self.train_losses, self.valid_losses, self.error_rates, strict=True))


def epoch_table(rows, *, n_valid=None, n_classes=None) -> EpochTable:
    """Read ``rows`` (any form in the module docstring) into an :class:`EpochTable`.

    ``n_valid`` / ``n_classes`` given here win; otherwise they come from the recorder's (or
    run record's) attributes of the same names when it has them.

    Raises:
        SgdlabError: empty input, a row in none of the accepted forms, a negative loss, an
            error rate outside [0, 1], or an ``n_valid`` / ``n_classes`` that is not a whole
            number (at least 1 image, at least 2 classes).
    """
    if isinstance(rows, EpochTable):
        found_valid, found_classes, table = rows.n_valid, rows.n_classes, rows
    else:
        rows, found_valid, found_classes = _unwrap(rows)
        table = None
    n_valid = check_count(n_valid if n_valid is not None else found_valid, "n_valid", 1,
                          "the number of validation images")
    n_classes = check_count(n_classes if n_classes is not None else found_classes,
                            "n_classes", 2, "the number of classes")
    if table is not None:
        if not len(table):
            raise SgdlabError(f"there are no epochs to diagnose; {FORMAT_HINT}")
        return replace(table, n_valid=n_valid, n_classes=n_classes)
    parsed = [_parse_row(row, epoch) for epoch, row in enumerate(rows, start=1)]
    if not parsed:
        raise SgdlabError(f"there are no epochs to diagnose; train for at least one epoch. "
                          f"{FORMAT_HINT}")
    train, valid, err = zip(*parsed, strict=True)
    return EpochTable(train, valid, err, n_valid, n_classes)


def check_count(value, name: str, minimum: int, what: str) -> int | None:
    """``None``, or ``value`` as a whole number ``>= minimum`` (else a :class:`SgdlabError`)."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        count = operator.index(value)
    except TypeError:
        if isinstance(value, float) and value.is_integer():
            count = int(value)
        else:
            raise SgdlabError(f"{name} must be a whole number ({what}), got {value!r}") \
                from None
    if count < minimum:
        raise SgdlabError(f"{name} must be at least {minimum} ({what}), got {count}")
    return count


def _unwrap(rows):
    """The rows inside a learner, recorder, run record or checkpoint, with its counts."""
    if rows is None:
        raise SgdlabError(f"got None instead of epochs; {FORMAT_HINT}")
    if isinstance(rows, Mapping):
        record = rows.get("run") if "format" in rows else rows
        if isinstance(record, Mapping) and "rows" in record:
            return record["rows"], record.get("n_valid"), record.get("n_classes")
        if "format" in rows:
            raise SgdlabError("this checkpoint holds no epoch table (it was saved before "
                              "sgdlab recorded runs in checkpoints); diagnose the CSV written "
                              "beside it, or train again")
        raise SgdlabError(f"got a {type(rows).__name__}, not a sequence of epochs; "
                          f"{FORMAT_HINT}")
    found_valid = found_classes = None
    if hasattr(rows, "recorder"):  # a learner
        rows = rows.recorder
    if hasattr(rows, "rows"):  # a recorder
        found_valid = getattr(rows, "n_valid", None)
        found_classes = getattr(rows, "n_classes", None)
        rows = rows.rows
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise SgdlabError(f"got a {type(rows).__name__}, not a sequence of epochs; "
                          f"{FORMAT_HINT}")
    return rows, found_valid, found_classes


def _parse_row(row, epoch: int) -> tuple[float, float, float]:
    if all(hasattr(row, name) for name in FIELDS):
        values = [getattr(row, name) for name in FIELDS]
    elif isinstance(row, Mapping):
        missing = [name for name in FIELDS if name not in row]
        if missing:
            raise SgdlabError(f"epoch {epoch} lacks {', '.join(missing)} (it has "
                              f"{', '.join(map(str, row)) or 'no keys'}); {FORMAT_HINT}")
        values = [row[name] for name in FIELDS]
    elif isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
        raise SgdlabError(f"epoch {epoch} is {row!r}; {FORMAT_HINT}")
    else:
        values = list(row)
        if len(values) != 3:
            raise SgdlabError(f"epoch {epoch} has {len(values)} values, expected 3; "
                              f"{FORMAT_HINT}")
    train, valid, err = (_number(v, name, epoch) for v, name in zip(values, FIELDS, strict=True))
    for name, loss in (("train_loss", train), ("valid_loss", valid)):
        if loss < 0:
            raise SgdlabError(f"epoch {epoch} has {name} = {loss:g}; a loss cannot be negative")
    if math.isfinite(err) and not 0.0 <= err <= 1.0:
        hint = " (a percentage? divide by 100)" if 1.0 < err <= 100.0 else ""
        raise SgdlabError(f"epoch {epoch} has error_rate = {err:g}{hint}; an error rate is a "
                          f"fraction between 0 and 1")
    return train, valid, err


def _number(value, name: str, epoch: int) -> float:
    if isinstance(value, (bool, str, bytes)):
        raise SgdlabError(f"epoch {epoch}: {name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        raise SgdlabError(f"epoch {epoch}: {name} must be a number, got {value!r}") from None
