"""Read a run from a file: a CSV, a printed table, a checkpoint or a saved History.

The kind is told by the content, not the file name:

* bytes starting like a torch file (a zip archive, or a pickle) are opened with
  ``torch.load(path, map_location="cpu", weights_only=True)``: a dict whose ``"format"``
  starts with ``"sgdlab-learner"`` is a checkpoint, whose ``"run"`` record holds the epoch
  table (``"rows"``, ``"n_valid"``, ``"n_classes"``); a dict with a History's fields is a
  :class:`~sgdlab.history.History`;
* text (UTF-8, with or without a byte-order mark) holding a line
  ``epoch  train_loss  valid_loss  error_rate  time`` is the table as sgdlab prints it: the
  rows under the header are read, every other line is ignored, and the last such table wins
  (a printout may hold one per fit). A ``... N validation images of K classes`` line before
  it (sgdlab's ``data:`` line) gives ``n_valid`` and ``n_classes``;
* other text is a CSV whose header names ``train_loss``, ``valid_loss`` and ``error_rate``
  (or ``accuracy``), with optional ``n_valid`` and ``n_classes`` columns: the file
  ``sgdlab bears train`` writes beside the checkpoint, or a fastai ``CSVLogger`` file.

Anything else is a :class:`~sgdlab.errors.SgdlabError` that says what was expected.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import torch

from sgdlab.diagnose.table import EpochTable, check_count, epoch_table
from sgdlab.errors import SgdlabError
from sgdlab.history import History

EXPECTED = ("expected an epoch table: the CSV that `sgdlab bears train` writes beside the "
            "checkpoint (models/bears.csv), a fastai CSVLogger CSV, the table as sgdlab prints "
            "it (a header line `epoch  train_loss  valid_loss  error_rate  time` and its rows), "
            "a checkpoint saved by sgdlab (.pth) or a History saved with History.save (.pt)")
#: Text files larger than this are not epoch tables (a table of 1000 epochs is ~60 kB).
MAX_TEXT_BYTES = 10_000_000

_TORCH_MAGIC = (b"PK\x03\x04", b"\x80")
_HEADER = ("epoch", "train_loss", "valid_loss", "error_rate")
_COLUMNS = ("train_loss", "valid_loss", "error_rate")
_HISTORY_KEYS = {"x", "y", "params", "losses", "lrs"}
_DATA_LINE = re.compile(r"(\d+) validation images? of (\d+) classes")


def read_run(path: str | Path) -> EpochTable | History:
    """The epoch table or History in ``path`` (module docstring), told by its content."""
    path = Path(path)
    if not path.exists():
        raise SgdlabError(f"{path} does not exist; {EXPECTED}")
    if path.is_dir():
        raise SgdlabError(f"{path} is a folder, not a file; {EXPECTED}")
    try:
        with path.open("rb") as f:
            start = f.read(8)
            if not start:
                raise SgdlabError(f"{path} is empty; {EXPECTED}")
            if start.startswith(_TORCH_MAGIC):
                return _read_torch(path)
            f.seek(0)
            data = f.read(MAX_TEXT_BYTES + 1)
    except OSError as err:
        raise SgdlabError(f"cannot read {path}: {err.strerror or err}") from None
    if len(data) > MAX_TEXT_BYTES:
        raise SgdlabError(f"{path} is over {MAX_TEXT_BYTES // 1_000_000} MB, too big for an "
                          f"epoch table; {EXPECTED}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        raise SgdlabError(f"{path} is neither text nor a torch file (an image? a binary?); "
                          f"{EXPECTED}")
    lines = text.splitlines()
    header = _last_printed_header(lines)
    if header is not None:
        return _read_printed(path, lines, header)
    return _read_csv(path, lines)


def read_epoch_table(path: str | Path) -> EpochTable:
    """The epoch table in ``path``: a CSV, a printed table or a checkpoint (see
    :func:`read_run`); a History is refused (use ``diagnose_history``)."""
    run = read_run(path)
    if isinstance(run, History):
        raise SgdlabError(f"{path} is a History of a linear run, not an epoch table; "
                          f"diagnose it with diagnose_history (or `sgdlab diagnose {path}`)")
    return run


# --------------------------------------------------------------------------------------------
# torch files


def _read_torch(path: Path) -> EpochTable | History:
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds (unpickling, zip, runtime)
        raise SgdlabError(f"{path} starts like a torch file but cannot be read as one safely "
                          f"({type(err).__name__}); {EXPECTED}") from None
    if not isinstance(content, dict):
        raise SgdlabError(f"{path} holds a {type(content).__name__}, not a checkpoint or a "
                          f"History; {EXPECTED}")
    fmt = content.get("format")
    if isinstance(fmt, str) and fmt.startswith("sgdlab-learner"):
        return _read_checkpoint(path, content)
    if set(content) >= _HISTORY_KEYS:
        try:
            return History(**content)
        except (TypeError, ValueError, RuntimeError) as err:
            raise SgdlabError(f"{path} looks like a History but is damaged: {err}") from None
    raise SgdlabError(f"{path} is a torch file but neither a checkpoint saved by sgdlab (no "
                      f"\"format\": \"sgdlab-learner...\") nor a History; {EXPECTED}")


def _read_checkpoint(path: Path, checkpoint: dict) -> EpochTable:
    run = checkpoint.get("run")
    if run is None:
        raise SgdlabError(f"the checkpoint {path} holds no epoch table (it was saved before "
                          f"sgdlab recorded runs in checkpoints); diagnose the CSV written "
                          f"beside it, or train again")
    if not isinstance(run, dict) or not isinstance(run.get("rows"), (list, tuple)):
        raise SgdlabError(f"the checkpoint {path} has a damaged run record (no list of rows); "
                          f"diagnose the CSV written beside it, or train again")
    try:
        return epoch_table(run)
    except SgdlabError as err:
        raise SgdlabError(f"the run record in {path} is damaged: {err}") from None


# --------------------------------------------------------------------------------------------
# Text: the printed table, or a CSV


def _is_printed_header(line: str) -> bool:
    return tuple(line.split()[:4]) == _HEADER


def _last_printed_header(lines: list[str]) -> int | None:
    found = [i for i, line in enumerate(lines) if _is_printed_header(line)]
    return found[-1] if found else None


def _is_progress_bar(line: str) -> bool:
    """A fragment of a tqdm bar (``epoch 3:  40%|####  | 2/5 [...]``) or its erasing blanks."""
    return "%|" in line


def _read_printed(path: Path, lines: list[str], header: int) -> EpochTable:
    rows = []
    for number, line in enumerate(lines[header + 1:], start=header + 2):
        tokens = line.split()
        if not tokens or _is_progress_bar(line):
            continue  # blank lines, and in a captured terminal tqdm's bars between the rows
        if len(tokens) < 4 or not tokens[0].isdigit():
            break  # the table ended
        try:
            rows.append(tuple(float(token) for token in tokens[1:4]))
        except ValueError:
            if rows:
                break  # a line of prose after the table
            raise SgdlabError(f"{path}, line {number}: expected an epoch number and three "
                              f"numbers (train_loss valid_loss error_rate), got "
                              f"{line.strip()!r}") from None
    if not rows:
        raise SgdlabError(f"{path}: the table under the header on line {header + 1} has no "
                          f"rows; train for at least one epoch")
    n_valid = n_classes = None
    for line in lines[:header]:
        match = _DATA_LINE.search(line)
        if match:
            n_valid, n_classes = int(match[1]), int(match[2])
    return _table(path, rows, n_valid, n_classes)


def _read_csv(path: Path, lines: list[str]) -> EpochTable:
    skipped = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    body = lines[skipped:]
    if not body or "," not in body[0]:
        raise SgdlabError(f"{path} is text, but neither a CSV with a header nor a printed "
                          f"epoch table; {EXPECTED}")
    reader = csv.DictReader(io.StringIO("\n".join(body)))
    names = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = names
    error_column = "error_rate" if "error_rate" in names else (
        "accuracy" if "accuracy" in names else "error_rate")
    needed = ("train_loss", "valid_loss", error_column)
    missing = [name for name in needed if name not in names]
    if missing:
        raise SgdlabError(f"{path} has no column {', '.join(missing)} (its header is "
                          f"{', '.join(names) or 'empty'}); the CSV needs a header with "
                          f"{', '.join(_COLUMNS)}")
    rows, counts = [], {"n_valid": set(), "n_classes": set()}
    for record in reader:
        line = reader.line_num + skipped
        values = [_csv_number(record.get(name), name, line, path) for name in needed]
        if error_column == "accuracy":
            values[2] = 1.0 - values[2]
        rows.append(tuple(values))
        for name, found in counts.items():
            text = (record.get(name) or "").strip()
            if text:
                found.add(_csv_number(text, name, line, path))
    for name, found in counts.items():
        if len(found) > 1:
            raise SgdlabError(f"{path}: the {name} column holds different values "
                              f"({', '.join(f'{v:g}' for v in sorted(found))}); one table is "
                              f"one run on one validation set")
    if not rows:
        raise SgdlabError(f"{path} has a header but no epochs; train for at least one epoch")
    n_valid = next(iter(counts["n_valid"]), None)
    n_classes = next(iter(counts["n_classes"]), None)
    return _table(path, rows, n_valid, n_classes)


def _csv_number(text: str | None, name: str, line: int, path: Path) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise SgdlabError(f"{path}, line {line}: {name} must be a number, got "
                          f"{text!r}") from None


def _table(path: Path, rows, n_valid, n_classes) -> EpochTable:
    try:
        n_valid = check_count(n_valid, "n_valid", 1, "the number of validation images")
        n_classes = check_count(n_classes, "n_classes", 2, "the number of classes")
        return epoch_table(rows, n_valid=n_valid, n_classes=n_classes)
    except SgdlabError as err:
        raise SgdlabError(f"{path}: {err}") from None
