"""verify_images: quarantine the unreadable, convert the rest to RGB, never lose a picture."""

from __future__ import annotations

import csv
import hashlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sgdlab.errors import SgdlabError
from sgdlab.vision.clean import format_verify_report, verify_images
from sgdlab.vision.data import ImageDataLoaders


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (32, 24)) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(
        buffer, "JPEG")
    return buffer.getvalue()


def make_messy_folder(root: Path) -> Path:
    """Two classes with good pictures, odd modes and junk, as a web download leaves them."""
    for c, name in enumerate(["black", "grizzly"]):
        for i in range(6):
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{i:08d}.jpg").write_bytes(jpeg_bytes(10 * c + i))
    black, grizzly = root / "black", root / "grizzly"
    Image.new("L", (20, 16), 90).save(black / "grey.jpg")
    rgba = Image.new("RGBA", (20, 16), (200, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    rgba.save(black / "clear.png")
    Image.new("CMYK", (20, 16), (0, 255, 255, 0)).save(grizzly / "print.jpg")
    Image.new("P", (20, 16), 5).save(grizzly / "palette.png")
    Image.new("P", (20, 16), 7).save(grizzly / "anim.gif")
    Image.fromarray(np.full((16, 20), 4000, dtype=np.uint16)).save(grizzly / "deep.png")
    good = jpeg_bytes(99, size=(120, 90))  # cut inside the pixel data, past the headers
    (black / "cut.jpg").write_bytes(good[: len(good) * 3 // 4])
    (black / "page.jpg").write_text("<html><body>404 Not Found</body></html>")
    (grizzly / "empty.png").write_bytes(b"")
    (grizzly / "noise.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    (black / "notes.txt").write_text("keep me")
    (root / "urls_black.txt").write_text("http://example.com/a.jpg\n")
    return root


def fingerprints(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


UNREADABLE = {"black/cut.jpg", "black/page.jpg", "grizzly/empty.png", "grizzly/noise.png"}
CONVERTED = {"black/grey.jpg", "black/clear.png", "grizzly/print.jpg", "grizzly/palette.png",
             "grizzly/deep.png", "grizzly/anim.png"}


def test_quarantines_unreadable_and_converts_odd_modes(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    before = fingerprints(root)
    report = verify_images(root)

    rel = {b.path.relative_to(root).as_posix(): b for b in report.bad}
    assert set(rel) == UNREADABLE | {"grizzly/anim.gif"}
    assert "truncated" in rel["black/cut.jpg"].reason
    assert "not an image" in rel["black/page.jpg"].reason
    assert rel["grizzly/empty.png"].reason == "empty file"
    assert "converted to RGB as anim.png" in rel["grizzly/anim.gif"].reason
    quarantine = root / ".quarantine"
    assert report.quarantine == quarantine and report.manifest == quarantine / "manifest.csv"
    for name, bad in rel.items():
        assert not (root / name).exists()
        assert bad.moved_to == quarantine / name
        assert hashlib.sha256(bad.moved_to.read_bytes()).hexdigest() == before[name]
    with report.manifest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {Path(r["file"]).relative_to(root.resolve()).as_posix() for r in rows} == set(rel)
    assert all(r["reason"] and Path(r["quarantined_as"]).exists() for r in rows)

    assert {c.path.relative_to(root).as_posix() for c in report.converted} == CONVERTED
    for name in CONVERTED:
        with Image.open(root / name) as img:
            assert img.mode == "RGB", name
    with Image.open(root / "black" / "clear.png") as img:
        assert img.getpixel((0, 0)) == (255, 255, 255) and img.getpixel((1, 1)) == (200, 0, 0)
    with Image.open(root / "black" / "grey.jpg") as img:
        assert img.format == "JPEG" and abs(img.getpixel((3, 3))[1] - 90) <= 2

    after = fingerprints(root)
    untouched = [n for n in before if n not in UNREADABLE | CONVERTED | {"grizzly/anim.gif"}]
    assert all(after[n] == before[n] for n in untouched)  # good pictures, txt files
    assert (report.checked, report.ok) == (12 + len(UNREADABLE) + 6, 12)
    assert sorted(p.name for p in report.ignored) == ["notes.txt", "urls_black.txt"]
    assert not [p for p in root.rglob("*.tmp")]

    text = format_verify_report(report)
    assert "4 unreadable" in text and "black/page.jpg" in text and "manifest" in text


def test_cleaned_folder_loads(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    (root / "black" / "notes.txt").unlink()
    with pytest.raises(SgdlabError, match="cannot be read"):
        ImageDataLoaders.from_folder(root, size=16, batch_size=4, device="cpu")
    verify_images(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dls = ImageDataLoaders.from_folder(root, size=16, batch_size=4, device="cpu")
    assert len(dls.train_items) + len(dls.valid_items) == 12 + 6


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    verify_images(root)
    before = fingerprints(root)
    again = verify_images(root)
    assert again.bad == [] and again.converted == [] and again.ok == again.checked == 18
    assert again.manifest is None and fingerprints(root) == before


def test_dry_run_touches_nothing(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    before = fingerprints(root)
    report = verify_images(root, dry_run=True)
    assert fingerprints(root) == before and not (root / ".quarantine").exists()
    assert {b.path.relative_to(root).as_posix() for b in report.bad} == \
        UNREADABLE | {"grizzly/anim.gif"}
    assert len(report.converted) == len(CONVERTED) and report.manifest is None
    assert "would be removed" in format_verify_report(report)


def test_delete_only_when_asked(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    report = verify_images(root, delete=True, convert=False)
    assert report.deleted and not (root / ".quarantine").exists()
    assert {b.path.relative_to(root).as_posix() for b in report.bad} == UNREADABLE
    assert all(not (root / n).exists() for n in UNREADABLE)
    assert (root / "black" / "grey.jpg").exists() and (root / "grizzly" / "anim.gif").exists()
    with Image.open(root / "black" / "grey.jpg") as img:
        assert img.mode == "L"  # convert=False leaves modes alone


def test_custom_quarantine_and_name_clashes(tmp_path: Path) -> None:
    root = tmp_path / "bears"
    (root / "black").mkdir(parents=True)
    (root / "black" / "a.jpg").write_bytes(jpeg_bytes())
    quarantine = root / "rejects"  # inside the folder, not hidden: must not be re-checked
    for _ in range(2):
        (root / "black" / "bad.jpg").write_text("not a picture")
        report = verify_images(root, quarantine=quarantine)
        assert report.checked == 2
    assert sorted(p.name for p in (quarantine / "black").iterdir()) == ["bad-1.jpg", "bad.jpg"]
    with (quarantine / "manifest.csv").open(newline="") as f:
        assert len(list(csv.DictReader(f))) == 2


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(SgdlabError, match="no folder"):
        verify_images(tmp_path / "nowhere")
    with pytest.raises(SgdlabError, match="either delete"):
        verify_images(tmp_path, delete=True, quarantine=tmp_path / "q")


@pytest.mark.bears
def test_real_bears_are_all_readable_rgb(bears_dir: Path) -> None:
    report = verify_images(bears_dir, dry_run=True)
    assert (report.checked, report.ok) == (480, 480)
    assert report.bad == [] and report.converted == []
