"""``sgdlab bears ...``: train, lr-find, interpret and predict from a terminal (``download`` and
``verify`` live in :mod:`sgdlab.vision.cli_files`).

    sgdlab bears download urls_black.txt bears/black --max-pics 200
    sgdlab bears verify bears --dry-run
    sgdlab bears train                                    # from scratch, the measured recipe
    sgdlab bears train --weights resnet34.pth             # the lecture's: 4 epochs, 2 unfrozen
    sgdlab bears lr-find --out lr_find.png
    sgdlab bears train --impl my_sgd.py                   # trained by your exercise solutions
    sgdlab bears interpret --model models/bears.pth --top 9
    sgdlab bears predict --model models/bears.pth photo.jpg

Training and interpretation read the photos from ``--data`` (default: ``$SGDLAB_BEARS`` or
``../shared/bears``) and set aside the same seeded 20% for validation (``--seed``, default 42).
``train`` and ``lr-find`` start from the recipe of :mod:`sgdlab.vision.recipe` for the device
and the starting weights, with the override rule stated there: every option you give replaces
the recipe's value of the same name, nothing else changes. Paths are used as given. Torch
and torchvision are imported inside the handlers, so ``sgdlab --help`` stays quick.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sgdlab.checks import DEFAULT_SEED
from sgdlab.vision import cli_parallel
from sgdlab.vision.cli_clean import add_clean_command
from sgdlab.vision.cli_files import add_file_commands
from sgdlab.vision.cli_serve import add_serve_command

ARCH_CHOICES = ("resnet18", "resnet34", "resnet50")
OVERRIDE_RULE = ("Every option you give replaces the recipe's value of the same name and "
                 "nothing else: --epochs 4 changes the main stage only (on a CPU the 64-px "
                 "warm-up still runs first; --small-epochs 0 turns it off). A combination "
                 "that cannot work is refused, never quietly changed.")


# ------------------------------------------------------------------------------ shared options

def _add_data_options(parser: argparse.ArgumentParser, batch_size: str,
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


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=None,
                        help="image side in pixels of the main stage (default: the recipe's, "
                             "224 on a GPU, 128 on a CPU)")
    parser.add_argument("--arch", choices=ARCH_CHOICES, default=None,
                        help="the ResNet (default: the recipe's, the lecture's resnet34)")
    parser.add_argument("--weights", default=None, metavar="none|imagenet|PATH",
                        help="starting weights of the body: none (random, the default), "
                             "imagenet (downloads once) or a file with torchvision's state dict; "
                             "with weights the body starts frozen, as in the lecture")


def _add_impl_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--impl", type=Path, default=None, metavar="FILE",
                        help="train with your own exercise solutions (e.g. my_sgd.py): their "
                             "momentum_step, cross_entropy, one_cycle_lr, lrs_for_groups, and "
                             "for lr-find smooth_losses and suggest_lrs; functions not written "
                             "yet come from sgdlab, with a note (default: sgdlab's own)")


def _data_dir(args: argparse.Namespace) -> Path:
    from sgdlab.vision.data import default_bears_dir

    return args.data if args.data is not None else default_bears_dir()


def _recipe(args: argparse.Namespace, one_stage: bool = False):
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


def _training_data(args: argparse.Namespace, recipe, size: int):
    """The loaders that ``train`` and ``lr-find`` use, at ``size`` px; says what they hold."""
    from sgdlab.vision.data import ImageDataLoaders

    dls = ImageDataLoaders.from_folder(_data_dir(args), seed=recipe.seed, size=size,
                                       batch_size=recipe.batch_size, device=args.device)
    print(_describe(dls))
    return dls


def _describe(dls) -> str:
    return (f"data: {dls.path}: {len(dls.train_items)} training and {len(dls.valid_items)} "
            f"validation images of {len(dls.classes)} classes ({', '.join(dls.classes)}), "
            f"{dls.size} px, on {dls.device}")


def _describe_weights(weights: str | None) -> str:
    if weights is None:
        return "random weights (training from scratch)"
    return "ImageNet weights" if weights == "imagenet" else f"weights from {weights}"


# ------------------------------------------------------------------------------ handlers

def _train(args: argparse.Namespace, make_learner: Callable | None = None) -> int:
    """``bears train``; with ``--nproc`` or under torchrun see :mod:`~sgdlab.vision.cli_parallel`
    (which calls this again in every rank with its ``make_learner``)."""
    from sgdlab.diagnose import diagnose
    from sgdlab.vision.recipe import run_recipe

    if make_learner is None and cli_parallel.wants_parallel(args):
        return cli_parallel.train_in_parallel(args, _train)
    recipe = _recipe(args)
    frozen = " (body frozen: only the head and BatchNorm layers train)" if recipe.weights else ""
    print(f"model: {recipe.arch}, {_describe_weights(recipe.weights)}{frozen}")
    print(f"recipe: {recipe.describe()}")
    path = args.model_dir / f"{args.name}.pth"
    stages = run_recipe(recipe, lambda size: _training_data(args, recipe, size),
                        model_dir=args.model_dir, impl=args.impl,
                        **({} if make_learner is None else {"make_learner": make_learner}))
    for run in stages:
        if run.diverged:
            print(f"\nthe loss became {run.recorder.losses[-1]} at step "
                  f"{run.recorder.stopped_at}: the weights are ruined; nothing saved")
            if run.stage.judged:
                print(f"diagnosis: {diagnose(run.recorder)}")
            return 1
        if not run.stage.judged:
            print("(no diagnosis for this stage: it is the first half of a run, not a whole "
                  "one)\n")
            continue
        verdict = diagnose(run.recorder)
        print(f"\ndiagnosis: {verdict}\n")
        if verdict.problem == "lr_too_high":
            print("the weights are ruined; nothing saved")
            return 1
        if run.stage.name == "main" and recipe.unfreeze_epochs:
            stage_1 = run.learn.save(path.with_name(f"{args.name}-stage-1.pth"))
            print(f"saved stage 1: {stage_1}")
            rates = ", ".join(f"{x:.2g}" for x in run.learn.lrs(recipe.unfreeze_lr))
            print(f"unfrozen next: every layer trains, learning rates {rates} (first group ... "
                  f"head)")
    saved = run.learn.save(path)
    if not cli_parallel.is_main_process():
        return 0  # the other ranks of a data-parallel run write nothing
    table = run.recorder.to_csv(path.with_suffix(".csv"))
    print(f"saved: {saved}  (final error rate {run.recorder.rows[-1].error_rate:.4f}); "
          f"epoch table: {table} (`sgdlab diagnose {table}` reads it)")
    return 0


def _lr_find(args: argparse.Namespace) -> int:
    from sgdlab.vision.learner import vision_learner

    recipe = _recipe(args, one_stage=True)
    dls = _training_data(args, recipe, recipe.size)
    learn = vision_learner(dls, recipe.arch, recipe.weights, seed=recipe.seed, wd=recipe.wd,
                           loss_func=recipe.loss_func(), impl=args.impl)
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
    from sgdlab.vision.checkpoint import read_checkpoint
    from sgdlab.vision.data import find_classes, split_items
    from sgdlab.vision.reload import checkpoint_learner

    run = read_checkpoint(args.model).get("run", {})
    seed = args.seed if args.seed is not None else run.get("split_seed") or DEFAULT_SEED
    folder = _data_dir(args)
    classes, items = find_classes(folder)
    train, valid = split_items(items, valid_pct=run.get("valid_pct") or 0.2, seed=seed)
    _check_split(run, args, folder, valid)
    return checkpoint_learner(args.model, folder, classes, train, valid, seed=seed,
                              batch_size=args.batch_size, device=args.device)


def _check_split(run: dict, args: argparse.Namespace, folder: Path, valid: list[Path]) -> None:
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


def _interpret(args: argparse.Namespace) -> int:
    from sgdlab.checks import check_whole_number
    from sgdlab.vision.interpret import ClassificationInterpretation

    check_whole_number(args.top, "--top", minimum=1)
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
    """Predict every readable image; report each one that is missing or unreadable."""
    import sys

    from sgdlab.vision.checkpoint import load_learner
    from sgdlab.vision.data import ImageReadError

    learn = load_learner(args.model, device=args.device or "cpu")
    width = max(len(c) for c in learn.classes)
    failed = []
    for image in args.images:
        if not image.exists():
            failed.append(f"{image}: no such file; check the path (relative paths start in "
                          f"the current folder, {Path.cwd()})")
            continue
        if image.is_dir():
            failed.append(f"{image}: a folder, not an image; give the image files, e.g. "
                          f"{image}/*.jpg")
            continue
        try:
            name, index, probs = learn.predict(image)
        except ImageReadError as err:
            failed.append(f"{image}: cannot be read as an image ({err.reason}); open it in an "
                          f"image viewer to check, or download it again")
            continue
        print(f"{image}: {name} (index {index})")
        for i in probs.argsort(descending=True).tolist():
            print(f"  {learn.classes[i]:<{width}}  {probs[i].item():.4f}")
    for line in failed:
        print(f"sgdlab: {line}", file=sys.stderr)
    if failed:
        done = len(args.images) - len(failed)
        print(f"sgdlab: predicted {done} of {len(args.images)} images; {len(failed)} could "
              f"not be read", file=sys.stderr)
    return 1 if failed else 0


# ------------------------------------------------------------------------------ registration

def add_commands(subparsers) -> None:
    """Register ``sgdlab bears`` and its sub-commands."""
    bears = subparsers.add_parser(
        "bears", help="the bear classifier: download, verify, train, lr-find, interpret, predict",
        description="The lecture's bear classifier, trained by sgdlab's own SGD.")
    actions = bears.add_subparsers(dest="action", required=True, metavar="ACTION")

    add_file_commands(actions)
    add_clean_command(actions)
    add_serve_command(actions)

    p = actions.add_parser(
        "train", help="train the classifier and save it",
        description="Train the recipe of sgdlab.vision.recipe for this device and the starting "
                    "weights, stage by stage (fit_one_cycle each), print each epoch table and "
                    "diagnose's verdict, and save the model with its epoch table as CSV. From "
                    "scratch on a CPU: 40 epochs at 1e-2 on 64-px images, then 10 at 3e-3 at "
                    "128 px (progressive resizing), label smoothing 0.1; on a GPU one cycle of "
                    "40 epochs at 1e-2 at 224 px; with --weights the lecture's 4 epochs at "
                    "3e-3, then 2 unfrozen with slice(3e-5, 3e-4). " + OVERRIDE_RULE)
    _add_data_options(p, batch_size="the recipe's")
    _add_model_options(p)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs of the main stage (default: the recipe's)")
    p.add_argument("--lr", type=float, default=None,
                   help="maximum learning rate of the main stage (default: the recipe's)")
    p.add_argument("--wd", type=float, default=None,
                   help="weight decay (default: the recipe's)")
    p.add_argument("--label-smoothing", type=float, default=None, metavar="EPS",
                   help="train with label smoothing EPS, 0 for plain cross-entropy (default: "
                        "the recipe's, 0.1 from scratch on a CPU)")
    p.add_argument("--small-epochs", type=int, default=None, metavar="N",
                   help="progressive resizing: first N epochs on --small-size images (the CPU "
                        "recipe: 40 at 64 px); 0 turns it off")
    p.add_argument("--small-size", type=int, default=None, metavar="PX",
                   help="image side of the warm-up stage (the CPU recipe: 64)")
    p.add_argument("--small-lr", type=float, default=None, metavar="LR",
                   help="maximum learning rate of the warm-up stage (the CPU recipe: 1e-2)")
    p.add_argument("--unfreeze-epochs", type=int, default=None, metavar="N",
                   help="then unfreeze and train N more epochs (default: 2 with --weights, "
                        "as in the lecture; 0 from scratch)")
    p.add_argument("--unfreeze-lr", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="learning rates after unfreezing, first layers to head, as "
                        "slice(LO, HI) (default: LR/100 LR/10)")
    p.add_argument("--name", default="bears", help="checkpoint name (default bears)")
    p.add_argument("--model-dir", type=Path, default=Path("models"), metavar="DIR",
                   help="where the checkpoint (NAME.pth) and its epoch table (NAME.csv) go "
                        "(default ./models)")
    cli_parallel.add_parallel_options(p)
    _add_impl_option(p)
    p.set_defaults(func=_train)

    p = actions.add_parser("lr-find", help="sweep the learning rate, plot the loss",
                           description="Train briefly with a rising learning rate on a new "
                                       "model at the recipe's main size, save the "
                                       "loss-against-lr plot and print the suggestions. "
                                       + OVERRIDE_RULE)
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
    _add_impl_option(p)
    p.set_defaults(func=_lr_find)

    p = actions.add_parser("interpret", help="confusion matrix and top losses of a model",
                           description="Predict the validation photos with a saved model; print "
                                       "the confusion matrix, the most confused classes and "
                                       "the top losses, and save both as PNG. The validation "
                                       "split is the one recorded in the checkpoint; photos "
                                       "the model may have trained on are refused.")
    p.add_argument("--model", type=Path, required=True, metavar="PATH",
                   help="a checkpoint saved by `sgdlab bears train` (used as given)")
    _add_data_options(p, batch_size="64", seed="the one the model was trained with")
    p.add_argument("--top", type=int, default=9, metavar="K",
                   help="how many top losses to list and plot (default 9)")
    p.add_argument("--out", type=Path, default=Path("interpretation"), metavar="DIR",
                   help="folder for the PNGs (default ./interpretation)")
    p.add_argument("--allow-training-photos", action="store_true",
                   help="look even when some validation photos here were not validation "
                        "photos when the model was trained (a warning is printed)")
    p.set_defaults(func=_interpret)

    p = actions.add_parser("predict", help="classify photos with a saved model",
                           description="Print each image's class, its index and the "
                                       "probabilities of every class, most likely first. "
                                       "Images that are missing or unreadable are reported "
                                       "(exit code 1) and the others still predicted.")
    p.add_argument("--model", type=Path, required=True, metavar="PATH",
                   help="a checkpoint saved by `sgdlab bears train` (used as given)")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                   help="where to compute (default cpu, as in production)")
    p.set_defaults(func=_predict)
