"""Check every picture of a folder: quarantine what cannot be read, convert the rest to RGB.

A web download always brings some junk: HTML error pages saved as ``.jpg``, truncated
transfers, empty files; and pictures in modes a network does not expect (greyscale, RGBA,
CMYK, palette). ``verify_images`` decodes every file with an image extension completely, then

* moves the unreadable ones into a quarantine folder (default ``<folder>/.quarantine``, which
  the dataset never reads) and records them in ``manifest.csv`` (file, quarantined_as, reason),
  so nothing is lost and a person can look; it deletes them only with ``delete=True``;
* rewrites readable non-RGB pictures as RGB in place, through a temporary file and a rename
  (transparent parts on white, EXIF rotation applied). Formats that cannot hold RGB (GIF) become
  a PNG beside the original, and the original goes to quarantine.

Files without an image extension (``urls_black.txt``) are listed and left alone.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from sgdlab.errors import SgdlabError
from sgdlab.vision.data import IMAGE_EXTENSIONS, to_rgb

QUARANTINE_NAME = ".quarantine"
MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ("file", "quarantined_as", "reason")

# Formats that store 8-bit RGB; a converted picture keeps its format and name.
RGB_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "BMP": "BMP",
               "TIFF": "TIFF"}


@dataclass(frozen=True)
class BadImage:
    """A file that could not be read as an image, and where it went (``None``: deleted/dry run)."""

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
        deleted: whether bad files were deleted instead of moved.
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
    deleted: bool = False
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
    except UnidentifiedImageError:
        return "not an image (no known picture format)"
    except Image.DecompressionBombError as err:
        return f"too many pixels ({err})"
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as err:
        text = str(err) or type(err).__name__
        kind = "truncated" if "truncat" in text.lower() else "corrupt"
        return f"{kind} ({text})"
    return None


def _visible_files(folder: Path, skip: Path | None) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip is None or (Path(root) / d).resolve() != skip.resolve()))
        found += [Path(root) / name for name in sorted(files) if not name.startswith(".")]
    return found


def _atomic_save(img: Image.Image, path: Path, image_format: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            options = {"quality": 95} if image_format in ("JPEG", "WEBP") else {}
            img.save(f, format=image_format, **options)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _free_name(path: Path) -> Path:
    """``path``, or ``name-1.ext``, ``name-2.ext``... whichever does not exist yet."""
    candidate, k = path, 0
    while candidate.exists():
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
        _atomic_save(rgb, path, RGB_FORMATS[image_format])
        return Converted(path, mode)
    target = _free_name(path.with_suffix(".png"))
    _atomic_save(rgb, target, "PNG")
    return Converted(target, mode, path)


def _append_manifest(manifest: Path, rows: list[dict[str, str]]) -> None:
    """Add rows to the manifest CSV (rewritten whole, atomically)."""
    old: list[dict[str, str]] = []
    if manifest.exists():
        with manifest.open(newline="", encoding="utf-8") as f:
            old = list(csv.DictReader(f))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(old + rows)
    fd, tmp = tempfile.mkstemp(dir=manifest.parent, prefix=".manifest.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            f.write(buffer.getvalue())
        os.replace(tmp, manifest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verify_images(folder: str | os.PathLike, delete: bool = False,
                  quarantine: str | os.PathLike | None = None, *, convert: bool = True,
                  dry_run: bool = False) -> VerifyReport:
    """Decode every picture under ``folder``; quarantine the unreadable, convert the rest to RGB.

    Args:
        folder: a dataset folder (``bears``) or one class folder (``bears/black``).
        delete: delete unreadable files instead of moving them to quarantine.
        quarantine: where unreadable files go (default ``<folder>/.quarantine``); their
            sub-folders are kept (``black/00000003.jpg``) and ``manifest.csv`` lists them.
        convert: rewrite greyscale, RGBA, CMYK and palette pictures as RGB.
        dry_run: change nothing on disk, only report what would be done.

    Returns:
        a :class:`VerifyReport`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SgdlabError(f"no folder at {folder}; give the folder that holds the pictures")
    if delete and quarantine is not None:
        raise SgdlabError("choose either delete=True or a quarantine folder, not both; "
                          "quarantine keeps the files so that a person can look at them")
    quarantine = Path(quarantine) if quarantine is not None else folder / QUARANTINE_NAME
    report = VerifyReport(folder=folder, deleted=delete, dry_run=dry_run)
    to_remove: list[BadImage] = []
    for path in _visible_files(folder, skip=quarantine):
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            report.ignored.append(path)
            continue
        report.checked += 1
        reason = inspect_image(path)
        if reason is not None:
            to_remove.append(BadImage(path, reason))
            continue
        done = convert_to_rgb(path, dry_run) if convert else None
        if done is None:
            report.ok += 1
            continue
        report.converted.append(done)
        if done.original is not None:
            to_remove.append(BadImage(done.original,
                                      f"converted to RGB as {done.path.name} ({done.mode})"))
    if dry_run or not to_remove:
        report.bad = to_remove
        return report
    if delete:
        for bad in to_remove:
            bad.path.unlink()
        report.bad = to_remove
        return report
    report.quarantine, report.manifest = quarantine, quarantine / MANIFEST_NAME
    rows = []
    for bad in to_remove:
        target = _free_name(quarantine / bad.path.relative_to(folder))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(bad.path, target)
        report.bad.append(BadImage(bad.path, bad.reason, target))
        rows.append({"file": str(bad.path.resolve()), "quarantined_as": str(target.resolve()),
                     "reason": bad.reason})
    _append_manifest(report.manifest, rows)
    return report


def format_verify_report(report: VerifyReport) -> str:
    """A readable summary of :func:`verify_images`: counts, then each file it acted on."""
    unreadable = [b for b in report.bad if not b.reason.startswith("converted to RGB")]
    action = ("would be removed" if report.dry_run else "deleted" if report.deleted
              else f"moved to {report.quarantine}")
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
