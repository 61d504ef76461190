"""What cleaning does to the seed-42 split (the README's cleaning section says it; this checks it).

``split_items`` sorts the paths and puts the photos at the positions
``randperm(n, seed)[:round(0.2 n)]`` in the validation set. So:

* relabelling keeps ``n`` and the positions: only the photos sorted between the photo's old path
  and its new one shift by one place, and only they (and the photo itself) can change side;
* deleting changes ``n`` and so the whole draw: most validation photos become training photos;
* undoing every move gives back the same paths, and so the same split.

Oracles: the rule above applied to the sorted list by hand, and the cleaner's real apply / undo
on a folder of fake bears.
"""

from __future__ import annotations

from pathlib import Path

from sgdlab.vision.cleaner import Cleaner
from sgdlab.vision.split import find_classes, split_items

from .cleaning import fake_bears

CLASSES = ("black", "grizzly", "teddys")


def lecture_sized() -> list[Path]:
    """480 paths named like the bear photos (160 per class)."""
    return [Path(f"{c}/{i:08d}.jpg") for c in CLASSES for i in range(160)]


def valid_set(items: list[Path]) -> set[Path]:
    return set(split_items(items, valid_pct=0.2, seed=42)[1])


def test_relabelling_moves_only_the_photos_sorted_between_its_old_and_new_path():
    items = lecture_sized()
    before = valid_set(items)
    old, new = Path("black/00000005.jpg"), Path("grizzly/00000005-1.jpg")
    relabelled = [new if p == old else p for p in items]
    after = valid_set(relabelled)
    first, last = sorted(items).index(old), sorted(relabelled).index(new)
    between = set(sorted(items)[first + 1:last + 1])        # they shift one place down
    switched = {p for p in items if p != old and (p in before) != (p in after)}
    assert switched and switched <= between
    assert len(after) == len(before) == 96
    # a relabel within the same place in the order (teddys/… → teddys/…-1) switches nobody
    late = Path("teddys/00000159.jpg")
    assert valid_set([Path("teddys/00000159-1.jpg") if p == late else p for p in items]) - {
        Path("teddys/00000159-1.jpg")} == before - {late}


def test_deleting_one_photo_draws_what_is_in_effect_a_new_split():
    items = lecture_sized()
    before = valid_set(items)
    gone = min(before)
    after = valid_set([p for p in items if p != gone])
    kept = len(before & after)
    assert len(after) == 96 and kept < 48            # fewer than half stay validation photos
    assert kept == 23                                  # the README's figure for the bear photos


def test_apply_changes_the_split_and_undo_gives_it_back(tmp_path):
    bears = fake_bears(tmp_path / "bears")

    def split_now() -> tuple[list[Path], list[Path]]:
        return split_items(find_classes(bears)[1], valid_pct=0.2, seed=42)

    before = split_now()
    cleaner = Cleaner(None, bears)
    cleaner.delete(before[1][0].relative_to(bears))
    cleaner.apply()
    assert split_now() != before
    cleaner.undo()
    assert split_now() == before
