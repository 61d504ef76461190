"""The bear photos.

Where the photos come from, how broken downloads are caught, a seeded 20% validation split, and
mini-batches of augmented, normalized images.
"""

import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from PIL import Image

from sgdlab.teach import figure_path, show, show_png, step
from sgdlab.vision.clean import format_verify_report, verify_images
from sgdlab.vision.data import IMAGENET_MEAN, IMAGENET_STD, find_classes, split_items
from sgdlab.vision.lesson_config import lesson_config

# %%
step("Where the photos are", """
    The first half of the lecture builds a classifier for three kinds of bear: black bears,
    grizzly bears and teddy bears. The photos sit in one folder per class; the name of the
    folder is the label. This lesson reads them from SGDLAB_BEARS, or ../shared/bears by
    default, and stops with a message if they are not there.

    Set SGDLAB_QUICK=1 for a quick look (tiny images, a few photos per class); by default the
    bear lessons do a real run.
""")
config = lesson_config()
bears = config.require_bears()
classes, items = find_classes(bears)
print(f"photos in {bears}: {len(items)} in {len(classes)} classes")
for name in classes:
    mine = [p for p in items if p.parent.name == name]
    with Image.open(mine[0]) as first:
        print(f"  {name:8s} {len(mine):4d} photos, e.g. {mine[0].name} ({first.width}x"
              f"{first.height} px, {first.mode})")
print("a quick run (SGDLAB_QUICK=1)" if config.quick else "a real run", "on", config.device)

# %%
step("How they were gathered", """
    In the lecture the photos came from a web image search: one list of image addresses
    (URLs) per class, saved from the browser, then downloaded, at most 200 per class.

    sgdlab's downloader names every file by its position in the list (00000000.jpg, ...),
    retries the failures that may be temporary, keeps only answers that really are pictures,
    and writes each file under a temporary name that it renames once complete, so a
    download that is cut off never leaves half a picture behind. From a terminal:

        sgdlab bears download urls_black.txt bears/black --max-pics 200

    Many of those links have died since 2019, so here we only count them.
""")
for urls in sorted(bears.glob("urls_*.txt")):
    lines = [u for u in urls.read_text(encoding="utf-8").splitlines() if u.strip()]
    print(f"{urls.name}: {len(lines)} URLs, the first one {lines[0][:60]}...")

# %%
step("Catching broken downloads", """
    A scraped folder always holds some junk: a web page saved as .jpg, an empty file, a
    picture in a colour mode the network does not expect. verify_images decodes every file,
    moves the unreadable ones to a quarantine folder with a manifest (it never deletes a
    photo: you look at the quarantine, then delete it yourself) and rewrites greyscale or
    transparent pictures as RGB.

    We try it on a scratch copy of three photos plus three kinds of trouble, then check the
    real folder without changing anything (dry_run=True).
""")
with tempfile.TemporaryDirectory() as scratch:
    messy = Path(scratch) / "black"
    messy.mkdir()
    for photo in [p for p in items if p.parent.name == classes[0]][:3]:
        shutil.copy(photo, messy / photo.name)
    (messy / "gone.jpg").write_text("<html><body>This picture has been removed</body></html>")
    (messy / "empty.jpg").write_bytes(b"")
    with Image.open(items[0]) as photo:
        photo.convert("L").save(messy / "grey.png")
    report = verify_images(messy)
    print(format_verify_report(report))
    quarantined = sorted(p.name for p in (messy / ".quarantine").iterdir())
    print("in quarantine:", quarantined)
print()
print(format_verify_report(verify_images(bears, dry_run=True)))

# %%
step("A validation set, always the same", """
    There is no separate validation folder, so we set 20% of the photos aside at random.
    "At random" must give the same photos every time: if each run validated on other
    photos, an "improvement" could just be an easier validation set. So split_items sorts
    the file names first and draws with a private random generator seeded with 42: the same
    split on every machine, whatever order the files were listed in.
""")
train, valid = split_items(items, valid_pct=0.2, seed=42)
again_train, again_valid = split_items(list(reversed(items)), valid_pct=0.2, seed=42)
other_train, other_valid = split_items(items, valid_pct=0.2, seed=1)
print(f"{len(train)} training and {len(valid)} validation photos")
print("same seed, files listed backwards, same split:", again_valid == valid)
print(f"seed 1 instead: {len(set(other_valid) - set(valid))} of {len(valid)} validation "
      f"photos differ")
for name in classes:
    print(f"  {name:8s} {sum(p.parent.name == name for p in valid):3d} in validation")

# %%
step("From photos to mini-batches", """
    The photos are small, so each is decoded and resized once and kept in memory. Every
    training batch then gets its own random crop, flip and colour change (augmentation: the
    model never sees exactly the same picture twice), and every batch is normalized with the
    ImageNet statistics that pretrained ResNets expect:

        x = (pixel / 255 - mean) / std,  per colour channel

    A batch of images is a rank-4 tensor: (batch, channels, height, width). After
    normalizing, ImageNet's average photo would have mean 0 and standard deviation 1 in every
    channel; bear photos are not average photos, so their numbers land near, not on, 0 and 1.
""")
dls = config.loaders()
print(dls)
xb, yb = next(iter(dls.train))
print(f"xb: {tuple(xb.shape)} {xb.dtype}, yb: {tuple(yb.shape)} {yb.dtype}")
print("labels of the first 8:", [dls.classes[i] for i in yb[:8].tolist()])
print(f"ImageNet mean {IMAGENET_MEAN}, std {IMAGENET_STD}")
print("per-channel mean of the batch:", [round(v, 2) for v in xb.mean(dim=(0, 2, 3)).tolist()])
print("per-channel std of the batch: ", [round(v, 2) for v in xb.std(dim=(0, 2, 3)).tolist()])

# %%
step("What the model sees", """
    A grid of augmented training images with their labels, as the model gets them (turned
    back into colours for us).
""")
show_png(dls.show_batch(figure_path("batch"), n=9))

# %%
step("One photo, many augmentations", """
    The same training photo drawn eight times: each time another crop, mirror image and
    brightness. For the model these are eight different pictures of the same bear.
""")
generator = torch.Generator(device=dls.device).manual_seed(config.seed)
eight, _ = dls.train.make_batch(torch.zeros(8, dtype=torch.long), generator)
mean = torch.tensor(IMAGENET_MEAN, device=eight.device).view(1, 3, 1, 1)
std = torch.tensor(IMAGENET_STD, device=eight.device).view(1, 3, 1, 1)
pictures = (eight * std + mean).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
fig, axes = plt.subplots(2, 4, figsize=(9, 4.8))
for ax, picture in zip(axes.flat, pictures, strict=True):
    ax.imshow(picture)
    ax.axis("off")
first = dls.train_items[0].relative_to(bears).as_posix()
fig.suptitle(f"{first}, augmented eight times")
show(fig, "augmented")
