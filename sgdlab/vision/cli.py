"""``sgdlab bears ...``: download, verify, train, lr-find, interpret and predict from a terminal.

    sgdlab bears download urls_black.txt bears/black --max-pics 200
    sgdlab bears verify bears --dry-run
    sgdlab bears train                                    # from scratch, the measured recipe
    sgdlab bears train --weights resnet34.pth --epochs 4 --lr 3e-3 \
                       --unfreeze-epochs 2 --unfreeze-lr 3e-5 3e-4   # the lecture's
    sgdlab bears lr-find --out lr_find.png
    sgdlab bears interpret --model models/bears.pth --top 9
    sgdlab bears predict --model models/bears.pth photo.jpg

Training and interpretation read the photos from ``--data`` (default: ``$SGDLAB_BEARS`` or
``../shared/bears``) and set aside the same seeded 20% for validation (``--seed``, default 42).
Settings not given come from the recipe in :mod:`sgdlab.vision.lesson_config` for the device
and the starting weights. Torch and torchvision are imported inside the handlers, so
``sgdlab --help`` stays quick.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sgdlab.vision.cli_files import add_file_commands

ARCH_CHOICES = ("resnet18", "resnet34", "resnet50")
DEFAULT_SEED = 42


# ------------------------------------------------------------------------------ shared options

def weights_option(text: str) -> str | None:
    """``none`` → random weights, ``imagenet`` → torchvision's, anything else → a file path."""
    value = text.strip()
    if value.lower() == "none":
        return None
    return "imagenet" if value.lower() == "imagenet" else value


def _add_data_options(parser: argparse.ArgumentParser, batch_size: str) -> None:
    parser.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help="folder with one sub-folder per class (default: $SGDLAB_BEARS or "
                             "../shared/bears)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"images per mini-batch (default {batch_size})")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="where to compute (default: cuda when present, else cpu)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="seeds the validation split, batches, augmentation and initial "
                             f"weights (default {DEFAULT_SEED}, the lecture's split)")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=None,
                        help="image side in pixels (default: the recipe's, 224 on a GPU, "
                             "128 on a CPU)")
    parser.add_argument("--arch", choices=ARCH_CHOICES, default=None,
                        help="the ResNet (default: the recipe's, the lecture's resnet34)")
    parser.add_argument("--weights", type=weights_option, default=None,
                        metavar="none|imagenet|PATH",
                        help="starting weights of the body: none (random, the default), "
                             "imagenet (downloads once) or a file with torchvision's state dict; "
                             "with weights the body starts frozen, as in the lecture")


def _data_dir(args: argparse.Namespace) -> Path:
    from sgdlab.vision.data import default_bears_dir

    return args.data if args.data is not None else default_bears_dir()


def _recipe(args: argparse.Namespace):
    """The recipe for this device and ``--weights`` (see ``lesson_config.recipe_for``), with
    every option given on the command line in place of the recipe's value."""
    from dataclasses import replace

    from sgdlab.vision.device import default_device
    from sgdlab.vision.lesson_config import recipe_for

    recipe = recipe_for(default_device(args.device), args.weights)
    names = ("arch", "size", "batch_size", "epochs", "lr", "wd", "unfreeze_epochs",
             "small_epochs")
    given = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if "small_epochs" not in given and given.keys() & {"arch", "size", "epochs", "lr"}:
        given["small_epochs"] = 0  # a recipe of your own: one cycle, as you asked for it
    if given.get("small_epochs") == 0:
        given.update(label_smoothing=0.0, small_size=0)
    elif given.get("small_epochs") and not 0 < recipe.small_size < given.get("size",
                                                                               recipe.size):
        given["small_size"] = given.get("size", recipe.size) // 2  # a quarter of the pixels
    return replace(recipe, seed=args.seed, **given)


def _training_data(args: argparse.Namespace, recipe, size: int | None = None):
    """The loaders that ``train`` and ``lr-find`` use (at ``size``, default the recipe's)."""
    from sgdlab.vision.data import ImageDataLoaders

    return ImageDataLoaders.from_folder(_data_dir(args), seed=recipe.seed,
                                        size=size or recipe.size,
                                        batch_size=recipe.batch_size, device=args.device)


def _describe(dls) -> str:
    return (f"data: {dls.path}: {len(dls.train_items)} training and {len(dls.valid_items)} "
            f"validation images of {len(dls.classes)} classes ({', '.join(dls.classes)}), "
            f"{dls.size} px, on {dls.device}")


def _describe_weights(weights: str | None) -> str:
    if weights is None:
        return "random weights (training from scratch)"
    return "ImageNet weights" if weights == "imagenet" else f"weights from {weights}"


# ------------------------------------------------------------------------------ handlers

def _fit_and_diagnose(learn, epochs: int, lr):
    """``fit_one_cycle``, then diagnose's verdict; ``None`` when the weights were ruined."""
    from sgdlab.diagnose import diagnose

    recorder = learn.fit_one_cycle(epochs, lr, on_divergence="stop")
    verdict = diagnose(recorder)
    print(f"\ndiagnosis: {verdict}")
    if len(recorder.rows) < epochs or verdict.problem == "lr_too_high":
        print("the weights are ruined; nothing saved")
        return None
    return recorder


def _train(args: argparse.Namespace) -> int:
    from sgdlab.vision.learner import vision_learner

    recipe = _recipe(args)
    dls = _training_data(args, recipe, recipe.small_size if recipe.resizes else None)
    print(_describe(dls))
    learn = vision_learner(dls, recipe.arch, recipe.weights, seed=recipe.seed, wd=recipe.wd,
                           model_dir=args.model_dir, loss_func=recipe.loss_func())
    frozen = " (body frozen: only the head and BatchNorm layers train)" if recipe.weights else ""
    print(f"model: {recipe.arch}, {_describe_weights(recipe.weights)}{frozen}")
    if recipe.resizes:  # progressive resizing: small images first, then the recipe's size
        print(f"fit_one_cycle({recipe.small_epochs}, {recipe.first_lr:g}) at "
              f"{recipe.small_size} px first (progressive resizing)")
        warm_up = learn.fit_one_cycle(recipe.small_epochs, recipe.first_lr,
                                      on_divergence="stop")
        if len(warm_up.rows) < recipe.small_epochs:
            print("the loss became NaN or infinite: the weights are ruined; nothing saved")
            return 1
        print("(no diagnosis for this first stage: it is half of a run, not a whole one)")
        learn.dls = _training_data(args, recipe)
        print(_describe(learn.dls))
    print(f"fit_one_cycle({recipe.epochs}, {recipe.lr:g}), batch size {recipe.batch_size}, "
          f"weight decay {recipe.wd:g}")
    recorder = _fit_and_diagnose(learn, recipe.epochs, recipe.lr)
    if recorder is None:
        return 1
    if recipe.unfreeze_epochs:
        print(f"saved stage 1: {learn.save(f'{args.name}-stage-1')}")
        learn.unfreeze()
        lo, hi = args.unfreeze_lr or (recipe.lr / 100, recipe.lr / 10)
        rates = ", ".join(f"{x:.2g}" for x in learn.lrs(slice(lo, hi)))
        print(f"\nunfrozen: every layer trains; fit_one_cycle({recipe.unfreeze_epochs}, "
              f"slice({lo:g}, {hi:g})), learning rates {rates} (first group ... head)")
        recorder = _fit_and_diagnose(learn, recipe.unfreeze_epochs, slice(lo, hi))
        if recorder is None:
            return 1
    path = learn.save(args.name)
    print(f"saved: {path}  (final error rate {recorder.rows[-1].error_rate:.4f})")
    return 0


def _lr_find(args: argparse.Namespace) -> int:
    from sgdlab.vision.learner import vision_learner

    recipe = _recipe(args)
    dls = _training_data(args, recipe)
    print(_describe(dls))
    learn = vision_learner(dls, recipe.arch, recipe.weights, seed=recipe.seed, wd=recipe.wd)
    if args.unfreeze:
        learn.unfreeze()
    result = learn.lr_find(start_lr=args.start_lr, end_lr=args.end_lr, num_it=args.num_it)
    path = result.plot(args.out)
    stopped = " (stopped early: the loss diverged)" if result.stopped_early else ""
    print(f"swept {len(result.lrs)} learning rates from {result.lrs[0]:.2g} to "
          f"{result.lrs[-1]:.2g}{stopped}")
    print(f"steepest descent: {result.steepest:.2e}")
    print(f"minimum / 10:     {result.minimum_div_10:.2e}")
    print(f"plot: {path}")
    return 0


def _interpretation_learner(args: argparse.Namespace):
    """The checkpoint's model on the validation split it was trained with."""
    from sgdlab.vision import model as vision_model
    from sgdlab.vision.data import ImageDataLoaders, find_classes, split_items
    from sgdlab.vision.device import default_device
    from sgdlab.vision.learner import Learner, read_checkpoint

    checkpoint = read_checkpoint(args.model)
    folder = _data_dir(args)
    classes, items = find_classes(folder)
    train, valid = split_items(items, seed=args.seed)
    dls = ImageDataLoaders(folder, classes, train, valid, size=checkpoint["size"],
                           batch_size=args.batch_size or 64, device=default_device(args.device),
                           augment=False, seed=args.seed, mean=checkpoint["mean"],
                           std=checkpoint["std"])
    model = vision_model.create_model(len(checkpoint["classes"]), checkpoint["arch"],
                                      head=checkpoint["head"])
    learn = Learner(dls, model, arch=checkpoint["arch"], head=checkpoint["head"])
    return learn.load(args.model)


def _interpret(args: argparse.Namespace) -> int:
    from sgdlab.errors import SgdlabError
    from sgdlab.vision.interpret import ClassificationInterpretation

    if args.top < 1:
        raise SgdlabError(f"--top must be at least 1, got {args.top}")
    learn = _interpretation_learner(args)
    print(_describe(learn.dls))
    interp = ClassificationInterpretation.from_learner(learn)
    wrong = int((interp.preds != interp.targets).sum())
    n = len(interp.items)
    print(f"error rate: {wrong}/{n} = {wrong / n:.4f}\n")
    print(interp.confusion_table())
    confused = interp.most_confused()
    print("\nmost confused (actual -> predicted: images):")
    for actual, predicted, count in confused or []:
        print(f"  {actual} -> {predicted}: {count}")
    if not confused:
        print("  none: every validation image is right")
    losses, indices = interp.top_losses(args.top)
    print(f"\ntop {len(indices)} losses (prediction / actual / loss / probability of actual):")
    for loss, i in zip(losses.tolist(), indices.tolist(), strict=True):
        actual, predicted = int(interp.targets[i]), int(interp.preds[i])
        print(f"  {interp.items[i]}: {interp.classes[predicted]} / {interp.classes[actual]} / "
              f"{loss:.2f} / {interp.probs[i, actual]:.2f}")
    out = args.out
    print(f"\nconfusion matrix: {interp.plot_confusion_matrix(out / 'confusion_matrix.png')}")
    print(f"top losses: {interp.plot_top_losses(args.top, out / 'top_losses.png')}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from sgdlab.vision.learner import load_learner

    learn = load_learner(args.model, device=args.device or "cpu")
    for image in args.images:
        name, index, probs = learn.predict(image)
        print(f"{image}: {name} (index {index})")
        width = max(len(c) for c in learn.classes)
        for i in probs.argsort(descending=True).tolist():
            print(f"  {learn.classes[i]:<{width}}  {probs[i].item():.4f}")
    return 0


# ------------------------------------------------------------------------------ registration

def add_commands(subparsers) -> None:
    """Register ``sgdlab bears`` and its sub-commands."""
    bears = subparsers.add_parser(
        "bears", help="the bear classifier: download, verify, train, lr-find, interpret, predict",
        description="The lecture's bear classifier, trained by sgdlab's own SGD.")
    actions = bears.add_subparsers(dest="action", required=True, metavar="ACTION")

    add_file_commands(actions)

    p = actions.add_parser(
        "train", help="train the classifier and save it",
        description="fit_one_cycle on the photos, print the epoch table and diagnose's "
                    "verdict, save the model; optionally unfreeze and train on with "
                    "discriminative learning rates. Defaults follow the recipe of "
                    "sgdlab.vision.lesson_config: from scratch, many epochs at 1e-2; with "
                    "--weights, the lecture's 4 epochs at 3e-3, then 2 unfrozen.")
    _add_data_options(p, batch_size="the recipe's")
    _add_model_options(p)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs of the first fit (default: the recipe's)")
    p.add_argument("--lr", type=float, default=None,
                   help="maximum learning rate of the first fit (default: the recipe's)")
    p.add_argument("--wd", type=float, default=None,
                   help="weight decay (default: the recipe's)")
    p.add_argument("--small-epochs", type=int, default=None, metavar="N",
                   help="progressive resizing: first N epochs on small images (the CPU "
                        "recipe: 40 at 64 px, with label smoothing 0.1); 0 turns it off, "
                        "and so does giving --arch, --size, --epochs or --lr without it")
    p.add_argument("--unfreeze-epochs", type=int, default=None, metavar="N",
                   help="then unfreeze and train N more epochs (default: 2 with --weights, "
                        "as in the lecture; 0 from scratch)")
    p.add_argument("--unfreeze-lr", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="learning rates after unfreezing, first layers to head, as "
                        "slice(LO, HI) (default: LR/100 LR/10)")
    p.add_argument("--name", default="bears", help="checkpoint name (default bears)")
    p.add_argument("--model-dir", type=Path, default=Path("models"), metavar="DIR",
                   help="where checkpoints go (default ./models)")
    p.set_defaults(func=_train)

    p = actions.add_parser("lr-find", help="sweep the learning rate, plot the loss",
                           description="Train briefly with a rising learning rate on a new "
                                       "model, save the loss-against-lr plot and print the "
                                       "suggestions.")
    _add_data_options(p, batch_size="the recipe's")
    _add_model_options(p)
    p.add_argument("--unfreeze", action="store_true",
                   help="sweep with every layer trainable (with --weights the body is "
                        "otherwise frozen)")
    p.add_argument("--num-it", type=int, default=100, help="mini-batches to sweep (default 100)")
    p.add_argument("--start-lr", type=float, default=1e-7, help="first lr (default 1e-7)")
    p.add_argument("--end-lr", type=float, default=10.0, help="last lr (default 10)")
    p.add_argument("--out", type=Path, default=Path("lr_find.png"), metavar="PNG",
                   help="where to save the plot (default lr_find.png)")
    p.set_defaults(func=_lr_find)

    p = actions.add_parser("interpret", help="confusion matrix and top losses of a model",
                           description="Predict the validation photos with a saved model; print "
                                       "the confusion matrix, the most confused classes and "
                                       "the top losses, and save both as PNG.")
    p.add_argument("--model", type=Path, required=True, metavar="PATH",
                   help="a checkpoint saved by `sgdlab bears train`")
    _add_data_options(p, batch_size="64")
    p.add_argument("--top", type=int, default=9, metavar="K",
                   help="how many top losses to list and plot (default 9)")
    p.add_argument("--out", type=Path, default=Path("interpretation"), metavar="DIR",
                   help="folder for the PNGs (default ./interpretation)")
    p.set_defaults(func=_interpret)

    p = actions.add_parser("predict", help="classify photos with a saved model",
                           description="Print each image's class, its index and the "
                                       "probabilities of every class, most likely first.")
    p.add_argument("--model", type=Path, required=True, metavar="PATH",
                   help="a checkpoint saved by `sgdlab bears train`")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                   help="where to compute (default cpu, as in production)")
    p.set_defaults(func=_predict)
