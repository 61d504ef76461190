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
    assert {Path(r["file"]).relative_to(root.absolute()).as_posix() for r in rows} == set(rel)
    assert all(r["reason"] and Path(r["quarantined_as"]).exists() for r in rows)
    assert {r["quarantined_as"] for r in rows} == {str(b.moved_to.absolute()) for b in report.bad}

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


def test_delete_is_refused_and_nothing_is_deleted(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    before = fingerprints(root)
    with pytest.raises(SgdlabError, match="never deletes pictures.*quarantine"):
        verify_images(root, delete=True)
    assert fingerprints(root) == before


def test_custom_quarantine_and_name_clashes(tmp_path: Path) -> None:
    root = tmp_path / "bears"
    (root / "black").mkdir(parents=True)
    (root / "black" / "a.jpg").write_bytes(jpeg_bytes())
    quarantine = tmp_path / "rejects"  # outside the dataset
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
    with pytest.raises(TypeError):
        verify_images(tmp_path, tmp_path / "q")  # the quarantine is named: quarantine=...


@pytest.mark.bears
def test_real_bears_are_all_readable_rgb(bears_dir: Path) -> None:
    report = verify_images(bears_dir, dry_run=True)
    assert (report.checked, report.ok) == (480, 480)
    assert report.bad == [] and report.converted == []


# --- files others can read, a manifest that never misses a move -----------------------------

def test_converted_pictures_and_the_manifest_are_readable_by_others(tmp_path: Path) -> None:
    import os
    import stat

    root = make_messy_folder(tmp_path / "bears")
    old = os.umask(0o022)
    try:
        report = verify_images(root)
    finally:
        os.umask(old)
    written = [c.path for c in report.converted] + [report.manifest]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == \
        {p.name: 0o644 for p in written}


def test_a_failed_write_while_converting_keeps_the_original(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    import errno

    root = make_messy_folder(tmp_path / "bears")
    before = fingerprints(root)

    def disk_full(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(SgdlabError, match=r"clear\.png.*No space left.*kept untouched"):
        verify_images(root, quarantine=tmp_path / "q")
    assert fingerprints(root) == before  # the first conversion failed: all as it was
    assert not [p for p in root.rglob(".*.tmp")]


def test_each_row_is_written_before_its_move(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from sgdlab.vision import clean

    root = make_messy_folder(tmp_path / "bears")
    real_move, moves = shutil.move, []

    def move_then_fail(src, dst):
        with (root / ".quarantine" / "manifest.csv").open(newline="") as f:
            listed = {row["file"] for row in csv.DictReader(f)}
        assert str(Path(src).absolute()) in listed  # the row is there before the move
        moves.append(src)
        if len(moves) == 2:
            raise PermissionError(13, "Permission denied")
        return real_move(src, dst)

    monkeypatch.setattr(clean.shutil, "move", move_then_fail)
    with pytest.raises(SgdlabError, match=r"cannot move .*Permission denied.*still in place"):
        verify_images(root)
    with (root / ".quarantine" / "manifest.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == [str(Path(m).absolute()) for m in moves]
    assert Path(rows[0]["quarantined_as"]).exists() and not Path(moves[0]).exists()
    assert Path(moves[1]).exists() and not Path(rows[1]["quarantined_as"]).exists()


def test_a_linked_bad_file_is_recorded_where_it_lies_in_the_quarantine(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    elsewhere = tmp_path / "downloads"
    elsewhere.mkdir()
    (elsewhere / "page.jpg").write_text("<html>gone</html>")
    (root / "black" / "link.jpg").symlink_to(elsewhere / "page.jpg")
    (root / "black" / "dangling.jpg").symlink_to(elsewhere / "never-there.jpg")
    report = verify_images(root)
    with report.manifest.open(newline="") as f:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    for name in ("link.jpg", "dangling.jpg"):
        kept = root / ".quarantine" / "black" / name
        assert rows[name]["quarantined_as"] == str(kept.absolute())
        assert kept.is_symlink()  # the link moved; what it points to is left alone
    assert "link to a missing file" in rows["dangling.jpg"]["reason"]
    assert (elsewhere / "page.jpg").read_text() == "<html>gone</html>"


def test_a_linked_class_folder_is_checked_as_the_loader_reads_it(tmp_path: Path) -> None:
    root = tmp_path / "bears"
    for c, name in enumerate(["black", "grizzly"]):
        (root / name).mkdir(parents=True)
        for i in range(6):
            (root / name / f"{i}.jpg").write_bytes(jpeg_bytes(10 * c + i))
    teddys = tmp_path / "downloads" / "teddys"
    teddys.mkdir(parents=True)
    for i in range(6):
        (teddys / f"{i}.jpg").write_bytes(jpeg_bytes(50 + i))
    (teddys / "page.jpg").write_text("<html>404</html>")
    (root / "teddys").symlink_to(teddys, target_is_directory=True)
    report = verify_images(root)
    assert report.checked == 19
    assert [b.path.relative_to(root).as_posix() for b in report.bad] == ["teddys/page.jpg"]
    dls = ImageDataLoaders.from_folder(root, size=16, batch_size=4, device="cpu")
    assert dls.classes == ["black", "grizzly", "teddys"]
    assert len(dls.train_items) + len(dls.valid_items) == report.checked - 1


@pytest.mark.parametrize("where", ["bears/black/q", "bears/rejects", "bears", "."])
def test_a_quarantine_the_loader_would_read_is_refused(tmp_path: Path, where: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_messy_folder(tmp_path / "bears")
    monkeypatch.chdir(tmp_path / "bears")
    before = fingerprints(root)
    with pytest.raises(SgdlabError, match=r"quarantine .*(inside|holds)"):
        verify_images(root, quarantine=tmp_path / where)
    assert fingerprints(root) == before


def test_a_quarantine_beside_a_class_folder_is_refused(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    with pytest.raises(SgdlabError, match="beside the class folder"):
        verify_images(root / "black", quarantine=root / "rejects")
    report = verify_images(root / "black", quarantine=root / ".rejects")  # hidden: fine
    assert report.quarantine == root / ".rejects"
    assert (root / ".rejects" / "page.jpg").exists()


def test_a_second_run_in_the_middle_of_the_first_does_not_crash_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sgdlab.vision import clean

    root = make_messy_folder(tmp_path / "bears")
    real_inspect, nested = clean.inspect_image, []

    def inspect_after_another_run(path):
        if not nested:  # the other run starts when this one is about to inspect its first file
            nested.append(None)
            nested[0] = verify_images(root)
        return real_inspect(path)

    monkeypatch.setattr(clean, "inspect_image", inspect_after_another_run)
    first = verify_images(root)
    other = nested[0]
    moved = {b.path for b in first.bad} | {b.path for b in other.bad}
    assert {p.relative_to(root).as_posix() for p in moved} == UNREADABLE | {"grizzly/anim.gif"}
    assert not {b.path for b in first.bad} & {b.path for b in other.bad}
    assert_quarantine_matches_manifest(root)


def assert_quarantine_matches_manifest(root: Path) -> None:
    quarantine = root / ".quarantine"
    held = sorted(p.relative_to(quarantine).as_posix() for p in quarantine.rglob("*")
                  if p.is_file() and p.name != "manifest.csv")
    assert held == sorted(UNREADABLE | {"grizzly/anim.gif"})  # each exactly once
    with (quarantine / "manifest.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(Path(r["quarantined_as"]).relative_to(quarantine.absolute()).as_posix()
                  for r in rows) == held
    assert sorted(p.name for p in (root / "grizzly").glob("anim*")) == ["anim.png"]


def test_two_runs_at_once_share_the_work(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for attempt in range(3):
        root = make_messy_folder(tmp_path / f"bears{attempt}")
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(verify_images, [root, root]))
        assert_quarantine_matches_manifest(root)
        assert sum(len(r.bad) for r in reports) == len(UNREADABLE) + 1
        for name in CONVERTED:
            with Image.open(root / name) as img:
                assert img.mode == "RGB"


def test_the_cli_refuses_delete_and_a_quarantine_in_the_dataset(tmp_path: Path, capsys) -> None:
    from sgdlab import cli

    root = make_messy_folder(tmp_path / "bears")
    before = fingerprints(root)
    assert cli.main(["bears", "verify", str(root), "--delete"]) == 2
    assert "never deletes pictures" in capsys.readouterr().err
    assert cli.main(["bears", "verify", str(root), "--quarantine", str(root / "black" / "q")]) == 2
    assert "inside" in capsys.readouterr().err
    assert fingerprints(root) == before
    with pytest.raises(SystemExit):
        cli.main(["bears", "verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--delete" not in text
    assert "Nothing is ever deleted" in text


def test_a_quarantine_that_cannot_be_made_is_explained(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "bears")
    (tmp_path / "a-file").write_text("")
    before = fingerprints(root)
    with pytest.raises(SgdlabError, match=r"cannot make the quarantine folder .*nothing was moved"):
        verify_images(root, quarantine=tmp_path / "a-file" / "q", convert=False)
    assert fingerprints(root) == before
