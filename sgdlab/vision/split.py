"""The dataset folder: where the bear photos are, which class each photo is, the seeded split.

The layout is the one a web download produces: one sub-folder per class,

    bears/black/00000000.jpg, bears/grizzly/..., bears/teddys/...

The class of an image is the name of its folder; classes are sorted, so class ``i`` is the
``i``-th folder name in alphabetical order. The validation set is drawn from the sorted file
paths with a private generator, so the same seed gives the same split on every machine.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

import sgdlab
from sgdlab.checks import DEFAULT_SEED, check_fraction, check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.vision.images import IMAGE_EXTENSIONS, is_hidden, is_image_file, walk_files

__all__ = ["DEFAULT_SEED", "DataWarning", "default_bears_dir", "find_classes", "split_items"]


class DataWarning(UserWarning):
    """A note about files or folders that the dataset ignored."""


def default_bears_dir() -> Path:
    """Where the bear photos are: ``$SGDLAB_BEARS``, else ``../shared/bears``.

    ``$SGDLAB_BEARS`` is returned as given. The default ``../shared/bears`` is relative to the
    current folder when it exists there, otherwise to the repository root (the folder that holds
    the ``sgdlab`` package), so lessons find the photos from any working directory. The path is
    returned even when nothing is there; callers say where they looked.
    """
    env = os.environ.get("SGDLAB_BEARS")
    if env:
        return Path(env)
    default = Path("..") / "shared" / "bears"
    if default.is_dir():
        return default
    return Path(os.path.normpath(Path(sgdlab.__file__).resolve().parents[1] / default))


def split_items(items: Sequence[str | os.PathLike], valid_pct: float = 0.2,
                seed: int = DEFAULT_SEED) -> tuple[list[Path], list[Path]]:
    """Set aside ``round(valid_pct · n)`` items at random for validation.

    The items are sorted first and the draw uses a private generator seeded with ``seed``, so
    the same seed gives the same split whatever order the files were listed in, on every
    machine. Returns ``(train, valid)``, each sorted.
    """
    valid_pct = check_fraction(valid_pct, "valid_pct", zero=False,
                               hint="the lecture sets aside 0.2 (20%)")
    seed = check_whole_number(seed, "seed", hint=f"the lecture uses {DEFAULT_SEED}")
    paths = sorted(Path(p) for p in items)
    n_valid = round(valid_pct * len(paths))
    if n_valid < 1 or n_valid >= len(paths):
        raise SgdlabError(
            f"cannot set aside {valid_pct:.0%} of {len(paths)} image(s) and keep some for both "
            f"training and validation; gather more images (a few dozen per class at least)"
        )
    generator = torch.Generator().manual_seed(seed)
    chosen = set(torch.randperm(len(paths), generator=generator)[:n_valid].tolist())
    train = [p for i, p in enumerate(paths) if i not in chosen]
    valid = [p for i, p in enumerate(paths) if i in chosen]
    return train, valid


def find_classes(path: Path) -> tuple[list[str], list[Path]]:
    """The class folders under ``path`` and all their images.

    A class folder may be a symbolic link to a folder elsewhere; inside, folders are read as
    :func:`~sgdlab.vision.images.walk_files` reads them (the walk ``verify_images`` uses too).
    Ignores, with a :class:`DataWarning`: files without an image extension inside class folders,
    folders holding no images (``models/``), and images lying directly in ``path``. Files at the
    top level (``urls_black.txt``) and hidden entries are ignored silently.

    Returns ``(classes, items)``: sorted folder names and the sorted image paths.
    """
    path = Path(path)
    if not path.exists():
        raise SgdlabError(f"dataset folder {path} does not exist; download the photos first "
                          f"or point SGDLAB_BEARS at them")
    if not path.is_dir():
        raise SgdlabError(f"{path} is a file; give the folder that holds one sub-folder per class")
    classes: list[str] = []
    items: list[Path] = []
    no_images: list[str] = []
    not_images: list[str] = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir() and not is_hidden(p)):
        files = list(walk_files(folder, root=path))
        images = sorted(p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS)
        if images:
            classes.append(folder.name)
            items += images
            not_images += [p.relative_to(path).as_posix() for p in files
                           if p.suffix.lower() not in IMAGE_EXTENSIONS]
        else:
            no_images.append(folder.name + "/")
    loose = [p.name for p in path.iterdir() if is_image_file(p)]
    notes = []
    if not_images:
        notes.append(f"{len(not_images)} file(s) that are not images "
                     f"({_sample(sorted(not_images))})")
    if no_images:
        notes.append(f"{len(no_images)} folder(s) without images ({_sample(no_images)})")
    if loose and classes:
        notes.append(f"{len(loose)} image(s) outside the class folders ({_sample(sorted(loose))})")
    if notes:
        warnings.warn(f"{path}: ignored " + "; ".join(notes), DataWarning, stacklevel=3)
    if not classes:
        where = (f"{len(loose)} image(s) lie directly in {path}; move them into one sub-folder "
                 f"per class" if loose else f"no images found under {path}")
        raise SgdlabError(f"{where}: the dataset needs one sub-folder per class, e.g. "
                          f"{path}/black/*.jpg and {path}/grizzly/*.jpg")
    if len(classes) == 1:
        raise SgdlabError(f"only one class folder with images in {path} ({classes[0]}/); a "
                          f"classifier needs at least two, e.g. black/ and grizzly/")
    return classes, items


def _sample(names: list[str], k: int = 3) -> str:
    shown = ", ".join(names[:k])
    return shown + (f", … {len(names) - k} more" if len(names) > k else "")
