"""What the cleaning tests share: fake bears, a tiny checkpoint of their seed-42 split, a learner
on a folder of them, and the oracle of apply / undo (every file's path and bytes).

The data are noisy single-colour JPEGs, 3 classes x 6 (``write_fake_bears`` is deterministic, so
every folder made here holds the same photos); the model is an untrained seeded resnet18 at
32 px whose run record holds the seed-42 split. The session-scoped fixture in ``conftest.py``
saves it once for all the cleaning tests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sgdlab.vision.checkpoint import make_checkpoint, relative_name, write_checkpoint
from sgdlab.vision.clean_journal import JOURNAL_NAME
from sgdlab.vision.model import create_model
from sgdlab.vision.reload import checkpoint_learner
from sgdlab.vision.split import find_classes, split_items

from .fakes import IMAGENET_MEAN, IMAGENET_STD, write_fake_bears

PER_CLASS = 6


def fake_bears(folder: Path) -> Path:
    """The cleaning tests' photos in ``folder`` (3 classes x 6 JPEGs)."""
    return write_fake_bears(folder, per_class=PER_CLASS)


def photos_hash(folder: Path, bookkeeping: bool = False) -> dict[str, str]:
    """sha256 of every file under ``folder`` by path; without ``bookkeeping``, the journal and
    the quarantine's manifest (which record what happened) are left out."""
    skip = set() if bookkeeping else {JOURNAL_NAME, ".quarantine/manifest.csv"}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()
            and p.relative_to(folder).as_posix() not in skip}


def write_tiny_model(folder: Path) -> Path:
    """A tiny untrained checkpoint whose run record holds the seed-42 split of the fake bears."""
    bears = fake_bears(folder / "bears")
    classes, items = find_classes(bears)
    _, valid = split_items(items, valid_pct=0.2, seed=42)
    net = create_model(len(classes), "resnet18", seed=0)
    run = {"split_seed": 42, "valid_pct": 0.2, "data_folder": "bears",
           "valid_files": [relative_name(p, bears) for p in valid]}
    checkpoint = make_checkpoint(net, arch="resnet18", head="fastai", classes=classes, size=32,
                                 mean=IMAGENET_MEAN, std=IMAGENET_STD, run=run)
    return write_checkpoint(checkpoint, folder / "tiny.pth")


def learner(bears: Path, model: Path):
    """The tiny model on the photos of ``bears``, split with seed 42."""
    classes, items = find_classes(bears)
    train, valid = split_items(items, valid_pct=0.2, seed=42)
    return checkpoint_learner(model, bears, classes, train, valid, seed=42, batch_size=8,
                              device="cpu", progress=False)
