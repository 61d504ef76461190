"""What the ``sgdlab bears`` sub-commands share: their data, model and ``--impl`` options, the
recipe with every option in its place, the loaders they describe, and a saved model back on the
validation split it was trained with (``interpret`` and ``lr-find --model``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sgdlab.checks import DEFAULT_SEED

ARCH_CHOICES = ("resnet18", "resnet34", "resnet50")
OVERRIDE_RULE = ("Every option you give replaces the recipe's value of the same name and "
                 "nothing else: --epochs 4 changes the main stage only (on a CPU the 64-px "
                 "warm-up still runs first; --small-epochs 0 turns it off). A combination "
                 "that cannot work is refused, never quietly changed.")


# ------------------------------------------------------------------------------ shared options

def add_data_options(parser: argparse.ArgumentParser, batch_size: str,
                      seed: str = f"{DEFAULT_SEED}, the lecture's split") -> None:
    parser.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help="folder with one sub-folder per class (default: $SGDLAB_BEARS or "
                             "../shared/bears)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"images per mini-batch (default {batch_size})")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="where to compute (default: cuda when present, else cpu)")
    parser.add_argument("--seed", type=int, default=None,
                        help=f"seeds the validation split, batches, augmentation and initial "
                             f"weights (default {seed})")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=None,
                        help="image side in pixels of the main stage (default: the recipe's, "
                             "224 on a GPU, 128 on a CPU)")
    parser.add_argument("--arch", choices=ARCH_CHOICES, default=None,
                        help="the ResNet (default: the recipe's, the lecture's resnet34)")
    parser.add_argument("--weights", default=None, metavar="none|imagenet|PATH",
                        help="starting weights of the body: none (random, the default), "
                             "imagenet (downloads once) or a file with torchvision's state dict; "
                             "with weights the body starts frozen, as in the lecture")


def add_impl_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--impl", type=Path, default=None, metavar="FILE",
                        help="train with your own exercise solutions (e.g. my_sgd.py): their "
                             "momentum_step, cross_entropy, one_cycle_lr, lrs_for_groups, and "
                             "for lr-find smooth_losses and suggest_lrs; functions not written "
                             "yet come from sgdlab, with a note (default: sgdlab's own)")


def data_dir(args: argparse.Namespace) -> Path:
    from sgdlab.vision.data import default_bears_dir

    return args.data if args.data is not None else default_bears_dir()


def recipe_from_args(args: argparse.Namespace, one_stage: bool = False):
    """The recipe for this device and ``--weights``, with every option given in its place;
    ``one_stage`` (lr-find): without the warm-up stage, which the finder does not run."""
    from sgdlab.vision.device import default_device
    from sgdlab.vision.model import parse_weights
    from sgdlab.vision.recipe import recipe_for

    recipe = recipe_for(default_device(args.device), parse_weights(args.weights, "--weights"))
    if one_stage:
        recipe = recipe.with_overrides(small_epochs=0)
    names = ("arch", "size", "batch_size", "epochs", "lr", "wd", "unfreeze_epochs",
             "small_epochs", "small_size", "small_lr", "label_smoothing", "seed")
    given = {name: getattr(args, name, None) for name in names}
    if getattr(args, "unfreeze_lr", None) is not None:
        given["unfreeze_lrs"] = tuple(args.unfreeze_lr)
    return recipe.with_overrides(**given)


def training_data(args: argparse.Namespace, recipe, size: int):
    """The loaders that ``train`` and ``lr-find`` use, at ``size`` px; says what they hold."""
    from sgdlab.vision.data import ImageDataLoaders

    dls = ImageDataLoaders.from_folder(data_dir(args), seed=recipe.seed, size=size,
                                       batch_size=recipe.batch_size, device=args.device)
    print(describe(dls))
    return dls


def describe(dls) -> str:
    return (f"data: {dls.path}: {len(dls.train_items)} training and {len(dls.valid_items)} "
            f"validation images of {len(dls.classes)} classes ({', '.join(dls.classes)}), "
            f"{dls.size} px, on {dls.device}")


def describe_weights(weights: str | None) -> str:
    if weights is None:
        return "random weights (training from scratch)"
    return "ImageNet weights" if weights == "imagenet" else f"weights from {weights}"


def model_on_its_split(args: argparse.Namespace):
    """The checkpoint's model on the validation split it was trained with."""
    from sgdlab.vision.checkpoint import read_checkpoint
    from sgdlab.vision.data import find_classes, split_items
    from sgdlab.vision.reload import checkpoint_learner

    run = read_checkpoint(args.model).get("run", {})
    seed = args.seed if args.seed is not None else run.get("split_seed") or DEFAULT_SEED
    folder = data_dir(args)
    classes, items = find_classes(folder)
    train, valid = split_items(items, valid_pct=run.get("valid_pct") or 0.2, seed=seed)
    check_split(run, args, folder, valid)
    return checkpoint_learner(args.model, folder, classes, train, valid, seed=seed,
                              batch_size=args.batch_size, device=args.device)


def check_split(run: dict, args: argparse.Namespace, folder: Path, valid: list[Path]) -> None:
    """Refuse (or, with ``--allow-training-photos``, warn) when some of the validation photos
    here were not validation photos when the model was trained: they may be training photos."""
    from sgdlab.errors import SgdlabError
    from sgdlab.vision.checkpoint import relative_name

    trained_on = run.get("valid_files")
    if trained_on is None:
        print(f"warning: {args.model} does not record which photos it was validated on (it was "
              f"saved by an older sgdlab); if it was trained on another folder or split, some "
              f"photos below were training photos and look easier than they are")
        return
    seen = [item for item in valid if relative_name(item, folder) not in set(trained_on)]
    if not seen:
        return
    message = (f"{len(seen)} of the {len(valid)} validation photos here (e.g. {seen[0]}) were "
               f"not validation photos when {args.model} was trained (on "
               f"{run.get('data_folder')!r}, split seed {run.get('split_seed')}): they may be "
               f"training photos, which the model has seen, so its errors on them look rarer "
               f"than they are")
    if not args.allow_training_photos:
        raise SgdlabError(f"{message}. Give the --data folder and --seed it was trained with, "
                          f"or --allow-training-photos to look anyway")
    print(f"warning: {message}\n")
