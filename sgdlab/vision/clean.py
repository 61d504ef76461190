"""Check every picture of a folder: quarantine what cannot be read, convert the rest to RGB.

A web download always brings some junk: HTML error pages saved as ``.jpg``, truncated
transfers, empty files; and pictures in modes a network does not expect (greyscale, RGBA,
CMYK, palette). ``verify_images`` decodes every file with an image extension completely, then

* moves the unreadable ones into a quarantine folder (default ``<folder>/.quarantine``, which
  the dataset never reads) and records each in ``manifest.csv`` (file, quarantined_as, reason)
  *before* it moves it, so the manifest always lists every picture that moved, even when a run
  stops halfway. sgdlab never deletes a picture: look at the quarantine, then delete it yourself;
* rewrites readable non-RGB pictures as RGB in place, through a temporary file and a rename
  (transparent parts on white, EXIF rotation applied). Formats that cannot hold RGB (GIF) become
  a PNG beside the original, and the original goes to quarantine.

Files without an image extension (``urls_black.txt``) are listed and left alone. Folders are
read as the loader reads them (:func:`~sgdlab.vision.images.walk_files`: linked class folders
included), and a quarantine where the loader would read it is refused. Two runs on the same
folder at once take turns for each move (the quarantine folder is locked meanwhile) and skip
the pictures the other run has already moved.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from sgdlab.errors import SgdlabError
from sgdlab.files import append_text, atomic_path, folder_lock, remove_stale_temporaries
from sgdlab.vision.images import IMAGE_EXTENSIONS, to_rgb, walk_files

QUARANTINE_NAME = ".quarantine"
MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ("file", "quarantined_as", "reason")
MISSING = "the file does not exist"

# Formats that store 8-bit RGB; a converted picture keeps its format and name.
RGB_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "BMP": "BMP",
               "TIFF": "TIFF"}


@dataclass(frozen=True)
class BadImage:
    """A file that could not be read as an image, and where it went (``None``: dry run)."""

    path: Path
    reason: str
    moved_to: Path | None = None


@dataclass(frozen=True)
class Converted:
    """A picture rewritten as RGB: its path now, its former mode, and its old path if renamed."""

    path: Path
    mode: str
    original: Path | None = None


@dataclass
class VerifyReport:
    """What :func:`verify_images` found and did.

    Attributes:
        folder: the folder checked.
        checked: files with an image extension that were decoded.
        ok: pictures that were already readable RGB.
        converted: pictures rewritten as RGB (or that would be, in a dry run).
        bad: unreadable files, with the reason and where they went.
        ignored: files without an image extension, left alone.
        quarantine: the quarantine folder used (``None`` if nothing was moved).
        manifest: the manifest written (``None`` if nothing was moved).
        dry_run: whether nothing was changed on disk.
    """

    folder: Path
    checked: int = 0
    ok: int = 0
    converted: list[Converted] = field(default_factory=list)
    bad: list[BadImage] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    quarantine: Path | None = None
    manifest: Path | None = None
    dry_run: bool = False


def inspect_image(path: Path) -> str | None:
    """Decode ``path`` completely; ``None`` if it is a sound image, else the reason it is not."""
    try:
        if path.stat().st_size == 0:
            return "empty file"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                img.verify()
            with Image.open(path) as img:
                img.load()
    except FileNotFoundError:
        if path.is_symlink():
            return f"a link to a missing file ({os.readlink(path)})"
        return MISSING
    except UnidentifiedImageError:
        return "not an image (no known picture format)"
    except Image.DecompressionBombError as err:
        return f"too many pixels ({err})"
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as err:
        text = str(err) or type(err).__name__
        kind = "truncated" if "truncat" in text.lower() else "corrupt"
        return f"{kind} ({text})"
    return None


def _save_image(img: Image.Image, path: Path, image_format: str) -> None:
    remove_stale_temporaries(path.with_suffix(""))  # older sgdlab named them .STEM.*.tmp
    options = {"quality": 95} if image_format in ("JPEG", "WEBP") else {}
    with atomic_path(path) as tmp:
        img.save(tmp, format=image_format, **options)


def free_name(path: Path) -> Path:
    """``path``, or ``name-1.ext``, ``name-2.ext``... whichever does not exist yet."""
    candidate, k = path, 0
    while os.path.lexists(candidate):
        k += 1
        candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
    return candidate


def convert_to_rgb(path: Path, dry_run: bool = False) -> Converted | None:
    """Rewrite a readable picture as RGB; ``None`` if it already is RGB.

    Returns what was (or, in a dry run, would be) done. A GIF or other format that cannot hold
    RGB is written as ``<stem>.png`` (or ``<stem>-1.png``...), leaving the original in place for
    the caller to move away; ``Converted.original`` then names it.
    """
    with Image.open(path) as img:
        if img.mode == "RGB":
            return None
        mode, image_format = img.mode, img.format or ""
        if dry_run:
            target = path if image_format in RGB_FORMATS else path.with_suffix(".png")
            return Converted(target, mode, None if target == path else path)
        img.seek(0)
        rgb = to_rgb(ImageOps.exif_transpose(img))
        rgb.load()
    if image_format in RGB_FORMATS:
        _save_image(rgb, path, RGB_FORMATS[image_format])
        return Converted(path, mode)
    target = free_name(path.with_suffix(".png"))
    _save_image(rgb, target, "PNG")
    return Converted(target, mode, path)


def check_quarantine(folder: Path, quarantine: Path) -> None:
    """Refuse a quarantine that the loader would read as pictures of the dataset.

    Inside ``folder`` a quarantine must sit in a hidden folder (``.quarantine``, the default);
    when ``folder`` is one class folder (it holds pictures itself, and has sibling folders), a
    visible folder beside it would be read as a class of its own.
    """
    real_folder, real_quarantine = folder.resolve(), quarantine.resolve()
    fix = (f"keep the default ({folder / QUARANTINE_NAME}), or give a hidden folder or one "
           f"outside the dataset")
    if real_folder == real_quarantine or real_folder.is_relative_to(real_quarantine):
        raise SgdlabError(f"the quarantine {quarantine} holds the folder being checked, "
                          f"{folder}; {fix}")
    if real_quarantine.is_relative_to(real_folder):
        inside = real_quarantine.relative_to(real_folder).parts
        if not any(part.startswith(".") for part in inside):
            raise SgdlabError(f"the quarantine {quarantine} is inside {folder}, where the loader "
                              f"would read the broken files as pictures again; {fix}")
    here, there = Path(os.path.abspath(folder)), Path(os.path.abspath(quarantine))
    dataset = here.parent  # as the user named it: a class folder may link elsewhere
    if not there.is_relative_to(dataset):
        return
    beside = there.relative_to(dataset).parts
    is_class_folder = any(not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
                          and p.is_file() for p in folder.iterdir())
    other_classes = [p for p in dataset.iterdir() if p.is_dir() and not p.name.startswith(".")
                     and p.name not in (here.name, *beside[:1])]
    if is_class_folder and other_classes and not any(part.startswith(".") for part in beside):
        raise SgdlabError(f"the quarantine {quarantine} sits beside the class folder "
                          f"{folder}: loading {dataset} would read it as a class of broken "
                          f"pictures; {fix}")


def make_quarantine_folder(quarantine: Path) -> None:
    """Make ``quarantine`` (and its parents), or say why not: nothing has moved yet."""
    try:
        quarantine.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SgdlabError(f"cannot make the quarantine folder {quarantine}: "
                          f"{err.strerror or err}; nothing was moved. Give one you can write to "
                          f"(quarantine=... or --quarantine DIR), or look first with "
                          f"dry_run=True / --dry-run") from err


def manifest_row(file: Path, moved_to: Path, reason: str) -> str:
    """One CSV row of ``manifest.csv``: absolute paths of the file and where it went, why."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([os.path.abspath(file), os.path.abspath(moved_to), reason])
    return buffer.getvalue()


def move_to_quarantine(bad: BadImage, folder: Path, quarantine: Path, manifest: Path,
                       before_move: Callable[[Path], None] | None = None) -> Path | None:
    """Record ``bad`` in the manifest, then move it; ``None`` if another run moved it first.

    The caller holds the quarantine's lock. ``before_move(target)``, if given, runs after the
    manifest row is written and before the move (the cleaner journals the move there).
    """
    if not os.path.lexists(bad.path):
        return None
    target = free_name(quarantine / bad.path.relative_to(folder))
    target.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join(MANIFEST_FIELDS) + "\r\n"
    append_text(manifest, manifest_row(bad.path, target, bad.reason), header=header)
    if before_move is not None:
        before_move(target)
    try:
        shutil.move(bad.path, target)
    except FileNotFoundError:
        return None  # gone between the check and the move: the manifest keeps its row
    except OSError as err:
        raise SgdlabError(
            f"cannot move {bad.path} to {target}: {err.strerror or err}; it is still in place "
            f"(the last row of {manifest} names it: that move did not happen), and every "
            f"picture moved before it is listed there; fix the problem and run verify again"
        ) from err
    return target


def verify_images(folder: str | os.PathLike, *, quarantine: str | os.PathLike | None = None,
                  convert: bool = True, dry_run: bool = False,
                  delete: bool = False) -> VerifyReport:
    """Decode every picture under ``folder``; quarantine the unreadable, convert the rest to RGB.

    Args:
        folder: a dataset folder (``bears``) or one class folder (``bears/black``).
        quarantine: where unreadable files go (default ``<folder>/.quarantine``); their
            sub-folders are kept (``black/00000003.jpg``) and ``manifest.csv`` lists them.
            A quarantine that the loader would read (``bears/black/q``) is refused.
        convert: rewrite greyscale, RGBA, CMYK and palette pictures as RGB.
        dry_run: change nothing on disk, only report what would be done.
        delete: refused: sgdlab never deletes pictures (fastai's cleaner does, and a learner
            cannot take it back). Delete the quarantine folder yourself once you have looked.

    Returns:
        a :class:`VerifyReport`.
    """
    if delete:
        raise SgdlabError("sgdlab never deletes pictures: verify moves the unreadable ones to a "
                          "quarantine folder and lists them in its manifest.csv; look at them "
                          "there, then delete that folder yourself if you want them gone")
    folder = Path(folder)
    if not folder.is_dir():
        raise SgdlabError(f"no folder at {folder}; give the folder that holds the pictures")
    quarantine = Path(quarantine) if quarantine is not None else folder / QUARANTINE_NAME
    check_quarantine(folder, quarantine)
    manifest = quarantine / MANIFEST_NAME
    report = VerifyReport(folder=folder, dry_run=dry_run)
    for path in walk_files(folder, skip=quarantine):
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            report.ignored.append(path)
            continue
        reason = inspect_image(path)
        if reason == MISSING:
            continue  # moved away meanwhile (by another run)
        report.checked += 1
        if reason is not None:
            bad = BadImage(path, reason)
            if dry_run:
                report.bad.append(bad)
                continue
            make_quarantine_folder(quarantine)
            with folder_lock(quarantine):
                moved = move_to_quarantine(bad, folder, quarantine, manifest)
            if moved is not None:
                report.bad.append(BadImage(path, reason, moved))
                report.quarantine, report.manifest = quarantine, manifest
            continue
        try:
            done = _convert(path, folder, quarantine, manifest, report) if convert else None
        except FileNotFoundError:
            continue  # converted and moved away meanwhile (by another run)
        if done is None:
            report.ok += 1
        else:
            report.converted.append(done)
    return report


def _convert(path: Path, folder: Path, quarantine: Path, manifest: Path,
             report: VerifyReport) -> Converted | None:
    """Convert ``path`` to RGB. A picture that becomes a new PNG sends its original to
    quarantine, under the quarantine's lock, so that two runs never both make a PNG of it."""
    planned = convert_to_rgb(path, dry_run=True)  # reads the header only
    if planned is None or planned.original is None:
        return planned if planned is None or report.dry_run else convert_to_rgb(path)
    reason = f"converted to RGB as {planned.path.name} ({planned.mode})"
    if report.dry_run:
        report.bad.append(BadImage(path, reason))
        return planned
    make_quarantine_folder(quarantine)
    with folder_lock(quarantine):
        if not os.path.lexists(path):
            raise FileNotFoundError(path)
        done = convert_to_rgb(path)
        if done is None or done.original is None:
            return done
        reason = f"converted to RGB as {done.path.name} ({done.mode})"
        moved = move_to_quarantine(BadImage(path, reason), folder, quarantine, manifest)
    if moved is not None:
        report.bad.append(BadImage(path, reason, moved))
        report.quarantine, report.manifest = quarantine, manifest
    return done


def format_verify_report(report: VerifyReport) -> str:
    """A readable summary of :func:`verify_images`: counts, then each file it acted on."""
    unreadable = [b for b in report.bad if not b.reason.startswith("converted to RGB")]
    action = "would be removed" if report.dry_run else f"moved to {report.quarantine}"
    lines = [f"{report.folder}: {report.checked} picture(s) checked, {report.ok} fine, "
             f"{len(report.converted)} {'to convert' if report.dry_run else 'converted'} to RGB, "
             f"{len(unreadable)} unreadable"
             + (f" ({action})" if unreadable else "")]
    for bad in report.bad:
        where = f" -> {bad.moved_to}" if bad.moved_to else ""
        lines.append(f"  {bad.path}: {bad.reason}{where}")
    for done in report.converted:
        lines.append(f"  {done.path}: {done.mode} -> RGB")
    if report.ignored:
        lines.append(f"  {len(report.ignored)} file(s) without an image extension left alone")
    if report.manifest:
        lines.append(f"manifest: {report.manifest}")
    return "\n".join(lines)
