"""The bear classifier measured: sgdlab's Learner against a plain PyTorch loop, and its error.

1. Throughput. Images per second of one epoch (a training pass over the 384 training photos,
   then the validation pass, as the Learner's epoch table times it), for
   * sgdlab: ``Learner.fit_one_cycle(1)`` — sgdlab's hand-written SGD, schedule, recorder, table;
   * plain PyTorch: the same model (torchvision's ResNet body + the same head, same initial
     weights), the same ``ImageDataLoaders`` batches and augmentation (a second loader with the
     same seed gives the same batches), ``torch.optim.SGD`` with the same groups, momentum and
     weight decay, ``OneCycleLR`` with the same schedule, and the same bf16 autocast and
     channels_last on a GPU. It keeps the loss on the device (no per-batch sync).
   Epochs alternate (sgdlab, plain, plain, sgdlab, ...) after one warm-up epoch each, so machine
   noise hits both alike; we report the median epoch and the ratio sgdlab/plain in images/s
   (target: >= 0.95).
2. Accuracy. A fixed recipe on the seed-42 split: the epoch table, the wall time (decoding the
   photos included) and the final error rate: that of the last epoch, or, when the recipe
   uses test-time augmentation, of ``learn.tta()`` after it (the printout says which; no epoch
   is picked after the fact). A recipe with progressive resizing first trains on small images,
   then decodes the photos again at full size and trains on (both decodings are timed). From
   scratch (``--weights none``) on a CPU the target is <= 20% error in <= 10 minutes at
   112-128 px; on an H100 at 224 px <= 10%; with ImageNet weights <= 3%, as in the lecture.
   ``--model-seed`` changes only the initial weights and dropout (the split stays seed 42), to
   see how much of the final error is luck.

Run: ``python benchmarks/bears.py [--part both|throughput|accuracy] [--device cpu|cuda]
[--size N] [--epochs N] [--lr X] [--wd X] [--batch-size N] [--arch resnet34]
[--small-size N --small-epochs N --small-lr X] [--label-smoothing EPS] [--tta|--no-tta]
[--model-seed N] [--weights none|imagenet|PATH] [--data DIR]``.
Defaults follow the device: 128 px on a CPU, 224 px on a GPU. Options follow the override rule
of :mod:`sgdlab.vision.recipe`: each replaces the recipe's value of the same name, nothing else.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from sgdlab.vision.data import ImageDataLoaders, default_bears_dir
from sgdlab.vision.device import autocast, default_device, memory_format
from sgdlab.vision.learner import DEFAULT_MOMENTUM, vision_learner
from sgdlab.vision.model import create_model, freeze, group_parameters, parse_weights
from sgdlab.vision.recipe import Recipe, recipe_for, run_recipe


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def load_data(folder: Path, size: int, batch_size: int, device: torch.device,
              seed: int) -> ImageDataLoaders:
    return ImageDataLoaders.from_folder(folder, seed=seed, size=size, batch_size=batch_size,
                                        device=device)


class PlainLoop:
    """One-cycle training with torch.optim.SGD, written the way a PyTorch tutorial would."""

    def __init__(self, dls: ImageDataLoaders, recipe: Recipe, epochs: int) -> None:
        self.dls, self.device = dls, dls.device
        model = create_model(len(dls.classes), recipe.arch, recipe.weights, seed=recipe.seed)
        if recipe.weights is not None:
            freeze(model)  # as vision_learner does with pretrained weights
        self.model = model.to(self.device, memory_format=memory_format(self.device))
        self.opt = torch.optim.SGD([{"params": ps} for ps in group_parameters(self.model)],
                                   lr=recipe.lr, momentum=DEFAULT_MOMENTUM,
                                   weight_decay=recipe.wd, foreach=True)
        # sgdlab's one-cycle: max_lr/25 -> max_lr -> max_lr/1e5, momentum 0.95 -> 0.85 -> 0.95
        self.schedule = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, max_lr=recipe.lr, total_steps=epochs * len(dls.train), pct_start=0.25,
            anneal_strategy="cos", div_factor=25.0, final_div_factor=1e5 / 25.0,
            base_momentum=0.85, max_momentum=0.95)

    def epoch(self) -> tuple[float, float, float]:
        """One training pass and one validation pass: (train_loss, valid_loss, error_rate)."""
        device, model = self.device, self.model
        channels = memory_format(device)
        model.train()
        total = torch.zeros((), device=device)
        for xb, yb in self.dls.train:
            with autocast(device):
                logits = model(xb.contiguous(memory_format=channels))
            loss = F.cross_entropy(logits.float(), yb)
            loss.backward()
            self.opt.step()
            self.opt.zero_grad(set_to_none=True)
            self.schedule.step()
            total += loss.detach()
        model.eval()
        losses, wrong, count = torch.zeros((), device=device), torch.zeros((), device=device), 0
        with torch.no_grad():
            for xb, yb in self.dls.valid:
                with autocast(device):
                    logits = model(xb.contiguous(memory_format=channels)).float()
                losses += F.cross_entropy(logits, yb, reduction="sum")
                wrong += (logits.argmax(dim=1) != yb).sum()
                count += len(yb)
        return ((total / len(self.dls.train)).item(), (losses / count).item(),
                (wrong / count).item())


def images_per_epoch(n_images: int, batch_size: int) -> int:
    """Training images one epoch uses: all of them, less a last batch of one (it is dropped)."""
    return n_images - (1 if n_images % batch_size == 1 else 0)


def measure_throughput(folder: Path, recipe: Recipe, device: torch.device,
                       rounds: int) -> dict[str, float]:
    """Median seconds per epoch of each side, measured alternately, and images per epoch."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # both sides alike
    epochs = 2 * rounds + 1
    dls_sgdlab = load_data(folder, recipe.size, recipe.batch_size, device, recipe.seed)
    dls_plain = load_data(folder, recipe.size, recipe.batch_size, device, recipe.seed)
    learn = vision_learner(dls_sgdlab, recipe.arch, recipe.weights, seed=recipe.seed,
                           wd=recipe.wd, progress=False, log=lambda line: None)
    plain = PlainLoop(dls_plain, recipe, epochs)
    times: dict[str, list[float]] = {"sgdlab": [], "plain": []}
    for i in range(epochs):
        order = [("sgdlab", lambda: learn.fit_one_cycle(1, recipe.lr)), ("plain", plain.epoch)]
        if i % 2:
            order.reverse()
        for name, run in order:
            _sync(device)
            start = time.perf_counter()
            run()
            _sync(device)
            if i > 0:  # the first epoch of each side warms up caches and kernels
                times[name].append(time.perf_counter() - start)
    return {"sgdlab": statistics.median(times["sgdlab"]),
            "plain": statistics.median(times["plain"]),
            "images": images_per_epoch(dls_sgdlab.train.n, recipe.batch_size),
            "epochs": len(times["sgdlab"])}


def decode(folder: Path, recipe: Recipe, size: int, device: torch.device) -> ImageDataLoaders:
    start = time.perf_counter()
    dls = load_data(folder, size, recipe.batch_size, device, recipe.seed)
    print(f"  {len(dls.train_items)} training / {len(dls.valid_items)} validation photos "
          f"(seed {recipe.seed} split) at {size} px, decoded in "
          f"{time.perf_counter() - start:.1f} s")
    return dls


def train_recipe(folder: Path, recipe: Recipe, device: torch.device,
                 model_seed: int | None = None) -> tuple[list, float, float]:
    """Train the recipe once with :func:`~sgdlab.vision.recipe.run_recipe`, printing the tables;
    returns the rows, the final error rate (with TTA when the recipe says so) and the wall time.
    ``model_seed`` (default the recipe's seed) seeds the initial weights and dropout only: the
    split, batches and augmentation keep the recipe's seed."""
    start = time.perf_counter()
    rows, run = [], None
    for run in run_recipe(recipe, lambda size: decode(folder, recipe, size, device),
                          model_seed=model_seed, progress=False):
        rows += run.recorder.rows
    final = rows[-1].error_rate
    if recipe.tta and not run.diverged:
        print(f"  last epoch's error rate {final:.4f} ({final:.1%}) without TTA")
        probs, targets = run.learn.tta()
        final = (probs.argmax(dim=1) != targets).float().mean().item()
    return rows, final, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("both", "throughput", "accuracy"), default="both")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="default: cuda when present, else cpu")
    parser.add_argument("--data", type=Path, default=None,
                        help="the photos (default: $SGDLAB_BEARS or ../shared/bears)")
    parser.add_argument("--weights", default="none",
                        help="none (from scratch, the default), imagenet, or a file holding "
                             "torchvision's state dict; with weights, the lecture's recipe")
    parser.add_argument("--size", type=int, default=None, help="default: 224 GPU, 128 CPU")
    parser.add_argument("--epochs", type=int, default=None, help="the recipe's epochs")
    parser.add_argument("--lr", type=float, default=None, help="the recipe's maximum lr")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--arch", default=None, help="default resnet34")
    parser.add_argument("--wd", type=float, default=None, help="the recipe's weight decay")
    parser.add_argument("--small-size", type=int, default=None,
                        help="progressive resizing: first train at this size")
    parser.add_argument("--small-epochs", type=int, default=None,
                        help="progressive resizing: epochs at --small-size (0: one cycle)")
    parser.add_argument("--small-lr", type=float, default=None,
                        help="progressive resizing: maximum lr at --small-size (default --lr)")
    parser.add_argument("--label-smoothing", type=float, default=None,
                        help="train with LabelSmoothingCrossEntropy(eps) (0: plain)")
    parser.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                        help="report the error with test-time augmentation (image + mirror)")
    parser.add_argument("--model-seed", type=int, default=None,
                        help="seed of the initial weights and dropout in the accuracy run "
                             "(default: the recipe's 42; the split stays seed 42)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed epochs per side (default 3 on a CPU, 10 on a GPU)")
    args = parser.parse_args(argv)

    device = default_device(args.device)
    weights = parse_weights(args.weights, "--weights")
    chosen = {"size": args.size, "epochs": args.epochs, "lr": args.lr,
              "batch_size": args.batch_size, "arch": args.arch, "wd": args.wd,
              "small_size": args.small_size, "small_epochs": args.small_epochs,
              "small_lr": args.small_lr, "label_smoothing": args.label_smoothing,
              "tta": args.tta}
    recipe = recipe_for(device, weights).with_overrides(**chosen)
    folder = args.data if args.data is not None else default_bears_dir()
    label = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"CPU, {torch.get_num_threads()} threads")
    print(f"torch {torch.__version__} on {label}; photos: {folder}")
    print(f"recipe: {recipe.describe()}")
    if args.part in ("both", "throughput"):
        rounds = args.rounds or (10 if device.type == "cuda" else 3)
        t = measure_throughput(folder, recipe, device, rounds)
        ours, theirs = t["images"] / t["sgdlab"], t["images"] / t["plain"]
        precision = "bf16 autocast + channels_last" if device.type == "cuda" else "float32"
        print(f"\n[throughput] one epoch = {t['images']} training images + the validation "
              f"pass, {precision}; median of {t['epochs']} epochs per side, alternating")
        print(f"  sgdlab Learner.fit_one_cycle : {ours:8.1f} images/s  ({t['sgdlab']:.2f} s)")
        print(f"  plain torch.optim.SGD loop   : {theirs:8.1f} images/s  ({t['plain']:.2f} s)")
        print(f"  ratio sgdlab/plain           : {ours / theirs:.3f}x  (target >= 0.95x)")
    if args.part in ("both", "accuracy"):
        seeds = "" if args.model_seed is None else f"; initial weights seed {args.model_seed}"
        print(f"\n[accuracy] {recipe.describe()}{seeds}")
        rows, final, seconds = train_recipe(folder, recipe, device, args.model_seed)
        how = "with TTA (image + mirror)" if recipe.tta else "of the last epoch"
        print(f"  final error rate {final:.4f} ({final:.1%}) {how}, after {seconds:.0f} s "
              f"({seconds / 60:.1f} min) wall time, decoding included")
        for target in recipe.targets:
            print(f"  target: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
