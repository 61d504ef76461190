"""The bear data pipeline: files, split, transforms, batched augmentation, loaders (CPU, tiny)."""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import sgdlab
from sgdlab.errors import SgdlabError
from sgdlab.vision.augment import (
    Augmentation,
    augment_batch,
    colour_jitter,
    crop_matrices,
    random_resized_crop,
)
from sgdlab.vision.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    DataWarning,
    ImageDataLoaders,
    default_bears_dir,
    find_classes,
    get_image_files,
    load_image,
    split_items,
    valid_transform,
)

COLOURS = {"black": (20, 20, 20), "grizzly": (140, 90, 40), "teddys": (230, 200, 150)}


def make_picture(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (40, 30),
                 seed: int = 0) -> Path:
    """A noisy picture of one colour, saved in the format its extension says."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-20, 20, size=(size[1], size[0], 3))
    pixels = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def make_dataset(root: Path, per_class: int = 10, classes: dict = COLOURS) -> Path:
    """``root/<class>/00000000.jpg``..., half landscape, half portrait."""
    for c, (name, colour) in enumerate(classes.items()):
        for i in range(per_class):
            size = (40, 30) if i % 2 else (28, 44)
            make_picture(root / name / f"{i:08d}.jpg", colour, size, seed=100 * c + i)
    return root


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "bears")


def small_loaders(path: Path, **kwargs) -> ImageDataLoaders:
    options = {"size": 16, "batch_size": 8, "device": "cpu", "num_workers": 2}
    return ImageDataLoaders.from_folder(path, **(options | kwargs))


# --- files -----------------------------------------------------------------------------------

def test_get_image_files_sorted_images_only(tmp_path: Path) -> None:
    for name in ["b/2.png", "a/1.JPG", "a/sub/3.jpeg", "a/notes.txt", "a/.hidden.jpg",
                 ".cache/4.jpg", "5.webp"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in get_image_files(tmp_path)]
    assert found == ["5.webp", "a/1.JPG", "a/sub/3.jpeg", "b/2.png"]
    assert get_image_files(tmp_path, recurse=False) == [tmp_path / "5.webp"]
    with pytest.raises(SgdlabError, match="no folder"):
        get_image_files(tmp_path / "nowhere")


def test_load_image_converts_modes_to_rgb(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    pictures = {
        "grey.png": Image.new("L", (4, 4), 77),
        "rgba.png": rgba,
        "cmyk.jpg": Image.new("CMYK", (4, 4), (0, 0, 0, 0)),
        "palette.gif": Image.new("P", (4, 4), 3),
        "deep.png": Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)),
    }
    for name, img in pictures.items():
        img.save(tmp_path / name)
        loaded = load_image(tmp_path / name)
        assert loaded.mode == "RGB" and loaded.size == (4, 4), name
    assert load_image(tmp_path / "grey.png").getpixel((1, 1)) == (77, 77, 77)
    # transparent pixels land on white, opaque ones keep their colour
    assert load_image(tmp_path / "rgba.png").getpixel((0, 0)) == (255, 255, 255)
    assert load_image(tmp_path / "rgba.png").getpixel((1, 1)) == (255, 0, 0)
    assert load_image(tmp_path / "deep.png").getpixel((0, 0)) == (255, 255, 255)
    assert load_image(Image.new("L", (3, 2))).mode == "RGB"


def test_load_image_applies_exif_rotation(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 20), (0, 128, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    img.save(tmp_path / "phone.jpg", exif=exif)
    assert load_image(tmp_path / "phone.jpg").size == (20, 40)


def test_load_image_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "page.jpg").write_text("<html>404</html>")
    with pytest.raises(SgdlabError, match=r"page\.jpg.*verify_images"):
        load_image(tmp_path / "page.jpg")
    with pytest.raises(SgdlabError, match="does not exist"):
        load_image(tmp_path / "gone.jpg")


def test_default_bears_dir_prefers_the_environment(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGDLAB_BEARS", str(tmp_path / "my bears"))
    assert default_bears_dir() == tmp_path / "my bears"


def test_default_bears_dir_relative_to_cwd_then_to_the_repository(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SGDLAB_BEARS", raising=False)
    (tmp_path / "shared" / "bears").mkdir(parents=True)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    found = default_bears_dir()
    assert found == Path("..") / "shared" / "bears" and found.is_dir()

    (tmp_path / "other" / "folder").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "other" / "folder")  # no ../shared/bears here
    repository = Path(sgdlab.__file__).resolve().parents[1]
    assert default_bears_dir() == repository.parent / "shared" / "bears"
    assert default_bears_dir().is_absolute()


# --- transforms ------------------------------------------------------------------------------

def test_valid_transform_normalization_by_hand() -> None:
    colour = (200, 100, 50)
    x = valid_transform(8)(Image.new("RGB", (12, 8), colour))
    assert x.shape == (3, 8, 8) and x.dtype == torch.float32
    for c in range(3):
        expected = (colour[c] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        assert torch.allclose(x[c], torch.full((8, 8), expected), atol=1e-6)
    custom = valid_transform(4, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert torch.allclose(custom(Image.new("RGB", (4, 4), (255, 0, 255)))[:, 0, 0],
                          torch.tensor([1.0, -1.0, 1.0]))


def test_valid_transform_resizes_short_side_then_centre_crops() -> None:
    # three 30×30 blocks, red | green | blue: the centre crop is the green block
    pixels = np.zeros((30, 90, 3), dtype=np.uint8)
    pixels[:, :30, 0] = pixels[:, 30:60, 1] = pixels[:, 60:, 2] = 255
    wide = Image.fromarray(pixels)
    green = valid_transform(30, mean=(0, 0, 0), std=(1, 1, 1))(wide)
    assert torch.equal(green, torch.tensor([0.0, 1.0, 0.0]).view(3, 1, 1).expand(3, 30, 30))
    small = valid_transform(10, mean=(0, 0, 0), std=(1, 1, 1))(wide)
    assert small.shape == (3, 10, 10)
    assert torch.allclose(small[:, 5, 5], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)
    tall = valid_transform(10, mean=(0, 0, 0), std=(1, 1, 1))(wide.rotate(90, expand=True))
    assert tall.shape == (3, 10, 10)
    tiny = valid_transform(16)(Image.new("RGB", (5, 3)))  # upsampled
    assert tiny.shape == (3, 16, 16)


def test_valid_transform_rejects_bad_settings() -> None:
    with pytest.raises(SgdlabError, match="image size"):
        valid_transform(0)
    with pytest.raises(SgdlabError, match="std"):
        valid_transform(8, std=(0.2, 0.0, 0.2))


# --- split -----------------------------------------------------------------------------------

@settings(max_examples=60)
@given(n=st.integers(2, 80), valid_pct=st.floats(0.05, 0.95), seed=st.integers(0, 2**31),
       shuffle_seed=st.integers(0, 1000))
def test_split_is_disjoint_complete_and_order_free(n: int, valid_pct: float, seed: int,
                                                   shuffle_seed: int) -> None:
    items = [Path(f"bears/c{i % 3}/{i:05d}.jpg") for i in range(n)]
    n_valid = round(valid_pct * n)
    if not 1 <= n_valid < n:
        with pytest.raises(SgdlabError, match="cannot set aside"):
            split_items(items, valid_pct, seed)
        return
    train, valid = split_items(items, valid_pct, seed)
    assert len(valid) == n_valid
    assert set(train).isdisjoint(valid) and set(train) | set(valid) == set(items)
    assert train == sorted(train) and valid == sorted(valid)
    shuffled = items[:]
    random.Random(shuffle_seed).shuffle(shuffled)
    assert split_items([str(p) for p in shuffled], valid_pct, seed) == (train, valid)


def test_split_depends_on_seed_and_is_pinned() -> None:
    items = [Path(f"{i:03d}.jpg") for i in range(100)]
    assert split_items(items, seed=1)[1] != split_items(items, seed=2)[1]
    assert split_items(items)[1] == split_items(items, seed=42)[1]
    # pinned: a change here changes every learner's validation set
    ten = [Path(f"{i}.jpg") for i in range(10)]
    assert [p.stem for p in split_items(ten, 0.2, 42)[1]] == PINNED_VALID_OF_TEN


PINNED_VALID_OF_TEN = ["2", "6"]


@pytest.mark.parametrize("valid_pct", [0, 1, 1.5, -0.2, "0.2"])
def test_split_rejects_bad_fractions(valid_pct) -> None:
    with pytest.raises(SgdlabError, match="valid_pct"):
        split_items([Path(f"{i}.jpg") for i in range(10)], valid_pct)


# --- batched augmentation --------------------------------------------------------------------

NO_JITTER = {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0}


def test_identity_augmentation_returns_the_image() -> None:
    images = torch.randint(0, 256, (3, 3, 12, 12), dtype=torch.uint8)
    identity = Augmentation(min_scale=1.0, ratio=(1, 1), flip_p=0.0, **NO_JITTER)
    out = augment_batch(images, 12, identity, torch.Generator().manual_seed(0))
    assert torch.allclose(out, images.float() / 255, atol=1e-5)
    flipped = Augmentation(min_scale=1.0, ratio=(1, 1), flip_p=1.0, **NO_JITTER)
    out = augment_batch(images, 12, flipped, torch.Generator().manual_seed(0))
    assert torch.allclose(out, images.flip(-1).float() / 255, atol=1e-5)


def test_crop_of_bottom_right_quarter_matches_slicing() -> None:
    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    half = torch.full((2,), 0.5)
    theta = crop_matrices(half, half, half, half, torch.tensor([False, True]))
    out = random_resized_crop(images, 4, theta)
    assert torch.allclose(out[0], images[0, :, 4:, 4:].float(), atol=1e-4)
    assert torch.allclose(out[1], images[1, :, 4:, 4:].flip(-1).float(), atol=1e-4)


def colour_jitter_step_by_step(x, b, c, s):
    """The definition, one step at a time (the oracle for the fused version)."""
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    b, c, s = (f.view(-1, 1, 1, 1) for f in (b, c, s))
    x1 = x * b
    m1 = (x1 * w).sum(1, keepdim=True).mean((2, 3), keepdim=True)
    x2 = (x1 - m1) * c + m1
    g2 = (x2 * w).sum(1, keepdim=True)
    return ((x2 - g2) * s + g2).clamp(0, 1)


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 4))
def test_fused_colour_jitter_matches_definition(seed: int, batch: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, 5, 6, generator=g)
    b, c, s = (0.5 + torch.rand(batch, generator=g) for _ in range(3))
    expected = colour_jitter_step_by_step(x, b, c, s)
    assert torch.allclose(colour_jitter(x.clone(), b, c, s), expected, atol=1e-5)


@settings(max_examples=25)
@given(batch=st.integers(1, 5), size=st.integers(4, 20), extra=st.integers(0, 8),
       seed=st.integers(0, 2**31))
def test_augmentation_keeps_shape_and_range_and_repeats_with_seed(batch: int, size: int,
                                                                  extra: int, seed: int) -> None:
    images = torch.randint(0, 256, (batch, 3, size + extra, size + extra), dtype=torch.uint8)
    aug = Augmentation()
    out = augment_batch(images, size, aug, torch.Generator().manual_seed(seed))
    assert out.shape == (batch, 3, size, size) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    again = augment_batch(images, size, aug, torch.Generator().manual_seed(seed))
    assert torch.equal(out, again)


def test_augmentation_draws_crops_inside_the_image_and_varies() -> None:
    aug = Augmentation(min_scale=0.3)
    p = aug.draw(2000, torch.Generator().manual_seed(0))
    assert (p["centre_x"].abs() + p["half_w"] <= 1 + 1e-6).all()
    assert (p["centre_y"].abs() + p["half_h"] <= 1 + 1e-6).all()
    area = p["half_w"] * p["half_h"]
    assert area.max() <= 1 + 1e-6 and area.min() >= 0.3 * 3 / 4 - 1e-6
    assert 0.45 < p["flip"].float().mean() < 0.55
    assert ((p["brightness"] - 1).abs() <= 0.2 + 1e-6).all()
    images = torch.randint(0, 256, (4, 3, 20, 20), dtype=torch.uint8)
    one = augment_batch(images, 16, aug, torch.Generator().manual_seed(1))
    two = augment_batch(images, 16, aug, torch.Generator().manual_seed(2))
    assert not torch.equal(one, two)


@pytest.mark.parametrize("settings_", [{"min_scale": 0}, {"ratio": (2, 1)}, {"flip_p": 2},
                                       {"brightness": 1.5}])
def test_augmentation_rejects_bad_settings(settings_) -> None:
    with pytest.raises(SgdlabError):
        Augmentation(**settings_)


# --- the folder dataset ----------------------------------------------------------------------

def test_loaders_shapes_labels_and_classes(dataset: Path) -> None:
    dls = small_loaders(dataset)
    assert dls.classes == ["black", "grizzly", "teddys"]
    assert len(dls.train_items) == 24 and len(dls.valid_items) == 6
    assert set(dls.train_items).isdisjoint(dls.valid_items)
    for items, labels in ((dls.train_items, dls.train_labels), (dls.valid_items, dls.valid_labels)):
        assert labels.dtype == torch.int64
        assert [dls.classes[i] for i in labels.tolist()] == [p.parent.name for p in items]
    assert (dls.size, dls.mean, dls.std) == (16, IMAGENET_MEAN, IMAGENET_STD)
    assert dls.device == torch.device("cpu") and dls.path == dataset
    low = min((0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True))
    high = max((1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True))
    for loader in (dls.train, dls.valid):
        for xb, yb in loader:
            assert xb.shape == (len(yb), 3, 16, 16) and xb.dtype == torch.float32
            assert yb.dtype == torch.int64 and xb.device == yb.device == dls.device
            assert low - 1e-5 <= xb.min() and xb.max() <= high + 1e-5


def test_train_drops_a_last_batch_of_one_and_reshuffles(dataset: Path) -> None:
    dls = small_loaders(dataset, valid_pct=0.1, batch_size=13)  # 27 train = 2·13 + 1
    assert len(dls.train_items) == 27 and len(dls.train) == 2
    assert [len(yb) for _, yb in dls.train] == [13, 13]
    assert len(dls.valid) == 1
    first, second = (torch.cat(dls.train.batch_indices()) for _ in range(2))
    assert len(set(first.tolist())) == 26 and not torch.equal(first, second)
    odd = small_loaders(dataset, valid_pct=0.1, batch_size=10)  # 27 = 2·10 + 7: kept
    assert [len(yb) for _, yb in odd.train] == [10, 10, 7]


def test_valid_loader_is_valid_transform_in_item_order(dataset: Path) -> None:
    dls = small_loaders(dataset, batch_size=4)
    tfm = valid_transform(16)
    expected = torch.stack([tfm(load_image(p)) for p in dls.valid_items])
    batches = [xb for xb, _ in dls.valid]
    assert [len(b) for b in batches] == [4, 2]
    assert torch.allclose(torch.cat(batches), expected, atol=1e-6)
    assert torch.equal(torch.cat([yb for _, yb in dls.valid]), dls.valid_labels)
    assert torch.equal(torch.cat([xb for xb, _ in dls.valid]), torch.cat(batches))


def test_same_seed_same_batches_other_seed_other_batches(dataset: Path) -> None:
    def two_epochs(seed: int) -> list[torch.Tensor]:
        dls = small_loaders(dataset, seed=seed)
        return [xb for _ in range(2) for xb, _ in dls.train]

    one, again, other = two_epochs(7), two_epochs(7), two_epochs(8)
    assert all(torch.equal(a, b) for a, b in zip(one, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(one, other, strict=True))


def test_without_augmentation_train_batches_are_centre_crops(dataset: Path) -> None:
    dls = small_loaders(dataset, augment=False)
    tfm = valid_transform(16)
    indices = dls.train.batch_indices()[0]
    xb, yb = dls.train.make_batch(indices)
    expected = torch.stack([tfm(load_image(dls.train_items[i])) for i in indices.tolist()])
    assert torch.allclose(xb, expected, atol=1e-6)
    assert torch.equal(yb, dls.train_labels[indices])


def test_ignored_files_and_folders_get_a_note(dataset: Path) -> None:
    (dataset / "black" / "notes.txt").write_text("bears are cool")
    (dataset / "models").mkdir()
    (dataset / "models" / "stage-1.pth").write_bytes(b"\0")
    (dataset / "urls_black.txt").write_text("http://example.com/1.jpg\n")
    (dataset / ".quarantine" / "black").mkdir(parents=True)
    (dataset / ".quarantine" / "black" / "broken.jpg").write_text("<html>")
    with pytest.warns(DataWarning, match=r"not images \(black/notes.txt\).*without images "
                                         r"\(models/\)"):
        classes, items = find_classes(dataset)
    assert classes == ["black", "grizzly", "teddys"] and len(items) == 30


def test_top_level_files_are_ignored_silently(dataset: Path) -> None:
    (dataset / "urls_black.txt").write_text("http://example.com/1.jpg\n")
    (dataset / "README.md").write_text("bears")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert find_classes(dataset)[0] == ["black", "grizzly", "teddys"]


def test_bad_folders_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SgdlabError, match="does not exist"):
        ImageDataLoaders.from_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SgdlabError, match="no images found"):
        ImageDataLoaders.from_folder(tmp_path / "empty")
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(SgdlabError, match="is a file"):
        ImageDataLoaders.from_folder(tmp_path / "file.jpg")
    make_picture(tmp_path / "loose" / "1.jpg", (1, 2, 3))
    with pytest.raises(SgdlabError, match="one sub-folder per class"):
        ImageDataLoaders.from_folder(tmp_path / "loose")
    make_dataset(tmp_path / "one", classes={"black": (0, 0, 0)})
    with pytest.raises(SgdlabError, match="only one class"):
        ImageDataLoaders.from_folder(tmp_path / "one")


def test_a_corrupt_image_inside_the_dataset_is_named(dataset: Path) -> None:
    (dataset / "grizzly" / "00000099.jpg").write_bytes(b"<html>not found</html>")
    good = (dataset / "teddys" / "00000001.jpg").read_bytes()
    (dataset / "teddys" / "00000098.jpg").write_bytes(good[: len(good) // 2])
    with pytest.raises(SgdlabError, match=r"(?s)2 image\(s\).*verify_images") as err:
        small_loaders(dataset, valid_pct=0.5)
    assert "grizzly/00000099.jpg: not an image" in str(err.value)
    assert "teddys/00000098.jpg: " in str(err.value)


@pytest.mark.parametrize("options, match", [({"batch_size": 1}, "batch_size"),
                                            ({"size": 0}, "image size"),
                                            ({"device": "tpu"}, "device")])
def test_bad_loader_settings(dataset: Path, options: dict, match: str) -> None:
    with pytest.raises(SgdlabError, match=match):
        small_loaders(dataset, **options)


def test_show_batch_writes_a_png_and_leaves_training_alone(dataset: Path, tmp_path: Path) -> None:
    dls = small_loaders(dataset)
    out = dls.show_batch(tmp_path / "figures" / "batch.png", n=5)
    assert out == tmp_path / "figures" / "batch.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as img:
        assert img.width > 100 and img.height > 100
    assert [p.name for p in out.parent.iterdir()] == ["batch.png"]
    fresh = small_loaders(dataset)
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(dls.train, fresh.train, strict=True))


# --- the real bears --------------------------------------------------------------------------

@pytest.mark.bears
def test_real_bears_split_384_96_in_three_classes(bears_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classes, items = find_classes(bears_dir)
    assert classes == ["black", "grizzly", "teddys"] and len(items) == 480
    train, valid = split_items(items)
    assert (len(train), len(valid)) == (384, 96)
    dls = ImageDataLoaders.from_folder(bears_dir, size=32, device="cpu")
    assert dls.classes == classes and len(dls.valid_items) == 96
    assert dls.valid_items == valid and len(dls.train) == 6 and len(dls.valid) == 2
    counts = torch.bincount(dls.valid_labels, minlength=3).tolist()
    assert sum(counts) == 96 and min(counts) > 15
    xb, yb = next(iter(dls.train))
    assert xb.shape == (64, 3, 32, 32) and math.isfinite(float(xb.sum()))


# --- module layout, files written, symbolic links --------------------------------------------

def test_every_name_other_modules_import_is_still_in_data() -> None:
    import sgdlab.files
    import sgdlab.vision.data as data
    from sgdlab.vision import images, split

    for name in ("ImageDataLoaders", "CachedImageLoader", "load_image", "valid_transform",
                 "find_classes", "split_items", "default_bears_dir", "DEFAULT_SEED",
                 "IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_EXTENSIONS", "DataWarning",
                 "ImageReadError", "get_image_files", "to_rgb", "decode_square", "is_image_file"):
        assert hasattr(data, name), name
    assert data.load_image is images.load_image and data.split_items is split.split_items
    assert data.save_figure is sgdlab.files.save_figure  # no copy of its own


def test_show_batch_writes_a_figure_others_can_read(dataset: Path, tmp_path: Path) -> None:
    import os
    import stat

    dls = small_loaders(dataset)
    old = os.umask(0o022)
    try:
        out = dls.show_batch(tmp_path / "batch.png", n=2)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_a_cuda_device_gets_its_index(monkeypatch: pytest.MonkeyPatch) -> None:
    from sgdlab.vision import data

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert data._with_index(torch.device("cuda")) == torch.device("cuda", 0)
    assert data._with_index(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("options, match", [({"num_workers": -1}, "num_workers"),
                                            ({"num_workers": 1.5}, "num_workers"),
                                            ({"augment": "yes"}, "augment"),
                                            ({"seed": "42"}, "seed"),
                                            ({"seed": 4.2}, "seed")])
def test_bad_settings_are_checked_before_decoding(dataset: Path, options: dict, match: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from sgdlab.vision import data

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded images before checking the settings")

    monkeypatch.setattr(data, "_decode_all", no_decoding)
    with pytest.raises(SgdlabError, match=match):
        small_loaders(dataset, **options)


def test_a_linked_class_folder_is_a_class_and_a_link_loop_ends(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "bears", per_class=4)
    elsewhere = make_dataset(tmp_path / "downloads", per_class=4,
                             classes={"polar": (240, 240, 250)})
    (root / "polar").symlink_to(elsewhere / "polar", target_is_directory=True)
    (root / "black" / "again").symlink_to(root, target_is_directory=True)  # a loop
    (root / "grizzly" / "cubs").symlink_to(root / "teddys", target_is_directory=True)
    classes, items = find_classes(root)
    assert classes == ["black", "grizzly", "polar", "teddys"]
    assert len(items) == 16 and len(set(items)) == 16
    assert sum(p.parent.name == "polar" for p in items) == 4
    assert all(p.is_relative_to(root) for p in items)  # paths through the link
